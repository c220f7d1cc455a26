"""The one place that turns semantic deltas into output items and the exact Open Responses event sequence.

A :class:`ResponseBuilder` is fed lists of deltas (``gateway_core.deltas``). Not streaming, it only assembles
the output items; streaming, it also encodes every event as a whole SSE frame, numbering them from 0:

    response.created, response.in_progress,
      (per message)   output_item.added, content_part.added, output_text.delta*, output_text.done,
                      content_part.done, output_item.done
      (per call)      output_item.added, function_call_arguments.delta*, function_call_arguments.done,
                      output_item.done
      (custom call,   output_item.added, output_item.done (a ``custom_tool_call``: a provider without
       whole items)   custom tools calls the function ``tool_plan`` made of it; and items such as
                      ``web_search_call`` that come whole)
      (per reasoning) output_item.added, reasoning_summary_part.added, reasoning_summary_text.delta*, ...
    response.completed | response.incomplete | response.failed, [DONE]

A failure after the first event (an upstream error mid-stream, an EOF without a finish, a tool call outside
``allowed_tools``) ends with an ``error`` event, then ``response.failed`` whose snapshot marks the open item
``incomplete``: :meth:`ResponseBuilder.fail`.

What one response may hold is bounded: the characters of text, refusals, reasoning, call names and arguments
and sealed reasoning are counted as they arrive, and a delta that would pass ``max_chars`` raises
``response_too_large`` (the response then ends failed). The error of a failed response passes the instance's
``redact`` before it is emitted or kept, so no failure path can carry the upstream key.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import msgspec
from msgspec import UNSET

from . import deltas as d
from .errors import GatewayError, ModelError, ResponseTooLargeError, StreamInterrupted
from .events import (
    DONE_FRAME,
    AnnotationAdded,
    ArgumentsDelta,
    ArgumentsDone,
    ContentPartAdded,
    ContentPartDone,
    ErrorEvent,
    OutputItemAdded,
    OutputItemDone,
    OutputTextDelta,
    OutputTextDone,
    ReasoningDeltaEvent,
    ReasoningDone,
    RefusalDeltaEvent,
    RefusalDone,
    ResponseCompleted,
    ResponseCreated,
    ResponseFailed,
    ResponseIncomplete,
    ResponseInProgress,
    SummaryPartAdded,
    SummaryPartDone,
    SummaryTextDelta,
    SummaryTextDone,
    sse_frame,
)
from .ids import new_id
from .tool_plan import CallOrigin
from .types import (
    CustomToolCall,
    IncompleteDetails,
    InputTokensDetails,
    OutputFunctionCall,
    OutputMessage,
    OutputReasoning,
    OutputText,
    OutputTokensDetails,
    ReasoningText,
    Refusal,
    ResponseResource,
    SummaryText,
    UrlCitation,
    Usage,
    WebSearchCall,
    encoder,
)

_encode = encoder.encode
_MESSAGE, _CALL, _REASONING, _CUSTOM = 1, 2, 3, 4
Part = OutputText | Refusal | SummaryText | ReasoningText


class _PartKind:
    """One kind of text part, as data: the item it belongs to, the item's list it joins, the part's text
    attribute, and its four events (text delta, text done, part added, part done)."""

    __slots__ = ("added", "attribute", "delta", "done", "field", "item_kind", "new", "part_done")

    def __init__(
        self,
        item_kind: int,
        new: Callable[[str], Part],
        field: str,
        attribute: str,
        events: tuple[Callable[..., object], Callable[..., object], Callable[..., object], Callable[..., object]],
    ) -> None:
        self.item_kind = item_kind
        self.new = new
        self.field = field
        self.attribute = attribute
        self.delta, self.done, self.added, self.part_done = events


_TEXT = _PartKind(_MESSAGE, OutputText, "content", "text",
                  (OutputTextDelta, OutputTextDone, ContentPartAdded, ContentPartDone))
_REFUSAL = _PartKind(_MESSAGE, Refusal, "content", "refusal",
                     (RefusalDeltaEvent, RefusalDone, ContentPartAdded, ContentPartDone))
_SUMMARY = _PartKind(_REASONING, SummaryText, "summary", "text",
                     (SummaryTextDelta, SummaryTextDone, SummaryPartAdded, SummaryPartDone))
_RAW = _PartKind(_REASONING, ReasoningText, "content", "text",
                 (ReasoningDeltaEvent, ReasoningDone, ContentPartAdded, ContentPartDone))


class ResponseBuilder:
    """Assembles one response from semantic deltas, emitting SSE frames when ``streaming``.

    Use: ``start()`` once the upstream is open, ``feed()`` with each list of deltas (``take_frames()`` after
    each to get the bytes to write), then ``finish()`` at the upstream's end, or ``fail(error)``.
    ``framing`` is ``"sse"`` (whole SSE events, ``data: [DONE]`` last), ``"json"`` (one JSON document per
    event, for the WebSocket mode; see ``take_events``) or ``None`` (no events: a JSON response).
    ``settle(resource)``, if given, runs once the resource is final and before the terminal event encodes
    it (so what it says, e.g. ``store``, is what happened).
    """

    __slots__ = (
        "_allowed",
        "_origins",
        "_chunks",
        "_frame",
        "_sse",
        "_finish",
        "_frames",
        "_index",
        "_item",
        "_limit",
        "_kind",
        "_part",
        "_part_index",
        "_part_kind",
        "_redact",
        "_room",
        "_seq",
        "_usage",
        "_settle",
        "done",
        "resource",
    )

    def __init__(
        self,
        resource: ResponseResource,
        *,
        framing: str | None,
        allowed_tools: frozenset[str] | None = None,
        origins: dict[str, CallOrigin] | None = None,
        max_chars: int = 16 * 1024 * 1024,
        redact: Callable[[GatewayError], GatewayError] | None = None,
        settle: Callable[[ResponseResource], None] | None = None,
    ) -> None:
        self.resource = resource
        self._room = self._limit = max_chars
        self._redact = redact
        self._settle = settle
        self._frames: list[bytes] | None = None if framing is None else []
        self._frame = sse_frame if framing == "sse" else _encode
        self._sse = framing == "sse"
        self._seq = 0
        self._allowed = allowed_tools
        self._origins = origins
        self._item: OutputMessage | OutputFunctionCall | OutputReasoning | CustomToolCall | None = None
        self._kind = 0
        self._index = -1
        self._part: Part | None = None
        self._part_kind: _PartKind | None = None
        self._part_index = -1
        self._chunks: list[str] = []
        self._usage: Usage | None = None
        self._finish: d.Finish | None = None
        self.done = False

    # -- output -----------------------------------------------------------------------------------------

    def _emit(self, event: object) -> None:
        frames = self._frames
        if frames is not None:
            event.sequence_number = self._seq  # type: ignore[attr-defined]
            self._seq += 1
            frames.append(self._frame(event))  # type: ignore[arg-type]

    def take_frames(self) -> bytes:
        """The SSE bytes produced since the last call (empty when nothing new)."""
        frames = self._frames
        if not frames:
            return b""
        data = b"".join(frames)
        frames.clear()
        return data

    def take_events(self) -> list[bytes]:
        """The JSON events produced since the last call (``framing="json"``)."""
        frames = self._frames
        if not frames:
            return []
        events = frames.copy()
        frames.clear()
        return events

    # -- lifecycle --------------------------------------------------------------------------------------

    def start(self) -> None:
        """Emit ``response.created`` and ``response.in_progress``."""
        if self._frames is not None:
            self._emit(ResponseCreated(0, self.resource))
            self._emit(ResponseInProgress(0, self.resource))

    def feed(self, batch: Iterable[d.Delta]) -> None:
        """Apply deltas in order. Raises :class:`ModelError` for a call to a tool that is not allowed."""
        for delta in batch:
            kind = type(delta)
            if kind is d.TextDelta:
                self._append(_TEXT, delta.text)  # type: ignore[union-attr]
            else:
                _HANDLERS[kind](self, delta)

    def finish(self) -> ResponseResource:
        """Close everything and emit the terminal event. Raises :class:`StreamInterrupted` when the provider
        never sent :class:`~gateway_core.deltas.Finish`."""
        finish = self._finish
        if finish is None:
            raise StreamInterrupted()
        if finish.error_code is not None:
            return self.fail(ModelError(finish.error_message or finish.error_code, code=finish.error_code))
        resource = self.resource
        if finish.incomplete_reason is not None:
            self._close_item("incomplete")
            resource.status = "incomplete"
            resource.incomplete_details = IncompleteDetails(reason=finish.incomplete_reason)
            resource.usage = self._final_usage()
            self._settled()
            self._emit(ResponseIncomplete(0, resource))
        else:
            self._close_item("completed")
            resource.status = "completed"
            resource.completed_at = int(time.time())
            resource.usage = self._final_usage()
            self._settled()
            self._emit(ResponseCompleted(0, resource))
        self._end()
        return resource

    def fail(self, error: GatewayError) -> ResponseResource:
        """End with ``error`` (redacted) then ``response.failed``; the open item is kept, marked ``incomplete``."""
        if self._redact is not None:
            error = self._redact(error)
        item = self._item
        if item is not None:
            self._flush_open_text()
            item.status = "incomplete"
            self._item = None
            self._kind = 0
        resource = self.resource
        resource.status = "failed"
        resource.error = error.for_resource()
        resource.usage = self._final_usage()
        self._settled()
        self._emit(ErrorEvent(0, error.body()))
        self._emit(ResponseFailed(0, resource))
        self._end()
        return resource

    def _settled(self) -> None:
        """The resource is final: let the owner decide what it says (e.g. ``store``) before the terminal
        event encodes it."""
        # once only; and letting go of the callback (it holds the owner's state, which holds this builder)
        # leaves no reference cycle for the garbage collector
        settle, self._settle = self._settle, None
        if settle is not None:
            settle(self.resource)

    def _end(self) -> None:
        self.done = True
        if self._sse:
            self._frames.append(DONE_FRAME)  # type: ignore[union-attr]

    def _final_usage(self) -> Usage:
        return self._usage if self._usage is not None else Usage()

    # -- items and parts --------------------------------------------------------------------------------

    def _take(self, size: int) -> None:
        """Count ``size`` more characters against the limit; raises :class:`ResponseTooLargeError` past it."""
        room = self._room - size
        if room < 0:
            raise ResponseTooLargeError(self._limit)
        self._room = room

    def _append(self, part_kind: _PartKind, text: str) -> None:
        if not text:
            return
        room = self._room - len(text)  # _take, inlined: this runs for every text delta
        if room < 0:
            raise ResponseTooLargeError(self._limit)
        self._room = room
        if self._part_kind is not part_kind:
            self._open_part(part_kind)
        self._chunks.append(text)
        if self._frames is not None:
            self._emit(part_kind.delta(0, self._item.id, self._index, self._part_index, text))  # type: ignore[union-attr]

    def _open_item(self, kind: int, item: Any) -> None:
        self._close_item("completed")
        output = self.resource.output
        self._index = len(output)
        output.append(item)
        self._item = item
        self._kind = kind
        self._emit(OutputItemAdded(0, self._index, item))

    def _open_part(self, part_kind: _PartKind) -> None:
        item_kind = part_kind.item_kind
        if self._kind != item_kind:
            if item_kind == _MESSAGE:
                self._open_item(_MESSAGE, OutputMessage(new_id("msg"), "in_progress", "assistant", []))
            else:
                self._open_item(_REASONING, OutputReasoning(new_id("rs"), [], "in_progress"))
        else:
            self._close_part()
        item = self._item
        parts: list[Part] = getattr(item, part_kind.field)
        part = part_kind.new("")
        self._part_index = len(parts)
        parts.append(part)
        self._part, self._part_kind = part, part_kind
        self._emit(part_kind.added(0, item.id, self._index, self._part_index, part))  # type: ignore[union-attr]

    def _flush_open_text(self) -> str:
        """Write the accumulated text into the open part (or call) without emitting events."""
        text = "".join(self._chunks)
        self._chunks = []
        part, part_kind = self._part, self._part_kind
        if self._kind == _CALL:
            self._item.arguments = text  # type: ignore[union-attr]
        elif self._kind == _CUSTOM:
            self._item.input = _custom_input(text)  # type: ignore[union-attr]
        elif part is not None and part_kind is not None:
            setattr(part, part_kind.attribute, text)
        self._part = None
        self._part_kind = None
        return text

    def _close_part(self) -> None:
        part, part_kind = self._part, self._part_kind
        if part is None or part_kind is None:
            return
        index, item_id = self._part_index, self._item.id  # type: ignore[union-attr]
        text = self._flush_open_text()
        if self._frames is None:
            return
        out = self._index
        self._emit(part_kind.done(0, item_id, out, index, text))
        self._emit(part_kind.part_done(0, item_id, out, index, part))

    def _close_item(self, status: str) -> None:
        item = self._item
        if item is None:
            return
        if self._kind == _CALL:
            arguments = self._flush_open_text() or "{}"
            item.arguments = arguments  # type: ignore[union-attr]
            self._emit(ArgumentsDone(0, item.id, self._index, arguments))  # type: ignore[arg-type]
        elif self._kind == _CUSTOM:
            self._flush_open_text()
        else:
            self._close_part()
        item.status = status
        self._emit(OutputItemDone(0, self._index, item))
        self._item = None
        self._kind = 0

    # -- delta handlers ---------------------------------------------------------------------------------

    def _on_refusal(self, delta: d.RefusalDelta) -> None:
        self._append(_REFUSAL, delta.text)

    def _on_summary(self, delta: d.ReasoningSummaryDelta) -> None:
        self._append(_SUMMARY, delta.text)

    def _on_reasoning_text(self, delta: d.ReasoningTextDelta) -> None:
        self._append(_RAW, delta.text)

    def _on_seal(self, delta: d.ReasoningSeal) -> None:
        if self._kind != _REASONING:
            self._open_item(_REASONING, OutputReasoning(new_id("rs"), [], "in_progress"))
        self._take(len(delta.encrypted_content))
        self._item.encrypted_content = delta.encrypted_content  # type: ignore[union-attr]
        self._close_item("completed")

    def _on_call_start(self, delta: d.FunctionCallStart) -> None:
        allowed = self._allowed
        if allowed is not None and delta.name not in allowed:
            raise ModelError(
                f"the model called the tool '{delta.name}', which this request does not allow",
                code="tool_not_allowed",
            )
        self._take(len(delta.name) + len(delta.call_id))
        origin = self._origins.get(delta.name) if self._origins is not None else None
        if origin is None:
            call = OutputFunctionCall(new_id("fc"), delta.call_id, delta.name, "", "in_progress")
            if delta.namespace is not None:
                call.namespace = delta.namespace
            self._open_item(_CALL, call)
        elif origin.custom:
            self._open_item(_CUSTOM, CustomToolCall(call_id=delta.call_id, name=origin.name, input="",
                                                    id=new_id("ctc"), status="in_progress",
                                                    namespace=origin.namespace))
        else:
            call = OutputFunctionCall(new_id("fc"), delta.call_id, origin.name, "", "in_progress")
            if origin.namespace is not None:
                call.namespace = origin.namespace
            self._open_item(_CALL, call)

    def _on_call_arguments(self, delta: d.FunctionCallArgumentsDelta) -> None:
        kind = self._kind
        if (kind != _CALL and kind != _CUSTOM) or not delta.text:
            return
        self._take(len(delta.text))
        self._chunks.append(delta.text)
        if kind == _CALL:
            self._emit(ArgumentsDelta(0, self._item.id, self._index, delta.text))  # type: ignore[union-attr, arg-type]

    def _on_citation(self, delta: d.CitationDelta) -> None:
        if self._part_kind is not _TEXT:
            return
        self._take(len(delta.url) + len(delta.title))
        citation = UrlCitation(delta.url, delta.start_index, delta.end_index, delta.title)
        annotations = self._part.annotations  # type: ignore[union-attr]
        annotations.append(citation)
        self._emit(AnnotationAdded(0, self._item.id, self._index, self._part_index,  # type: ignore[union-attr, arg-type]
                                   len(annotations) - 1, citation))

    def _on_output_item(self, delta: d.OutputItemDelta) -> None:
        self._close_item("completed")
        item = delta.item
        self._take(len(_encode(item)))
        if not item.id:
            item.id = new_id("ws" if type(item) is WebSearchCall else "ctc" if type(item) is CustomToolCall
                             else "item")
        if getattr(item, "status", None) in (None, UNSET) and "status" in item.__struct_fields__:
            item.status = "completed"  # type: ignore[union-attr]
        output = self.resource.output
        index = len(output)
        output.append(item)
        self._emit(OutputItemAdded(0, index, item))
        self._emit(OutputItemDone(0, index, item))

    def _on_part_break(self, delta: d.PartBreak) -> None:
        if self._kind != _CALL and self._kind != _CUSTOM:
            self._close_part()

    def _on_item_break(self, delta: d.ItemBreak) -> None:
        self._close_item("completed")

    def _on_usage(self, delta: d.UsageDelta) -> None:
        usage = self._usage
        if usage is None:
            usage = self._usage = Usage(0, 0, 0, InputTokensDetails(0), OutputTokensDetails(0))
        if delta.input_tokens is not None:
            usage.input_tokens = delta.input_tokens
        if delta.output_tokens is not None:
            usage.output_tokens = delta.output_tokens
        if delta.cached_tokens is not None:
            usage.input_tokens_details.cached_tokens = delta.cached_tokens
        if delta.reasoning_tokens is not None:
            usage.output_tokens_details.reasoning_tokens = delta.reasoning_tokens
        if delta.cache_write_tokens is not None:
            usage.input_tokens_details.cache_write_tokens = delta.cache_write_tokens
        usage.total_tokens = (
            delta.total_tokens if delta.total_tokens is not None else usage.input_tokens + usage.output_tokens
        )

    def _on_finish(self, delta: d.Finish) -> None:
        self._finish = delta


_HANDLERS: dict[type, Callable[[ResponseBuilder, Any], None]] = {
    d.RefusalDelta: ResponseBuilder._on_refusal,
    d.ReasoningSummaryDelta: ResponseBuilder._on_summary,
    d.ReasoningTextDelta: ResponseBuilder._on_reasoning_text,
    d.ReasoningSeal: ResponseBuilder._on_seal,
    d.FunctionCallStart: ResponseBuilder._on_call_start,
    d.FunctionCallArgumentsDelta: ResponseBuilder._on_call_arguments,
    d.OutputItemDelta: ResponseBuilder._on_output_item,
    d.CitationDelta: ResponseBuilder._on_citation,
    d.PartBreak: ResponseBuilder._on_part_break,
    d.ItemBreak: ResponseBuilder._on_item_break,
    d.UsageDelta: ResponseBuilder._on_usage,
    d.Finish: ResponseBuilder._on_finish,
}


def _custom_input(arguments: str) -> str:
    """A custom tool's freeform input from the arguments of the function ``tool_plan`` made of it."""
    try:
        value = msgspec.json.decode(arguments)
    except msgspec.DecodeError:
        return arguments
    if isinstance(value, dict) and isinstance(value.get("input"), str):
        return value["input"]
    return arguments
