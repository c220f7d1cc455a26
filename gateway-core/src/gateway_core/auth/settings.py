"""The settings of gateway keys, limits and usage (``auth``, ``usage``): plain data, importing nothing else."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct, field

from .keys import KeyLimits


class FailurePolicy(Struct, forbid_unknown_fields=True, kw_only=True):
    """``auth.on_store_error``: what a request meets while the shared store does not answer."""

    limits: Literal["open", "closed"] = "open"
    budgets: Literal["open", "closed"] = "closed"


class UsageSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """``usage``: the per-request usage log."""

    enabled: bool = True
    retention_days: Annotated[float, Meta(gt=0)] = 90.0
    default_max_output_tokens: Annotated[int, Meta(ge=1)] = 16384
    """The output a budget reserves for a request that sets no ``max_output_tokens``."""


class DeclaredKey(Struct, forbid_unknown_fields=True, kw_only=True):
    """A key declared in the config (for those who keep config in git): by its SHA-256, or read from an
    environment variable."""

    name: str
    sha256: str | None = None
    key_env: str | None = None
    models: list[str] = field(default_factory=list)
    limits: KeyLimits = field(default_factory=KeyLimits)
    metadata: dict[str, str] = field(default_factory=dict)
    admin: bool = False


class AuthSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """``auth``: gateway keys."""

    allow_unauthenticated: bool = False
    """Serve a non-loopback address with no gateway key configured (a warning at startup)."""
    admin_keys: list[str] = field(default_factory=list)
    """Admin keys, usually ``${GATEWAY_ADMIN_KEY}``; the variable itself is also read."""
    keys: list[DeclaredKey] = field(default_factory=list)
    store: str = "auto"
    """Where created keys live: ``sqlite``, ``redis``, or ``auto`` (the response store's backend)."""
    path: str = ""
    """The SQLite file of the keys (default: ``keys.sqlite3`` beside the response store)."""
    refresh_seconds: Annotated[float, Meta(gt=0)] = 1.0
    on_store_error: FailurePolicy = field(default_factory=FailurePolicy)
