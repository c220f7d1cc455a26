"""The two OpenAI stream formats -> deltas: one :class:`gateway_core.sse.StreamParser` each, for the core's driver.

One parser per stream; ``feed`` turns the events of one network read into deltas. A stream that reaches EOF
without its end marker (``response.completed``/``incomplete``, or chat ``[DONE]``) gets no ``Finish``, which
the core reports as an interrupted stream (``error`` + ``response.failed``).
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import Struct

from gateway_core.contract import deltas as d
from gateway_core.ids import new_call_id
from gateway_core.translate import WHOLE_ITEM_TYPES, whole_item

from .errors import error_from_body
from .response import (
    Annotation,
    ChatUsage,
    Function,
    Item,
    Response,
    UpstreamError,
    chat_finish,
    citations,
    decode_chat,
    decode_item,
    finish_of,
)

# ------------------------------------------------------------------------------------------------------------
# Responses API events


class _Event(Struct, gc=False):
    type: str
    delta: str = ""
    item: msgspec.Raw = msgspec.Raw(b"")
    """The event's item, undecoded (empty when the event has none)."""
    content_index: int = 0
    summary_index: int = 0
    response: Response | None = None
    code: Any = None
    message: str = ""
    error: UpstreamError | None = None
    annotation: Annotation | None = None


_decode_event = msgspec.json.Decoder(_Event).decode
_TEXT_DELTAS = {
    "response.output_text.delta": d.TextDelta,
    "response.function_call_arguments.delta": d.FunctionCallArgumentsDelta,
    "response.reasoning_summary_text.delta": d.ReasoningSummaryDelta,
    "response.reasoning_text.delta": d.ReasoningTextDelta,
    "response.refusal.delta": d.RefusalDelta,
}


class ResponsesStreamParser:
    """Responses API events -> deltas. The core assigns our ids; upstream ids and numbering are dropped."""

    __slots__ = ("done", "_streamed")

    def __init__(self) -> None:
        self.done = False
        self._streamed = False  # whether the current item's text came as deltas

    def feed(self, events: list[tuple[str, bytes]], out: list[d.Delta]) -> None:
        """Append the deltas of a batch of ``(event, data)`` pairs. Raises the mapped error of an upstream
        failure."""
        for _, data in events:
            event = _decode_event(data)
            kind = event.type
            make = _TEXT_DELTAS.get(kind)
            if make is not None:
                if event.delta:
                    out.append(make(event.delta))  # type: ignore[arg-type]
                    self._streamed = True
            elif kind == "response.output_item.added":
                self._streamed = False
                if not event.item:
                    continue
                item = decode_item(event.item)
                if item.type == "function_call":
                    out.append(d.FunctionCallStart(item.call_id or new_call_id(), item.name, item.namespace))
                elif item.type not in WHOLE_ITEM_TYPES:  # those come whole with output_item.done
                    out.append(d.ItemBreak())
            elif kind == "response.output_text.annotation.added":
                citations([event.annotation] if event.annotation else None, out)
            elif kind == "response.content_part.added":
                if event.content_index:
                    out.append(d.PartBreak())
            elif kind == "response.reasoning_summary_part.added":
                if event.summary_index:
                    out.append(d.PartBreak())
            elif kind == "response.output_item.done":
                if event.item:
                    item = decode_item(event.item)
                    if item.type in WHOLE_ITEM_TYPES:
                        out.append(whole_item(event.item))
                    else:
                        self._item_done(item, out)
            elif kind == "response.completed" or kind == "response.incomplete" or kind == "response.failed":
                response = event.response or Response(status=kind[9:])
                if response.status is None:
                    response.status = kind[9:]
                if response.usage is not None:
                    out.append(response.usage.delta())
                out.append(finish_of(response))  # raises for response.failed
                self.done = True
            elif kind == "error":
                error = event.error or UpstreamError(message=event.message, code=event.code)
                raise error_from_body(error.code, error.message, error.type)

    def _item_done(self, item: Item, out: list[d.Delta]) -> None:
        kind = item.type
        if not self._streamed:  # some servers put the content only in the done item
            if kind == "function_call" and item.arguments:
                out.append(d.FunctionCallArgumentsDelta(item.arguments))
            elif kind == "message":
                for index, part in enumerate(item.content or ()):
                    if index:
                        out.append(d.PartBreak())
                    if part.type == "refusal":
                        out.append(d.RefusalDelta(part.refusal))
                    else:
                        out.append(d.TextDelta(part.text))
                        citations(part.annotations, out)
            elif kind == "reasoning":
                for index, part in enumerate(item.summary or ()):
                    if index:
                        out.append(d.PartBreak())
                    out.append(d.ReasoningSummaryDelta(part.text))
        if kind == "reasoning" and item.encrypted_content:
            out.append(d.ReasoningSeal(item.encrypted_content))
        else:
            out.append(d.ItemBreak())
        self._streamed = False

    def end(self, out: list[d.Delta]) -> None:
        """At EOF: nothing (without a terminal event the stream was cut)."""


# ------------------------------------------------------------------------------------------------------------
# Chat Completions chunks


class _Call:
    __slots__ = ("id", "name", "started", "pending")

    def __init__(self, call_id: str | None, name: str | None) -> None:
        self.id = call_id
        self.name = name or ""
        self.started = False
        self.pending: list[str] = []


class ChatStreamParser:
    """``ChatCompletionChunk``s -> deltas, reassembling tool calls keyed by ``index``.

    Ids and names usually come only in a call's first fragment; a missing id gets :func:`new_call_id`; a new
    id at a used index starts a new call (servers that reuse index 0 for parallel calls). Arguments that
    arrive before the name are buffered.
    """

    __slots__ = ("done", "_calls", "_current", "_reason", "_seen_reason")

    def __init__(self) -> None:
        self.done = False
        self._calls: dict[int, _Call] = {}
        self._current: _Call | None = None
        self._reason: str | None = None
        self._seen_reason = False

    def feed(self, events: list[tuple[str, bytes]], out: list[d.Delta]) -> None:
        """Append the deltas of a batch of SSE events. Raises the mapped error of an in-band ``error``."""
        for _, data in events:
            if data == b"[DONE]":
                out.append(chat_finish(self._reason))
                self.done = True
                return
            chunk = decode_chat(data)
            if chunk.error is not None:
                error = chunk.error
                raise error_from_body(error.code, error.message, error.type)
            if chunk.choices:
                choice = chunk.choices[0]
                delta = choice.delta
                if delta is not None:
                    reasoning = delta.reasoning_content or delta.reasoning
                    if reasoning:
                        out.append(d.ReasoningTextDelta(reasoning))
                    if delta.content:
                        out.append(d.TextDelta(delta.content))
                    if delta.refusal:
                        out.append(d.RefusalDelta(delta.refusal))
                    if delta.tool_calls:
                        for call in delta.tool_calls:
                            self._fragment(call.index, call.id, call.function or Function(), out)
                if choice.finish_reason is not None:
                    self._reason = choice.finish_reason
                    self._seen_reason = True
            usage: ChatUsage | None = chunk.usage
            if usage is not None:
                out.append(usage.delta())

    def _fragment(self, index: int, call_id: str | None, function: Function, out: list[d.Delta]) -> None:
        call = self._calls.get(index)
        if call is None or (call_id and call.id and call_id != call.id):
            call = self._calls[index] = _Call(call_id, function.name)
        else:
            if call_id and not call.id:
                call.id = call_id
            if function.name and not call.started:
                call.name += function.name
        arguments = function.arguments
        if call.started:
            if arguments and call is self._current:
                out.append(d.FunctionCallArgumentsDelta(arguments))
            elif arguments:  # interleaved fragments of an earlier call cannot be re-opened
                call.pending.append(arguments)
            return
        if arguments:
            call.pending.append(arguments)
        if call.name:
            self._start(call, out)

    def _start(self, call: _Call, out: list[d.Delta]) -> None:
        call.started = True
        self._current = call
        out.append(d.FunctionCallStart(call.id or new_call_id(), call.name))
        if call.pending:
            out.append(d.FunctionCallArgumentsDelta("".join(call.pending)))
            call.pending = []

    def end(self, out: list[d.Delta]) -> None:
        """At EOF without ``[DONE]``: a finish only if a ``finish_reason`` already arrived."""
        if self._seen_reason:
            self.done = True
            out.append(chat_finish(self._reason))
