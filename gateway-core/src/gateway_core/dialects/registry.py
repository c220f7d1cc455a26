"""The dialects the gateway serves, by path."""

from __future__ import annotations

from typing import Any

from .chat import CHAT
from .ingress import DialectEndpoint
from .messages import MESSAGES


def dialect_endpoints(responses: Any) -> dict[str, DialectEndpoint]:
    """The ASGI endpoint of each dialect by path, sharing the responder and body reader of ``responses``
    (the :class:`~gateway_core.app.ResponsesEndpoint`)."""
    return {dialect.path: DialectEndpoint(dialect, responses) for dialect in (CHAT, MESSAGES)}
