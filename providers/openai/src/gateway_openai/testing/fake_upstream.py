"""A fake OpenAI server: ``POST /v1/responses`` and ``POST /v1/chat/completions`` in the real wire formats.

JSON bodies, SSE framing and event names, error bodies (``{"error": {message, type, param, code}}``) and
headers (``x-request-id``, ``retry-after`` on 429) are OpenAI's. Answers follow the echo protocol
(:mod:`gateway_core.echo`, including ``slow!``, ``think!``, ``refuse!``, ``stream-error!`` and ``endless!``).
Wrap it in :class:`gateway_core.testing.UpstreamRecorder` to see what it received.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from gateway_core.echo import EchoReply, EchoRequest, chunk_text, echo_reply

UPSTREAM_MODEL = "gpt-4o-mini-2024-07-18"
ENCRYPTED = "gAAAAABo-opaque-openai-reasoning-blob"
_ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "invalid_request_error",
                404: "invalid_request_error", 429: "requests", 500: "server_error", 503: "server_error"}
_JSON_FORMATS = ("json_schema", "json_object")
_ERROR_CODES = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}


def _hex() -> str:
    return os.urandom(12).hex()


def _text_of(content: Any, text_types: tuple[str, ...]) -> str:
    if isinstance(content, str):
        return content
    if not content:
        return ""
    return "".join(part.get("text", "") for part in content if part.get("type") in text_types)


# ------------------------------------------------------------------------------------------------------------
# parsing requests into the echo protocol


def echo_from_responses(body: dict[str, Any]) -> EchoRequest:
    """What a Responses API request says, in echo form."""
    echo = EchoRequest()
    if body.get("instructions"):
        echo.system.append(body["instructions"])
    items = body.get("input") or []
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            content = item.get("content")
            text = _text_of(content, ("input_text", "output_text"))
            if isinstance(content, list):
                echo.images += sum(1 for part in content if part.get("type") == "input_image")
                echo.files += sum(1 for part in content if part.get("type") == "input_file")
            if item["role"] in ("system", "developer"):
                echo.system.append(text)
            else:
                echo.turns.append((item["role"], text))
        elif kind == "function_call":
            echo.turns.append(("assistant", f"call {item['name']}({item['arguments']})"))
        elif kind == "custom_tool_call":
            echo.turns.append(("assistant", f"call {item['name']}({item['input']})"))
        elif kind == "compaction":
            echo.system.append("compacted: " + _open_compaction(item["encrypted_content"]))
    if items and items[-1].get("type") in ("function_call_output", "custom_tool_call_output"):
        echo.tool_output = _text_of(items[-1]["output"], ("input_text",))
    echo.json_output = ((body.get("text") or {}).get("format") or {}).get("type") in _JSON_FORMATS
    echo.tools = list(_callable_tools(body))
    echo.web_search = any(tool["type"].startswith("web_search") for tool in body.get("tools") or [])
    choice = body.get("tool_choice")
    if isinstance(choice, str):
        echo.tool_choice = choice
    elif isinstance(choice, dict) and choice.get("type") == "function":
        echo.forced_tool = choice["name"]
    elif isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        echo.tool_choice = choice.get("mode", "auto")
        echo.tools = [tool["name"] for tool in choice["tools"]]
    return echo


def _callable_tools(body: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """Function and custom tools by name (those in a namespace too): ``(type, namespace)``."""
    tools: dict[str, tuple[str, str | None]] = {}
    for tool in body.get("tools") or []:
        if tool["type"] in ("function", "custom"):
            tools[tool["name"]] = (tool["type"], None)
        elif tool["type"] == "namespace":
            tools.update((inner["name"], (inner["type"], tool["name"])) for inner in tool["tools"])
    return tools


def echo_from_chat(body: dict[str, Any]) -> EchoRequest:
    """What a Chat Completions request says, in echo form."""
    echo = EchoRequest()
    messages = body.get("messages") or []
    for message in messages:
        role = message["role"]
        content = message.get("content")
        text = _text_of(content, ("text",))
        if isinstance(content, list):
            echo.images += sum(1 for part in content if part.get("type") == "image_url")
            echo.files += sum(1 for part in content if part.get("type") == "file")
        if role in ("system", "developer"):
            echo.system.append(text)
        elif role in ("user", "assistant"):
            if role == "assistant" and message.get("tool_calls"):
                for call in message["tool_calls"]:
                    function = call["function"]
                    echo.turns.append(("assistant", f"call {function['name']}({function['arguments']})"))
            else:
                echo.turns.append((role, text))
    if messages and messages[-1]["role"] == "tool":
        echo.tool_output = _text_of(messages[-1].get("content"), ("text",))
    echo.json_output = (body.get("response_format") or {}).get("type") in _JSON_FORMATS
    echo.tools = [tool["function"]["name"] for tool in body.get("tools") or []]
    choice = body.get("tool_choice")
    if isinstance(choice, str):
        echo.tool_choice = choice
    elif isinstance(choice, dict) and choice.get("type") == "function":
        echo.forced_tool = choice["function"]["name"]
    elif isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        allowed = choice["allowed_tools"]
        echo.tool_choice = allowed.get("mode", "auto")
        echo.tools = [tool["function"]["name"] for tool in allowed["tools"]]
    return echo


def _error(status: int, message: str | None = None) -> JSONResponse:
    body = {"error": {"message": message or f"fake upstream error {status}",
                      "type": _ERROR_TYPES.get(status, "server_error"),
                      "param": None, "code": _ERROR_CODES.get(status)}}
    headers = {"x-request-id": f"req_{_hex()}"}
    if status == 429:
        headers["retry-after"] = "1"
    return JSONResponse(body, status_code=status, headers=headers)


def _sse(event: str | None, data: Any) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return (f"event: {event}\n" if event else "").encode() + f"data: {payload}\n\n".encode()


def _sse_response(frames: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(frames, media_type="text/event-stream", headers={"x-request-id": f"req_{_hex()}"})


# ------------------------------------------------------------------------------------------------------------
# the Responses API


def _usage(reply: EchoReply) -> dict[str, Any]:
    return {"input_tokens": reply.input_tokens, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": reply.output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": reply.input_tokens + reply.output_tokens}


def _resource(body: dict[str, Any], status: str, output: list[Any], usage: Any) -> dict[str, Any]:
    return {
        "id": f"resp_{_hex()}", "object": "response", "created_at": int(time.time()), "status": status,
        "background": False, "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": body.get("instructions"), "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": None, "model": UPSTREAM_MODEL, "output": output, "parallel_tool_calls": True,
        "previous_response_id": None, "prompt_cache_key": None, "reasoning": {"effort": None, "summary": None},
        "safety_identifier": None, "service_tier": "default", "store": False, "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"}, "tool_choice": "auto", "tools": [],
        "top_logprobs": 0, "top_p": 1.0, "truncation": "disabled", "usage": usage, "user": None, "metadata": {},
    }


def _responses_items(reply: EchoReply, status: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if reply.reasoning:
        items.append({"id": f"rs_{_hex()}", "type": "reasoning", "encrypted_content": ENCRYPTED,
                      "summary": [{"type": "summary_text", "text": reply.reasoning}]})
    if reply.search is not None:
        items.append({"id": f"ws_{_hex()}", "type": "web_search_call", "status": "completed",
                      "action": {"type": "search", "query": reply.search,
                                 "sources": [{"type": "url", "url": reply.citation_url}]}})
    if reply.call_name is not None:
        kind, namespace = _callable_tools(body).get(reply.call_name, ("function", None))
        if kind == "custom":
            arguments = json.loads(reply.call_arguments or "{}")
            items.append({"id": f"ctc_{_hex()}", "type": "custom_tool_call", "status": "completed",
                          "call_id": f"call_{_hex()}", "name": reply.call_name,
                          "input": arguments.get("input", json.dumps(arguments))})
        else:
            call = {"id": f"fc_{_hex()}", "type": "function_call", "status": "completed",
                    "arguments": reply.call_arguments, "call_id": f"call_{_hex()}", "name": reply.call_name}
            items.append(call if namespace is None else {**call, "namespace": namespace})
    else:
        text = reply.text or ""
        annotations = [] if reply.search is None else [
            {"type": "url_citation", "url": reply.citation_url, "title": reply.search, "start_index": 0,
             "end_index": len(text)}]
        part = ({"type": "refusal", "refusal": reply.refusal} if reply.refusal else
                {"type": "output_text", "annotations": annotations, "logprobs": [], "text": text})
        items.append({"id": f"msg_{_hex()}", "type": "message", "status": status, "role": "assistant",
                      "content": [part]})
    return items


async def _responses_stream(body: dict[str, Any], reply: EchoReply) -> AsyncIterator[bytes]:
    seq = 0

    def frame(data: dict[str, Any]) -> bytes:
        nonlocal seq
        data["sequence_number"] = seq
        seq += 1
        return _sse(data["type"], data)

    status = "incomplete" if reply.finish == "length" else "completed"
    items = _responses_items(reply, status, body)
    yield frame({"type": "response.created", "response": _resource(body, "in_progress", [], None)})
    yield frame({"type": "response.in_progress", "response": _resource(body, "in_progress", [], None)})
    for index, item in enumerate(items):
        kind = item["type"]
        if kind == "reasoning":
            yield frame({"type": "response.output_item.added", "output_index": index,
                         "item": {"id": item["id"], "type": "reasoning", "summary": []}})
            text = item["summary"][0]["text"]
            part = {"type": "summary_text", "text": ""}
            common = {"item_id": item["id"], "output_index": index, "summary_index": 0}
            yield frame({"type": "response.reasoning_summary_part.added", **common, "part": part})
            for piece in chunk_text(text):
                yield frame({"type": "response.reasoning_summary_text.delta", **common, "delta": piece})
            yield frame({"type": "response.reasoning_summary_text.done", **common, "text": text})
            yield frame({"type": "response.reasoning_summary_part.done", **common,
                         "part": {"type": "summary_text", "text": text}})
            yield frame({"type": "response.output_item.done", "output_index": index, "item": item})
        elif kind in ("web_search_call", "custom_tool_call"):
            yield frame({"type": "response.output_item.added", "output_index": index,
                         "item": {**item, "status": "in_progress"}})
            if kind == "custom_tool_call":
                yield frame({"type": "response.custom_tool_call_input.delta", "item_id": item["id"],
                             "output_index": index, "delta": item["input"]})
                yield frame({"type": "response.custom_tool_call_input.done", "item_id": item["id"],
                             "output_index": index, "input": item["input"]})
            else:
                for phase in ("in_progress", "searching", "completed"):
                    yield frame({"type": f"response.web_search_call.{phase}", "item_id": item["id"],
                                 "output_index": index})
            yield frame({"type": "response.output_item.done", "output_index": index, "item": item})
        elif kind == "function_call":
            yield frame({"type": "response.output_item.added", "output_index": index,
                         "item": {**item, "status": "in_progress", "arguments": ""}})
            for piece in chunk_text(item["arguments"]):
                yield frame({"type": "response.function_call_arguments.delta", "item_id": item["id"],
                             "output_index": index, "delta": piece})
            yield frame({"type": "response.function_call_arguments.done", "item_id": item["id"],
                         "output_index": index, "arguments": item["arguments"]})
            yield frame({"type": "response.output_item.done", "output_index": index, "item": item})
        else:
            yield frame({"type": "response.output_item.added", "output_index": index,
                         "item": {**item, "status": "in_progress", "content": []}})
            part = item["content"][0]
            refusal = part["type"] == "refusal"
            empty = {"type": "refusal", "refusal": ""} if refusal else {**part, "text": ""}
            common = {"item_id": item["id"], "output_index": index, "content_index": 0}
            yield frame({"type": "response.content_part.added", **common, "part": empty})
            text = part["refusal"] if refusal else part["text"]
            chunks = chunk_text(text)
            for number, piece in enumerate(chunks):
                if reply.cut and number == len(chunks) // 2:
                    return  # the connection ends with no terminal event
                await asyncio.sleep(reply.pace)
                if refusal:
                    yield frame({"type": "response.refusal.delta", **common, "delta": piece})
                else:
                    yield frame({"type": "response.output_text.delta", **common, "delta": piece, "logprobs": [],
                                 "obfuscation": "x"})
            if reply.stream_error:
                yield frame({"type": "error", "code": "server_error", "message": "overloaded", "param": None})
                failed = _resource(body, "failed", [], None)
                failed["error"] = {"code": "server_error", "message": "overloaded"}
                yield frame({"type": "response.failed", "response": failed})
                return
            for number, annotation in enumerate(part.get("annotations") or ()):
                yield frame({"type": "response.output_text.annotation.added", **common,
                             "annotation_index": number, "annotation": annotation})
            if refusal:
                yield frame({"type": "response.refusal.done", **common, "refusal": text})
            else:
                yield frame({"type": "response.output_text.done", **common, "text": text, "logprobs": []})
            yield frame({"type": "response.content_part.done", **common, "part": part})
            yield frame({"type": "response.output_item.done", "output_index": index, "item": item})
    final = _resource(body, status, items, _usage(reply))
    yield frame({"type": f"response.{status}", "response": final})


COMPACTION_PREFIX = "fake-oai-cmp:"


def _open_compaction(blob: str) -> str:
    """The turns inside one of this fake's compaction items (ValueError for anything else, as OpenAI 400s)."""
    encoded, _, check = blob.removeprefix(COMPACTION_PREFIX).rpartition(".")
    summary = base64.b64decode(encoded or "!", validate=False).decode(errors="replace")
    if not blob.startswith(COMPACTION_PREFIX) or check != _checksum(summary):
        raise ValueError("Invalid 'encrypted_content': not a compaction produced by this server")
    return summary


def _checksum(summary: str) -> str:
    return hashlib.sha256(b"fake-oai:" + summary.encode()).hexdigest()[:16]


async def compact_endpoint(request: Request) -> Response:
    """``POST /v1/responses/compact``: user messages kept, the rest sealed into one compaction item."""
    body = await request.json()
    try:
        echo = echo_from_responses(body)
    except ValueError as exc:
        return _error(400, str(exc))
    kept = [{"id": f"msg_{_hex()}", "type": "message", "status": "completed", "role": "user",
             "content": [{"type": "input_text", "text": text}]} for role, text in echo.turns if role == "user"]
    summary = " | ".join(f"{role}:{text}" for role, text in echo.turns)
    sealed = f"{COMPACTION_PREFIX}{base64.b64encode(summary.encode()).decode()}.{_checksum(summary)}"
    usage = {"input_tokens": 7, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 3,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 10}
    return JSONResponse({"id": f"resp_{_hex()}", "object": "response.compaction", "created_at": int(time.time()),
                         "output": [*kept, {"id": f"cmp_{_hex()}", "type": "compaction",
                                            "encrypted_content": sealed}], "usage": usage})


async def responses_endpoint(request: Request) -> Response:
    """``POST /v1/responses``."""
    body = await request.json()
    try:
        echo = echo_from_responses(body)
    except ValueError as exc:
        return _error(400, str(exc))
    reply = echo_reply(echo)
    await asyncio.sleep(reply.delay)
    if reply.error_status is not None:
        return _error(reply.error_status)
    if body.get("stream") and reply.inband_error is not None:
        return _sse_response(_responses_inband_error(body, reply))
    if body.get("stream"):
        return _sse_response(_responses_stream(body, reply))
    status = "incomplete" if reply.finish == "length" else "completed"
    return JSONResponse(_resource(body, status, _responses_items(reply, status, body), _usage(reply)),
                        headers={"x-request-id": f"req_{_hex()}"})


async def _responses_inband_error(body: dict[str, Any], reply: EchoReply) -> AsyncIterator[bytes]:
    """The echo protocol's in-band errors: after ``response.created``, one write with the text deltas (if any)
    and the ``error`` event."""
    yield _sse("response.created", {"type": "response.created", "sequence_number": 0,
                                    "response": _resource(body, "in_progress", [], None)})
    status = reply.inband_error or 500
    deltas = [_sse("response.output_text.delta", {"type": "response.output_text.delta", "sequence_number": 1,
                                                  "item_id": "msg_1", "output_index": 0, "content_index": 0,
                                                  "delta": piece, "logprobs": []})
              for piece in chunk_text(reply.text)] if reply.text else []
    yield b"".join([*deltas, _sse("error", {"type": "error", "sequence_number": 2, "code": _ERROR_CODES.get(status),
                                            "message": f"fake in-band error {status}", "param": None})])


# ------------------------------------------------------------------------------------------------------------
# Chat Completions


def _chat_usage(reply: EchoReply) -> dict[str, Any]:
    return {"prompt_tokens": reply.input_tokens, "completion_tokens": reply.output_tokens,
            "total_tokens": reply.input_tokens + reply.output_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}


def _finish_reason(reply: EchoReply) -> str:
    if reply.call_name is not None:
        return "tool_calls"
    return "length" if reply.finish == "length" else "stop"


async def _chat_stream(body: dict[str, Any], reply: EchoReply, tool_ids: bool) -> AsyncIterator[bytes]:
    base = {"id": f"chatcmpl-{_hex()}", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": UPSTREAM_MODEL, "service_tier": "default", "system_fingerprint": "fp_fake"}
    usage = bool((body.get("stream_options") or {}).get("include_usage"))

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        data = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        if usage:
            data["usage"] = None
        return _sse(None, data)

    yield chunk({"role": "assistant", "content": "", "refusal": None})
    if reply.reasoning:
        for piece in chunk_text(reply.reasoning):
            yield chunk({"reasoning_content": piece})
    if reply.call_name is not None:
        first: dict[str, Any] = {"index": 0, "type": "function", "function": {"name": reply.call_name, "arguments": ""}}
        if tool_ids:
            first["id"] = f"call_{_hex()}"
        yield chunk({"tool_calls": [first]})
        for piece in chunk_text(reply.call_arguments or ""):
            yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
    elif reply.refusal:
        yield chunk({"refusal": reply.refusal})
    else:
        chunks = chunk_text(reply.text or "")
        for number, piece in enumerate(chunks):
            if reply.cut and number == len(chunks) // 2:
                return  # the connection ends with no finish_reason and no [DONE]
            await asyncio.sleep(reply.pace)
            yield chunk({"content": piece})
        if reply.stream_error:
            yield _sse(None, {"error": {"message": "overloaded", "type": "server_error", "code": "server_error"}})
            return
    yield chunk({}, _finish_reason(reply))
    if usage:
        yield _sse(None, {**base, "choices": [], "usage": _chat_usage(reply)})
    yield _sse(None, "[DONE]")


async def chat_endpoint(request: Request) -> Response:
    """``POST /v1/chat/completions``."""
    body = await request.json()
    echo = echo_from_chat(body)
    reply = echo_reply(echo)
    await asyncio.sleep(reply.delay)
    if reply.error_status is not None:
        return _error(reply.error_status)
    tool_ids = request.app.state.tool_ids
    if body.get("stream") and reply.inband_error is not None:
        return _sse_response(_chat_inband_error(reply))
    if body.get("stream"):
        return _sse_response(_chat_stream(body, reply, tool_ids))
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
    if reply.reasoning:
        message["reasoning_content"] = reply.reasoning
    if reply.call_name is not None:
        call: dict[str, Any] = {"type": "function",
                                "function": {"name": reply.call_name, "arguments": reply.call_arguments}}
        if tool_ids:
            call["id"] = f"call_{_hex()}"
        message["tool_calls"] = [call]
    elif reply.refusal:
        message["refusal"] = reply.refusal
    else:
        message["content"] = reply.text
    return JSONResponse({
        "id": f"chatcmpl-{_hex()}", "object": "chat.completion", "created": int(time.time()),
        "model": UPSTREAM_MODEL,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": _finish_reason(reply)}],
        "usage": _chat_usage(reply), "service_tier": "default", "system_fingerprint": "fp_fake",
    }, headers={"x-request-id": f"req_{_hex()}"})


async def models_endpoint(request: Request) -> Response:
    """``GET /v1/models``."""
    data = [{"id": name, "object": "model", "created": 1700000000, "owned_by": "openai"}
            for name in ("gpt-4o-mini", "gpt-5")]
    return JSONResponse({"object": "list", "data": data})


async def _chat_inband_error(reply: EchoReply) -> AsyncIterator[bytes]:
    """The echo protocol's in-band errors: one write with the text chunks (if any) and the error chunk."""
    status = reply.inband_error or 500
    chunks = [_sse(None, {"id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 0, "model": UPSTREAM_MODEL,
                          "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
              for piece in chunk_text(reply.text)] if reply.text else []
    error = {"message": f"fake in-band error {status}", "type": _ERROR_TYPES.get(status, "server_error"),
             "code": _ERROR_CODES.get(status)}
    yield b"".join([*chunks, _sse(None, {"error": error})])


def create_app(*, tool_ids: bool = True) -> Starlette:
    """The fake server. ``tool_ids=False`` omits chat tool-call ids (as Ollama may)."""
    app = Starlette(routes=[
        Route("/v1/responses/compact", compact_endpoint, methods=["POST"]),
        Route("/v1/responses", responses_endpoint, methods=["POST"]),
        Route("/v1/chat/completions", chat_endpoint, methods=["POST"]),
        Route("/v1/models", models_endpoint, methods=["GET"]),
    ])
    app.state.tool_ids = tool_ids
    return app
