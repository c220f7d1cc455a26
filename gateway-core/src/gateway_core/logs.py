"""Logging: every line carries the request id of the request it belongs to (``x-request-id``)."""

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


def configure_logging(level: str) -> None:
    """Log the gateway's own lines to stderr with their request ids."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(FORMAT))
    logger = logging.getLogger("gateway")
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False
