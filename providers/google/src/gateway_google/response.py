"""Gemini ``GenerateContentResponse`` JSON -> semantic deltas (shared by the JSON and the streaming path).

Bodies are decoded with msgspec into the few fields the gateway needs (camelCase, as the REST API sends them),
never into google-genai's pydantic models.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
from msgspec import Struct

from gateway_core.contract import deltas as d
from gateway_core.envelope import seal
from gateway_core.ids import new_call_id
from gateway_core.types import WebSearchCall

from .translate import PROVIDER


class FunctionCallWire(Struct, gc=False):
    """``functionCall`` of a part."""

    name: str = ""
    args: dict[str, Any] | None = None
    id: str | None = None


class PartWire(Struct, rename="camel", gc=False):
    """One part of a candidate's content."""

    text: str | None = None
    thought: bool | None = None
    thought_signature: str | None = None
    function_call: FunctionCallWire | None = None


class ContentWire(Struct, gc=False):
    """A candidate's content."""

    parts: list[PartWire] = []


class WebChunkWire(Struct, gc=False):
    """``groundingChunks[i].web``."""

    uri: str = ""
    title: str = ""


class GroundingChunkWire(Struct, gc=False):
    """``groundingChunks[i]``."""

    web: WebChunkWire | None = None


class SegmentWire(Struct, rename="camel", gc=False):
    """``groundingSupports[i].segment``: a span of the answer, in UTF-8 bytes."""

    start_index: int = 0
    end_index: int = 0


class GroundingSupportWire(Struct, rename="camel", gc=False):
    """``groundingSupports[i]``: which chunks support which span."""

    segment: SegmentWire | None = None
    grounding_chunk_indices: list[int] = []


class GroundingWire(Struct, rename="camel", gc=False):
    """``groundingMetadata`` of a candidate answered with Google Search."""

    web_search_queries: list[str] = []
    grounding_chunks: list[GroundingChunkWire] = []
    grounding_supports: list[GroundingSupportWire] = []


class CandidateWire(Struct, rename="camel", gc=False):
    """``candidates[i]``."""

    content: ContentWire | None = None
    finish_reason: str | None = None
    finish_message: str | None = None
    grounding_metadata: GroundingWire | None = None


class UsageWire(Struct, rename="camel", gc=False):
    """``usageMetadata``."""

    prompt_token_count: int = 0
    candidates_token_count: int = 0
    thoughts_token_count: int = 0
    cached_content_token_count: int = 0
    tool_use_prompt_token_count: int = 0
    total_token_count: int | None = None


class PromptFeedbackWire(Struct, rename="camel", gc=False):
    """``promptFeedback``."""

    block_reason: str | None = None
    block_reason_message: str | None = None


class ResponseWire(Struct, rename="camel", gc=False):
    """``GenerateContentResponse`` (a whole answer, or one stream chunk); ``error`` only in error chunks."""

    candidates: list[CandidateWire] = []
    usage_metadata: UsageWire | None = None
    prompt_feedback: PromptFeedbackWire | None = None
    error: dict[str, Any] | None = None


decode_response = msgspec.json.Decoder(ResponseWire).decode
"""Decode one ``GenerateContentResponse`` body (bytes or str)."""

_MAX_TOKENS = frozenset({"MAX_TOKENS", "CONTINUATION"})
_CONTENT_FILTER = frozenset({
    "SAFETY", "RECITATION", "LANGUAGE", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "MODEL_ARMOR", "ESCALATION", "PUP_LIMITED_DISABLED",
})


class Turn:
    """State of one answer across chunks: text runs, signatures, the finish reason and the last usage."""

    __slots__ = ("model", "sigs", "text_run", "in_text", "finish", "usage", "grounding", "run_text")

    def __init__(self, model: str) -> None:
        self.model = model
        self.grounding: GroundingWire | None = None
        self.run_text: list[str] = []  # the current text run's text (Google Search spans are offsets into it)
        self.sigs: list[dict[str, Any]] = []
        self.text_run = -1
        self.in_text = False
        self.finish: d.Finish | None = None
        self.usage: d.UsageDelta | None = None

    def feed(self, response: ResponseWire, out: list[d.Delta]) -> None:
        """Append the deltas of one response (or chunk) to ``out``; remember its finish reason and usage."""
        if response.usage_metadata is not None:
            self.usage = _usage(response.usage_metadata)
        if not response.candidates:
            feedback = response.prompt_feedback
            if feedback is not None and feedback.block_reason:
                self.finish = d.Finish(incomplete_reason="content_filter")
            return
        candidate = response.candidates[0]
        if candidate.content is not None:
            for part in candidate.content.parts:
                self._part(part, out)
        if candidate.grounding_metadata is not None:
            self.grounding = candidate.grounding_metadata
        if candidate.finish_reason:
            self.finish = self._finish(candidate, out)

    def _part(self, part: PartWire, out: list[d.Delta]) -> None:
        call = part.function_call
        if call is not None:
            self.in_text = False
            call_id = call.id or new_call_id()
            out.append(d.FunctionCallStart(call_id, call.name))
            out.append(d.FunctionCallArgumentsDelta(json.dumps(call.args or {})))
            if part.thought_signature:
                self.sigs.append({"on": "call", "call_id": call_id, "sig": part.thought_signature})
            return
        if part.thought:
            if part.text:
                self.in_text = False
                out.append(d.ReasoningSummaryDelta(part.text))
            return
        if part.text is None and not part.thought_signature:
            return
        if not self.in_text:
            self.text_run += 1
            self.in_text = True
            self.run_text = []
        if part.text:
            self.run_text.append(part.text)
            out.append(d.TextDelta(part.text))
        if part.thought_signature:
            self.sigs.append({"on": "text", "index": self.text_run, "sig": part.thought_signature})

    @staticmethod
    def _finish(candidate: CandidateWire, out: list[d.Delta]) -> d.Finish:
        reason = candidate.finish_reason or ""
        if reason == "STOP":
            return d.Finish()
        if reason in _MAX_TOKENS:
            return d.Finish(incomplete_reason="max_output_tokens")
        if reason in _CONTENT_FILTER:
            if candidate.finish_message:
                out.append(d.RefusalDelta(candidate.finish_message))
            return d.Finish(incomplete_reason="content_filter")
        message = candidate.finish_message or f"the model stopped with finish reason {reason}"
        return d.Finish(error_code=reason.lower(), error_message=message)

    def end(self, out: list[d.Delta]) -> None:
        """Append the Google Search citations and call, the signature seal, the usage and the finish (call once
        the answer is complete)."""
        if self.grounding is not None:
            out.extend(grounding_deltas(self.grounding, "".join(self.run_text) if self.in_text else ""))
        if self.sigs:
            out.append(d.ReasoningSeal(seal(PROVIDER, self.model, {"sigs": self.sigs})))
        if self.usage is not None:
            out.append(self.usage)
        out.append(self.finish or d.Finish())


def grounding_deltas(grounding: GroundingWire, text: str) -> list[d.Delta]:
    """A Google Search answer's citations on ``text`` (the open text part; Gemini's spans count UTF-8 bytes,
    converted to characters), then its ``web_search_call`` item (Gemini reports searches at the end, so the
    item follows the message it grounded)."""
    out: list[d.Delta] = []
    chunks = grounding.grounding_chunks
    encoded = text.encode()
    for support in grounding.grounding_supports if text else ():
        segment = support.segment
        if segment is None:
            continue
        start = len(encoded[:segment.start_index].decode(errors="ignore"))
        end = len(encoded[:segment.end_index].decode(errors="ignore"))
        for index in support.grounding_chunk_indices:
            web = chunks[index].web if 0 <= index < len(chunks) else None
            if web is not None and web.uri:
                out.append(d.CitationDelta(web.uri, web.title, start, end))
    sources = [{"type": "url", "url": chunk.web.uri} for chunk in chunks if chunk.web is not None and chunk.web.uri]
    for query in grounding.web_search_queries or [""]:
        out.append(d.OutputItemDelta(WebSearchCall(status="completed",
                                                   action={"type": "search", "query": query, "sources": sources})))
    return out


def _usage(usage: UsageWire) -> d.UsageDelta:
    input_tokens = usage.prompt_token_count + usage.tool_use_prompt_token_count
    output_tokens = usage.candidates_token_count + usage.thoughts_token_count
    return d.UsageDelta(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_tokens=usage.cached_content_token_count,
        reasoning_tokens=usage.thoughts_token_count,
        total_tokens=usage.total_token_count if usage.total_token_count is not None else input_tokens + output_tokens,
    )


def response_deltas(body: str | bytes, model: str) -> list[d.Delta]:
    """The deltas of a whole (non-streaming) ``generateContent`` answer."""
    turn = Turn(model)
    out: list[d.Delta] = []
    response = decode_response(body)
    turn.feed(response, out)
    if turn.finish is None and not response.candidates:
        turn.finish = d.Finish(error_code="empty_response", error_message="the upstream returned no candidates")
    turn.end(out)
    return out
