"""Gemini ``streamGenerateContent?alt=sse`` -> delta batches, one batch per network read.

Every SSE ``data:`` is a whole ``GenerateContentResponse`` chunk carrying new parts; function calls arrive whole
in one chunk, the finish reason often in a trailing chunk of its own and the usage (cumulative) in the last.
There is no end marker other than the finish reason: a body that ends without one is a cut stream, so no
``Finish`` is yielded and the core reports the interruption.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

from gateway_core.contract import deltas as d
from gateway_core.sse import SSEDecoder

from ._sdk import RawStream
from .errors import chunk_error
from .response import Turn, decode_response


class GeminiStream:
    """Async iterator of delta lists over one open upstream stream; ``aclose()`` stops the upstream."""

    __slots__ = ("_raw", "_chunks", "_decoder", "_turn", "_first", "_done")

    def __init__(self, raw: RawStream, model: str) -> None:
        self._raw = raw
        self._chunks = raw.chunks()
        self._decoder = SSEDecoder()
        self._turn = Turn(model)
        self._first: list[d.Delta] | None = None
        self._done = False

    async def prime(self) -> None:
        """Read until the first event arrives, so upstream errors surface before the first byte."""
        self._first = await self._next_batch()

    def __aiter__(self) -> GeminiStream:
        return self

    async def __anext__(self) -> Sequence[d.Delta]:
        if self._first is not None:
            batch, self._first = self._first, None
            return batch
        if self._done:
            raise StopAsyncIteration
        return await self._next_batch()

    async def _next_batch(self) -> list[d.Delta]:
        try:
            return await self._read()
        except StopAsyncIteration:
            raise
        except BaseException:
            self._done = True
            await self._raw.close()
            raise

    async def _read(self) -> list[d.Delta]:
        turn = self._turn
        out: list[d.Delta] = []
        while not out:
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                self._done = True
                await self._raw.close()
                if turn.finish is None:
                    raise  # no finish reason: the stream was cut
                turn.end(out)
                return out
            for _, data in self._decoder.feed(chunk):
                response = decode_response(data)
                if response.error is not None:
                    raise chunk_error(response.error)
                turn.feed(response, out)
            if turn.finish is not None:
                break
        return out

    async def aclose(self) -> None:
        """Stop reading and close the upstream connection."""
        self._done = True
        await self._raw.close()


async def open_stream(raw: RawStream, model: str) -> AsyncIterator[Sequence[d.Delta]]:
    """Wrap an open raw stream and pull its first chunk."""
    stream = GeminiStream(raw, model)
    with contextlib.suppress(StopAsyncIteration):  # an empty body: no finish, an interrupted stream
        await stream.prime()
    return stream
