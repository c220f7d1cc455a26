"""The settings of one configured provider instance, as every provider hook receives them."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

from msgspec import Meta, Struct, field


def mask_url(url: str) -> str:
    """``url`` with its ``user:password@`` part (credentials, or a token as the user) shown as ``***@``."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=f"***@{parts.netloc.rpartition('@')[2]}"))


class ProviderSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """One configured provider instance (``providers.<name>``). Passed to every provider hook."""

    name: str = ""
    type: str = ""
    api_key: str | None = None
    base_url: str | None = None
    timeout: Annotated[float, Meta(gt=0)] = 600.0
    connect_timeout: Annotated[float, Meta(gt=0)] = 10.0
    headers: dict[str, str] = field(default_factory=dict)
    max_response_bytes: Annotated[int, Meta(ge=1024)] = 16 * 1024 * 1024
    """The most one answer may hold (text, arguments, reasoning; a JSON body's bytes): past it the answer
    ends with ``response_too_large``."""
    models: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # never show the key in a log line or a traceback
        key = "'***'" if self.api_key else "None"
        base_url = mask_url(self.base_url) if self.base_url else None
        return f"ProviderSettings(name={self.name!r}, type={self.type!r}, api_key={key}, base_url={base_url!r})"
