"""A hostile upstream for security tests: it speaks OpenAI's, Anthropic's and Gemini's wire formats and
misbehaves in the ways a compromised or buggy upstream can.

One ASGI app serves ``POST /v1/responses`` (OpenAI Responses), ``POST /v1/messages`` (Anthropic) and
``POST /v1beta/models/{model}:{method}`` (Gemini). The model name picks the behaviour:

- ``echo-key``: starts the stream (or answers, not streaming), then fails with an error whose message quotes
  the key the request carried (``Authorization``, ``x-api-key`` or ``x-goog-api-key``) and every header value
  listed in ``app.state.echo_headers``;
- ``masked-401``: 401 in the provider's error shape, quoting the key masked (OpenAI's ``sk-proj-****abcd``
  form, then ``...abcd``);
- ``redirect``: 307 to the same path on ``app.state.redirect_to`` (see :func:`recorder_app`);
- ``endless``: a stream of text deltas that never ends (``app.state.sent`` counts the bytes sent);
- ``huge``: a JSON answer of ``app.state.huge_bytes`` bytes of text, with a ``Content-Length``;
  ``huge-chunked``: the same body, chunked (no ``Content-Length``).

``app.state.headers`` records the headers of every request.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

_SSE = "text/event-stream"


def _key_of(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    return auth.removeprefix("Bearer ") or request.headers.get("x-api-key") or request.headers.get(
        "x-goog-api-key", "")


def _leak(request: Request) -> str:
    """What the upstream echoes: the key it got and the configured header values it was told to echo."""
    values = [_key_of(request)] + [request.headers.get(name, "") for name in request.app.state.echo_headers]
    return "your credentials " + ", ".join(values) + " are not allowed"


def _masked(request: Request) -> str:
    key = _key_of(request)
    return (f"Incorrect API key provided: {key[:8]}{'*' * 24}{key[-4:]}. The key ending ...{key[-4:]} "
            "was revoked.")


def _frame(event: str | None, data: dict[str, Any]) -> bytes:
    return (f"event: {event}\n" if event else "").encode() + b"data: " + json.dumps(data).encode() + b"\n\n"


def _huge_text(request: Request) -> str:
    return "x" * request.app.state.huge_bytes


async def _endless(request: Request, frame: Any) -> AsyncIterator[bytes]:
    state = request.app.state
    piece = "y" * 4096
    while True:
        data = frame(piece)
        state.sent += len(data)
        yield data
        await asyncio.sleep(0)


def _huge_response(body: bytes, chunked: bool) -> Response:
    if not chunked:
        return Response(body, media_type="application/json")

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start:start + 65536]

    return StreamingResponse(chunks(), media_type="application/json")


# -- OpenAI Responses --------------------------------------------------------------------------------------


def _openai_resource(model: str, status: str, output: list[Any]) -> dict[str, Any]:
    return {"id": "resp_hostile", "object": "response", "created_at": 1, "status": status, "model": model,
            "output": output, "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}}


async def _openai(request: Request) -> Response:
    body = await request.json()
    model, stream = body.get("model", ""), body.get("stream", False)
    common = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    if model == "masked-401":
        return JSONResponse({"error": {"message": _masked(request), "type": "invalid_request_error", "param": None,
                                       "code": "invalid_api_key"}}, status_code=401)
    if model == "echo-key" and not stream:
        return JSONResponse({"error": {"message": _leak(request), "type": "server_error", "param": None,
                                       "code": None}}, status_code=400)
    if model == "echo-key":
        async def failing() -> AsyncIterator[bytes]:
            yield _frame("response.created", {"type": "response.created", "sequence_number": 0,
                                              "response": _openai_resource(model, "in_progress", [])})
            yield _frame("response.output_text.delta", {"type": "response.output_text.delta",
                                                        "sequence_number": 1, "delta": "hello ", **common})
            yield _frame("error", {"type": "error", "sequence_number": 2, "code": "server_error",
                                   "message": _leak(request), "param": None})
        return StreamingResponse(failing(), media_type=_SSE)
    if model == "endless":
        return StreamingResponse(_endless(request, lambda piece: _frame(
            "response.output_text.delta", {"type": "response.output_text.delta", "sequence_number": 1,
                                           "delta": piece, **common})), media_type=_SSE)
    text = _huge_text(request)
    message = {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
               "content": [{"type": "output_text", "text": text, "annotations": []}]}
    return _huge_response(json.dumps(_openai_resource(model, "completed", [message])).encode(),
                          model == "huge-chunked")


# -- Anthropic Messages -----------------------------------------------------------------------------------


def _anthropic_error(kind: str, message: str, status: int) -> JSONResponse:
    return JSONResponse({"type": "error", "error": {"type": kind, "message": message}}, status_code=status)


async def _anthropic(request: Request) -> Response:
    body = await request.json()
    model, stream = body.get("model", ""), body.get("stream", False)
    if model == "masked-401":
        return _anthropic_error("authentication_error", _masked(request), 401)
    if model == "echo-key" and not stream:
        return _anthropic_error("invalid_request_error", _leak(request), 400)
    start = {"type": "message_start", "message": {
        "id": "msg_hostile", "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}}
    block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}

    def delta(text: str) -> bytes:
        return _frame("content_block_delta", {"type": "content_block_delta", "index": 0,
                                              "delta": {"type": "text_delta", "text": text}})

    if model == "echo-key":
        async def failing() -> AsyncIterator[bytes]:
            yield _frame("message_start", start)
            yield _frame("content_block_start", block)
            yield delta("hello ")
            yield _frame("error", {"type": "error", "error": {"type": "api_error", "message": _leak(request)}})
        return StreamingResponse(failing(), media_type=_SSE)
    if model == "endless":
        async def endless() -> AsyncIterator[bytes]:
            yield _frame("message_start", start)
            yield _frame("content_block_start", block)
            async for data in _endless(request, delta):
                yield data
        return StreamingResponse(endless(), media_type=_SSE)
    message = {**start["message"], "content": [{"type": "text", "text": _huge_text(request)}],
               "stop_reason": "end_turn"}
    return _huge_response(json.dumps(message).encode(), model == "huge-chunked")


# -- Gemini -----------------------------------------------------------------------------------------------


def _gemini_chunk(text: str, finish: str | None = None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], "usageMetadata": {"promptTokenCount": 1, "totalTokenCount": 2}}


async def _gemini(request: Request) -> Response:
    model, _, method = request.path_params["target"].partition(":")
    stream = method == "streamGenerateContent"
    if model == "masked-401":
        return JSONResponse({"error": {"code": 400, "message": _masked(request), "status": "INVALID_ARGUMENT"}},
                            status_code=400)
    if model == "echo-key" and not stream:
        return JSONResponse({"error": {"code": 400, "message": _leak(request), "status": "INVALID_ARGUMENT"}},
                            status_code=400)
    if model == "echo-key":
        async def failing() -> AsyncIterator[bytes]:
            yield _frame(None, _gemini_chunk("hello "))
            await asyncio.sleep(0.01)
            yield _frame(None, {"error": {"code": 500, "message": _leak(request), "status": "INTERNAL"}})
        return StreamingResponse(failing(), media_type=_SSE)
    if model == "endless":
        return StreamingResponse(_endless(request, lambda piece: _frame(None, _gemini_chunk(piece))),
                                 media_type=_SSE)
    return _huge_response(json.dumps(_gemini_chunk(_huge_text(request), "STOP")).encode(),
                          model == "huge-chunked")


def create_app(*, huge_bytes: int = 8 * 1024 * 1024, echo_headers: tuple[str, ...] = ()) -> Starlette:
    """The hostile upstream (see the module docstring); set ``app.state.redirect_to`` for ``redirect``."""

    def route(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            request.app.state.headers.append(dict(request.headers))
            if (await request.json()).get("model") == "redirect" or request.path_params.get(
                    "target", "").startswith("redirect:"):
                target = request.app.state.redirect_to + request.url.path
                if request.url.query:
                    target += "?" + request.url.query
                return RedirectResponse(target, status_code=307)
            return await handler(request)
        return endpoint

    app = Starlette(routes=[
        Route("/v1/responses", route(_openai), methods=["POST"]),
        Route("/v1/messages", route(_anthropic), methods=["POST"]),
        Route("/v1beta/models/{target:path}", route(_gemini), methods=["POST"]),
    ])
    app.state.headers = []
    app.state.echo_headers = echo_headers
    app.state.huge_bytes = huge_bytes
    app.state.redirect_to = ""
    app.state.sent = 0
    return app


def recorder_app() -> Starlette:
    """The redirect target: records the headers of every request (``app.state.headers``), answers 200 ``{}``."""

    async def anything(request: Request) -> Response:
        request.app.state.headers.append(dict(request.headers))
        return JSONResponse({})

    app = Starlette(routes=[Route("/{path:path}", anything, methods=["GET", "POST"])])
    app.state.headers = []
    return app
