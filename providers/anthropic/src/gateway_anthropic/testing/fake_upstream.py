"""A fake Anthropic Messages API (Starlette) speaking the real wire format, answering under the echo protocol.

``POST /v1/messages``: JSON ``message`` objects, or with ``"stream": true`` SSE frames
(``event: message_start`` ... ``event: message_stop``, ``ping`` included); errors as
``{"type":"error","error":{"type":...,"message":...},"request_id":...}`` with a ``request-id`` header and
``retry-after`` on 429. Wrap it in :class:`gateway_core.testing.UpstreamRecorder` to see what it received.

Beyond the echo protocol (:mod:`gateway_core.echo`), it checks what the real API rejects (empty text blocks,
tool_use without a tool_result right after, tool blocks without tools, a first assistant turn, temperature
with top_p, a bad thinking budget, a thinking signature that is not the one it issued), and:

- with ``thinking`` enabled, answers with a thinking block first (``Thinking about: <prompt>``, or the echo
  reply's reasoning for ``think!``, signed); ``omit!`` makes that thinking block empty (still signed);
- ``stream-error!`` streams a little then an ``error`` event (``overloaded_error``); ``error:529`` answers
  529 ``overloaded_error``; ``refuse!`` stops with ``refusal``;
- ``cache?`` reports cache read/creation tokens; ``two-blocks!`` answers with two text blocks; ``noargs!``
  calls the first tool with no arguments.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from gateway_core.echo import EchoReply, EchoRequest, chunk_text, echo_reply

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    529: "overloaded_error",
}


def signature_of(thinking: str) -> str:
    """The signature the fake issues for a thinking text (and checks when it comes back)."""
    return "sig" + base64.b64encode(hashlib.sha256(b"fake:" + thinking.encode()).digest()).decode()


REDACTED_DATA = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"


class Rejected(Exception):
    """A request the real API would reject (400 ``invalid_request_error``)."""


def _error(status: int, message: str, kind: str | None = None) -> Response:
    request_id = f"req_{uuid.uuid4().hex[:24]}"
    headers = {"request-id": request_id}
    if status == 429:
        headers["retry-after"] = "1"
    body = {"type": "error", "error": {"type": kind or ERROR_TYPES.get(status, "api_error"), "message": message},
            "request_id": request_id}
    return JSONResponse(body, status_code=status, headers=headers)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content if block.get("type") == "text")


def _check(body: dict[str, Any]) -> None:
    """Raise :class:`Rejected` for what the real Messages API rejects."""
    messages = body.get("messages") or []
    if not messages:
        raise Rejected("messages: at least one message is required")
    if messages[0]["role"] != "user":
        raise Rejected("messages: first message must use the \"user\" role")
    if "temperature" in body and "top_p" in body:
        raise Rejected("`temperature` and `top_p` cannot both be specified for this model")
    thinking = body.get("thinking") or {}
    if thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens", 0)
        if budget < 1024 or budget >= body["max_tokens"]:
            raise Rejected("thinking.budget_tokens: must be >= 1024 and less than max_tokens")
    for tool in body.get("tools") or []:
        if tool.get("type", "custom").startswith("web_search_"):
            unknown = set(tool) - _WEB_SEARCH_FIELDS
            if unknown or tool.get("name") != "web_search":
                raise Rejected(f"tools.web_search: unexpected fields {sorted(unknown)} or name {tool.get('name')!r}")
    tool_names = {tool["name"] for tool in body.get("tools") or []}
    for index, message in enumerate(messages):
        content = message["content"]
        if isinstance(content, str):
            continue
        if not content:
            raise Rejected(f"messages.{index}: content must be non-empty")
        for block in content:
            kind = block["type"]
            if kind == "text" and not block["text"]:
                raise Rejected("messages: text content blocks must be non-empty")
            if kind in ("tool_use", "tool_result") and not tool_names:
                raise Rejected("Requests which include `tool_use` or `tool_result` blocks must define tools.")
            if kind == "thinking" and block["signature"] != signature_of(block["thinking"]):
                raise Rejected(f"messages.{index}.content: Invalid `signature` in `thinking` block")
            if kind == "redacted_thinking" and block["data"] != REDACTED_DATA:
                raise Rejected(f"messages.{index}.content: Invalid `data` in `redacted_thinking` block")
        uses = [block["id"] for block in content if block["type"] == "tool_use"]
        if uses:
            following = messages[index + 1]["content"] if index + 1 < len(messages) else []
            results = []
            for block in following:
                if block["type"] != "tool_result":
                    break
                results.append(block["tool_use_id"])
            if index + 1 < len(messages) and sorted(results) != sorted(uses):
                raise Rejected(
                    f"messages.{index + 1}: `tool_use` ids were found without `tool_result` blocks immediately "
                    f"after: {', '.join(uses)}. Each `tool_use` block must have a corresponding `tool_result` "
                    "block in the next message."
                )


_WEB_SEARCH_FIELDS = {"type", "name", "max_uses", "allowed_domains", "blocked_domains", "user_location",
                      "cache_control"}


def _is_server_tool(tool: dict[str, Any]) -> bool:
    return str(tool.get("type", "custom")).startswith("web_search_")


def _echo_request(body: dict[str, Any]) -> EchoRequest:
    echo = EchoRequest()
    system = body.get("system") or []
    echo.system = [system] if isinstance(system, str) else [block["text"] for block in system]
    for message in body["messages"]:
        content = message["content"]
        blocks: list[dict[str, Any]] = [{"type": "text", "text": content}] if isinstance(content, str) else content
        parts = []
        for block in blocks:
            kind = block["type"]
            if kind == "text":
                parts.append(block["text"])
            elif kind == "image":
                echo.images += 1
            elif kind == "document":
                echo.files += 1
            elif kind == "tool_use":
                parts.append(f"call {block['name']}({json.dumps(block['input'])})")
            elif kind == "tool_result" and isinstance(block.get("content"), list):
                echo.images += sum(1 for inner in block["content"] if inner["type"] == "image")
        if parts or message["role"] == "assistant":
            echo.turns.append((message["role"], "".join(parts)))
    last = body["messages"][-1]
    if last["role"] == "user" and not isinstance(last["content"], str) and last["content"][-1]["type"] == "tool_result":
        echo.tool_output = _text_of(last["content"][-1].get("content", ""))
    echo.json_output = "format" in (body.get("output_config") or {})
    echo.tools = [tool["name"] for tool in body.get("tools") or [] if not _is_server_tool(tool)]
    echo.web_search = any(_is_server_tool(tool) for tool in body.get("tools") or [])
    choice = body.get("tool_choice") or {"type": "auto"}
    echo.tool_choice = {"auto": "auto", "any": "required", "tool": "required", "none": "none"}[choice["type"]]
    if choice["type"] == "tool":
        echo.forced_tool = choice["name"]
    return echo


def _prompt(echo: EchoRequest) -> str:
    return next((text for role, text in reversed(echo.turns) if role == "user"), "").strip()


def _plan(
    body: dict[str, Any], echo: EchoRequest, reply: EchoReply
) -> tuple[list[dict[str, Any]], str, dict[str, Any]]:
    """(content blocks, stop_reason, usage) of the answer."""
    prompt = _prompt(echo)
    blocks: list[dict[str, Any]] = []
    if (body.get("thinking") or {}).get("type") in ("enabled", "adaptive"):
        thinking = "" if prompt == "omit!" else reply.reasoning or f"Thinking about: {prompt}"
        blocks.append({"type": "thinking", "thinking": thinking, "signature": signature_of(thinking)})
        if prompt == "redact!":
            blocks.append({"type": "redacted_thinking", "data": REDACTED_DATA})
    stop_reason = "end_turn"
    if echo.tool_output is None and prompt == "noargs!" and echo.tools and echo.tool_choice != "none":
        blocks.append({"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:24]}", "name": echo.tools[0], "input": {}})
        stop_reason = "tool_use"
    elif reply.call_name is not None:
        blocks.append({"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:24]}", "name": reply.call_name,
                       "input": json.loads(reply.call_arguments or "{}")})
        stop_reason = "tool_use"
    elif reply.search is not None:
        use_id = f"srvtoolu_{uuid.uuid4().hex[:24]}"
        blocks += [
            {"type": "server_tool_use", "id": use_id, "name": "web_search", "input": {"query": reply.search}},
            {"type": "web_search_tool_result", "tool_use_id": use_id, "content": [
                {"type": "web_search_result", "url": reply.citation_url, "title": reply.search,
                 "encrypted_content": "EqgfCioIARgBIiQ3", "page_age": None}]},
            {"type": "text", "text": reply.text or "", "citations": [
                {"type": "web_search_result_location", "url": reply.citation_url, "title": reply.search,
                 "cited_text": reply.text, "encrypted_index": "Eo8BCioIAhgBIiQy"}]},
        ]
    elif prompt == "two-blocks!":
        blocks += [{"type": "text", "text": "first block"}, {"type": "text", "text": "second block"}]
    elif reply.refusal is not None:
        stop_reason = "refusal"
    else:
        blocks.append({"type": "text", "text": reply.text or ""})
    if reply.finish == "length":
        stop_reason = "max_tokens"
    usage = {"input_tokens": reply.input_tokens, "output_tokens": max(1, reply.output_tokens),
             "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    if prompt == "cache?":
        usage.update(cache_creation_input_tokens=3, cache_read_input_tokens=5)
    return blocks, stop_reason, usage


def _message(body: dict[str, Any], blocks: list[dict[str, Any]], stop_reason: str | None,
             usage: dict[str, Any]) -> dict[str, Any]:
    message = {
        "id": f"msg_{uuid.uuid4().hex[:24]}", "type": "message", "role": "assistant", "model": body["model"],
        "content": blocks, "stop_reason": stop_reason, "stop_sequence": None, "usage": usage,
    }
    if stop_reason == "refusal":
        message["stop_details"] = {"type": "refusal", "category": "cyber", "explanation": "I can't help with that."}
    return message


def _frame(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


async def _sse(body: dict[str, Any], blocks: list[dict[str, Any]], stop_reason: str, usage: dict[str, Any],
               reply: EchoReply) -> Any:
    start = _message(body, [], None, {**usage, "output_tokens": 1})
    yield _frame("message_start", {"type": "message_start", "message": start})
    yield _frame("ping", {"type": "ping"})
    for index, block in enumerate(blocks):
        kind = block["type"]
        if kind == "text":
            yield _frame("content_block_start", {"type": "content_block_start", "index": index,
                                                 "content_block": {"type": "text", "text": "",
                                                                   **({"citations": []} if "citations" in block
                                                                      else {})}})
            for citation in block.get("citations") or ():
                yield _frame("content_block_delta", {"type": "content_block_delta", "index": index,
                                                     "delta": {"type": "citations_delta", "citation": citation}})
            chunks = chunk_text(block["text"])
            for number, piece in enumerate(chunks):
                if reply.cut and number == len(chunks) // 2:
                    return  # the body ends with no message_stop
                yield _frame("content_block_delta", {"type": "content_block_delta", "index": index,
                                                     "delta": {"type": "text_delta", "text": piece}})
                await asyncio.sleep(reply.pace)
            if reply.stream_error:
                yield _frame("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
                return
        elif kind == "thinking":
            yield _frame("content_block_start", {"type": "content_block_start", "index": index,
                                                 "content_block": {"type": "thinking", "thinking": "",
                                                                   "signature": ""}})
            for piece in chunk_text(block["thinking"]) if block["thinking"] else []:
                yield _frame("content_block_delta", {"type": "content_block_delta", "index": index,
                                                     "delta": {"type": "thinking_delta", "thinking": piece}})
            signature = block["signature"]
            half = len(signature) // 2
            for piece in (signature[:half], signature[half:]):
                yield _frame("content_block_delta", {"type": "content_block_delta", "index": index,
                                                     "delta": {"type": "signature_delta", "signature": piece}})
        elif kind in ("redacted_thinking", "web_search_tool_result"):
            yield _frame("content_block_start", {"type": "content_block_start", "index": index,
                                                 "content_block": block})
        elif kind in ("tool_use", "server_tool_use"):
            yield _frame("content_block_start", {"type": "content_block_start", "index": index,
                                                 "content_block": {**block, "input": {}}})
            arguments = json.dumps(block["input"]) if block["input"] else ""
            pieces = [""] + (chunk_text(arguments) if arguments else [])
            for piece in pieces:
                yield _frame("content_block_delta", {"type": "content_block_delta", "index": index,
                                                     "delta": {"type": "input_json_delta", "partial_json": piece}})
        yield _frame("content_block_stop", {"type": "content_block_stop", "index": index})
    delta: dict[str, Any] = {"stop_reason": stop_reason, "stop_sequence": None}
    if stop_reason == "refusal":
        delta["stop_details"] = {"type": "refusal", "category": "cyber", "explanation": "I can't help with that."}
    final_usage = {"output_tokens": usage["output_tokens"], "input_tokens": usage["input_tokens"],
                   "cache_read_input_tokens": None, "cache_creation_input_tokens": None}
    yield _frame("message_delta", {"type": "message_delta", "delta": delta, "usage": final_usage})
    yield _frame("message_stop", {"type": "message_stop"})


async def _inband_error(body: dict[str, Any], text: str | None, status: int, usage: dict[str, Any]) -> Any:
    """The echo protocol's in-band errors: the ``error`` event as the first one, or after ``message_start``
    in one write with a text block's start and deltas."""
    error = _frame("error", {"type": "error", "error": {"type": ERROR_TYPES.get(status, "api_error"),
                                                       "message": f"fake in-band error {status}"}})
    if not text:
        yield error
        return
    yield _frame("message_start", {"type": "message_start", "message": _message(body, [], None, usage)})
    start = _frame("content_block_start", {"type": "content_block_start", "index": 0,
                                           "content_block": {"type": "text", "text": ""}})
    deltas = [_frame("content_block_delta", {"type": "content_block_delta", "index": 0,
                                             "delta": {"type": "text_delta", "text": piece}})
              for piece in chunk_text(text)]
    yield b"".join([start, *deltas, error])


async def messages(request: Request) -> Response:
    """``POST /v1/messages``."""
    if not (request.headers.get("x-api-key") or request.headers.get("authorization", "").startswith("Bearer ")):
        return _error(401, "x-api-key header is required")
    body = await request.json()
    try:
        _check(body)
    except Rejected as exc:
        return _error(400, str(exc))
    echo = _echo_request(body)
    reply = echo_reply(echo)
    await asyncio.sleep(reply.delay)
    if reply.error_status == 529:
        return _error(529, "Overloaded")
    if reply.error_status is not None:
        return _error(reply.error_status, f"fake upstream error {reply.error_status}")
    blocks, stop_reason, usage = _plan(body, echo, reply)
    headers = {"request-id": f"req_{uuid.uuid4().hex[:24]}"}
    if body.get("stream") and reply.inband_error is not None:
        return StreamingResponse(_inband_error(body, reply.text, reply.inband_error, usage),
                                 media_type="text/event-stream", headers=headers)
    if body.get("stream"):
        return StreamingResponse(_sse(body, blocks, stop_reason, usage, reply),
                                 media_type="text/event-stream", headers=headers)
    return JSONResponse(_message(body, blocks, stop_reason, usage), headers=headers)


async def count_tokens(request: Request) -> Response:
    """``POST /v1/messages/count_tokens``: the echo protocol's input token count."""
    if not (request.headers.get("x-api-key") or request.headers.get("authorization", "").startswith("Bearer ")):
        return _error(401, "x-api-key header is required")
    body = await request.json()
    if "max_tokens" in body or "stream" in body:
        return _error(400, "count_tokens takes no max_tokens or stream")
    return JSONResponse({"input_tokens": echo_reply(_echo_request(body)).input_tokens})


async def models(request: Request) -> Response:
    """``GET /v1/models``."""
    data = [{"type": "model", "id": name, "display_name": name, "created_at": "2025-09-29T00:00:00Z",
             "lifecycle": "active"}
            for name in ("claude-sonnet-4-5", "claude-opus-4-1")]
    return JSONResponse({"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]})


def create_app() -> Starlette:
    """The fake upstream."""
    app = Starlette(routes=[Route("/v1/messages", messages, methods=["POST"]),
                            Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
                            Route("/v1/models", models, methods=["GET"])])
    return app
