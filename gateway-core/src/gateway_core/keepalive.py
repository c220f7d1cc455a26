"""Streams that survive proxies: SSE comment lines while the upstream is quiet, WebSocket pings.

Load balancers and reverse proxies cut a connection that carried nothing for a while (60 s for an AWS ALB
and nginx's ``proxy_read_timeout``), and a reasoning model may think for minutes before its first token.
Every SSE stream is written through a :class:`StreamWriter`: whenever ``routing.keepalive_seconds`` passed
without a write, :func:`wait_beating` has it write a ``: keepalive`` comment line, which SSE clients ignore.
That holds before the first event too, while the dispatcher is still retrying and falling back, unseen
(comments are not events).

The first comment commits the response to status 200, so until keepalive_seconds have passed a failure is
still a plain JSON error with its real status; after it, the transport ends the stream with the failure in
its own shape. The headers that name the target that answered are known only once a stream opened: a
response whose head a comment sent goes without them.

Cost on the hot path: one clock read per write; the ticking is a timeout on the wait the transport already
does, not another task.
WebSocket connections are kept alive by the server's pings instead (:func:`ping_options`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any, Protocol

from .deadlines import deadline

COMMENT = b": keepalive\n\n"

Send = Callable[[dict[str, Any]], Awaitable[None]]


class Frames(Protocol):
    """What :meth:`StreamWriter.write_frames` reads: a stream builder's framed output."""

    done: bool

    def take_frames(self) -> bytes: ...


class StreamWriter:
    """The writer of one streamed HTTP response: the head (:meth:`start`), then body chunks (:meth:`write`),
    and a comment (:meth:`beat`) when ``seconds`` (0: never) passed without a write.

    The comments come from another task than the stream's own writes, yet need no lock: every decision
    (whether the head is due, whether the stream ended) is taken and recorded before the ``send`` it leads
    to, with no ``await`` between, and the server writes each message's bytes when ``send`` is called, so
    messages reach the socket whole and in the order they were sent."""

    __slots__ = ("_last", "_send", "ended", "head", "seconds", "started")

    def __init__(self, send: Send, seconds: float) -> None:
        self._send = send
        self.seconds = seconds
        self.head: list[tuple[bytes, bytes]] = []
        self.started = False
        """The head is sent: a failure can only be told in the stream now."""
        self.ended = False
        self._last = time.monotonic()

    def arm(self, head: list[tuple[bytes, bytes]]) -> None:
        """The stream begins now (the first comment is due ``seconds`` from here), with ``head``."""
        self.head = head
        self._last = time.monotonic()

    def due(self) -> float:
        """Seconds until the next comment is due (zero or less: now)."""
        return self._last + self.seconds - time.monotonic()

    async def start(self, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        """Send the head (status 200, :attr:`head` plus ``headers``) unless a comment sent it already (then
        ``headers`` are dropped), then ``body``."""
        if not self.started:
            self.started = True
            await self._send({"type": "http.response.start", "status": 200, "headers": self.head + headers})
        await self.write(body)

    async def write(self, body: bytes, more: bool = True) -> None:
        """Send a body chunk (``more`` false: the last one)."""
        if not self.started:  # a failure told in the stream before it opened
            self.started = True
            await self._send({"type": "http.response.start", "status": 200, "headers": self.head})
        if not more:
            self.ended = True
        elif not body:
            return
        self._last = time.monotonic()
        await self._send({"type": "http.response.body", "body": body, "more_body": more})

    async def write_frames(self, frames: Frames) -> None:
        """Send the frames ``frames`` has ready, the last ones once it is done (one call per upstream batch:
        what :meth:`write` does, without another coroutine per batch)."""
        data = frames.take_frames()
        more = not frames.done
        if not self.started or not more:
            await self.write(data, more)
        elif data:
            self._last = time.monotonic()
            await self._send({"type": "http.response.body", "body": data, "more_body": True})

    async def beat(self) -> None:
        """Send a comment (with the head, if it is the first byte) if one is due and the stream goes on."""
        if self.ended or self.due() > 0:
            return
        await self.write(COMMENT)


async def wait_beating(tasks: Collection[asyncio.Future[Any]], writer: StreamWriter) -> None:
    """Wait until one of ``tasks`` is done, having ``writer`` send a comment whenever one is due."""
    if not writer.seconds:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return
    while not writer.ended:  # once ended, the last write may still be draining: no more comments
        try:
            with deadline(max(0.0, writer.due())):  # cancels this wait only, never the tasks
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            return
        except TimeoutError:
            await writer.beat()
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)


def ping_options(seconds: float) -> dict[str, Any]:
    """uvicorn's WebSocket ping options for ``routing.keepalive_seconds`` (0: no pings): a ping every
    ``seconds``, and a connection whose pong is not back within ``max(seconds, 20)`` is closed."""
    if not seconds:
        return {"ws_ping_interval": None, "ws_ping_timeout": None}
    return {"ws_ping_interval": seconds, "ws_ping_timeout": max(seconds, 20.0)}
