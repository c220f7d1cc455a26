"""The Starlette application: ``POST /v1/responses`` (JSON and SSE), ``GET /v1/models``, health probes.

``/v1/responses`` is a plain ASGI endpoint: it reads the body with a size limit, decodes it in one msgspec
pass, routes, translates, and either invokes (JSON) or streams (SSE, one write per upstream chunk). Errors
before the first byte are JSON error objects with their HTTP status; after it, an ``error`` event and
``response.failed``. A client that disconnects mid-stream cancels the upstream call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Sequence
from functools import partial
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as HttpRoute

from .config import GatewayConfig
from .decode import decode_request
from .deltas import Delta
from .dispatch import Attempt, Dispatcher, timeout_after
from .errors import (
    GatewayError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    upstream_timeout,
)
from .gateway import Gateway
from .health import monotonic
from .logs import request_id as current_request_id
from .plugins import Plugins
from .resource import allowed_tool_names, new_resource
from .routing import Route, Target
from .stream import ResponseBuilder
from .types import (
    Compaction,
    InputFile,
    InputImage,
    ItemReference,
    Message,
    ModelCard,
    ModelList,
    ResponseRequest,
    TextFormatJsonObject,
    TextFormatJsonSchema,
    encoder,
)

logger = logging.getLogger("gateway")

_JSON = b"application/json"
_JSON_HEADERS = [(b"content-type", _JSON)]
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_ACCEPTED_TYPES = (b"application/json", b"application/x-www-form-urlencoded")


class ResponsesEndpoint:
    """``POST /v1/responses`` as a lean ASGI callable."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.router = gateway.router
        self.dispatcher = Dispatcher(gateway.config.routing)
        self.max_body = gateway.config.server.max_body_bytes

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
            self._check_supported(request)
            route = self.router.route(request.model, request.provider)  # type: ignore[arg-type]
            self.dispatcher.admit()
        except GatewayError as error:
            await _send_error(send, error, headers)
            return
        started = [False]
        try:
            if request.stream:
                await self._stream(request, route, headers, receive, send, started)
            else:
                await self._invoke(request, route, headers, send)
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

    @staticmethod
    def _check_supported(request: ResponseRequest) -> None:
        if request.background:
            raise InvalidRequestError("background responses are not supported", code="unsupported_parameter",
                                      param="background")
        if request.previous_response_id is not None:
            raise NotFoundError(
                f"previous response '{request.previous_response_id}' was not found: this gateway keeps no "
                "response store yet; send the full conversation in 'input'",
                code="previous_response_not_found",
                param="previous_response_id",
            )
        for index, item in enumerate(request.items):
            if type(item) is ItemReference:
                raise InvalidRequestError(
                    f"item '{item.id}' was not found: this gateway keeps no response store yet; send the item "
                    "itself instead of an item_reference",
                    code="item_reference_not_found",
                    param=f"input[{index}].id",
                )
            if type(item) is Compaction:
                raise InvalidRequestError("compaction items are not supported by this gateway",
                                          code="unsupported_item", param=f"input[{index}]")

    @staticmethod
    def _check_capabilities(request: ResponseRequest, target: Target) -> None:
        instance = target.instance
        caps = instance.capabilities
        name = instance.name
        if request.stream and not caps.streaming:
            raise InvalidRequestError(f"provider '{name}' cannot stream", code="unsupported_parameter", param="stream")
        if request.tools and not caps.tools:
            raise InvalidRequestError(f"provider '{name}' does not support tools", code="unsupported_parameter",
                                      param="tools")
        text = request.text
        structured = text is not None and type(text.format) in (TextFormatJsonSchema, TextFormatJsonObject)
        if structured and not caps.structured_output:
            raise InvalidRequestError(f"provider '{name}' does not support structured output",
                                      code="unsupported_parameter", param="text.format")
        if caps.images and caps.files:
            return
        for index, item in enumerate(request.items):
            if type(item) is not Message:
                continue
            for part_index, part in enumerate(item.content):  # type: ignore[arg-type]
                kind = type(part)
                if (kind is InputImage and not caps.images) or (kind is InputFile and not caps.files):
                    raise InvalidRequestError(
                        f"provider '{name}' does not accept {'images' if kind is InputImage else 'files'}",
                        code="unsupported_parameter",
                        param=f"input[{index}].content[{part_index}]",
                    )

    async def _invoke(self, request: ResponseRequest, route: Route, headers: list, send: Any) -> None:
        try:
            attempt = await self.dispatcher.invoke(route, request, partial(self._check_capabilities, request))
        except GatewayError as error:
            _log_upstream_error(error)
            await _send_error(send, error, headers)
            return
        builder = ResponseBuilder(_resource(request, route, attempt), streaming=False,
                                  allowed_tools=allowed_tool_names(request))
        try:
            builder.feed(attempt.result)
            resource = builder.finish()
        except GatewayError as error:
            resource = builder.fail(error)
        await _send(send, 200, _JSON_HEADERS + headers + _target_headers(attempt), encoder.encode(resource))

    async def _stream(
        self, request: ResponseRequest, route: Route, headers: list, receive: Any, send: Any, started: list[bool]
    ) -> None:
        try:
            attempt = await self.dispatcher.open_stream(route, request, partial(self._check_capabilities, request))
        except GatewayError as error:
            _log_upstream_error(error)
            await _send_error(send, error, headers)
            return
        try:
            builder = ResponseBuilder(_resource(request, route, attempt), streaming=True,
                                      allowed_tools=allowed_tool_names(request))
            builder.start()
            started[0] = True
            await send({"type": "http.response.start", "status": 200,
                        "headers": _SSE_HEADERS + headers + _target_headers(attempt)})
            await send({"type": "http.response.body", "body": builder.take_frames(), "more_body": True})
            iterator = attempt.result
            pump = asyncio.ensure_future(_pump(builder, iterator, attempt, send))
            watch = asyncio.ensure_future(_wait_for_disconnect(receive))
            await asyncio.wait((pump, watch), return_when=asyncio.FIRST_COMPLETED)
            if pump.done():
                watch.cancel()
                pump.result()
                return
            pump.cancel()  # the client left: stop the upstream generation
            with contextlib.suppress(BaseException):
                await pump
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
            logger.info("client disconnected mid-stream; upstream call to %r cancelled", attempt.target.key)
        finally:
            self.dispatcher.finished(attempt)


def _resource(request: ResponseRequest, route: Route, attempt: Attempt) -> Any:
    resource = new_resource(request)
    if len(route.targets) > 1:  # a model group: say which target answered
        resource.metadata = {**resource.metadata, "gateway_provider": attempt.target.instance.name,
                             "gateway_model": attempt.target.model}
    return resource


def _target_headers(attempt: Attempt) -> list[tuple[bytes, bytes]]:
    target = attempt.target
    return [(b"x-gateway-provider", target.instance.name.encode()), (b"x-gateway-model", target.model.encode())]


async def _pump(
    builder: ResponseBuilder, iterator: AsyncIterator[Sequence[Delta]], attempt: Attempt, send: Any
) -> None:
    target = attempt.target
    try:
        async with timeout_after(max(0.001, target.timeout - (monotonic() - attempt.started))):
            async for batch in iterator:
                builder.feed(batch)
                data = builder.take_frames()
                if data:
                    await send({"type": "http.response.body", "body": data, "more_body": True})
        builder.finish()
    except GatewayError as error:
        builder.fail(error)
    except TimeoutError:
        builder.fail(upstream_timeout(f"provider '{target.instance.name}' did not finish the stream in time"))
    except Exception as exc:
        mapped = target.instance.map_error(exc)
        _log_upstream_error(mapped, exc)
        builder.fail(mapped)
    await send({"type": "http.response.body", "body": builder.take_frames(), "more_body": False})


async def _wait_for_disconnect(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _log_upstream_error(error: GatewayError, exc: BaseException | None = None) -> None:
    logger.warning("request failed: %s (%s, status %s%s)", error.message, error.code, error.status,
                   f", mapped from {type(exc).__name__}" if exc is not None else "")


async def _send(send: Any, status: int, headers: list, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _send_error(send: Any, error: GatewayError, headers: list) -> None:
    await _send(send, error.status, _JSON_HEADERS + error.headers() + headers, error.to_json())


def _error_response(error: GatewayError) -> Response:
    headers = {name.decode(): value.decode() for name, value in error.headers()}
    return Response(error.to_json(), status_code=error.status, media_type="application/json", headers=headers)


def create_app(config: GatewayConfig | None = None, *, plugins: Plugins | None = None) -> Starlette:
    """Build the ASGI application. Plugins are discovered and checked here; SDK clients are created when
    the server starts (lifespan) and closed when it stops."""
    gateway = Gateway.from_config(config or GatewayConfig(), plugins)
    ready = False

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal ready
        gateway.start()
        ready = True
        try:
            yield
        finally:
            ready = False
            await gateway.close()

    async def models(request: Request) -> Response:
        cards = [ModelCard(id=alias, owned_by="alias") for alias in gateway.config.aliases]
        for instance in gateway.instances.values():
            cards.extend(ModelCard(id=f"{instance.name}/{model}", owned_by=instance.name)
                         for model in instance.settings.models)
        return Response(encoder.encode(ModelList(data=cards)), media_type="application/json")

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
            return _error_response(NotFoundError(f"no route for {request.url.path}", code="not_found"))
        if status == 405:
            return _error_response(InvalidRequestError(f"method {request.method} is not allowed here",
                                                       code="method_not_allowed", status=405))
        return _error_response(GatewayError("internal gateway error", code="internal_error", status=status))

    app = Starlette(
        routes=[
            HttpRoute("/v1/responses", ResponsesEndpoint(gateway), methods=["POST"]),
            HttpRoute("/v1/models", models, methods=["GET"]),
            HttpRoute("/healthz", healthz, methods=["GET"]),
            HttpRoute("/readyz", readyz, methods=["GET"]),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, Exception: http_error},
    )
    app.state.gateway = gateway
    return app
