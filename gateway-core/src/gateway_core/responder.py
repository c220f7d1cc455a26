"""Running one response, whatever the transport (HTTP JSON, SSE, WebSocket).

:class:`Responder` expands conversation state, routes, dispatches with retries and fallback, feeds the
provider's deltas through the stream builder and stores the result. Transports only read bodies and
write bytes.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from functools import partial

from .compaction import Sealer, open_compactions
from .conversation import Conversations, StoredResponse, has_references
from .deltas import Delta
from .dispatch import Attempt, Dispatcher, timeout_after
from .errors import GatewayError, InvalidRequestError, upstream_timeout
from .gateway import Gateway
from .health import monotonic
from .resource import allowed_tool_names, new_resource
from .routing import Route, Target
from .stream import ResponseBuilder
from .types import (
    Compaction,
    InputFile,
    InputImage,
    Message,
    ResponseRequest,
    ResponseResource,
    TextFormatJsonObject,
    TextFormatJsonSchema,
)

logger = logging.getLogger("gateway")


@dataclass
class StreamRun:
    """An open upstream stream and the builder its deltas go through."""

    request: ResponseRequest
    route: Route
    attempt: Attempt
    builder: ResponseBuilder
    store: bool


class Responder:
    """The request path shared by every transport."""

    def __init__(self, gateway: Gateway, conversations: Conversations, sealer: Sealer) -> None:
        self.router = gateway.router
        self.dispatcher = Dispatcher(gateway.config.routing)
        self.conversations = conversations
        self.sealer = sealer

    async def prepare(
        self, request: ResponseRequest, local: MutableMapping[str, StoredResponse] | None = None
    ) -> Route:
        """Check what the gateway cannot do, expand stored state, and route. Raises ``GatewayError``."""
        check_supported(request)
        if has_references(request):
            await self.conversations.expand(request, local)
        if any(type(item) is Compaction for item in request.items):
            open_compactions(request, self.sealer)
        return self.router.route(request.model, request.provider)  # type: ignore[arg-type]

    async def respond(self, request: ResponseRequest, route: Route) -> tuple[StoredResponse, Attempt]:
        """A whole (non-streaming) response. Raises ``GatewayError`` when no target answers."""
        attempt = await self.dispatcher.invoke(route, request, partial(check_capabilities, request))
        store = self.conversations.wants_store(request)
        builder = ResponseBuilder(self._resource(request, route, attempt, store), framing=None,
                                  allowed_tools=allowed_tool_names(request))
        try:
            builder.feed(attempt.result)
            resource = builder.finish()
        except GatewayError as error:
            resource = builder.fail(error)
        return self._finish(request, resource, attempt, store), attempt

    async def open(self, request: ResponseRequest, route: Route, framing: str | None) -> StreamRun:
        """Open the upstream stream (retrying and falling back before any event exists) and emit the first
        events (``framing`` as for :class:`ResponseBuilder`; ``None`` for a dialect that renders its own).
        Raises ``GatewayError`` when no target could open one."""
        attempt = await self.dispatcher.open_stream(route, request, partial(check_capabilities, request))
        store = self.conversations.wants_store(request)
        builder = ResponseBuilder(self._resource(request, route, attempt, store), framing=framing,
                                  allowed_tools=allowed_tool_names(request))
        builder.start()
        return StreamRun(request, route, attempt, builder, store)

    async def drive(self, run: StreamRun, write: Callable[[ResponseBuilder], Awaitable[None]]) -> StoredResponse:
        """Forward the stream: ``write(builder)`` after every upstream chunk that produced events, and once
        more at the end (after the response was stored). Always releases the target."""
        attempt, builder = run.attempt, run.builder
        target = attempt.target
        iterator: AsyncIterator[Sequence[Delta]] = attempt.result
        try:
            try:
                async with timeout_after(max(0.001, target.timeout - (monotonic() - attempt.started))):
                    async for batch in iterator:
                        builder.feed(batch)
                        await write(builder)
                resource = builder.finish()
            except GatewayError as error:
                resource = builder.fail(error)
            except TimeoutError:
                resource = builder.fail(upstream_timeout(
                    f"provider '{target.instance.name}' did not finish the stream in time"))
            except Exception as exc:
                mapped = target.instance.map_error(exc)
                log_failure(mapped, exc)
                resource = builder.fail(mapped)
            record = self._finish(run.request, resource, attempt, run.store)
            await write(builder)
            return record
        finally:
            self.dispatcher.finished(attempt)

    def _finish(
        self, request: ResponseRequest, resource: ResponseResource, attempt: Attempt, store: bool
    ) -> StoredResponse:
        record = self.conversations.record(resource, request, attempt.target.instance.name)
        if store and not self.conversations.keep(record):
            resource.store = False
        return record

    @staticmethod
    def _resource(request: ResponseRequest, route: Route, attempt: Attempt, store: bool) -> ResponseResource:
        resource = new_resource(request, store=store)
        if len(route.targets) > 1:  # a model group: say which target answered
            resource.metadata = {**resource.metadata, "gateway_provider": attempt.target.instance.name,
                                 "gateway_model": attempt.target.model}
        return resource


def check_supported(request: ResponseRequest) -> None:
    """Refuse what the gateway does not implement, with a clean 400."""
    if request.background:
        raise InvalidRequestError("background responses are not supported", code="unsupported_parameter",
                                  param="background")


def check_capabilities(request: ResponseRequest, target: Target) -> None:
    """Refuse (400, naming the parameter) what the target's provider says it cannot do."""
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
    if not caps.compaction:
        for index, item in enumerate(request.items):
            if type(item) is Compaction:
                raise InvalidRequestError(
                    f"this compaction item was made by another provider, and provider '{name}' cannot read it",
                    code="invalid_compaction", param=f"input[{index}].encrypted_content")
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


def log_failure(error: GatewayError, exc: BaseException | None = None) -> None:
    """One log line for a failed request (the request id is added by the log filter)."""
    logger.warning("request failed: %s (%s, status %s%s)", error.message, error.code, error.status,
                   f", mapped from {type(exc).__name__}" if exc is not None else "")
