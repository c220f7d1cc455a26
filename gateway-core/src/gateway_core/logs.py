"""Logging: every line carries the request id of the request it belongs to (``x-request-id``), and no line
carries a client's credentials: at debug level websockets logs every header of a WebSocket upgrade through
uvicorn's logger, so credential headers are masked there (:class:`CredentialHeaderFilter`)."""

from __future__ import annotations

import logging
from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="-")
"""The id of the request being handled (set by the HTTP endpoint)."""

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


CREDENTIAL_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key", "x-goog-api-key",
    "openai-api-key", "sec-websocket-protocol",
})
"""Headers whose value is (or may carry) a credential; ``sec-websocket-protocol`` is where browser clients put
tokens they cannot send as headers."""

_HEADER_LINES = frozenset({"< %s: %s", "> %s: %s"})  # websockets' format for one logged header


class CredentialHeaderFilter(logging.Filter):
    """Masks the value of a credential header in websockets' per-header debug lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.msg in _HEADER_LINES and isinstance(args, tuple) and len(args) == 2 \
                and str(args[0]).lower() in CREDENTIAL_HEADERS:
            record.args = (args[0], "***")
        return True


SERVER_LOGGERS = ("uvicorn.error", "websockets", "websockets.server", "websockets.client")
"""The loggers websockets' handshake lines go through (uvicorn hands websockets its ``uvicorn.error``)."""


def mask_server_credentials() -> None:
    """Install :class:`CredentialHeaderFilter` on the server's loggers (once; ``dictConfig`` keeps filters)."""
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, CredentialHeaderFilter) for existing in logger.filters):
            logger.addFilter(CredentialHeaderFilter())


def configure_logging(level: str) -> None:
    """Log the gateway's own lines to stderr with their request ids; mask credentials in the server's."""
    mask_server_credentials()
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(FORMAT))
    logger = logging.getLogger("gateway")
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False
