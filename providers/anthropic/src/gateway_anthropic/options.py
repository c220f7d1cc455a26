"""The plugin-specific ``options`` of one ``anthropic`` instance, as a typed Struct the core converts at startup."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct

DEFAULT_MAX_TOKENS = 4096


class AnthropicOptions(Struct, kw_only=True, forbid_unknown_fields=True):
    """``options`` of an ``anthropic`` instance (see README)."""

    default_max_tokens: Annotated[int, Meta(ge=1)] = DEFAULT_MAX_TOKENS
    """``max_tokens`` when the request has no ``max_output_tokens`` (the Messages API requires one)."""
    sampling_params: bool = False
    """Send ``temperature`` (or else ``top_p``) when thinking is off; Claude 4.x rejects both together."""
    adaptive_thinking_models: tuple[str, ...] = ()
    """Model-name prefixes that take ``thinking: {type: adaptive}`` with an effort instead of a budget."""
