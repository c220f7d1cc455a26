"""The dialects the gateway serves, by path."""

from __future__ import annotations

from ..body import BodyReader
from ..responder import Responder
from .chat import CHAT
from .ingress import DialectEndpoint
from .messages import MESSAGES


def dialect_endpoints(responder: Responder, reader: BodyReader) -> dict[str, DialectEndpoint]:
    """The ASGI endpoint of each dialect by path, sharing the responder (its admission) and the body reader
    of ``POST /v1/responses``."""
    return {dialect.path: DialectEndpoint(dialect, responder, reader) for dialect in (CHAT, MESSAGES)}
