"""A non-streaming Messages API body (raw JSON bytes) -> the list of deltas describing it.

Decoded with small msgspec Structs (only the fields used), not the SDK's pydantic models. ``tool_use.input``
is kept as raw JSON (``msgspec.Raw``): the call's ``arguments`` are the upstream's own bytes.
"""

from __future__ import annotations

import msgspec
from msgspec import Raw, Struct, json

from gateway_core.contract import deltas as d
from gateway_core.envelope import seal
from gateway_core.types import WebSearchCall

from .translate import PROVIDER

REFUSAL_TEXT = "The model declined to answer this request."
"""The refusal part's text when the upstream gives no ``stop_details.explanation``."""

_INCOMPLETE = {
    "max_tokens": "max_output_tokens",
    "model_context_window_exceeded": "max_output_tokens",
    "refusal": "content_filter",
}


class OutputTokensDetails(Struct, gc=False):
    """``usage.output_tokens_details``."""

    thinking_tokens: int | None = None


class UsageBody(Struct, gc=False):
    """``usage`` of a message (also the cumulative usage of ``message_delta``)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    output_tokens_details: OutputTokensDetails | None = None


class StopDetails(Struct, gc=False):
    """``stop_details`` (refusals)."""

    explanation: str | None = None


class Citation(Struct, gc=False):
    """A text block's citation (``web_search_result_location`` ones become ``url_citation`` annotations)."""

    type: str = ""
    url: str = ""
    title: str | None = None


class SearchResult(Struct, gc=False):
    """One ``web_search_result`` of a ``web_search_tool_result`` block."""

    type: str = ""
    url: str = ""


class Block(Struct, gc=False):
    """A content block of any type (the fields of text, thinking, redacted_thinking, tool_use and the web
    search blocks)."""

    type: str
    text: str | None = None
    thinking: str | None = None
    signature: str | None = None
    data: str | None = None
    id: str | None = None
    name: str | None = None
    input: Raw = Raw()
    citations: list[Citation] | None = None
    content: Raw = Raw()
    """``web_search_tool_result``: a list of results, or an error object."""


_decode_results = json.Decoder(list[SearchResult]).decode


def citation_deltas(citations: list[Citation] | None, length: int) -> list[d.Delta]:
    """The ``url_citation``s of a text block of ``length`` characters (each covers the block)."""
    return [d.CitationDelta(citation.url, citation.title or "", 0, length) for citation in citations or ()
            if citation.type == "web_search_result_location"]


def search_item(query_json: bytes, result: Block) -> d.OutputItemDelta:
    """A ``web_search_call`` item from a ``server_tool_use`` input and its ``web_search_tool_result``."""
    try:
        query = json.decode(query_json or b"{}").get("query", "")
    except (msgspec.DecodeError, AttributeError):
        query = ""
    raw = bytes(result.content)
    sources = []
    if raw.startswith(b"["):
        sources = [{"type": "url", "url": hit.url} for hit in _decode_results(raw) if hit.url]
    status = "completed" if raw.startswith(b"[") else "failed"
    return d.OutputItemDelta(WebSearchCall(status=status, action={"type": "search", "query": str(query),
                                                                   "sources": sources}))


class MessageBody(Struct, gc=False):
    """A ``message`` object: the non-streaming body and the ``message`` of ``message_start``."""

    content: list[Block] = []
    stop_reason: str | None = None
    stop_details: StopDetails | None = None
    usage: UsageBody | None = None


decode_message = json.Decoder(MessageBody).decode


def usage_delta(usage: UsageBody) -> d.UsageDelta:
    """Anthropic usage -> gateway usage: input counts include both cache counters."""
    details = usage.output_tokens_details
    input_tokens = None
    if usage.input_tokens is not None:
        input_tokens = usage.input_tokens + (usage.cache_read_input_tokens or 0) + (
            usage.cache_creation_input_tokens or 0
        )
    return d.UsageDelta(
        input_tokens=input_tokens,
        output_tokens=usage.output_tokens,
        cached_tokens=usage.cache_read_input_tokens,
        cache_write_tokens=usage.cache_creation_input_tokens,
        reasoning_tokens=details.thinking_tokens if details is not None else None,
    )


def finish(stop_reason: str | None, stop_details: StopDetails | None) -> list[d.Delta]:
    """The closing deltas for ``stop_reason`` (a refusal adds a refusal part first)."""
    reason = _INCOMPLETE.get(stop_reason or "")
    if stop_reason == "refusal":
        text = (stop_details.explanation if stop_details is not None else None) or REFUSAL_TEXT
        return [d.RefusalDelta(text), d.Finish(incomplete_reason=reason)]
    return [d.Finish(incomplete_reason=reason)]


def thinking_seal(model: str, thinking: str, signature: str) -> d.ReasoningSeal:
    """The envelope carrying a thinking block back on the next turn (byte-exact text and signature)."""
    return d.ReasoningSeal(seal(PROVIDER, model, {"t": "thinking", "thinking": thinking, "signature": signature}))


def redacted_seal(model: str, data: str) -> d.ReasoningSeal:
    """The envelope carrying a redacted_thinking block back on the next turn."""
    return d.ReasoningSeal(seal(PROVIDER, model, {"t": "redacted", "data": data}))


def message_deltas(body: bytes, model: str) -> list[d.Delta]:
    """All deltas of a non-streaming response body, ending with ``Finish``."""
    message = decode_message(body)
    out: list[d.Delta] = []
    previous = ""
    query = b""
    for block in message.content:
        kind = block.type
        if kind == "text":
            if previous == "text":
                out.append(d.PartBreak())
            out.append(d.TextDelta(block.text or ""))
            out.extend(citation_deltas(block.citations, len(block.text or "")))
        elif kind == "tool_use":
            out.append(d.FunctionCallStart(block.id or "", block.name or ""))
            raw = bytes(block.input).decode()
            out.append(d.FunctionCallArgumentsDelta(raw or "{}"))
        elif kind == "thinking":
            if block.thinking:
                out.append(d.ReasoningSummaryDelta(block.thinking))
            out.append(thinking_seal(model, block.thinking or "", block.signature or ""))
        elif kind == "redacted_thinking":
            out.append(redacted_seal(model, block.data or ""))
        elif kind == "server_tool_use":
            query = bytes(block.input)
        elif kind == "web_search_tool_result":
            out.append(search_item(query, block))
        else:
            continue
        previous = kind
    if message.usage is not None:
        out.append(usage_delta(message.usage))
    out.extend(finish(message.stop_reason, message.stop_details))
    return out
