"""A Messages request from the gateway's own ``/v1/messages`` forwarded with full fidelity.

The client's body goes upstream as sent (``cache_control``, ``top_k``, ``context_management``, betas...),
with the routed model, the client's ``anthropic-beta`` / ``anthropic-version`` headers, and two repairs:
thinking signatures the gateway handed out (its provider-scoped envelopes) are opened back into the original
``thinking`` + ``signature`` (foreign or corrupt ones are dropped, as in :mod:`.translate`), and
``{"role": "system"}`` messages inside ``messages`` (which Anthropic rejects) are appended to ``system``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from gateway_core import NativeRequest
from gateway_core.envelope import is_envelope, open_envelope

from .translate import PROVIDER

_KWARGS = ("system", "tools", "tool_choice", "thinking", "metadata", "stop_sequences", "service_tier", "output_config")
"""Keys taken as ``messages.create`` keyword arguments (the ones ``count_tokens`` also reads among them); every
other key (``temperature``, ``top_k``, ``context_management``...) travels in ``extra_body``."""


def _open_block(block: Any) -> Any:
    """The block with a gateway envelope opened; ``None`` for an envelope that is not ours to open."""
    if not isinstance(block, dict):
        return block
    kind = block.get("type")
    blob = block.get("signature") if kind == "thinking" else block.get("data") if kind == "redacted_thinking" else None
    if not is_envelope(blob):
        return block
    data = open_envelope(blob, PROVIDER)
    if data is None:
        return None
    if data.get("t") == "thinking":
        return {"type": "thinking", "thinking": data.get("thinking") or "", "signature": data.get("signature", "")}
    if data.get("t") == "redacted":
        return {"type": "redacted_thinking", "data": data.get("data", "")}
    return None


def _system_blocks(system: Any) -> list[Any]:
    if system is None:
        return []
    return [{"type": "text", "text": system}] if isinstance(system, str) else list(system)


def passthrough(request: NativeRequest, model: str, default_max_tokens: int) -> dict[str, Any]:
    """The ``messages.create`` keyword arguments for the client's own body, sent to ``model``."""
    body: dict[str, Any] = msgspec.json.decode(request.native_body)
    body.pop("stream", None)
    body.pop("model", None)
    system = _system_blocks(body.pop("system", None))
    messages = []
    for message in body.pop("messages", []):
        content = message.get("content")
        if message.get("role") == "system":
            system.extend(_system_blocks(content))
            continue
        if isinstance(content, list):
            message = {**message, "content": [block for block in map(_open_block, content) if block is not None]}
        messages.append(message)
    if system:
        body["system"] = system
    native: dict[str, Any] = {"model": model, "messages": messages,
                              "max_tokens": body.pop("max_tokens", None) or default_max_tokens}
    for key in _KWARGS:
        if key in body:
            native[key] = body.pop(key)
    if body:
        native["extra_body"] = body
    if request.native_headers:
        native["extra_headers"] = dict(request.native_headers)
    return native
