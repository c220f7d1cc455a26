"""A fake of the echo API (see the package README), answering under the echo protocol (:mod:`gateway_core.echo`).

``POST /generate`` answers JSON, or NDJSON lines with ``"stream": true``; a request without
``authorization`` gets a 401.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from gateway_core.echo import EchoReply, EchoRequest, chunk_text, echo_reply


def _echo(body: dict[str, Any]) -> EchoRequest:
    return EchoRequest(
        system=list(body.get("system") or []),
        turns=[(message["role"], message["text"]) for message in body.get("messages") or []],
        images=body.get("images", 0), files=body.get("files", 0), json_output=bool(body.get("json")),
        tools=list(body.get("tools") or []), tool_choice=body.get("tool_choice", "auto"),
        forced_tool=body.get("forced_tool"), tool_output=body.get("tool_output"),
    )


def _error(status: int, message: str) -> JSONResponse:
    headers = {"retry-after": "1"} if status == 429 else {}
    return JSONResponse({"error": {"message": message}}, status_code=status, headers=headers)


def _finish(reply: EchoReply, max_words: int) -> str:
    return "length" if reply.finish == "length" or reply.output_tokens > max_words else "stop"


def _call(reply: EchoReply) -> dict[str, Any]:
    return {"id": f"call_{uuid.uuid4().hex[:12]}", "name": reply.call_name, "arguments": reply.call_arguments}


def _line(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode() + b"\n"


async def _stream(reply: EchoReply, max_words: int) -> AsyncIterator[bytes]:
    if reply.reasoning:
        yield _line({"reasoning": reply.reasoning})
    if reply.refusal:
        yield _line({"refusal": reply.refusal})
    elif reply.call_name is not None:
        yield _line({"call": {**_call(reply), "arguments": ""}})
        for piece in chunk_text(reply.call_arguments or ""):
            yield _line({"arguments": piece})
    else:
        chunks = chunk_text(reply.text or "")
        for number, piece in enumerate(chunks):
            if reply.cut and number == len(chunks) // 2:
                return  # the body ends with no "done" line
            yield _line({"text": piece})
            await asyncio.sleep(reply.pace)
        if reply.stream_error:
            yield _line({"error": {"status": 503, "message": "overloaded"}})
            return
    usage = {"input": reply.input_tokens, "output": reply.output_tokens}
    yield _line({"done": {"finish": _finish(reply, max_words), "usage": usage}})


async def _inband_error(reply: EchoReply) -> AsyncIterator[bytes]:
    """The echo protocol's in-band errors: the text lines (if any) and the error line, in one write."""
    status = reply.inband_error or 500
    lines = [_line({"text": piece}) for piece in chunk_text(reply.text)] if reply.text else []
    yield b"".join([*lines, _line({"error": {"status": status, "message": f"fake in-band error {status}"}})])


async def generate(request: Request) -> Response:
    """``POST /generate``."""
    if not request.headers.get("authorization", "").startswith("Bearer "):
        return _error(401, "missing API key")
    body = await request.json()
    reply = echo_reply(_echo(body))
    await asyncio.sleep(reply.delay)
    if reply.error_status is not None:
        return _error(reply.error_status, f"fake upstream error {reply.error_status}")
    max_words = body.get("max_words") or 4096
    if body.get("stream") and reply.inband_error is not None:
        return StreamingResponse(_inband_error(reply), media_type="application/x-ndjson")
    if body.get("stream"):
        return StreamingResponse(_stream(reply, max_words), media_type="application/x-ndjson")
    answer: dict[str, Any] = {"reasoning": reply.reasoning, "finish": _finish(reply, max_words),
                              "usage": {"input": reply.input_tokens, "output": reply.output_tokens}}
    if reply.refusal:
        answer["refusal"] = reply.refusal
    elif reply.call_name is not None:
        answer["call"] = _call(reply)
    else:
        answer["text"] = reply.text
    return JSONResponse(answer)


def create_app() -> Starlette:
    """The fake echo API."""
    return Starlette(routes=[Route("/generate", generate, methods=["POST"])])
