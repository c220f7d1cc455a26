"""The HTTP side shared by every dialect: one lean ASGI endpoint, parametrised by a :class:`Dialect`.

It is the same path as ``POST /v1/responses`` (the same body reader, :class:`~gateway_core.body.BodyReader`,
the same admission, :meth:`Responder.admit`, the same responder calls, stream lifetime and disconnect
handling); only decoding and rendering are the dialect's. Streams run through the core's
:class:`~gateway_core.stream.ResponseBuilder` without Open Responses framing (it still assembles the resource
that is stored and checked), while the dialect's :class:`StreamRenderer` turns the same delta batches into
its own frames: no Open Responses event is encoded and re-parsed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Sequence
from typing import Any

from ..app import _SSE_HEADERS, _answer_headers, _send, forward_stream
from ..body import BodyReader, ClientDisconnected
from ..deltas import Delta
from ..errors import GatewayError
from ..keepalive import StreamWriter
from ..logs import request_id as current_request_id
from ..responder import Responder, log_failure
from ..routing import Route
from ..stream import ResponseBuilder
from ..types import ResponseRequest, ResponseResource

logger = logging.getLogger("gateway")

_JSON_HEADERS = [(b"content-type", b"application/json")]


class StreamRenderer:
    """Turns one stream's delta batches into the dialect's bytes. One instance per stream."""

    def begin(self) -> bytes:
        """The bytes sent with the response head (before any delta)."""
        return b""

    def feed(self, batch: Sequence[Delta]) -> bytes:
        """The bytes for one batch the builder accepted."""
        raise NotImplementedError

    def end(self, resource: ResponseResource) -> bytes:
        """The closing bytes, from the finished (completed, incomplete or failed) resource."""
        raise NotImplementedError


class Dialect:
    """One client wire format. Subclass and set ``path`` and ``route`` (its label in metrics and access logs);
    the endpoint calls the methods below."""

    path = ""
    route = ""
    stream_headers: list[tuple[bytes, bytes]] = _SSE_HEADERS

    def decode(self, body: bytes, headers: dict[bytes, bytes]) -> tuple[ResponseRequest, Any]:
        """The core request and any dialect context (given back to the renderers). Raises ``GatewayError``."""
        raise NotImplementedError

    def render(self, resource: ResponseResource, context: Any) -> tuple[int, bytes]:
        """The JSON answer (status, body) for a finished resource."""
        raise NotImplementedError

    def renderer(self, resource: ResponseResource, context: Any) -> StreamRenderer:
        """A renderer for the stream of ``resource`` (in progress: its id, model and creation time are set)."""
        raise NotImplementedError

    def error(self, error: GatewayError) -> tuple[int, bytes]:
        """The error answer (status, body) in the dialect's shape."""
        raise NotImplementedError


class DeltaTap:
    """Wraps the provider's iterator of delta batches and keeps the last one, so the dialect renders exactly
    the batches the builder accepted (rendered in the write that follows each ``feed``). The provider's
    iterator itself is closed by :meth:`Responder.stream`."""

    __slots__ = ("batch", "source")

    def __init__(self, source: AsyncIterator[Sequence[Delta]]) -> None:
        self.source = source.__aiter__()
        self.batch: Sequence[Delta] = ()

    def __aiter__(self) -> DeltaTap:
        return self

    async def __anext__(self) -> Sequence[Delta]:
        self.batch = await self.source.__anext__()
        return self.batch


class DialectEndpoint:
    """``POST <dialect.path>`` as a lean ASGI callable."""

    def __init__(self, dialect: Dialect, responder: Responder, reader: BodyReader) -> None:
        self.dialect = dialect
        self.responder = responder
        self.reader = reader

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        dialect = self.dialect
        request_headers = dict(scope["headers"])
        request_id = request_headers.get(b"x-request-id", b"")[:128] or os.urandom(12).hex().encode()
        current_request_id.set(request_id.decode(errors="replace"))
        headers = [(b"x-request-id", request_id)]
        writer = StreamWriter(send, self.responder.keepalive_seconds)
        try:
            async with self.responder.admit(scope, dialect.route):
                try:
                    body = await self.reader.read(request_headers.get(b"content-type", b""), receive)
                except ClientDisconnected:
                    return
                request, context = dialect.decode(body, request_headers)
                route = await self.responder.prepare(request)
                try:
                    if request.stream:
                        await self._stream(request, route, context, headers, writer, receive)
                    else:
                        record, attempt = await self.responder.respond(request, route)
                        status, payload = dialect.render(record.response, context)
                        await _send(send, status, _JSON_HEADERS + headers + _answer_headers(attempt), payload)
                except GatewayError as error:
                    log_failure(error)
                    raise
        except GatewayError as error:
            if not writer.started:
                await self._send_error(send, error, headers)
        except Exception:  # a bug of ours: log it, never send a traceback
            logger.exception("request failed inside the gateway")
            if not writer.started:
                await self._send_error(send, GatewayError("internal gateway error", code="internal_error"), headers)

    async def _send_error(self, send: Any, error: GatewayError, headers: list) -> None:
        status, payload = self.dialect.error(error)
        await _send(send, status, _JSON_HEADERS + error.headers() + headers, payload)

    async def _stream(self, request: ResponseRequest, route: Route, context: Any, headers: list,
                      writer: StreamWriter, receive: Any) -> None:
        dialect = self.dialect
        writer.arm(dialect.stream_headers + headers)

        async def run_stream() -> None:
            async with self.responder.stream(request, route, None) as run:
                renderer = dialect.renderer(run.builder.resource, context)
                tap = DeltaTap(run.attempt.result)
                run.attempt.result = tap
                await writer.start(_answer_headers(run.attempt), renderer.begin())

                async def write(builder: ResponseBuilder) -> None:
                    if builder.done:  # the end (a batch the builder refused is not rendered)
                        await writer.write(renderer.end(builder.resource), more=False)
                        return
                    data = renderer.feed(tap.batch)
                    tap.batch = ()
                    if data:
                        await writer.write(data)

                await self.responder.drive(run, write)

        def failure(error: GatewayError) -> bytes:
            resource = self.responder.failure(request, error, None).resource
            renderer = dialect.renderer(resource, context)
            return renderer.begin() + renderer.end(resource)

        await forward_stream(run_stream(), writer, failure, receive)
