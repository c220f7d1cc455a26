"""Gateway keys: who may call the gateway, and what each caller may do.

A key is ``gw-`` followed by 43 url-safe characters (32 random bytes). It is shown once, when it is made;
the gateway keeps only its SHA-256 (a key has 256 bits of entropy, so a fast hash is as safe as a slow one
and costs a microsecond per request) and its first characters, to tell keys apart in listings.
"""

from __future__ import annotations

import fnmatch
import hashlib
import secrets
import time
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct, field

PREFIX = "gw-"
Period = Literal["day", "week", "month", "total"]
NonNegative = Annotated[int, Meta(ge=0)]


class KeyLimits(Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """What one key may spend; ``None`` (or leaving a field out) means no limit of that kind."""

    rpm: Annotated[int, Meta(ge=1)] | None = None
    """Requests per minute."""
    tpm: Annotated[int, Meta(ge=1)] | None = None
    """Tokens (input and output) per minute."""
    max_in_flight: Annotated[int, Meta(ge=1)] | None = None
    """Requests being answered at once."""
    budget_usd: Annotated[float, Meta(ge=0)] | None = None
    """Spend allowed per ``budget_period``."""
    budget_period: Period = "month"
    per_model: bool = False
    """Count ``rpm`` and ``tpm`` per key and model rather than per key."""


class GatewayKey(Struct, kw_only=True, omit_defaults=True):
    """One key as the gateway keeps it (never the key itself)."""

    id: str
    name: str
    sha256: str
    hint: str = ""
    """The key's first characters, e.g. ``gw-AbCd``."""
    metadata: dict[str, str] = field(default_factory=dict)
    models: list[str] = field(default_factory=list)
    """Patterns (``fnmatch``: ``openai/*``, ``claude-*``, an alias) of the models it may use; empty: all."""
    limits: KeyLimits = field(default_factory=KeyLimits)
    expires_at: float | None = None
    revoked: bool = False
    admin: bool = False
    created_at: float = 0.0
    source: Literal["store", "config"] = "store"

    def usable(self, now: float | None = None) -> bool:
        """Neither revoked nor expired."""
        if self.revoked:
            return False
        return self.expires_at is None or (now if now is not None else time.time()) < self.expires_at

    def allows(self, model: str) -> bool:
        """Whether the key may use ``model`` (as the client named it, or as it was routed)."""
        return not self.models or any(fnmatch.fnmatchcase(model, pattern) for pattern in self.models)


def generate_key() -> str:
    """A new key (shown once)."""
    return PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The key's SHA-256, hex."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key_id() -> str:
    """An id for a key record (``key_`` and 16 hex digits): safe to log and to show."""
    return "key_" + secrets.token_hex(8)


encode_key = msgspec.json.Encoder().encode
decode_key = msgspec.json.Decoder(GatewayKey).decode
