"""The upstream wire formats the benchmark speaks, as precomputed bytes.

For each upstream API (OpenAI Responses, OpenAI Chat Completions, Anthropic Messages, Gemini generateContent)
this module builds, once: the JSON answer body, the streamed answer as SSE frames (``DELTAS`` text deltas),
and the native request body a client sends straight to the upstream. The shapes follow the real APIs
byte for byte (compact JSON, the real event names and fields, Gemini's ``\\r\\n\\r\\n`` frame ends), so the
official SDKs, and the peers' parsers, read them as they read the real services.

The answer text is ``tok00 tok01 ... tok19 ``: the load generator finds each token in the bytes it
receives to time when each delta arrives, whatever format wraps it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

DELTAS = 20
"""Text deltas in every streamed answer."""

PIECES = [f"tok{index:02d} " for index in range(DELTAS)]
TEXT = "".join(PIECES)
MARKERS = [piece.strip().encode() for piece in PIECES]
"""What the load generator looks for, in order, to time each delta."""

SYSTEM = "You are a concise assistant."
PROMPT = "Count twenty tokens."
MAX_TOKENS = 256
CREATED = 1764547200
OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-sonnet-4-5"
GEMINI_MODEL = "gemini-2.5-flash"


@dataclass(frozen=True)
class Stream:
    """A streamed answer: frames sent before the first delta, one frame per delta, frames after the last."""

    prelude: bytes
    deltas: list[bytes]
    epilogue: bytes


@dataclass(frozen=True)
class Api:
    """One upstream API: its answers and the native request a client sends it directly."""

    name: str
    json_body: bytes
    stream: Stream
    json_request: dict[str, Any]
    stream_request: dict[str, Any]


def _dump(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def _sse(event: str | None, data: Any, end: bytes = b"\n\n") -> bytes:
    payload = data if isinstance(data, bytes) else _dump(data)
    return (f"event: {event}\n".encode() if event else b"") + b"data: " + payload + end


# --------------------------------------------------------------------------------------------------------
# OpenAI Responses


def _responses_resource(status: str, output: list[Any], usage: Any) -> dict[str, Any]:
    return {
        "id": "resp_0bench0000000000000000000000000000000000000000", "object": "response", "created_at": CREATED,
        "status": status, "background": False, "error": None, "incomplete_details": None,
        "instructions": SYSTEM, "max_output_tokens": MAX_TOKENS, "max_tool_calls": None,
        "model": "gpt-4o-mini-2024-07-18",
        "output": output, "parallel_tool_calls": True, "previous_response_id": None, "prompt_cache_key": None,
        "reasoning": {"effort": None, "summary": None}, "safety_identifier": None, "service_tier": "default",
        "store": False, "temperature": 1.0, "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto", "tools": [], "top_logprobs": 0, "top_p": 1.0, "truncation": "disabled",
        "usage": usage, "user": None, "metadata": {},
    }


def _responses() -> Api:
    item_id = "msg_0bench0000000000000000000000000000000000000000"
    usage = {"input_tokens": 12, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": DELTAS,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 12 + DELTAS}
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": TEXT}
    item = {"id": item_id, "type": "message", "status": "completed", "content": [part], "role": "assistant"}
    sequence = iter(range(10_000))

    def frame(data: dict[str, Any]) -> bytes:
        return _sse(data["type"], {"type": data.pop("type"), "sequence_number": next(sequence), **data})

    common = {"item_id": item_id, "output_index": 0, "content_index": 0}
    prelude = b"".join([
        frame({"type": "response.created", "response": _responses_resource("in_progress", [], None)}),
        frame({"type": "response.in_progress", "response": _responses_resource("in_progress", [], None)}),
        frame({"type": "response.output_item.added", "output_index": 0,
               "item": {"id": item_id, "type": "message", "status": "in_progress", "content": [],
                        "role": "assistant"}}),
        frame({"type": "response.content_part.added", **common, "part": {**part, "text": ""}}),
    ])
    deltas = [frame({"type": "response.output_text.delta", **common, "delta": piece, "logprobs": [],
                     "obfuscation": "Xy"}) for piece in PIECES]
    epilogue = b"".join([
        frame({"type": "response.output_text.done", **common, "text": TEXT, "logprobs": []}),
        frame({"type": "response.content_part.done", **common, "part": part}),
        frame({"type": "response.output_item.done", "output_index": 0, "item": item}),
        frame({"type": "response.completed", "response": _responses_resource("completed", [item], usage)}),
    ])
    request = {"model": OPENAI_MODEL, "instructions": SYSTEM,
               "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": PROMPT}]}],
               "max_output_tokens": MAX_TOKENS}
    return Api("openai-responses", _dump(_responses_resource("completed", [item], usage)),
               Stream(prelude, deltas, epilogue), request, {**request, "stream": True})


# --------------------------------------------------------------------------------------------------------
# OpenAI Chat Completions


def _chat() -> Api:
    base = {"id": "chatcmpl-0bench000000000000000000000", "object": "chat.completion.chunk", "created": CREATED,
            "model": "gpt-4o-mini-2024-07-18", "service_tier": "default", "system_fingerprint": "fp_bench"}
    usage = {"prompt_tokens": 12, "completion_tokens": DELTAS, "total_tokens": 12 + DELTAS,
             "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
             "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0,
                                           "rejected_prediction_tokens": 0}}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return _sse(None, {**base, "choices": [choice], "usage": None, "obfuscation": "Xy"})

    prelude = chunk({"role": "assistant", "content": "", "refusal": None})
    deltas = [chunk({"content": piece}) for piece in PIECES]
    epilogue = b"".join([chunk({}, "stop"), _sse(None, {**base, "choices": [], "usage": usage, "obfuscation": "Xy"}),
                         _sse(None, b"[DONE]")])
    message: dict[str, Any] = {"role": "assistant", "content": TEXT, "refusal": None, "annotations": []}
    body = {**base, "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}], "usage": usage}
    request = {"model": OPENAI_MODEL, "messages": [{"role": "system", "content": SYSTEM},
                                                   {"role": "user", "content": PROMPT}], "max_tokens": MAX_TOKENS}
    stream_request = {**request, "stream": True, "stream_options": {"include_usage": True}}
    return Api("openai-chat", _dump(body), Stream(prelude, deltas, epilogue), request, stream_request)


# --------------------------------------------------------------------------------------------------------
# Anthropic Messages


def _anthropic() -> Api:
    message: dict[str, Any] = {
        "id": "msg_01Bench000000000000000000", "type": "message", "role": "assistant", "model": ANTHROPIC_MODEL,
        "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                  "output_tokens": 1, "service_tier": "standard"},
    }
    prelude = b"".join([
        _sse("message_start", {"type": "message_start", "message": message}),
        _sse("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}}),
        _sse("ping", {"type": "ping"}),
    ])
    deltas = [_sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                           "delta": {"type": "text_delta", "text": piece}}) for piece in PIECES]
    epilogue = b"".join([
        _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": {"output_tokens": DELTAS}}),
        _sse("message_stop", {"type": "message_stop"}),
    ])
    body = {**message, "content": [{"type": "text", "text": TEXT}], "stop_reason": "end_turn",
            "usage": {**message["usage"], "output_tokens": DELTAS}}
    request = {"model": ANTHROPIC_MODEL, "max_tokens": MAX_TOKENS, "system": SYSTEM,
               "messages": [{"role": "user", "content": PROMPT}]}
    return Api("anthropic", _dump(body), Stream(prelude, deltas, epilogue), request, {**request, "stream": True})


# --------------------------------------------------------------------------------------------------------
# Gemini generateContent / streamGenerateContent?alt=sse


def _gemini() -> Api:
    usage = {"promptTokenCount": 12, "candidatesTokenCount": DELTAS, "totalTokenCount": 12 + DELTAS,
             "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 12}]}
    common = {"modelVersion": GEMINI_MODEL, "responseId": "bench0responseId000000"}

    def chunk(text: str, final: bool) -> bytes:
        candidate: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}}
        if final:
            candidate["finishReason"] = "STOP"
        data: dict[str, Any] = {"candidates": [candidate]}
        data["usageMetadata"] = usage if final else {"promptTokenCount": 12, "totalTokenCount": 12}
        return _sse(None, {**data, **common}, end=b"\r\n\r\n")

    deltas = [chunk(piece, final=index == DELTAS - 1) for index, piece in enumerate(PIECES)]
    body = {"candidates": [{"content": {"parts": [{"text": TEXT}], "role": "model"}, "finishReason": "STOP",
                            "avgLogprobs": -0.05}], "usageMetadata": usage, **common}
    request = {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}],
               "systemInstruction": {"parts": [{"text": SYSTEM}]},
               "generationConfig": {"maxOutputTokens": MAX_TOKENS}}
    return Api("gemini", _dump(body), Stream(b"", deltas, b""), request, request)


APIS: dict[str, Api] = {api.name: api for api in (_responses(), _chat(), _anthropic(), _gemini())}
"""Every upstream API, by name."""


def encode(data: dict[str, Any]) -> bytes:
    """A request body as compact JSON (as the SDKs send it)."""
    return _dump(data)
