"""Open Responses stream events as msgspec Structs (tagged by ``type``), and their SSE framing."""

from __future__ import annotations

from typing import Any

from msgspec import Struct, field

from .types import (
    ErrorBody,
    OutputItem,
    OutputText,
    ReasoningText,
    Refusal,
    ResponseResource,
    SummaryText,
    UrlCitation,
    encoder,
)


class ResponseCreated(Struct, tag="response.created", tag_field="type"):
    sequence_number: int
    response: ResponseResource


class ResponseInProgress(Struct, tag="response.in_progress", tag_field="type"):
    sequence_number: int
    response: ResponseResource


class ResponseCompleted(Struct, tag="response.completed", tag_field="type"):
    sequence_number: int
    response: ResponseResource


class ResponseIncomplete(Struct, tag="response.incomplete", tag_field="type"):
    sequence_number: int
    response: ResponseResource


class ResponseFailed(Struct, tag="response.failed", tag_field="type"):
    sequence_number: int
    response: ResponseResource


class OutputItemAdded(Struct, tag="response.output_item.added", tag_field="type"):
    sequence_number: int
    output_index: int
    item: OutputItem


class OutputItemDone(Struct, tag="response.output_item.done", tag_field="type"):
    sequence_number: int
    output_index: int
    item: OutputItem


class ContentPartAdded(Struct, tag="response.content_part.added", tag_field="type"):
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    part: OutputText | Refusal | ReasoningText


class ContentPartDone(Struct, tag="response.content_part.done", tag_field="type"):
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    part: OutputText | Refusal | ReasoningText


class OutputTextDelta(Struct, tag="response.output_text.delta", tag_field="type", gc=False):
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    delta: str
    logprobs: list[Any] = field(default_factory=list)


class OutputTextDone(Struct, tag="response.output_text.done", tag_field="type"):
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    text: str
    logprobs: list[Any] = field(default_factory=list)


class AnnotationAdded(Struct, tag="response.output_text.annotation.added", tag_field="type"):
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    annotation_index: int
    annotation: UrlCitation


class RefusalDeltaEvent(Struct, tag="response.refusal.delta", tag_field="type", gc=False):
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    delta: str


class RefusalDone(Struct, tag="response.refusal.done", tag_field="type"):
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    refusal: str


class ReasoningDeltaEvent(Struct, tag="response.reasoning.delta", tag_field="type", gc=False):
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    delta: str


class ReasoningDone(Struct, tag="response.reasoning.done", tag_field="type"):
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    text: str


class SummaryPartAdded(Struct, tag="response.reasoning_summary_part.added", tag_field="type"):
    sequence_number: int
    item_id: str
    output_index: int
    summary_index: int
    part: SummaryText


class SummaryPartDone(Struct, tag="response.reasoning_summary_part.done", tag_field="type"):
    sequence_number: int
    item_id: str
    output_index: int
    summary_index: int
    part: SummaryText


class SummaryTextDelta(Struct, tag="response.reasoning_summary_text.delta", tag_field="type", gc=False):
    sequence_number: int
    item_id: str
    output_index: int
    summary_index: int
    delta: str


class SummaryTextDone(Struct, tag="response.reasoning_summary_text.done", tag_field="type"):
    sequence_number: int
    item_id: str
    output_index: int
    summary_index: int
    text: str


class ArgumentsDelta(Struct, tag="response.function_call_arguments.delta", tag_field="type", gc=False):
    sequence_number: int
    item_id: str
    output_index: int
    delta: str


class ArgumentsDone(Struct, tag="response.function_call_arguments.done", tag_field="type"):
    sequence_number: int
    item_id: str
    output_index: int
    arguments: str


class ErrorEvent(Struct, tag="error", tag_field="type"):
    sequence_number: int
    error: ErrorBody


DONE_FRAME = b"data: [DONE]\n\n"
"""The terminal SSE frame."""

_encode = encoder.encode


_PREFIXES: dict[type, bytes] = {
    cls: b"event: " + cls.__struct_config__.tag.encode() + b"\ndata: "  # type: ignore[union-attr]
    for cls in list(globals().values())
    if isinstance(cls, type) and issubclass(cls, Struct) and cls.__module__ == __name__
}


def sse_frame(event: Struct) -> bytes:
    """One whole SSE event: ``event:`` equals the body's ``type``, LF line ends, closing blank line included."""
    return _PREFIXES[type(event)] + _encode(event) + b"\n\n"
