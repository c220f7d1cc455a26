"""Logging: every line carries the request id of the request it belongs to (``x-request-id``), no line
carries a raw control character, and no line carries a client's credentials.

Model names, paths and upstream error texts reach log lines; a newline in one would forge a log line, an
escape sequence would drive the terminal. :class:`EscapingFormatter` escapes C0 and C1 controls (and the
Unicode line separators) in the final message, for the gateway's and uvicorn's loggers alike. Tracebacks
(bugs of ours) stay multi-line. At debug level websockets logs every header of a WebSocket upgrade through
uvicorn's logger, so credential headers are masked there (:class:`CredentialHeaderFilter`).
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import Any

request_id: ContextVar[str] = ContextVar("request_id", default="-")
"""The id of the request being handled (set by the HTTP endpoint)."""

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
SERVER_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

_CONTROLS = [*range(0x00, 0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]
_ESCAPES = {code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" for code in _CONTROLS}
_ESCAPES.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})


def escape_controls(text: str) -> str:
    """``text`` with every control character written as an escape (``\\n``, ``\\x1b``, ``\\u2028``)."""
    return text.translate(_ESCAPES)


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


class EscapingFormatter(logging.Formatter):
    """A formatter whose lines never contain a raw control character (the traceback, if any, follows)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_controls(super().formatMessage(record))


def configure_logging(level: str, stream: str = "stderr") -> None:
    """Log the gateway's own lines to ``stream`` (``stderr`` or ``stdout``) with their request ids; mask
    credentials in the server's."""
    mask_server_credentials()
    handler = logging.StreamHandler(sys.stdout if stream == "stdout" else sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(EscapingFormatter(FORMAT))
    logger = logging.getLogger("gateway")
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False


def log_config(stream: str = "stderr") -> dict[str, Any]:
    """uvicorn's ``log_config``: its error and access loggers through :class:`EscapingFormatter`, to
    ``stream``."""
    formatter = {"()": f"{__name__}.EscapingFormatter", "fmt": SERVER_FORMAT}
    handler = {"class": "logging.StreamHandler", "formatter": "escaped", "stream": f"ext://sys.{stream}"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"escaped": formatter},
        "handlers": {"escaped": handler},
        "loggers": {
            "uvicorn": {"handlers": ["escaped"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": ["escaped"], "level": "INFO", "propagate": False},
        },
    }
