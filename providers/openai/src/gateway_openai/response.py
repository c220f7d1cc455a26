"""Non-streaming upstream bodies (raw JSON bytes) -> deltas, decoded with msgspec into the few fields used.

Also holds the small Structs shared with :mod:`gateway_openai.stream` (usage, output items, errors).
"""

from __future__ import annotations

from typing import Any, Union

import msgspec
from msgspec import Struct, field

from gateway_core import CompactedWindow
from gateway_core.contract import deltas as d
from gateway_core.ids import new_call_id
from gateway_core.translate import WHOLE_ITEM_TYPES, whole_item
from gateway_core.types import Compaction, InputTokensDetails, Message, OutputTokensDetails, Usage

from .errors import error_from_body

# ------------------------------------------------------------------------------------------------------------
# Responses API shapes


class _InDetails(Struct, gc=False):
    cached_tokens: int | None = None


class _OutDetails(Struct, gc=False):
    reasoning_tokens: int | None = None


class ResponsesUsage(Struct, gc=False):
    """``Response.usage``."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int | None = None
    input_tokens_details: _InDetails | None = None
    output_tokens_details: _OutDetails | None = None

    def delta(self) -> d.UsageDelta:
        """As a usage delta."""
        return d.UsageDelta(
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cached_tokens=self.input_tokens_details.cached_tokens if self.input_tokens_details else None,
            reasoning_tokens=self.output_tokens_details.reasoning_tokens if self.output_tokens_details else None,
            total_tokens=self.total_tokens,
        )


class Annotation(Struct, gc=False):
    """An ``output_text`` annotation (only ``url_citation`` ones are kept)."""

    type: str = ""
    url: str = ""
    title: str = ""
    start_index: int = 0
    end_index: int = 0


def citations(annotations: list[Annotation] | None, out: list[d.Delta]) -> None:
    """Append the ``url_citation`` annotations of a text part as citation deltas."""
    for note in annotations or ():
        if note.type == "url_citation":
            out.append(d.CitationDelta(note.url, note.title, note.start_index, note.end_index))


class Part(Struct, gc=False):
    """A content or summary part (``output_text``, ``refusal``, ``summary_text``, ``reasoning_text``)."""

    type: str = ""
    text: str = ""
    refusal: str = ""
    annotations: list[Annotation] | None = None


class Item(Struct, gc=False):
    """An output item (``message``, ``function_call``, ``reasoning``; others are ignored)."""

    type: str = ""
    content: list[Part] | None = None
    summary: list[Part] | None = None
    encrypted_content: str | None = None
    call_id: str | None = None
    name: str = ""
    arguments: str = ""
    namespace: str | None = None


class _Reason(Struct, gc=False):
    reason: str | None = None


class UpstreamError(Struct, gc=False):
    """An error object (``response.error``, the ``error`` event, a chat ``error`` chunk)."""

    message: str = ""
    code: Any = None
    type: str | None = None


class Response(Struct, gc=False):
    """The ``Response`` object (and the snapshot of terminal stream events)."""

    status: str | None = None
    output: list[msgspec.Raw] = field(default_factory=list)
    """Each item undecoded: most decode as :class:`Item`, those of tools the gateway passes on whole (custom,
    web search, hosted tools) as what they are."""
    usage: ResponsesUsage | None = None
    incomplete_details: _Reason | None = None
    error: UpstreamError | None = None


_decode_response = msgspec.json.Decoder(Response).decode


decode_item = msgspec.json.Decoder(Item).decode


def item_deltas(raw: msgspec.Raw, out: list[d.Delta]) -> None:
    """Append the deltas of one whole output item."""
    item = decode_item(raw)
    kind = item.type
    if kind in WHOLE_ITEM_TYPES:
        out.append(whole_item(raw))
    elif kind == "message":
        for index, part in enumerate(item.content or ()):
            if index:
                out.append(d.PartBreak())
            if part.type == "refusal":
                out.append(d.RefusalDelta(part.refusal))
            else:
                out.append(d.TextDelta(part.text))
                citations(part.annotations, out)
        out.append(d.ItemBreak())
    elif kind == "function_call":
        out.append(d.FunctionCallStart(item.call_id or new_call_id(), item.name, item.namespace))
        out.append(d.FunctionCallArgumentsDelta(item.arguments or "{}"))
    elif kind == "reasoning":
        for index, part in enumerate(item.summary or ()):
            if index:
                out.append(d.PartBreak())
            out.append(d.ReasoningSummaryDelta(part.text))
        for part in item.content or ():
            out.append(d.ReasoningTextDelta(part.text))
        out.append(d.ReasoningSeal(item.encrypted_content) if item.encrypted_content else d.ItemBreak())


def finish_of(response: Response) -> d.Finish:
    """The finish delta of a terminal response (raises the mapped error of a failed one)."""
    if response.status == "failed":
        error = response.error or UpstreamError(message="the upstream response failed")
        raise error_from_body(error.code, error.message, error.type)
    if response.status == "incomplete":
        reason = response.incomplete_details.reason if response.incomplete_details else None
        return d.Finish(incomplete_reason=reason or "max_output_tokens")
    return d.Finish()


def responses_deltas(body: bytes) -> list[d.Delta]:
    """A whole ``Response`` body as deltas."""
    response = _decode_response(body)
    out: list[d.Delta] = []
    for item in response.output:
        item_deltas(item, out)
    if response.usage is not None:
        out.append(response.usage.delta())
    out.append(finish_of(response))
    return out


# ------------------------------------------------------------------------------------------------------------
# Chat Completions shapes


class _PromptDetails(Struct, gc=False):
    cached_tokens: int | None = None


class _CompletionDetails(Struct, gc=False):
    reasoning_tokens: int | None = None


class ChatUsage(Struct, gc=False):
    """``CompletionUsage``."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int | None = None
    prompt_tokens_details: _PromptDetails | None = None
    completion_tokens_details: _CompletionDetails | None = None

    def delta(self) -> d.UsageDelta:
        """As a usage delta."""
        return d.UsageDelta(
            input_tokens=self.prompt_tokens,
            output_tokens=self.completion_tokens,
            cached_tokens=self.prompt_tokens_details.cached_tokens if self.prompt_tokens_details else None,
            reasoning_tokens=(self.completion_tokens_details.reasoning_tokens
                              if self.completion_tokens_details else None),
            total_tokens=self.total_tokens,
        )


class Function(Struct, gc=False):
    """``tool_calls[].function`` (fragments in streams: every field optional)."""

    name: str | None = None
    arguments: str | None = None


class ToolCall(Struct, gc=False):
    """``tool_calls[]`` (``index`` only in stream fragments)."""

    index: int = 0
    id: str | None = None
    function: Function | None = None


class ChatMessage(Struct, gc=False):
    """``choices[].message`` or ``choices[].delta``; ``reasoning_content``/``reasoning`` are server extras."""

    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None


class Choice(Struct, gc=False):
    """``choices[]`` of a completion (``message``) or of a chunk (``delta``)."""

    message: ChatMessage | None = None
    delta: ChatMessage | None = None
    finish_reason: str | None = None


class ChatCompletion(Struct, gc=False):
    """``ChatCompletion`` and ``ChatCompletionChunk`` (and an in-band ``error``)."""

    choices: list[Choice] = field(default_factory=list)
    usage: ChatUsage | None = None
    error: UpstreamError | None = None


decode_chat = msgspec.json.Decoder(ChatCompletion).decode
"""Decoder of a ``ChatCompletion`` body or one ``ChatCompletionChunk``."""
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def chat_finish(reason: str | None) -> d.Finish:
    """``finish_reason`` -> Finish (``length`` and ``content_filter`` make the response incomplete)."""
    return d.Finish(incomplete_reason=_INCOMPLETE.get(reason)) if reason in _INCOMPLETE else d.Finish()  # type: ignore[arg-type]


def chat_deltas(body: bytes) -> list[d.Delta]:
    """A whole ``ChatCompletion`` body as deltas (``choices[0]`` only)."""
    completion = decode_chat(body)
    if completion.error is not None:
        error = completion.error
        raise error_from_body(error.code, error.message, error.type)
    out: list[d.Delta] = []
    reason = None
    if completion.choices:
        choice = completion.choices[0]
        reason = choice.finish_reason
        message = choice.message or ChatMessage()
        reasoning = message.reasoning_content or message.reasoning
        if reasoning:
            out.append(d.ReasoningTextDelta(reasoning))
            out.append(d.ItemBreak())
        if message.content:
            out.append(d.TextDelta(message.content))
        if message.refusal:
            out.append(d.RefusalDelta(message.refusal))
        for call in message.tool_calls or ():
            function = call.function or Function()
            out.append(d.FunctionCallStart(call.id or new_call_id(), function.name or ""))
            out.append(d.FunctionCallArgumentsDelta(function.arguments or "{}"))
    if completion.usage is not None:
        out.append(completion.usage.delta())
    out.append(chat_finish(reason))
    return out



class _Compacted(Struct):
    output: list[dict[str, Any]]
    usage: dict[str, Any] = field(default_factory=dict)


_decode_compacted = msgspec.json.Decoder(_Compacted).decode


def compacted_window(body: bytes) -> CompactedWindow:
    """A ``responses/compact`` answer as the gateway's compacted window (messages and compaction items)."""
    answer = _decode_compacted(body)
    kept = [item for item in answer.output if item.get("type") in ("message", "compaction")]
    usage = answer.usage
    return CompactedWindow(
        items=msgspec.convert(kept, list[Union[Message, Compaction]]),
        usage=Usage(
            input_tokens=usage.get("input_tokens", 0),
            output_tokens=usage.get("output_tokens", 0),
            total_tokens=usage.get("total_tokens", 0),
            input_tokens_details=InputTokensDetails((usage.get("input_tokens_details") or {}).get("cached_tokens", 0)),
            output_tokens_details=OutputTokensDetails(
                (usage.get("output_tokens_details") or {}).get("reasoning_tokens", 0)),
        ),
    )
