"""A dialect request that keeps the client's own body, for a plugin that speaks the same wire format upstream.

``POST /v1/messages`` decodes into a :class:`NativeRequest`: the core's request (routing, retries, fallback,
limits and every other provider use it as usual) plus the client's body bytes and the dialect's headers. A
plugin whose upstream speaks that dialect (the anthropic plugin for ``"messages"``) may forward the body with
full fidelity from its ``gateway_translate`` instead of translating the core request. Light on purpose:
plugins import it.
"""

from __future__ import annotations

from msgspec import field

from ..types import ResponseRequest


class NativeRequest(ResponseRequest, kw_only=True):
    """The core request of a dialect, with the client's body (``native_body``, undecoded: only a plugin that
    forwards it pays for decoding) and the dialect's headers worth forwarding (lower-case names)."""

    dialect: str = ""
    native_body: bytes = b""
    native_headers: dict[str, str] = field(default_factory=dict)
