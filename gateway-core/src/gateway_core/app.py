"""The Starlette application: ``POST /v1/responses`` (JSON and SSE), the WebSocket mode on the same path,
stored responses (``GET``/``DELETE /v1/responses/{id}``, ``.../input_items``), the dialects
(``/v1/chat/completions``, ``/v1/messages``, ``/v1/messages/count_tokens``), ``GET /v1/models`` and health
probes.

``POST /v1/responses`` is a plain ASGI endpoint: it reads the body with a size limit, decodes it in one
msgspec pass and hands it to the :class:`~gateway_core.responder.Responder`. Errors before the first byte
are JSON error objects with their HTTP status; after it, an ``error`` event and ``response.failed``. A
client that disconnects mid-stream cancels the upstream call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as HttpRoute
from starlette.routing import WebSocketRoute

from .compaction import Sealer, compact_route
from .config import GatewayConfig
from .conversation import Conversations
from .decode import decode_request
from .errors import (
    GatewayError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from .gateway import Gateway
from .heap import freeze_startup_heap
from .logs import request_id as current_request_id
from .plugins import Plugins
from .resources import stored_response_routes
from .responder import Responder, StreamRun, log_failure
from .store import create_store
from .stream import ResponseBuilder
from .types import encoder
from .websocket import ResponsesWebSocket

logger = logging.getLogger("gateway")

_JSON_HEADERS = [(b"content-type", b"application/json")]
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_ACCEPTED_TYPES = (b"application/json", b"application/x-www-form-urlencoded")


class ResponsesEndpoint:
    """``POST /v1/responses`` as a lean ASGI callable."""

    def __init__(self, responder: Responder, max_body: int) -> None:
        self.responder = responder
        self.dispatcher = responder.dispatcher
        self.max_body = max_body

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request_id = b""
        content_type = b""
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"x-request-id":
                request_id = value[:128]
        if not request_id:
            request_id = os.urandom(12).hex().encode()
        current_request_id.set(request_id.decode(errors="replace"))
        headers = [(b"x-request-id", request_id)]
        try:
            if content_type.split(b";", 1)[0].strip().lower() not in _ACCEPTED_TYPES:
                raise UnsupportedMediaTypeError(
                    "send the body as JSON with 'Content-Type: application/json'", code="unsupported_media_type"
                )
            body = await self._read_body(receive)
            if body is None:
                return
            request = decode_request(body)
            route = await self.responder.prepare(request)
            self.dispatcher.admit()
        except GatewayError as error:
            await _send_error(send, error, headers)
            return
        started = [False]
        try:
            if request.stream:
                try:
                    run = await self.responder.open(request, route, "sse")
                except GatewayError as error:
                    log_failure(error)
                    await _send_error(send, error, headers)
                    return
                started[0] = True
                await self._stream(run, headers, receive, send)
            else:
                try:
                    record, attempt = await self.responder.respond(request, route)
                except GatewayError as error:
                    log_failure(error)
                    await _send_error(send, error, headers)
                    return
                await _send(send, 200, _JSON_HEADERS + headers + _target_headers(attempt.target),
                            encoder.encode(record.response))
        except Exception:  # a bug of ours: log it, never send a traceback
            logger.exception("request failed inside the gateway")
            if not started[0]:
                await _send_error(send, GatewayError("internal gateway error", code="internal_error"), headers)
        finally:
            self.dispatcher.release()

    async def _read_body(self, receive: Any) -> bytes | None:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body = message.get("body", b"")
        if not message.get("more_body", False):
            if len(body) > self.max_body:
                raise PayloadTooLargeError(f"the body is over {self.max_body} bytes", code="request_too_large")
            return body
        chunks = [body]
        size = len(body)
        while message.get("more_body", False):
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise PayloadTooLargeError(f"the body is over {self.max_body} bytes", code="request_too_large")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _stream(self, run: StreamRun, headers: list, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": _SSE_HEADERS + headers + _target_headers(run.attempt.target)})
        await send({"type": "http.response.body", "body": run.builder.take_frames(), "more_body": True})

        async def write(builder: ResponseBuilder) -> None:
            data = builder.take_frames()
            if data:
                await send({"type": "http.response.body", "body": data, "more_body": not builder.done})

        pump = asyncio.ensure_future(self.responder.drive(run, write))
        watch = asyncio.ensure_future(_wait_for_disconnect(receive))
        await asyncio.wait((pump, watch), return_when=asyncio.FIRST_COMPLETED)
        if pump.done():
            watch.cancel()
            pump.result()
            return
        pump.cancel()  # the client left: stop the upstream generation
        with contextlib.suppress(BaseException):
            await pump
        aclose = getattr(run.attempt.result, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
        logger.info("client disconnected mid-stream; upstream call to %r cancelled", run.attempt.target.key)


def _target_headers(target: Any) -> list[tuple[bytes, bytes]]:
    return [(b"x-gateway-provider", target.instance.name.encode()), (b"x-gateway-model", target.model.encode())]


async def _wait_for_disconnect(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _send(send: Any, status: int, headers: list, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _send_error(send: Any, error: GatewayError, headers: list) -> None:
    await _send(send, error.status, _JSON_HEADERS + error.headers() + headers, error.to_json())


def error_response(error: GatewayError) -> Response:
    """An error object as a Starlette response."""
    headers = {name.decode(): value.decode() for name, value in error.headers()}
    return Response(error.to_json(), status_code=error.status, media_type="application/json", headers=headers)


class GatewayApp:
    """The ASGI application: ``POST /v1/responses`` and the dialects' POST paths (``/v1/chat/completions``,
    ``/v1/messages``), the hot paths, go straight to their endpoints; everything
    else (lifespan, WebSocket, stored responses, probes, 404/405) goes through Starlette's router and
    middleware, which would otherwise wrap every write of every stream."""

    def __init__(self, router: Starlette, responses: ResponsesEndpoint, dialects: dict[str, Any]) -> None:
        self.router = router
        self.responses = responses
        self.posts: dict[str, Any] = {"/v1/responses": responses, **dialects}
        self.state = router.state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = self.posts.get(scope["path"])
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await self.router(scope, receive, send)


def create_app(config: GatewayConfig | None = None, *, plugins: Plugins | None = None) -> GatewayApp:
    """Build the ASGI application. Plugins are discovered and checked here; SDK clients and the response
    store are opened when the server starts (lifespan) and closed when it stops."""
    from .catalog import ModelCatalog, model_routes, refreshing  # these build on this module's endpoint and helpers
    from .dialects.count_tokens import count_tokens_route
    from .dialects.registry import dialect_endpoints

    config = config or GatewayConfig()
    gateway = Gateway.from_config(config, plugins)
    store = create_store(config.store)
    conversations = Conversations(store, config.store, config.store_default)
    responder = Responder(gateway, conversations, Sealer(config.compaction.key))
    catalog = ModelCatalog(gateway)
    ready = False

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal ready
        await store.open()
        gateway.start()
        freeze_startup_heap()
        ready = True
        try:
            async with refreshing(catalog):
                yield
        finally:
            ready = False
            await gateway.close()
            await conversations.drain()
            await store.close()

    async def healthz(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    async def readyz(request: Request) -> Response:
        if not ready:
            return Response(b'{"status":"starting"}', status_code=503, media_type="application/json")
        body = encoder.encode({"status": "ready", "providers": sorted(gateway.instances)})
        return Response(body, media_type="application/json")

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status == 404:
            return error_response(NotFoundError(f"no route for {request.url.path}", code="not_found"))
        if status == 405:
            return error_response(InvalidRequestError(f"method {request.method} is not allowed here",
                                                      code="method_not_allowed", status=405))
        return error_response(GatewayError("internal gateway error", code="internal_error", status=status))


    responses = ResponsesEndpoint(responder, config.server.max_body_bytes)
    dialects = dialect_endpoints(responses)
    app = Starlette(
        routes=[
            HttpRoute("/v1/responses", responses, methods=["POST"]),
            *(HttpRoute(path, endpoint, methods=["POST"]) for path, endpoint in dialects.items()),
            WebSocketRoute("/v1/responses", ResponsesWebSocket(responder, config.server.websocket_max_seconds)),
            compact_route(responder, error_response),
            count_tokens_route(responder),
            *stored_response_routes(conversations, error_response),
            *model_routes(catalog),
            HttpRoute("/healthz", healthz, methods=["GET"]),
            HttpRoute("/readyz", readyz, methods=["GET"]),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, Exception: http_error},
    )
    app.state.gateway = gateway
    app.state.conversations = conversations
    return GatewayApp(app, responses, dialects)
