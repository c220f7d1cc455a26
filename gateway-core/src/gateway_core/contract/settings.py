"""The settings of one configured provider instance, as every provider hook receives them."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import Meta, Struct, field


class ProviderSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """One configured provider instance (``providers.<name>``). Passed to every provider hook."""

    name: str = ""
    type: str = ""
    api_key: str | None = None
    base_url: str | None = None
    timeout: Annotated[float, Meta(gt=0)] = 600.0
    connect_timeout: Annotated[float, Meta(gt=0)] = 10.0
    headers: dict[str, str] = field(default_factory=dict)
    models: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # never show the key in a log line or a traceback
        key = "'***'" if self.api_key else "None"
        return f"ProviderSettings(name={self.name!r}, type={self.type!r}, api_key={key}, base_url={self.base_url!r})"
