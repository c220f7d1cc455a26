"""The Starlette application: ``POST /v1/responses`` (JSON and SSE), the WebSocket mode on the same path,
stored responses (``GET``/``DELETE /v1/responses/{id}``, ``.../input_items``), the dialects
(``/v1/chat/completions``, ``/v1/messages``, ``/v1/messages/count_tokens``), ``GET /v1/models`` and health
probes.

``POST /v1/responses`` is a plain ASGI endpoint: the responder admits the request, the body reader
(``gateway_core.body``) reads the body with its checks, it is decoded in one msgspec pass and handed to
the :class:`~gateway_core.responder.Responder`. Errors before the first byte
are JSON error objects with their HTTP status; after it, an ``error`` event and ``response.failed``. A
client that disconnects mid-stream cancels the upstream call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.routing import Route as HttpRoute

from .admission import admitted, build_observers, known_models, log_refusal
from .auth.admin import admin_routes, model_patterns
from .body import BodyReader, ClientDisconnected, read_request
from .compaction import Sealer, compact_route
from .config import GatewayConfig
from .conversation import Conversations
from .edge import EdgeGuard, default_allowed_hosts
from .errors import GatewayError, InvalidRequestError, NotFoundError
from .exchange import Exchange, current_exchange
from .gateway import Gateway
from .heap import freeze_startup_heap
from .keepalive import StreamWriter, wait_beating
from .logs import request_id as current_request_id
from .metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from .metrics import multiprocess_metrics
from .plugins import Plugins
from .readiness import Readiness
from .responder import Responder, log_failure
from .routing import Route
from .store import create_store
from .stored_routes import stored_response_routes
from .types import ResponseRequest, encoder
from .websocket import ResponsesWebSocket

logger = logging.getLogger("gateway")

_JSON_HEADERS = [(b"content-type", b"application/json")]
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
class ResponsesEndpoint:
    """``POST /v1/responses`` as a lean ASGI callable."""

    def __init__(self, responder: Responder, reader: BodyReader) -> None:
        self.responder = responder
        self.reader = reader

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
        writer: StreamWriter | None = None  # a JSON answer has none
        admission = self.responder.admit(scope)
        exchange = admission.exchange
        try:
            async with admission:
                try:
                    request = await read_request(self.reader, content_type, receive, self.responder.max_input_items)
                except ClientDisconnected:
                    exchange.disconnected = True
                    return
                route = await self.responder.prepare(request)
                try:
                    if request.stream:
                        writer = StreamWriter(send, self.responder.keepalive_seconds)
                        await self._stream(request, route, headers + exchange.headers, writer, receive)
                    else:
                        record, attempt = await self.responder.respond(request, route)
                        await _send(send, 200, _JSON_HEADERS + headers + exchange.headers
                                    + _answer_headers(attempt) + cost_header(exchange),
                                    encoder.encode(record.response))
                except GatewayError as error:
                    log_failure(error)
                    raise
        except GatewayError as error:
            if writer is None or not writer.started:
                await _send_error(send, error, headers + exchange.headers)
        except Exception:  # a bug of ours: log it, never send a traceback
            logger.exception("request failed inside the gateway")
            if writer is None or not writer.started:
                await _send_error(send, GatewayError("internal gateway error", code="internal_error"), headers)

    async def _stream(self, request: ResponseRequest, route: Route, headers: list, writer: StreamWriter,
                      receive: Any) -> None:
        writer.arm(_SSE_HEADERS + headers)

        async def run_stream() -> None:
            async with self.responder.stream(request, route, "sse") as run:
                await writer.start(_answer_headers(run.attempt), run.builder.take_frames())
                await self.responder.drive(run, writer.write_frames)

        def failure(error: GatewayError) -> bytes:
            return self.responder.failure(request, error, "sse").take_frames()

        await forward_stream(run_stream(), writer, failure, receive)


async def forward_stream(stream: Coroutine[Any, Any, None], writer: StreamWriter,
                         failure: Callable[[GatewayError], bytes], receive: Any) -> None:
    """Run ``stream`` (which opens the upstream stream, then drives it through ``writer``) until it ends, or
    until the client leaves: then the upstream call is stopped (leaving ``Responder.stream``'s block closes
    it) and the exchange says so. While it is quiet, ``writer`` sends keepalive comments; when opening fails
    after one did (the head is sent), the stream ends with ``failure(error)``, the failure in the dialect's
    stream shape. Every streaming dialect forwards its stream through here."""
    pump = asyncio.ensure_future(stream)
    watch = asyncio.ensure_future(_wait_for_disconnect(receive))
    try:
        await wait_beating((pump, watch), writer)
    except BaseException:  # cancelled, or the comment could not be written
        pump.cancel()
        watch.cancel()
        raise
    if pump.done():
        watch.cancel()
        try:
            pump.result()
        except GatewayError as error:
            if not writer.started:
                raise
            log_failure(error)
            await writer.write(failure(error), more=False)
        return
    exchange = current_exchange.get()
    if exchange is not None:  # before the cancellation: closing the stream's attempt reads it
        exchange.disconnected = True
    pump.cancel()  # the client left: stop the upstream generation
    with contextlib.suppress(BaseException):
        await pump
    logger.info("client disconnected mid-stream; upstream call cancelled")


_HEADER_MODEL_LIMIT = 256


def cost_header(exchange: Exchange) -> list[tuple[bytes, bytes]]:
    """``x-gateway-cost-usd`` when the answer's cost is known."""
    return [] if exchange.cost_usd is None else [(b"x-gateway-cost-usd", f"{exchange.cost_usd:.10f}".encode())]


def _answer_headers(attempt: Any) -> list[tuple[bytes, bytes]]:
    """Which instance and upstream model answered (a model name too long to be real is not echoed), and
    the tools left out because that provider cannot run them."""
    target = attempt.target
    headers = [(b"x-gateway-provider", target.instance.name.encode())]
    plan = attempt.plan
    if plan is not None and plan.dropped:
        headers.append((b"x-gateway-dropped-tools", ", ".join(plan.dropped).encode()))
    if len(target.model) <= _HEADER_MODEL_LIMIT:
        headers.append((b"x-gateway-model", target.model.encode()))
    return headers


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
    """The ASGI application. Every HTTP request and WebSocket upgrade first passes the
    :class:`~gateway_core.edge.EdgeGuard` (``Host``, ``Origin``). Then ``POST /v1/responses`` and the
    dialects' POST paths (``/v1/chat/completions``, ``/v1/messages``), the hot paths, go straight to their
    endpoints; everything else (lifespan, WebSocket, stored responses, probes, 404/405) goes through
    Starlette's router and middleware, which would otherwise wrap every write of every stream. With
    ``server.cors`` set, the POST paths go through the router too, for the CORS middleware."""

    def __init__(self, router: Starlette, posts: dict[str, Any], guard: EdgeGuard) -> None:
        self.router = router
        self.posts = posts
        self.guard = guard
        self.state = router.state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            if not self.guard.host_allowed(scope["headers"]):
                await self.guard.refuse_host(send)
                return
            if scope["method"] == "POST":
                endpoint = self.posts.get(scope["path"])
                if endpoint is not None:
                    await endpoint(scope, receive, send)
                    return
        elif kind == "websocket" and not self.guard.upgrade_allowed(scope["headers"]):
            await self.guard.refuse_upgrade(receive, send)
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
    server = config.server
    observers = build_observers(config, gateway)
    responder = Responder(gateway, conversations, Sealer(config.compaction.key, config.compaction.ttl_seconds),
                          observers=observers)
    reader = BodyReader(server.max_body_bytes, server.body_timeout)
    guard = EdgeGuard(default_allowed_hosts(server.host) if server.allowed_hosts is None else server.allowed_hosts,
                      server.allowed_origins)
    catalog = ModelCatalog(gateway)
    ready = False
    readiness = Readiness([("the response store", store.ping)], server.ready_check_seconds,
                          server.ready_grace_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal ready
        await store.open()
        observers.pricing.load((gateway.instances[name].kind, name, model) for name, model in
                               known_models(config, gateway))
        for target in gateway.router.configured_targets():
            target.unit_cost = observers.pricing.unit_cost(target.instance.kind, target.instance.name, target.model,
                                                           target.price)
        if observers.callers is not None:
            await observers.callers.start()
        if observers.access_log is not None:
            observers.access_log.start()
        gateway.start()
        metrics_server = None
        if observers.metrics is not None and server.metrics_port is not None and not multiprocess_metrics():
            from .cli import serve_metrics

            metrics_server = serve_metrics(server.host, server.metrics_port, observers.metrics.registry)
        readiness.start()
        freeze_startup_heap()
        ready = True
        try:
            async with refreshing(catalog):
                yield
        finally:
            ready = False
            await readiness.stop()
            if metrics_server is not None:
                metrics_server[0].shutdown()
            if multiprocess_metrics():
                from prometheus_client import multiprocess

                multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
            await gateway.close()
            await conversations.drain()
            await store.close()
            if observers.callers is not None:
                await observers.callers.close()
            if observers.access_log is not None:
                observers.access_log.stop()
            if observers.tracing is not None:
                observers.tracing.shutdown()

    async def healthz(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    async def readyz(request: Request) -> Response:
        if not ready:
            return Response(b'{"status":"starting"}', status_code=503, media_type="application/json")
        if not readiness.ready():
            return Response(encoder.encode({"status": "unavailable", "reason": readiness.problem}), status_code=503,
                            media_type="application/json")
        return Response(b'{"status":"ready"}', media_type="application/json")

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        refusal: GatewayError | None = None
        if status == 404:
            refusal = NotFoundError(f"no route for {request.url.path}", code="not_found")
        elif status == 405:
            refusal = InvalidRequestError(f"method {request.method} is not allowed here", code="method_not_allowed",
                                          status=405)
        if refusal is not None:
            log_refusal(refusal)
            return error_response(refusal)
        return error_response(GatewayError("internal gateway error", code="internal_error", status=status))

    async def gateway_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GatewayError)
        return error_response(exc)

    async def metrics(request: Request) -> Response:
        assert observers.metrics is not None
        return Response(observers.metrics.exposition(), media_type=METRICS_CONTENT_TYPE)

    async def read_body(request: Request) -> bytes:
        return await reader.read(request.headers.get("content-type", "").encode("latin-1"), request.receive)

    extra: list[BaseRoute] = []
    if observers.metrics is not None and server.metrics_port is None:
        extra.append(HttpRoute("/metrics", admitted(responder.admit, "metrics", metrics, error_response,
                                                    admin="once_keys_exist"), methods=["GET"]))
    if observers.callers is not None:
        extra.extend(admin_routes(observers.callers, model_patterns(config, gateway), read_body, responder.admit,
                                  error_response))

    responses = ResponsesEndpoint(responder, reader)
    posts: dict[str, Any] = {"/v1/responses": responses, **dialect_endpoints(responder, reader)}
    middleware = [Middleware(CORSMiddleware, allow_origins=server.cors, allow_methods=["GET", "POST", "DELETE"],
                             allow_headers=["*"], expose_headers=["x-request-id"])] if server.cors else []
    app = Starlette(
        routes=[
            *(HttpRoute(path, endpoint, methods=["POST"]) for path, endpoint in posts.items()),
            WebSocketRoute("/v1/responses", ResponsesWebSocket(responder, server)),
            compact_route(responder, reader, error_response),
            count_tokens_route(responder, reader),
            *stored_response_routes(conversations, responder.admit, error_response),
            *model_routes(catalog),
            HttpRoute("/healthz", healthz, methods=["GET"]),
            HttpRoute("/readyz", readyz, methods=["GET"]),
            *extra,
        ],
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, GatewayError: gateway_error, Exception: http_error},
    )
    app.state.gateway = gateway
    app.state.conversations = conversations
    return GatewayApp(app, {} if server.cors else posts, guard)
