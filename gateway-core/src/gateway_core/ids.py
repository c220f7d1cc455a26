"""Identifiers the gateway issues: ``resp_``, ``msg_``, ``fc_``, ``rs_`` + 44 hex, and ``call_gw`` tool-call ids.

Response and item ids start with the time they were made (milliseconds, as OpenAI's own ids start with
theirs), then 128 random bits, which keep them unguessable. Time-ordered keys make the store's inserts land
at the end of its indexes: a SQLite save cost about half the CPU it did with fully random ids.
"""

from __future__ import annotations

import os
import secrets
import string
import time

_BASE62 = string.digits + string.ascii_letters

CALL_ID_PREFIX = "call_gw"
"""Prefix of tool-call ids the gateway made up because the provider gave none."""


def new_id(prefix: str) -> str:
    """``prefix`` + ``_`` + 12 hex digits of Unix time in milliseconds + 32 random hex digits."""
    return f"{prefix}_{time.time_ns() // 1_000_000:012x}{os.urandom(16).hex()}"


def new_call_id() -> str:
    """A tool-call id for a provider that returns none: ``call_gw`` + 24 base62 characters."""
    return CALL_ID_PREFIX + "".join(secrets.choice(_BASE62) for _ in range(24))
