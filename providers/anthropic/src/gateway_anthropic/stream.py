"""The raw Messages API event stream (SSE events) -> deltas, one batch per network read.

Events: ``message_start`` (input usage), ``content_block_start`` / ``_delta`` /
``_stop`` per block (text, thinking, redacted_thinking, tool_use), ``message_delta`` (stop reason,
cumulative usage), ``message_stop`` (-> ``Finish``), ``ping`` (ignored) and ``error`` (raised as the mapped
gateway error, which the core turns into an ``error`` event and ``response.failed``).
"""

from __future__ import annotations

from msgspec import Struct, json

from gateway_core.contract import deltas as d

from .errors import stream_error
from .response import (
    Block,
    Citation,
    MessageBody,
    StopDetails,
    UsageBody,
    citation_deltas,
    finish,
    redacted_seal,
    search_item,
    thinking_seal,
    usage_delta,
)


class EventDelta(Struct, gc=False):
    """``delta`` of ``content_block_delta`` (typed) and of ``message_delta`` (untyped), fields merged."""

    type: str = ""
    text: str | None = None
    partial_json: str | None = None
    thinking: str | None = None
    signature: str | None = None
    stop_reason: str | None = None
    stop_details: StopDetails | None = None
    citation: Citation | None = None


class ErrorDetail(Struct, gc=False):
    """``error.error``."""

    type: str = "api_error"
    message: str = ""


class Event(Struct, gc=False):
    """Any stream event (the union of the fields used)."""

    type: str
    index: int = 0
    message: MessageBody | None = None
    content_block: Block | None = None
    delta: EventDelta | None = None
    usage: UsageBody | None = None
    error: ErrorDetail | None = None


_decode_event = json.Decoder(Event).decode


class MessagesStreamParser:
    """The Messages API event stream -> deltas (the :class:`gateway_core.sse.StreamParser` the core's driver
    reads it with); ``message_stop`` is the end marker."""

    __slots__ = (
        "_arguments",
        "_citations",
        "_query",
        "_text_length",
        "_kind",
        "_model",
        "_previous",
        "_signature",
        "_stop_details",
        "_stop_reason",
        "_thinking",
        "_usage",
        "done",
    )

    def __init__(self, model: str) -> None:
        self.done = False
        self._model = model
        self._kind = ""  # type of the open content block
        self._previous = ""  # type of the last closed content block
        self._thinking: list[str] = []
        self._signature: list[str] = []
        self._arguments = False
        self._query: list[str] = []  # a server_tool_use block's input JSON
        self._citations: list[Citation] = []  # the open text block's citations
        self._text_length = 0
        self._stop_reason: str | None = None
        self._stop_details: StopDetails | None = None
        self._usage: UsageBody | None = None

    def feed(self, events: list[tuple[str, bytes]], out: list[d.Delta]) -> None:
        """Append the deltas of the events of one read. Raises the mapped error of an ``error`` event."""
        for name, data in events:
            self._event(name, data, out)

    def end(self, out: list[d.Delta]) -> None:
        """At EOF before ``message_stop``: nothing (the stream was cut)."""

    def _event(self, name: str, data: bytes, out: list[d.Delta]) -> None:
        if name == "ping":
            return
        event = _decode_event(data)
        kind = event.type
        if kind == "content_block_delta":
            if event.delta is not None:
                self._block_delta(event.delta, out)
        elif kind == "content_block_start":
            if event.content_block is not None:
                self._block_start(event.content_block, out)
        elif kind == "content_block_stop":
            self._block_stop(out)
        elif kind == "message_start":
            message = event.message
            if message is not None and message.usage is not None:
                self._usage = message.usage
                out.append(usage_delta(message.usage))
        elif kind == "message_delta":
            delta = event.delta
            if delta is not None:
                if delta.stop_reason is not None:
                    self._stop_reason = delta.stop_reason
                if delta.stop_details is not None:
                    self._stop_details = delta.stop_details
            if event.usage is not None:
                out.append(usage_delta(self._merge_usage(event.usage)))
        elif kind == "message_stop":
            out.extend(finish(self._stop_reason, self._stop_details))
            self.done = True
        elif kind == "error":
            detail = event.error or ErrorDetail()
            raise stream_error(detail.type, detail.message)

    def _merge_usage(self, update: UsageBody) -> UsageBody:
        """Cumulative usage: the latest non-null value of each counter (``message_delta`` may repeat or omit
        the input and cache counts of ``message_start``)."""
        usage = self._usage
        if usage is None:
            self._usage = update
            return update
        for name in UsageBody.__struct_fields__:
            value = getattr(update, name)
            if value is not None:
                setattr(usage, name, value)
        return usage

    def _block_start(self, block: Block, out: list[d.Delta]) -> None:
        kind = block.type
        self._kind = kind
        if kind == "text":
            if self._previous == "text":
                out.append(d.PartBreak())
            self._citations = list(block.citations or ())
            self._text_length = len(block.text or "")
            if block.text:
                out.append(d.TextDelta(block.text))
        elif kind == "thinking":
            self._thinking = [block.thinking] if block.thinking else []
            self._signature = [block.signature] if block.signature else []
            if block.thinking:
                out.append(d.ReasoningSummaryDelta(block.thinking))
        elif kind == "redacted_thinking":
            out.append(redacted_seal(self._model, block.data or ""))
        elif kind == "tool_use":
            self._arguments = False
            out.append(d.FunctionCallStart(block.id or "", block.name or ""))
        elif kind == "server_tool_use":
            self._query = []
        elif kind == "web_search_tool_result":
            out.append(search_item("".join(self._query).encode(), block))

    def _block_delta(self, delta: EventDelta, out: list[d.Delta]) -> None:
        kind = delta.type
        if kind == "text_delta":
            if delta.text:
                self._text_length += len(delta.text)
                out.append(d.TextDelta(delta.text))
        elif kind == "input_json_delta" and self._kind == "server_tool_use":
            self._query.append(delta.partial_json or "")
        elif kind == "input_json_delta":
            if delta.partial_json:
                self._arguments = True
                out.append(d.FunctionCallArgumentsDelta(delta.partial_json))
        elif kind == "thinking_delta":
            if delta.thinking:
                self._thinking.append(delta.thinking)
                out.append(d.ReasoningSummaryDelta(delta.thinking))
        elif kind == "signature_delta" and delta.signature:
            self._signature.append(delta.signature)
        elif kind == "citations_delta" and delta.citation is not None:
            self._citations.append(delta.citation)

    def _block_stop(self, out: list[d.Delta]) -> None:
        kind = self._kind
        if kind == "thinking":
            out.append(thinking_seal(self._model, "".join(self._thinking), "".join(self._signature)))
        elif kind == "tool_use" and not self._arguments:
            out.append(d.FunctionCallArgumentsDelta("{}"))  # a call without arguments streams no JSON at all
        elif kind == "text" and self._citations:
            out.extend(citation_deltas(self._citations, self._text_length))
            self._citations = []
        if kind:
            self._previous = kind
        self._kind = ""
