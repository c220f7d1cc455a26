"""Access logs: one line per request, as JSON (``server.log_format: json``) or text (the default), in the
same fields, written off the request path.

The request path only formats the line and puts it on a queue; a :class:`logging.handlers.QueueListener`
thread writes it (to stderr). Fields: time, request id, trace id, key id, route, requested model, instance,
upstream model, status, error code, stream, tokens, cost, duration, time to first byte, retries, fallback,
disconnect, and the agent session id (``X-Claude-Code-Session-Id``, Codex's ``client_metadata.session_id``).
No prompt or answer content and no key are ever logged; every string is escaped (JSON escapes control
characters; the text form writes them as ``\\xNN``).
"""

from __future__ import annotations

import logging
import logging.handlers
import queue
import sys
import time
from typing import Any, Literal

import msgspec

from .exchange import Exchange

logger = logging.getLogger("gateway.access")

_encode = msgspec.json.Encoder().encode
_CONTROL = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F)}


def fields(exchange: Exchange, trace_id: str | None = None) -> dict[str, Any]:
    """The access-log fields of a finished exchange (``None`` values left out)."""
    usage = exchange.usage or {}
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
        "input_tokens": usage.get("input"),
        "cached_input_tokens": usage.get("cached_input"),
        "cache_write_input_tokens": usage.get("cache_write_input"),
        "output_tokens": usage.get("output"),
        "reasoning_tokens": usage.get("reasoning"),
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


class AccessLog:
    """Writes access lines through a queue and a writer thread (started by :meth:`start`)."""

    def __init__(self, log_format: Literal["text", "json"] = "text", enabled: bool = True,
                 stream: str = "stderr") -> None:
        self.render = json_line if log_format == "json" else text_line
        self.stream = stream
        self.enabled = enabled
        self._queue: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        self._listener: logging.handlers.QueueListener | None = None

    def start(self) -> None:
        """Attach the queue to the ``gateway.access`` logger and start the writer thread."""
        if not self.enabled:
            return
        handler = logging.StreamHandler(sys.stdout if self.stream == "stdout" else sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        self._listener = logging.handlers.QueueListener(self._queue, handler)
        logger.handlers[:] = [logging.handlers.QueueHandler(self._queue)]
        logger.setLevel(logging.INFO)
        logger.propagate = False
        self._listener.start()

    def stop(self) -> None:
        """Write what is queued and stop the writer thread."""
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    def write(self, exchange: Exchange, trace_id: str | None = None) -> None:
        """Queue the line of a finished exchange."""
        if self.enabled:
            logger.info(self.render(fields(exchange, trace_id)))
