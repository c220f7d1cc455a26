"""The ``options`` of one ``echo`` instance, converted by the core once at startup."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct


class EchoOptions(Struct, kw_only=True, forbid_unknown_fields=True):
    """``providers.<name>.options`` of an ``echo`` instance."""

    user_agent: str = "gateway-echo-plugin"
    """Sent as ``User-Agent`` on every upstream request."""
    default_max_words: Annotated[int, Meta(ge=1)] = 4096
    """``max_words`` when the request has no ``max_output_tokens``."""
