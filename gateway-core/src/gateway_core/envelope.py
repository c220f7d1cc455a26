"""The gateway envelope for opaque round-trip data in ``reasoning.encrypted_content``.

Anthropic thinking signatures and Gemini thought signatures must come back byte-exact on the next turn, and
only to the provider that made them. They travel as ``"orgw1." + base64url(JSON)`` with ``{"p": provider,
"m": model, ...}``. :func:`open_envelope` returns the data only when it was sealed for the asking provider,
so one provider never receives another's blob. OpenAI's own ``encrypted_content`` is passed through as is
(no prefix).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec

PREFIX = "orgw1."
_encode = msgspec.json.encode
_decode = msgspec.json.decode


def seal(provider: str, model: str, data: dict[str, Any]) -> str:
    """Wrap ``data`` for ``provider``."""
    payload = _encode({"p": provider, "m": model, **data})
    return PREFIX + base64.urlsafe_b64encode(payload).decode().rstrip("=")


def open_envelope(blob: str | None, provider: str) -> dict[str, Any] | None:
    """The data sealed for ``provider``, or ``None`` (not an envelope, corrupt, or another provider's)."""
    if not blob or not blob.startswith(PREFIX):
        return None
    text = blob[len(PREFIX):]
    try:
        data = _decode(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, msgspec.DecodeError):
        return None
    if not isinstance(data, dict) or data.get("p") != provider:
        return None
    return data


def is_envelope(blob: str | None) -> bool:
    """Whether ``blob`` is a gateway envelope (of any provider)."""
    return bool(blob) and blob.startswith(PREFIX)  # type: ignore[union-attr]
