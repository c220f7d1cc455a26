"""Admission: the one place every request of every transport and dialect passes, and its accounting.

``async with responder.admit(scope, route) as exchange`` counts the request in flight (429 at the process's
limit), checks the caller's gateway key (401), and yields the :class:`~gateway_core.exchange.Exchange` the
path fills in. Once the request is routed, :meth:`Observers.admit_route` checks the key may use the model
(403) and takes its share of the key's limits and budget (429). When the block ends, however it ends, the
exchange is settled and observed: the key's limits get the tokens and cost it really used, a usage record
is queued, the metrics are counted, an access-log line is queued and the trace span ends. Nothing here
reads a database or makes a network call on the request path, but for shared (Redis) limits of keys that
have limits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from .errors import GatewayError
from .exchange import Exchange, current_exchange
from .logs import request_id as current_request_id
from .prices import Pricing, TokenCounts

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.requests import Request
    from starlette.responses import Response

    from .access_log import AccessLog
    from .auth.service import Callers
    from .config import GatewayConfig
    from .dispatch import Dispatcher
    from .gateway import Gateway
    from .metrics import Metrics
    from .routing import Route, Target
    from .tracing import Tracing
    from .types import ResponseRequest, ResponseResource

logger = logging.getLogger("gateway")

_SESSION_HEADERS = frozenset({b"x-claude-code-session-id", b"session-id", b"session_id"})
"""Where agent clients send their session id: Claude Code, and Codex CLI (which also names it in its body's
``client_metadata``, read once the body is decoded)."""
_REFUSALS = {"rate_limit_exceeded": "rate_limit", "insufficient_quota": "budget", "gateway_overloaded": "in_flight",
             "target_overloaded": "in_flight"}


class Observers:
    """What limits and watches every exchange: callers (keys, limits, budgets, usage), prices, metrics, the
    access log and tracing; each may be off (``None``)."""

    def __init__(self, pricing: Pricing, callers: Callers | None = None, metrics: Metrics | None = None,
                 access_log: AccessLog | None = None, tracing: Tracing | None = None) -> None:
        self.pricing = pricing
        self.callers = callers
        self.metrics = metrics
        self.access_log = access_log
        self.tracing = tracing
        self._servers: dict[str, dict[str, Any]] = {}
        """``server.*`` span attributes by instance name (from its ``base_url``)."""

    def started(self, exchange: Exchange, scope: dict[str, Any]) -> None:
        """The exchange was admitted: in-flight gauges, the server span, the caller's key."""
        headers = scope["headers"]
        if not _SESSION_HEADERS.isdisjoint(dict(headers)):  # built and compared in C: no Python loop per header
            for name, value in headers:
                if name in _SESSION_HEADERS:
                    exchange.session_id = value[:128].decode("latin-1")
        if self.metrics is not None:
            self.metrics.in_flight_of(exchange.route).inc()
        if self.tracing is not None:
            exchange.span = self.tracing.server_span(f"{scope.get('method', 'WS')} {scope['path']}", scope["headers"])
        if self.callers is not None:
            exchange.key = self.callers.authenticate(scope["headers"])

    def routed(self, exchange: Exchange, request: ResponseRequest, route: Route) -> None:
        """The request is routed: the exchange names the model asked for and the first target."""
        target = route.targets[0]
        exchange.requested_model = request.model or ""
        exchange.kind, exchange.instance, exchange.model = target.instance.kind, target.instance.name, target.model

    async def admit_route(self, exchange: Exchange, request: ResponseRequest, route: Route) -> None:
        """The routed request of a caller with a key (``exchange.key``): may the key use this model (403),
        and is it within its limits (429)?"""
        key = exchange.key
        if key is None or self.callers is None:
            return
        target = route.targets[0]
        self.callers.check_model(key, request.model or "", f"{target.instance.name}/{target.model}")
        ticket = await self.callers.admit(key, target.instance.kind, target.instance.name, target.model,
                                          exchange.body_bytes // 4, request.max_output_tokens)
        if ticket is not None:
            exchange.ticket = ticket
            exchange.headers.extend(ticket.headers)

    def attempt_span(self, exchange: Exchange | None, target: Target, request: ResponseRequest,
                     streaming: bool) -> Any:
        """The client span of one upstream attempt (None with tracing off)."""
        if self.tracing is None:
            return None
        instance = target.instance
        server = self._servers.get(instance.name)
        if server is None:  # once per configured instance: its base_url does not change
            server = self._servers[instance.name] = _server(instance.settings.base_url)
        attributes: dict[str, Any] = {"gen_ai.request.stream": streaming, "gateway.instance": instance.name,
                                      **server}
        if request.max_output_tokens is not None:
            attributes["gen_ai.request.max_tokens"] = request.max_output_tokens
        if request.temperature is not None:
            attributes["gen_ai.request.temperature"] = request.temperature
        if self.tracing.capture_content:
            attributes["gen_ai.input.messages"] = _content(request.items)
        return self.tracing.client_span(exchange.span if exchange is not None else None, "chat",
                                        target.instance.kind, target.model, attributes)

    def during(self, span: Any) -> Any:
        """An async context manager making the attempt's span current while the SDK call runs (so
        ``traceparent`` reaches the upstream), or nothing with tracing off."""
        return self.tracing.use(span) if span is not None and self.tracing is not None else _NOTHING

    def attempt_failed(self, span: Any, target: Target, error: GatewayError) -> None:
        """An attempt failed: end its span with the error."""
        if span is not None and self.tracing is not None:
            self.tracing.failed(span, error.code or error.type)
            span.end()

    def attempt_left(self, span: Any, error_type: str) -> None:
        """An answered attempt ended without a finished response (the client left mid-stream, the answer was
        too large): end its span, if still open, as failed with ``error_type``."""
        if span is not None and self.tracing is not None and span.is_recording():
            self.tracing.failed(span, error_type)
            span.end()

    def streams_gauge(self) -> Any:
        """The gauge of streams open to clients (None with metrics off)."""
        if self.metrics is None:
            return None
        exchange = current_exchange.get()
        route = exchange.route if exchange is not None else "responses"
        return self.metrics.child(self.metrics.streams_in_flight, route)

    def gap_meter(self, instance: str) -> Any:
        """The ``observe`` of the time-between-chunks histogram of ``instance`` (None with metrics off)."""
        if self.metrics is None:
            return None
        return self.metrics.child(self.metrics.event_gap_seconds, instance).observe

    def cooled_down(self, target: Target) -> None:
        """A target was taken out of rotation."""
        if self.metrics is not None:
            self.metrics.cooldowns.labels(target.instance.name).inc()

    def account(self, exchange: Exchange, resource: ResponseResource, kind: str, instance: str, model: str) -> None:
        """A finished response: its usage and cost (also written into ``resource.usage.cost_usd``)."""
        exchange.kind, exchange.instance, exchange.model = kind, instance, model
        if resource.error is not None:
            exchange.code = resource.error.code
        usage = resource.usage
        if usage is None:
            return
        cache_write = usage.input_tokens_details.cache_write_tokens
        counts = TokenCounts(input=usage.input_tokens, output=usage.output_tokens,
                             cached_input=usage.input_tokens_details.cached_tokens,
                             cache_write_input=cache_write if isinstance(cache_write, int) else 0,
                             reasoning=usage.output_tokens_details.reasoning_tokens)
        exchange.usage = counts
        cost = self.pricing.cost(kind, instance, model, counts)
        if cost is not None:
            exchange.cost_usd = cost
            usage.cost_usd = round(cost, 10)

    def end_attempt(self, span: Any, resource: ResponseResource, model: str) -> None:
        """The answered attempt's span gets the response's attributes and ends; ``model`` is the upstream
        model that answered (``resource.model`` is the name the client asked for, maybe an alias)."""
        if span is None:
            return
        attributes: dict[str, Any] = {"gen_ai.response.id": resource.id, "gen_ai.response.model": model,
                                      "gen_ai.response.finish_reasons": [_finish_reason(resource)]}
        usage = resource.usage
        if usage is not None:
            attributes["gen_ai.usage.input_tokens"] = usage.input_tokens
            attributes["gen_ai.usage.output_tokens"] = usage.output_tokens
            attributes["gen_ai.usage.cache_read.input_tokens"] = usage.input_tokens_details.cached_tokens
            attributes["gen_ai.usage.reasoning.output_tokens"] = usage.output_tokens_details.reasoning_tokens
        if self.tracing is not None and self.tracing.capture_content:
            attributes["gen_ai.output.messages"] = _content(resource.output)
        span.set_attributes(attributes)
        if resource.error is not None and self.tracing is not None:
            self.tracing.failed(span, resource.error.code)
        span.end()

    async def settle(self, exchange: Exchange) -> None:
        """Charge a finished exchange to its key's limits and budget (only for one that holds a ticket)."""
        if self.callers is not None:
            await self.callers.settle(exchange.ticket, exchange.tokens(), exchange.cost_usd or 0.0)

    def finished(self, exchange: Exchange) -> None:
        """Observe a finished exchange (after its answer was sent, and its ticket settled)."""
        callers, metrics = self.callers, self.metrics
        if callers is not None and callers.logs_usage:
            callers.log(usage_record(exchange))
        if metrics is not None:
            metrics.in_flight_of(exchange.route).dec()
            metrics.observe(exchange)
            reason = _REFUSALS.get(exchange.code or "")
            if reason is not None and exchange.status == 429:
                metrics.refusals.labels(reason).inc()
        span = exchange.span
        trace_id = None
        if span is not None and self.tracing is not None:
            trace_id = self.tracing.trace_id(span)
            span.set_attribute("http.response.status_code", exchange.status)
            if exchange.code:
                span.set_attribute("error.type", exchange.code)
            if exchange.status >= 500:  # a server span's 4xx is the client's error, not the server's
                self.tracing.failed(span, exchange.code or str(exchange.status))
            span.end()
        if self.access_log is not None:
            self.access_log.write(exchange, trace_id)


_NOTHING = contextlib.nullcontext()


def _request_id(scope: dict[str, Any]) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            return value[:128].decode("latin-1")
    return os.urandom(12).hex()


def _server(base_url: str | None) -> dict[str, Any]:
    """``server.address`` and ``server.port`` of a configured ``base_url`` (only its host and port: never
    credentials in it); nothing for a provider's default endpoint, which only its SDK knows."""
    if not base_url:
        return {}
    parts = urlsplit(base_url)
    if parts.hostname is None:
        return {}
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # a port out of range: the host alone
        return {"server.address": parts.hostname}
    return {"server.address": parts.hostname, "server.port": port}


def _finish_reason(resource: ResponseResource) -> str:
    if resource.status == "completed":
        return "stop"
    if resource.incomplete_details is not None:
        return str(resource.incomplete_details.reason)
    return str(resource.status)


def _content(items: Any) -> str:
    """Items as JSON text (only with ``tracing.capture_content``)."""
    import msgspec

    return msgspec.json.encode(items).decode()


_NO_USAGE = TokenCounts()


def usage_record(exchange: Exchange) -> Any:
    """The usage-log record of an exchange."""
    from .auth.usage import UsageRecord

    usage = exchange.usage or _NO_USAGE
    return UsageRecord(
        time=time.time(), request_id=exchange.request_id, key_id=exchange.key_id or "", route=exchange.route,
        model=exchange.requested_model, instance=exchange.instance, upstream_model=exchange.model,
        status=exchange.status, error_code=exchange.code or "", input_tokens=usage.input,
        cached_input_tokens=usage.cached_input, cache_write_input_tokens=usage.cache_write_input,
        output_tokens=usage.output, reasoning_tokens=usage.reasoning,
        cost_usd=exchange.cost_usd or 0.0, duration_ms=round(exchange.duration() * 1000, 3),
        ttfb_ms=round((exchange.first_event - exchange.started) * 1000, 3) if exchange.first_event else None)


class Admission:
    """One request admitted (``async with responder.admit(scope, route) as exchange``); see the module
    docstring. Raises ``GatewayError`` from ``__aenter__`` (429 at the process's limit, 401 for a missing or
    unusable key), after observing the refusal."""

    __slots__ = ("_token", "dispatcher", "exchange", "observers", "scope")

    def __init__(self, dispatcher: Dispatcher, observers: Observers, scope: dict[str, Any], route: str) -> None:
        self.dispatcher = dispatcher
        self.observers = observers
        self.scope = scope
        request_id = current_request_id.get()
        if request_id == "-":  # a route that did not set it (the hot path does): the client's, or a new one
            request_id = _request_id(scope)
            current_request_id.set(request_id)
        self.exchange = Exchange(route, request_id)
        self._token: Any = None

    async def __aenter__(self) -> Exchange:
        exchange = self.exchange
        try:
            self.dispatcher.admit()
        except GatewayError:
            if self.observers.metrics is not None:
                self.observers.metrics.refusals.labels("in_flight").inc()
            raise
        self._token = current_exchange.set(exchange)
        try:
            self.observers.started(exchange, self.scope)
        except GatewayError as error:
            await self.__aexit__(type(error), error, None)
            raise
        return exchange

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        exchange = self.exchange
        exchange.ended = time.perf_counter()
        if isinstance(error, GatewayError):
            if exchange.status == 200:
                exchange.status, exchange.code = error.status, error.code or error.type
            if error.status < 500:
                log_refusal(error)
        elif error is not None and type(error).__name__ != "ClientGone":
            exchange.status, exchange.code = 500, exchange.code or "internal_error"
        try:
            if exchange.ticket is not None:
                await self.observers.settle(exchange)
            self.observers.finished(exchange)
        except Exception:  # observing must never turn an answer into a failure
            logger.exception("observing request %s failed", exchange.request_id)
        finally:
            self.dispatcher.release()
            current_exchange.reset(self._token)


def log_refusal(error: GatewayError) -> None:
    """The info line of a request the gateway answered with a 4xx: status, code, parameter and the reason (the
    request id is added by the log filter)."""
    message = error.message if len(error.message) <= _LOGGED_REASON else error.message[:_LOGGED_REASON] + "..."
    logger.info("refused with %s %s%s: %s", error.status, error.code or error.type,
                f" (param {error.param[:100]})" if error.param else "", message)


_LOGGED_REASON = 500
"""Characters of a refusal's message in its log line (it may quote a client's string of any length)."""


class Forbidden(GatewayError):
    """403: a key that may not do this."""

    type = "invalid_request"
    status = 403


def admitted(admit: Callable[[dict[str, Any], str], Admission], route: str,
             handler: Callable[[Request], Awaitable[Response]], error_response: Callable[[GatewayError], Response],
             *, admin: Literal["no", "once_keys_exist", "always"] = "no") -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint that runs ``handler`` inside an admission, answering a ``GatewayError`` with its
    error object. ``admin``: ``always`` (the admin API) needs an admin key even on a gateway with no other
    key; ``once_keys_exist`` (``/metrics``) needs one only when gateway keys are configured."""

    async def endpoint(request: Request) -> Response:
        try:
            async with admit(request.scope, route) as exchange:
                key = exchange.key
                if (admin == "always" and (key is None or not key.admin)) or (
                        admin == "once_keys_exist" and key is not None and not key.admin):
                    raise Forbidden("this needs an admin key (auth.admin_keys or GATEWAY_ADMIN_KEY)",
                                    code="permission_denied")
                response = await handler(request)
                exchange.status = response.status_code
                return response
        except GatewayError as error:
            return error_response(error)

    return endpoint


def build_observers(config: GatewayConfig, gateway: Gateway) -> Observers:
    """Callers, prices, metrics, access log and tracing as the config sets them (built at startup)."""
    from .auth.service import Callers

    pricing = Pricing(config.prices)
    metrics = None
    if config.metrics.enabled:
        from .metrics import Metrics

        metrics = Metrics(known_models(config, gateway), key_label=config.metrics.key_label)
    access_log = None
    if config.server.access_log:
        from .access_log import AccessLog

        access_log = AccessLog(config.server.log_format, stream=config.server.log_stream)
    tracing = None
    if config.tracing.enabled:
        from .tracing import Tracing

        tracing = Tracing(config.tracing.capture_content)
    return Observers(pricing, Callers(config, pricing), metrics, access_log, tracing)


def known_models(config: GatewayConfig, gateway: Gateway) -> set[tuple[str, str]]:
    """``(instance, model)`` pairs the config names: alias targets and instances' ``models`` (metric labels)."""
    pairs = {(name, model) for name, instance in gateway.instances.items() for model in instance.settings.models}
    for alias in config.aliases:
        try:
            route = gateway.router.route(alias, None)
        except GatewayError:
            continue
        pairs.update((target.instance.name, target.model) for target in route.targets)
    return pairs
