"""Running one response, whatever the transport (HTTP JSON, SSE, WebSocket, compact).

:class:`Responder` owns a response's life: admission (:meth:`Responder.admit`, the one place every request
on every transport passes, where gateway keys and rate limits plug in), expanding conversation state,
routing, dispatching with retries and fallback, the upstream stream's lifetime (:meth:`Responder.stream`
closes it however the response ends), feeding the provider's deltas through the stream builder, and the
store decision, made before the terminal event is sent. Transports only read bodies and write bytes.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import Any

from .admission import Admission, Observers
from .compaction import Sealer, open_compactions
from .conversation import Conversations, StoredResponse, calls_without_reasoning, has_references
from .deadlines import deadline
from .decode import too_many_items
from .deltas import Delta
from .dispatch import Attempt, Dispatcher
from .errors import GatewayError, InvalidRequestError, ResponseTooLargeError, upstream_timeout
from .exchange import current_exchange
from .gateway import Gateway
from .health import monotonic
from .new_resource import allowed_tool_names, new_resource
from .prices import Pricing
from .routing import Route, Target
from .stream import ResponseBuilder
from .types import (
    NAME_PATTERN,
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


class ClientGone(Exception):
    """Raised by a transport's ``write`` when the client has left: the response ends there, and it is not
    an upstream failure."""


@dataclass
class StreamRun:
    """An open upstream stream, the builder its deltas go through, and (once final) its record."""

    request: ResponseRequest
    route: Route
    attempt: Attempt
    builder: ResponseBuilder
    store: bool
    record: StoredResponse | None = None


class Responder:
    """The request path shared by every transport."""

    def __init__(self, gateway: Gateway, conversations: Conversations, sealer: Sealer,
                 observers: Observers | None = None) -> None:
        self.router = gateway.router
        self.observers = observers or Observers(Pricing())
        self.dispatcher = Dispatcher(gateway.config.routing, gateway.router.configured_targets(), self.observers)
        self.conversations = conversations
        self.sealer = sealer
        limits = gateway.config.server
        self.max_input_items = limits.max_input_items
        self.max_tools = limits.max_tools
        self.keepalive_seconds = gateway.config.routing.keepalive_seconds

    def admit(self, scope: MutableMapping[str, Any], route: str = "responses") -> Admission:
        """Admit one request of ``route`` (an async context manager yielding its
        :class:`~gateway_core.exchange.Exchange`; see :mod:`gateway_core.admission`)."""
        return Admission(self.dispatcher, self.observers, scope, route)

    async def prepare(
        self, request: ResponseRequest, local: MutableMapping[str, StoredResponse] | None = None
    ) -> Route:
        """Check limits and what the gateway cannot do, expand stored state, and route. Raises
        ``GatewayError``."""
        check_supported(request)
        self.check_limits(request)
        if has_references(request):
            await self.conversations.expand(request, local)
        calls = calls_without_reasoning(request)
        if calls:
            await self.conversations.restore_reasoning(request, calls)
        route = self.router.route(request.model, request.provider)  # type: ignore[arg-type]
        if Compaction in map(type, request.items):  # scanned in C
            open_compactions(request, self.sealer, {target.instance.name for target in route.targets})
        exchange = current_exchange.get()
        if exchange is not None:
            exchange.stream = bool(request.stream)
            if exchange.session_id is None and request.client_metadata is not None:
                session = request.client_metadata.get("session_id")
                if isinstance(session, str):
                    exchange.session_id = session[:128]
            self.observers.routed(exchange, request, route)
            if exchange.key is not None:
                await self.observers.admit_route(exchange, request, route)
        return route

    async def respond(self, request: ResponseRequest, route: Route) -> tuple[StoredResponse, Attempt]:
        """A whole (non-streaming) response. Raises ``GatewayError`` when no target answers."""
        attempt = await self.dispatcher.invoke(route, request, partial(check_capabilities, request))
        store = self.conversations.wants_store(request)
        builder = _builder(request, route, attempt, store, None)
        try:
            builder.feed(attempt.result)
            resource = builder.finish()
        except ResponseTooLargeError as error:
            self.observers.attempt_left(attempt.span, error.code or error.type)
            raise  # a 502 error object: nothing of the answer is kept
        except GatewayError as error:
            resource = builder.fail(error)
        return self._finish(request, resource, attempt, store), attempt

    def check_limits(self, request: ResponseRequest) -> None:
        """Refuse (400, naming the parameter) more input items or tools than the configured caps."""
        if len(request.items) > self.max_input_items:
            raise too_many_items(self.max_input_items)
        if request.tools is not None and len(request.tools) > self.max_tools:
            raise InvalidRequestError(f"'tools' has more than {self.max_tools} tools", code="too_many_tools",
                                      param="tools")

    def stream(self, request: ResponseRequest, route: Route, framing: str | None) -> OpenStream:
        """``async with responder.stream(request, route, framing) as run``: open the upstream stream (retrying
        and falling back before any event exists) and emit the first events (``framing`` as for
        :class:`ResponseBuilder`; ``None`` for a dialect that renders its own); on leaving the block, however
        it is left, the upstream stream is closed and its target released. Raises ``GatewayError`` when no
        target could open one."""
        return OpenStream(self, request, route, framing)

    def failure(self, request: ResponseRequest, error: GatewayError, framing: str | None) -> ResponseBuilder:
        """The whole stream of a response whose upstream stream could not be opened after its head was sent
        (a keepalive comment committed it to 200): ``response.created``, ``response.in_progress``, then
        ``error`` and ``response.failed`` (``framing`` as for :class:`ResponseBuilder`). Nothing is stored."""
        builder = ResponseBuilder(new_resource(request, store=False), framing=framing)
        builder.start()
        builder.fail(error)
        exchange = current_exchange.get()
        if exchange is not None:
            exchange.code = error.code or error.type
        return builder

    async def drive(self, run: StreamRun, write: Callable[[ResponseBuilder], Awaitable[None]]) -> StoredResponse:
        """Forward the stream: ``write(builder)`` after every upstream chunk that produced events, and once
        more at the end (the store decision is made before the terminal event). :class:`ClientGone` from
        ``write`` ends it without a failure."""
        attempt, builder = run.attempt, run.builder
        target = attempt.target
        iterator: AsyncIterator[Sequence[Delta]] = attempt.result
        exchange = current_exchange.get()
        clock = time.perf_counter
        gap = self.observers.gap_meter(target.instance.name)
        try:
            with deadline(max(0.001, target.timeout - (monotonic() - attempt.started))):
                waited = last = clock()
                async for batch in iterator:
                    now = clock()
                    if exchange is not None:
                        exchange.upstream_seconds += now - waited
                        if exchange.first_event is None and batch:
                            exchange.first_event = now
                    if gap is not None:
                        gap(now - last)
                        last = now
                    builder.feed(batch)
                    await write(builder)
                    waited = clock()
            builder.finish()
        except ClientGone:
            raise
        except GatewayError as error:
            builder.fail(error)
        except TimeoutError:
            builder.fail(upstream_timeout(f"provider '{target.instance.name}' did not finish the stream in time"))
        except Exception as exc:
            mapped = target.instance.map_error(exc)
            log_failure(mapped, exc)
            builder.fail(mapped)
        await write(builder)
        return run.record  # type: ignore[return-value]

    def _settle(self, run: StreamRun, resource: ResponseResource) -> None:
        run.record = self._finish(run.request, resource, run.attempt, run.store)

    def _finish(
        self, request: ResponseRequest, resource: ResponseResource, attempt: Attempt, store: bool
    ) -> StoredResponse:
        instance = attempt.target.instance
        exchange = current_exchange.get()
        if exchange is not None:
            self.observers.account(exchange, resource, instance.kind, instance.name, attempt.target.model)
        self.observers.end_attempt(attempt.span, resource, attempt.target.model)
        record, made = self.conversations.record(resource, request, instance.name)
        if store and not self.conversations.keep(record, made):
            resource.store = False
        return record


class OpenStream:
    """The upstream stream of one response, open for the ``async with`` block (see :meth:`Responder.stream`)."""

    __slots__ = ("_attempt", "_framing", "_gauge", "_request", "_responder", "_route")

    def __init__(self, responder: Responder, request: ResponseRequest, route: Route, framing: str | None) -> None:
        self._responder = responder
        self._request = request
        self._route = route
        self._framing = framing
        self._attempt: Attempt | None = None
        self._gauge: Any = None

    async def __aenter__(self) -> StreamRun:
        responder, request = self._responder, self._request
        attempt = self._attempt = await responder.dispatcher.open_stream(self._route, request,
                                                                         partial(check_capabilities, request))
        gauge = self._gauge = responder.observers.streams_gauge()
        if gauge is not None:
            gauge.inc()
        try:
            store = responder.conversations.wants_store(request)
            run = StreamRun(request, self._route, attempt, None, store)  # type: ignore[arg-type]
            run.builder = _builder(request, self._route, attempt, store, self._framing,
                                   partial(responder._settle, run))
            run.builder.start()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return run

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        attempt = self._attempt
        assert attempt is not None
        try:
            aclose = getattr(attempt.result, "aclose", None)  # a provider's delta iterator may have none
            if aclose is not None:
                await aclose()
        finally:
            responder = self._responder
            responder.dispatcher.finished(attempt)
            exchange = current_exchange.get()  # a settled stream has ended its span already
            left = exchange is not None and exchange.disconnected
            responder.observers.attempt_left(attempt.span, "client_disconnected" if left else "stream_abandoned")
            if self._gauge is not None:
                self._gauge.dec()


def _builder(request: ResponseRequest, route: Route, attempt: Attempt, store: bool, framing: str | None,
             settle: Callable[[ResponseResource], None] | None = None) -> ResponseBuilder:
    """The builder of one response: bounded by, and redacting with, the instance that answered; ``settle``
    runs on the final resource before its terminal event is framed."""
    instance = attempt.target.instance
    resource = new_resource(request, store=store)
    if len(route.targets) > 1:  # a model group: say which target answered
        resource.metadata = {**resource.metadata, "gateway_provider": instance.name,
                             "gateway_model": attempt.target.model}
    plan = attempt.plan
    return ResponseBuilder(resource, framing=framing,
                           allowed_tools=allowed_tool_names(request if plan is None else plan.request),
                           origins=None if plan is None else plan.origins,
                           max_chars=instance.settings.max_response_bytes, redact=instance.redact, settle=settle)


_NAME = re.compile(NAME_PATTERN)


def check_supported(request: ResponseRequest) -> None:
    """Refuse what the gateway does not implement, with a clean 400; and model or provider names the
    request's dialect built without the wire types' checks (at most 256 characters, no control characters)."""
    for param, name in (("model", request.model), ("provider", request.provider)):
        if name is not None and (len(name) > 256 or _NAME.match(name) is None):
            raise InvalidRequestError(f"'{param}' must be at most 256 characters with no control characters",
                                      code="invalid_value", param=param)
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
    reasoning = request.reasoning
    if reasoning is not None and (reasoning.effort not in (None, "none") or reasoning.summary is not None) \
            and not caps.reasoning:
        raise InvalidRequestError(f"provider '{name}' does not support reasoning", code="unsupported_parameter",
                                  param="reasoning")
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
