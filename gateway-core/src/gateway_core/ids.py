"""Identifiers the gateway issues: ``resp_``, ``msg_``, ``fc_``, ``rs_`` + 32 hex, and ``call_gw`` tool-call ids."""

from __future__ import annotations

import os
import secrets
import string

_BASE62 = string.digits + string.ascii_letters

CALL_ID_PREFIX = "call_gw"
"""Prefix of tool-call ids the gateway made up because the provider gave none."""


def new_id(prefix: str) -> str:
    """``prefix`` + ``_`` + 32 random hex digits."""
    return f"{prefix}_{os.urandom(16).hex()}"


def new_call_id() -> str:
    """A tool-call id for a provider that returns none: ``call_gw`` + 24 base62 characters."""
    return CALL_ID_PREFIX + "".join(secrets.choice(_BASE62) for _ in range(24))
