"""The one body reader of every ``POST`` endpoint (``/v1/responses``, ``/v1/responses/compact``, and any
endpoint added later): content type, size limit, a deadline for receiving the whole body.
Decoding is ``gateway_core.decode``'s.

Only ``application/json`` and ``*/*+json`` are accepted (415 otherwise): the "simple" content types a web
page may send cross-origin without a preflight (``text/plain``, form encodings) are refused. A body over
``server.max_body_bytes`` answers 413, a body that does not arrive within ``server.body_timeout`` 408.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .deadlines import deadline
from .decode import decode_request
from .errors import InvalidRequestError, PayloadTooLargeError, UnsupportedMediaTypeError
from .exchange import current_exchange
from .types import ResponseRequest

_LARGE_BODY = 1024 * 1024
"""Bodies above this are decoded in a worker thread, so one large request does not stall the event loop."""


class ClientDisconnected(Exception):
    """The client went away before its body arrived (nothing can be answered)."""


def is_json_media_type(content_type: bytes) -> bool:
    """Whether a ``Content-Type`` value is ``application/json`` or a ``+json`` type (parameters ignored)."""
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (media.endswith(b"+json") and b"/" in media)


def content_type_of(headers: list[tuple[bytes, bytes]]) -> bytes:
    """The ``Content-Type`` of an ASGI header list (empty when absent)."""
    for name, value in headers:
        if name == b"content-type":
            return value
    return b""


class BodyReader:
    """Reads and checks a JSON request body from an ASGI ``receive``; built once at startup."""

    def __init__(self, max_bytes: int, timeout: float) -> None:
        self.max_bytes = max_bytes
        self.timeout = timeout

    def check_content_type(self, content_type: bytes) -> None:
        """Raise 415 unless the body is declared as JSON."""
        if content_type != b"application/json" and not is_json_media_type(content_type):
            raise UnsupportedMediaTypeError(
                "send the body as JSON with 'Content-Type: application/json'", code="unsupported_media_type"
            )

    async def read(self, content_type: bytes, receive: Any) -> bytes:
        """The whole body. Raises ``GatewayError`` (415, 413, 408) or :class:`ClientDisconnected`."""
        self.check_content_type(content_type)
        try:
            with deadline(self.timeout):
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientDisconnected
                body: bytes = message.get("body", b"")
                if message.get("more_body", False):
                    return await self._receive_rest(body, receive)
        except TimeoutError:
            raise InvalidRequestError(f"the request body did not arrive within {self.timeout:g} seconds",
                                      code="request_timeout", status=408) from None
        if len(body) > self.max_bytes:
            raise _too_large(self.max_bytes)
        return body

    async def _receive_rest(self, first: bytes, receive: Any) -> bytes:
        """The rest of a body that comes in several messages, ``first`` its first chunk."""
        limit = self.max_bytes
        chunks = [first]
        size = len(first)
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"the body is over {limit} bytes", code="request_too_large")


async def read_request(reader: BodyReader, content_type: bytes, receive: Any, max_items: int) -> ResponseRequest:
    """Read and decode a request body (a large one in a worker thread, so the event loop keeps serving;
    more than ``max_items`` input items are refused before they are normalised). Raises ``GatewayError``
    or :class:`ClientDisconnected`."""
    body = await reader.read(content_type, receive)
    exchange = current_exchange.get()
    if exchange is not None:
        exchange.body_bytes = len(body)
    if len(body) > _LARGE_BODY:
        return await asyncio.to_thread(decode_request, body, max_items)
    return decode_request(body, max_items)
