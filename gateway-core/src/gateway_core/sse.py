"""Reading Server-Sent Events from raw upstream bytes, one batch per network read.

Provider plugins read their SDK's raw streaming response (cheaper than its typed event objects) and hand its
body to :class:`SSEStream`, the one stream driver, with their :class:`StreamParser`. :class:`SSEDecoder` splits
the bytes: each ``feed`` returns the whole events the chunk completed, so one upstream read becomes one list of
deltas, and the gateway one write.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from .contract.deltas import Delta
from .contract.errors import StreamInterrupted


class SSEDecoder:
    """Incremental SSE parser: bytes in, ``(event, data)`` pairs out (``event`` is ``""`` when absent)."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[tuple[str, bytes]]:
        """Parse ``chunk``; return the events it completes, in order."""
        buffer = self._buffer + chunk if self._buffer else chunk
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        blocks = buffer.split(b"\n\n")
        self._buffer = blocks.pop()
        events = []
        for block in blocks:
            event = ""
            data: list[bytes] = []
            for line in block.split(b"\n"):
                if line.startswith(b"data:"):
                    value = line[5:]
                    data.append(value[1:] if value[:1] == b" " else value)
                elif line.startswith(b"event:"):
                    event = line[6:].strip().decode()
            if data:
                events.append((event, b"\n".join(data)))
        return events


class StreamParser(Protocol):
    """A provider's stream format, event by event -> deltas: all a plugin writes for streaming.

    ``feed`` gets the events one network read completed and appends their deltas to ``out``; it sets ``done``
    at the format's end marker. An in-band upstream error is raised from ``feed`` as the mapped
    :class:`~gateway_core.errors.GatewayError` (what was appended to ``out`` before it still reaches the
    client). ``end`` is called at EOF before ``done``: it appends a ``Finish`` only where the format allows a
    body to end without an end marker (and nothing otherwise: the stream was cut).
    """

    done: bool

    def feed(self, events: list[tuple[str, bytes]], out: list[Delta]) -> None: ...

    def end(self, out: list[Delta]) -> None: ...


class SSEStream:
    """The one stream driver: an open upstream SSE body, read through a :class:`StreamParser`, as the
    :class:`~gateway_core.deltas.DeltaStream` that ``gateway_stream`` returns.

    Open it with :meth:`open`. One list of deltas per network read that produced any (reads that produce none
    are skipped, not yielded). The rules, the same for every provider:

    - Priming: :meth:`open` returns once the first deltas arrived. An error until then (an HTTP status, an
      in-band error as the first event, a timeout, an empty body) is raised by the await, so it is a
      pre-stream error: the core may retry or fall back, and answers it as plain JSON.
    - Deltas, then an in-band error, in one read: the deltas are delivered, then the error is raised by the
      next ``__anext__``; nothing the upstream sent is dropped. The same for any exception of the parser.
    - EOF before the parser is ``done``: whatever ``parser.end`` appends is delivered and iteration ends;
      without a ``Finish`` the core reports an interrupted stream (``upstream_stream_interrupted``).
    - The upstream response is closed once: at the end marker, at EOF, on any error, and by ``aclose()``
      (the core's call when the client goes away, which stops the upstream generating).
    """

    __slots__ = ("_chunks", "_close", "_parser", "_decoder", "_ready", "_error", "_closed")

    def __init__(self, chunks: AsyncIterator[bytes], close: Callable[[], Awaitable[object]],
                 parser: StreamParser) -> None:
        self._chunks = chunks
        self._close = close
        self._parser = parser
        self._decoder = SSEDecoder()
        self._ready: list[Delta] | None = None  # the batch read by open(), not yet delivered
        self._error: Exception | None = None  # raised once the deltas read before it are delivered
        self._closed = False

    @classmethod
    async def open(cls, chunks: AsyncIterator[bytes], close: Callable[[], Awaitable[object]],
                   parser: StreamParser) -> SSEStream:
        """Drive the body ``chunks`` (``close`` releases it) through ``parser``; returns once the first deltas
        arrived. Raises what the upstream failed with before them (:class:`StreamInterrupted` for a body that
        ended with none)."""
        stream = cls(chunks, close, parser)
        try:
            stream._ready = await stream._read()
        except StopAsyncIteration:
            raise StreamInterrupted() from None
        return stream

    def __aiter__(self) -> SSEStream:
        return self

    async def __anext__(self) -> list[Delta]:
        ready = self._ready
        if ready is not None:
            self._ready = None
            return ready
        if self._closed:
            error = self._error
            if error is not None:
                self._error = None
                raise error
            raise StopAsyncIteration
        return await self._read()

    async def _read(self) -> list[Delta]:
        """The deltas of the next reads, up to the first that produced any (or the end)."""
        parser = self._parser
        decode = self._decoder.feed
        chunks = self._chunks
        out: list[Delta] = []
        try:
            while not out:
                events = decode(await chunks.__anext__())
                if events:
                    parser.feed(events, out)
                    if parser.done:
                        await self.aclose()
                        break
        except StopAsyncIteration:
            await self.aclose()
            parser.end(out)
            if not out:
                raise
        except Exception as error:
            await self.aclose()
            if not out:
                raise
            self._error = error
        except BaseException:  # cancelled: release the connection, deliver nothing
            await self.aclose()
            raise
        return out

    async def aclose(self) -> None:
        """Stop reading and close the upstream response (idempotent)."""
        if not self._closed:
            self._closed = True
            await self._close()
