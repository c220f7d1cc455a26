"""Gemini ``streamGenerateContent?alt=sse`` -> deltas: the :class:`gateway_core.sse.StreamParser` the core's
driver reads it with.

Every SSE ``data:`` is a whole ``GenerateContentResponse`` chunk carrying new parts; function calls arrive whole
in one chunk, the finish reason often in a trailing chunk of its own and the usage (cumulative) in the last.
There is no end marker other than the finish reason, and the usage may follow it: the stream is read to EOF,
and a body that ends without a finish reason is a cut stream (no ``Finish``: the core reports the interruption).
"""

from __future__ import annotations

from gateway_core.contract import deltas as d

from .errors import chunk_error
from .response import Turn, decode_response


class GeminiStreamParser:
    """Stream chunks -> deltas, across chunks through one :class:`~gateway_google.response.Turn`."""

    __slots__ = ("_turn", "done")

    def __init__(self, model: str) -> None:
        self.done = False  # never before EOF: usage may follow the finish reason
        self._turn = Turn(model)

    def feed(self, events: list[tuple[str, bytes]], out: list[d.Delta]) -> None:
        """Append the deltas of the chunks of one read. Raises the mapped error of an ``{"error": ...}`` chunk."""
        turn = self._turn
        for _, data in events:
            response = decode_response(data)
            if response.error is not None:
                raise chunk_error(response.error)
            turn.feed(response, out)

    def end(self, out: list[d.Delta]) -> None:
        """At EOF: the signature seal, the last usage and the ``Finish`` if a finish reason arrived."""
        if self._turn.finish is not None:
            self._turn.end(out)
