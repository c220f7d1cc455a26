"""One recorder of what a fake upstream received, for every provider's tests (wraps any ASGI app)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RecordedRequest:
    """One HTTP request a fake upstream received, and how its answer ended."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    finished: bool = False
    """The whole answer was sent."""
    disconnected: threading.Event = field(default_factory=threading.Event)
    """The client (the gateway) went away before the answer was finished."""

    @property
    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class UpstreamRecorder:
    """An ASGI app recording every HTTP request to ``app`` (in :attr:`requests`, oldest first)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[RecordedRequest] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]}
        record = RecordedRequest(scope["method"], scope["path"], scope["query_string"].decode(), headers,
                                 b"".join(chunks))
        self.requests.append(record)
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": record.body, "more_body": False}
            message = await receive()
            if message["type"] == "http.disconnect" and not record.finished:
                record.disconnected.set()
            return message

        async def watch(message: Any) -> None:
            try:
                await send(message)
            except OSError:
                record.disconnected.set()
                raise
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                record.finished = True

        await self.app(scope, replay, watch)
