"""Reading Server-Sent Events from raw upstream bytes, one batch per network read.

Provider plugins read their SDK's raw streaming response (cheaper than its typed event objects) and use
:class:`SSEDecoder` to split it: each ``feed`` returns the whole events the chunk completed, so a plugin can
turn one upstream read into one list of deltas, and the gateway into one write.
"""

from __future__ import annotations


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
