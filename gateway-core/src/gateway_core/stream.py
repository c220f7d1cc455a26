"""The one place that turns semantic deltas into output items and the exact Open Responses event sequence.

A :class:`ResponseBuilder` is fed lists of deltas (``gateway_core.deltas``). Not streaming, it only assembles
the output items; streaming, it also encodes every event as a whole SSE frame, numbering them from 0:

    response.created, response.in_progress,
      (per message)   output_item.added, content_part.added, output_text.delta*, output_text.done,
                      content_part.done, output_item.done
      (per call)      output_item.added, function_call_arguments.delta*, function_call_arguments.done,
                      output_item.done
      (per reasoning) output_item.added, reasoning_summary_part.added, reasoning_summary_text.delta*, ...
    response.completed | response.incomplete | response.failed, [DONE]

A failure after the first event (an upstream error mid-stream, an EOF without a finish, a tool call outside
``allowed_tools``) ends with an ``error`` event, then ``response.failed`` whose snapshot marks the open item
``incomplete``: :meth:`ResponseBuilder.fail`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from . import deltas as d
from .errors import GatewayError, ModelError, StreamInterrupted
from .events import (
    DONE_FRAME,
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
from .types import (
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
    Usage,
    encoder,
)

_encode = encoder.encode
_MESSAGE, _CALL, _REASONING = 1, 2, 3
_TEXT, _REFUSAL, _SUMMARY, _RAW = 1, 2, 3, 4
_ITEM_OF_PART = {_TEXT: _MESSAGE, _REFUSAL: _MESSAGE, _SUMMARY: _REASONING, _RAW: _REASONING}


class ResponseBuilder:
    """Assembles one response from semantic deltas, emitting SSE frames when ``streaming``.

    Use: ``start()`` once the upstream is open, ``feed()`` with each list of deltas (``take_frames()`` after
    each to get the bytes to write), then ``finish()`` at the upstream's end, or ``fail(error)``.
    ``framing`` is ``"sse"`` (whole SSE events, ``data: [DONE]`` last), ``"json"`` (one JSON document per
    event, for the WebSocket mode; see ``take_events``) or ``None`` (no events: a JSON response).
    """

    __slots__ = (
        "_allowed",
        "_chunks",
        "_frame",
        "_sse",
        "_finish",
        "_frames",
        "_index",
        "_item",
        "_kind",
        "_part",
        "_part_index",
        "_part_kind",
        "_seq",
        "_usage",
        "done",
        "resource",
    )

    def __init__(
        self,
        resource: ResponseResource,
        *,
        framing: str | None,
        allowed_tools: frozenset[str] | None = None,
    ) -> None:
        self.resource = resource
        self._frames: list[bytes] | None = None if framing is None else []
        self._frame = sse_frame if framing == "sse" else _encode
        self._sse = framing == "sse"
        self._seq = 0
        self._allowed = allowed_tools
        self._item: OutputMessage | OutputFunctionCall | OutputReasoning | None = None
        self._kind = 0
        self._index = -1
        self._part: OutputText | Refusal | SummaryText | ReasoningText | None = None
        self._part_kind = 0
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
            self._emit(ResponseIncomplete(0, resource))
        else:
            self._close_item("completed")
            resource.status = "completed"
            resource.completed_at = int(time.time())
            resource.usage = self._final_usage()
            self._emit(ResponseCompleted(0, resource))
        self._end()
        return resource

    def fail(self, error: GatewayError) -> ResponseResource:
        """End with ``error`` then ``response.failed``; the open item is kept, marked ``incomplete``."""
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
        self._emit(ErrorEvent(0, error.body()))
        self._emit(ResponseFailed(0, resource))
        self._end()
        return resource

    def _end(self) -> None:
        self.done = True
        if self._sse:
            self._frames.append(DONE_FRAME)  # type: ignore[union-attr]

    def _final_usage(self) -> Usage:
        return self._usage if self._usage is not None else Usage()

    # -- items and parts --------------------------------------------------------------------------------

    def _append(self, part_kind: int, text: str) -> None:
        if not text:
            return
        if self._part_kind != part_kind:
            self._open_part(part_kind)
        self._chunks.append(text)
        if self._frames is None:
            return
        item_id = self._item.id  # type: ignore[union-attr]
        if part_kind == _TEXT:
            self._emit(OutputTextDelta(0, item_id, self._index, self._part_index, text))
        elif part_kind == _SUMMARY:
            self._emit(SummaryTextDelta(0, item_id, self._index, self._part_index, text))
        elif part_kind == _REFUSAL:
            self._emit(RefusalDeltaEvent(0, item_id, self._index, self._part_index, text))
        else:
            self._emit(ReasoningDeltaEvent(0, item_id, self._index, self._part_index, text))

    def _open_item(self, kind: int, item: OutputMessage | OutputFunctionCall | OutputReasoning) -> None:
        self._close_item("completed")
        output = self.resource.output
        self._index = len(output)
        output.append(item)
        self._item = item
        self._kind = kind
        self._emit(OutputItemAdded(0, self._index, item))

    def _open_part(self, part_kind: int) -> None:
        item_kind = _ITEM_OF_PART[part_kind]
        if self._kind != item_kind:
            if item_kind == _MESSAGE:
                self._open_item(_MESSAGE, OutputMessage(new_id("msg"), "in_progress", "assistant", []))
            else:
                self._open_item(_REASONING, OutputReasoning(new_id("rs"), [], "in_progress"))
        else:
            self._close_part()
        item = self._item
        part: OutputText | Refusal | SummaryText | ReasoningText
        if part_kind == _SUMMARY:
            part = SummaryText("")
            self._part_index = len(item.summary)  # type: ignore[union-attr]
            item.summary.append(part)  # type: ignore[union-attr]
            self._part, self._part_kind = part, part_kind
            self._emit(SummaryPartAdded(0, item.id, self._index, self._part_index, SummaryText("")))  # type: ignore[union-attr]
            return
        if part_kind == _TEXT:
            part = OutputText("")
        elif part_kind == _REFUSAL:
            part = Refusal("")
        else:
            part = ReasoningText("")
        self._part_index = len(item.content)  # type: ignore[union-attr]
        item.content.append(part)  # type: ignore[union-attr, arg-type]
        self._part, self._part_kind = part, part_kind
        self._emit(ContentPartAdded(0, item.id, self._index, self._part_index, part))  # type: ignore[union-attr]

    def _flush_open_text(self) -> str:
        """Write the accumulated text into the open part (or call) without emitting events."""
        text = "".join(self._chunks)
        self._chunks = []
        part = self._part
        if self._kind == _CALL:
            self._item.arguments = text  # type: ignore[union-attr]
        elif part is not None:
            if self._part_kind == _REFUSAL:
                part.refusal = text  # type: ignore[union-attr]
            else:
                part.text = text  # type: ignore[union-attr]
        self._part = None
        self._part_kind = 0
        return text

    def _close_part(self) -> None:
        part = self._part
        if part is None:
            return
        part_kind, index, item_id = self._part_kind, self._part_index, self._item.id  # type: ignore[union-attr]
        text = self._flush_open_text()
        if self._frames is None:
            return
        out = self._index
        if part_kind == _TEXT:
            self._emit(OutputTextDone(0, item_id, out, index, text))
            self._emit(ContentPartDone(0, item_id, out, index, part))  # type: ignore[arg-type]
        elif part_kind == _REFUSAL:
            self._emit(RefusalDone(0, item_id, out, index, text))
            self._emit(ContentPartDone(0, item_id, out, index, part))  # type: ignore[arg-type]
        elif part_kind == _SUMMARY:
            self._emit(SummaryTextDone(0, item_id, out, index, text))
            self._emit(SummaryPartDone(0, item_id, out, index, part))  # type: ignore[arg-type]
        else:
            self._emit(ReasoningDone(0, item_id, out, index, text))
            self._emit(ContentPartDone(0, item_id, out, index, part))  # type: ignore[arg-type]

    def _close_item(self, status: str) -> None:
        item = self._item
        if item is None:
            return
        if self._kind == _CALL:
            arguments = self._flush_open_text() or "{}"
            item.arguments = arguments  # type: ignore[union-attr]
            self._emit(ArgumentsDone(0, item.id, self._index, arguments))
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
        self._item.encrypted_content = delta.encrypted_content  # type: ignore[union-attr]
        self._close_item("completed")

    def _on_call_start(self, delta: d.FunctionCallStart) -> None:
        allowed = self._allowed
        if allowed is not None and delta.name not in allowed:
            raise ModelError(
                f"the model called the tool '{delta.name}', which this request does not allow",
                code="tool_not_allowed",
            )
        self._open_item(_CALL, OutputFunctionCall(new_id("fc"), delta.call_id, delta.name, "", "in_progress"))

    def _on_call_arguments(self, delta: d.FunctionCallArgumentsDelta) -> None:
        if self._kind != _CALL or not delta.text:
            return
        self._chunks.append(delta.text)
        self._emit(ArgumentsDelta(0, self._item.id, self._index, delta.text))  # type: ignore[union-attr]

    def _on_part_break(self, delta: d.PartBreak) -> None:
        if self._kind != _CALL:
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
    d.PartBreak: ResponseBuilder._on_part_break,
    d.ItemBreak: ResponseBuilder._on_item_break,
    d.UsageDelta: ResponseBuilder._on_usage,
    d.Finish: ResponseBuilder._on_finish,
}
