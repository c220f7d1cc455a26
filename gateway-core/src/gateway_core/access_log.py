"""Access logs: one line per request, as JSON (``server.log_format: json``) or text (the default), in the
same fields, written off the request path.

The request path only formats the line and appends it to a list; a writer thread writes what gathered
every tenth of a second in one write (to stderr, or stdout). Fields: time, request id, trace id, key id,
route, requested model, instance, upstream model, status, error code, stream, tokens, cost, duration, time
to first byte, retries, fallback, disconnect, and the agent session id (``X-Claude-Code-Session-Id``,
Codex's ``session-id`` header or ``client_metadata.session_id``). No prompt or answer content and no key
are ever logged; every string is escaped (JSON escapes control characters; the text form writes them as
``\\xNN``).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Literal

import msgspec

from .exchange import Exchange

_encode = msgspec.json.Encoder().encode
_CONTROL = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F)}


def fields(exchange: Exchange, trace_id: str | None = None) -> dict[str, Any]:
    """The access-log fields of a finished exchange (``None`` values left out)."""
    usage = exchange.usage
    entry: dict[str, Any] = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z",
        "request_id": exchange.request_id,
        "trace_id": trace_id,
        "key_id": exchange.key_id,
        "route": exchange.route,
        "model": exchange.requested_model or None,
        "instance": exchange.instance or None,
        "upstream_model": exchange.model or None,
        "status": exchange.status,
        "error_code": exchange.code,
        "stream": exchange.stream,
        "input_tokens": usage.input if usage is not None else None,
        "cached_input_tokens": usage.cached_input if usage is not None else None,
        "cache_write_input_tokens": usage.cache_write_input if usage is not None else None,
        "output_tokens": usage.output if usage is not None else None,
        "reasoning_tokens": usage.reasoning if usage is not None else None,
        "cost_usd": exchange.cost_usd or None,
        "duration_ms": round(exchange.duration() * 1000, 3),
        "ttfb_ms": round((exchange.first_event - exchange.started) * 1000, 3)
        if exchange.first_event is not None else None,
        "retries": exchange.retries,
        "fallback": exchange.fallback,
        "client_disconnected": exchange.disconnected or None,
        "session_id": exchange.session_id,
    }
    return {name: value for name, value in entry.items() if value is not None}


def json_line(entry: dict[str, Any]) -> str:
    """One JSON object on one line (msgspec escapes every control character)."""
    return _encode(entry).decode()


def text_line(entry: dict[str, Any]) -> str:
    """``name=value`` pairs, strings quoted when they hold spaces, control characters as ``\\xNN``."""
    parts = []
    for name, value in entry.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        text = text.translate(_CONTROL)
        parts.append(f'{name}="{text}"' if (" " in text or not text) else f"{name}={text}")
    return " ".join(parts)


MAX_PENDING_LINES = 100_000
"""Lines held while the stream is blocked (a stalled pipe); past it, lines are counted and dropped."""


class AccessLog:
    """Writes access lines from a writer thread (started by :meth:`start`): the request path appends the
    rendered line to a list, and the thread writes what gathered every ``flush_seconds`` in one write, so a
    request costs neither a system call nor a thread wake-up."""

    def __init__(self, log_format: Literal["text", "json"] = "text", enabled: bool = True,
                 stream: str = "stderr", flush_seconds: float = 0.1) -> None:
        self.render = json_line if log_format == "json" else text_line
        self.stream = stream
        self.enabled = enabled
        self.flush_seconds = flush_seconds
        self._lines: list[str] = []
        self.dropped = 0
        """Lines not written because the stream did not keep up (reported in the next write)."""
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the writer thread."""
        if not self.enabled or self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="gateway-access-log", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Write what gathered and stop the writer thread."""
        if self._thread is not None:
            self._stopping.set()
            self._thread.join()
            self._thread = None
        self._flush()

    def write(self, exchange: Exchange, trace_id: str | None = None) -> None:
        """Queue the line of a finished exchange."""
        if self.enabled:
            if len(self._lines) < MAX_PENDING_LINES:
                self._lines.append(self.render(fields(exchange, trace_id)))
            else:
                self.dropped += 1

    def _run(self) -> None:
        while not self._stopping.wait(self.flush_seconds):
            self._flush()

    def _flush(self) -> None:
        if not self._lines:
            return
        lines, self._lines = self._lines, []  # one swap: appends after it go to the new list
        if self.dropped:
            lines.append(self.render({"dropped_access_lines": self.dropped}))
            self.dropped = 0
        out = sys.stdout if self.stream == "stdout" else sys.stderr
        try:
            out.write("\n".join(lines) + "\n")
            out.flush()
        except (OSError, ValueError):  # the stream is gone (a closed pipe at shutdown): nothing to tell
            pass
