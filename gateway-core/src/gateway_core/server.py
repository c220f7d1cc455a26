"""How uvicorn serves the gateway: one place for its options (used by ``gateway serve`` and by the test kit),
and the HTTP protocol that bounds slow and oversized request heads. Defaults are in ``ServerSettings``.

uvicorn's ``httptools`` protocol (the fast one) has no header size limit and no header-read timeout: a
client may send headers forever, or connect and send nothing. :func:`guarded_protocol` adds both to it:
a request head over ``server.max_header_bytes`` answers 431, one not complete within
``server.header_timeout`` closes the connection. The body deadline is the body reader's
(``gateway_core.body``); the connection cap is uvicorn's ``limit_concurrency`` (503 past it).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from .config import ServerSettings
from .keepalive import ping_options
from .logs import log_config

logger = logging.getLogger("gateway")

_HEADERS_TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
                      b"connection: close\r\ncontent-length: %d\r\n\r\n%s")
_TOO_LARGE_BODY = (b'{"error":{"type":"invalid_request","code":"headers_too_large","param":null,'
                   b'"message":"the request head is over server.max_header_bytes"}}')


class ServerConfig(uvicorn.Config):
    """``uvicorn.Config`` with the head limits :class:`GuardedHttpToolsProtocol` reads (a module-level class,
    so worker processes can unpickle it)."""

    def __init__(self, app: Any, *, header_timeout: float, max_header_bytes: int, **options: Any) -> None:
        super().__init__(app, **options)
        self.header_timeout = header_timeout
        self.max_header_bytes = max_header_bytes


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header size limit and a header-read timeout (from
    :class:`ServerConfig`).

    Both cost nearly nothing per request: the head's size is measured on the bytes as they arrive (where its
    blank line is, found in C), not per parsed header; and one timer per connection, re-armed only when it
    fires, checks whether the head being read (since its first byte, or since the connection opened) is late.
    """

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.max_header_bytes: int = getattr(config, "max_header_bytes", 64 * 1024)
        self.header_timeout: float = getattr(config, "header_timeout", 10.0)
        self._head_bytes = 0
        self._head_tail = b""
        self._head_started: float | None = None
        """When the head being read began (None while none is: a request is served, or the connection idles
        between requests under uvicorn's keep-alive timeout)."""
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request head."""
        super().connection_made(transport)
        self._head_started = self.loop.time()
        self._head_timer = self.loop.call_later(self.header_timeout, self._check_head)

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the head clock."""
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Refuse a head that would grow past the limit with this chunk (before it is parsed, so no request
        starts); then feed the parser, as uvicorn does.

        A chunk belongs to a head unless the current request's body is still arriving (uvicorn's cycle has
        ``more_body`` until its message is complete), so heads are told apart without a parser callback of
        ours; a head is complete when feeding it made a new cycle."""
        self._unset_keepalive_if_required()
        cycle = self.cycle
        in_head = cycle is None or not cycle.more_body or cycle.response_complete
        if in_head:
            if self._head_size(data) > self.max_header_bytes:
                self._refuse_head()
                return
            if self._head_started is None:  # its first byte: the head's clock starts
                self._head_started = self.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._invalid_request()
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if not in_head:
            return
        if self.cycle is cycle:  # the head goes on in the next chunk
            self._head_bytes += len(data)
            self._head_tail = data[-3:]
        else:  # the head is complete: its clock stops
            self._head_bytes = 0
            self._head_started = None

    def _head_size(self, data: bytes) -> int:
        """The head's size once ``data`` is added: up to its blank line if ``data`` holds it (the line may
        begin in the previous chunk), else all of ``data``."""
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            return self._head_bytes + end + 4
        if self._head_bytes:
            straddling = (self._head_tail + data[:3]).find(b"\r\n\r\n")
            if straddling >= 0:
                return self._head_bytes + straddling + 4 - len(self._head_tail)
        return self._head_bytes + len(data)

    def _refuse_head(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(_HEADERS_TOO_LARGE % (len(_TOO_LARGE_BODY), _TOO_LARGE_BODY))
            self.transport.close()

    def _invalid_request(self) -> None:
        message = "Invalid HTTP request received."
        self.logger.warning(message)
        self.send_400_response(message)

    def _check_head(self) -> None:
        """The connection's timer: close it when the head being read is late, else look again when it would
        be."""
        self._head_timer = None
        if self.transport.is_closing():
            return
        started = self._head_started
        now = self.loop.time()
        if started is not None and now - started >= self.header_timeout:
            self.transport.close()
            return
        wait = self.header_timeout if started is None else started + self.header_timeout - now
        self._head_timer = self.loop.call_later(wait, self._check_head)


def server_config(app: Any, settings: ServerSettings, *, keepalive_seconds: float, **overrides: Any) -> ServerConfig:
    """The uvicorn configuration of ``settings`` (``overrides`` for the test kit, e.g. ``log_level``); WebSocket
    connections are pinged every ``keepalive_seconds`` (``routing.keepalive_seconds``; 0: never)."""
    options: dict[str, Any] = {
        **ping_options(keepalive_seconds),
        "host": settings.host,
        "port": settings.port,
        "http": GuardedHttpToolsProtocol,
        "loop": "uvloop",
        "limit_concurrency": settings.max_connections,
        "timeout_keep_alive": settings.keep_alive_timeout,
        "ws_max_size": settings.max_body_bytes,
        "log_level": settings.log_level,
        "access_log": False,  # the gateway writes its own access log (gateway_core.access_log)
        "proxy_headers": False,  # nothing reads the client's address or scheme: no X-Forwarded-* rewriting
        "lifespan": "on",
        "timeout_graceful_shutdown": round(settings.shutdown_grace),
        "log_config": log_config(settings.log_stream),
    }
    options.update(overrides)
    return ServerConfig(app, header_timeout=settings.header_timeout, max_header_bytes=settings.max_header_bytes,
                        **options)


def serve(app: Any, settings: ServerSettings, keepalive_seconds: float) -> None:
    """Run uvicorn until it is stopped: one process, or ``settings.workers`` processes each building the app
    from ``app`` (an import string of a factory); WebSocket pings every ``keepalive_seconds``."""
    config = server_config(app, settings, keepalive_seconds=keepalive_seconds, workers=settings.workers,
                           factory=settings.workers > 1)
    server = uvicorn.Server(config)
    if settings.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        server.run()

