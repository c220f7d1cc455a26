"""A scriptable OpenAI Chat Completions upstream that injects faults, for the reliability tests.

Each request takes the next action from the app's script (``ok`` when the script is empty) and is
recorded in ``app.state.calls``. Actions: ``("ok",)``, ``("status", code, headers)``, ``("late_status", s, code)``
(the same error after ``s`` seconds), ``("sleep", s)``
(then answer), ``("slow_headers", s)`` (the same, for streams: nothing is sent for ``s`` seconds),
``("cut",)`` (stream two chunks, then end without ``[DONE]``), ``("trickle", s, n)`` (stream ``n``
chunks, ``s`` seconds apart; ``app.state.closed`` records whether the client went away early).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


def _completion(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def create_app(name: str) -> Starlette:
    """A fault-injecting upstream whose answers say ``name``."""

    async def completions(request: Request) -> Response:
        body = await request.json()
        state = request.app.state
        state.calls.append(body)
        action = state.script.popleft() if state.script else ("ok",)
        kind = action[0]
        if kind == "late_status":
            await asyncio.sleep(action[1])
            action = ("status", action[2])
            kind = "status"
        if kind == "status":
            code, headers = action[1], action[2] if len(action) > 2 else {}
            error = {"error": {"message": f"injected {code}", "type": "server_error", "param": None, "code": None}}
            return JSONResponse(error, status_code=code, headers=headers)
        if kind in ("sleep", "slow_headers"):
            await asyncio.sleep(action[1])
        if not body.get("stream"):
            return JSONResponse(_completion(f"from {name}"))
        return StreamingResponse(_stream(state, name, action), media_type="text/event-stream")

    app = Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])
    app.state.calls = []
    app.state.script = deque()
    app.state.closed = threading.Event()
    app.state.finished = False
    return app


async def _stream(state: Any, name: str, action: tuple[Any, ...]) -> AsyncIterator[bytes]:
    yield _chunk({"role": "assistant", "content": ""})
    if action[0] == "cut":
        yield _chunk({"content": "partial "})
        yield _chunk({"content": "answer"})
        return
    if action[0] == "trickle":
        delay, count = action[1], action[2]
        try:
            for index in range(count):
                await asyncio.sleep(delay)
                yield _chunk({"content": f"{index} "})
            state.finished = True
        finally:
            if not state.finished:
                state.closed.set()
    else:
        yield _chunk({"content": f"from {name}"})
    yield _chunk({}, "stop")
    yield b"data: [DONE]\n\n"
