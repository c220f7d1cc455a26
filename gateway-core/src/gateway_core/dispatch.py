"""Running a request on its route: target order, retries with backoff, fallback, cooldowns, timeouts, limits.

For each target in policy order (skipping targets cooling down, busy, or unable to take the request), the
request is translated and tried up to ``1 + max_retries`` times. A retryable error (429, 5xx, 529, timeout,
connection error) waits with exponential backoff and jitter, or the upstream's ``Retry-After`` when it is
short enough, then tries again; when the target's retries are spent, the next target is tried. A
non-retryable error (400, 401, 403, 404) is returned at once. Everything happens before the first event
reaches the client (keepalive comments may precede it: ``gateway_core.keepalive``): once a stream has started
there is no retry (see ``Responder.drive``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .admission import Observers
from .config import RoutingSettings
from .deadlines import deadline as attempt_deadline
from .deltas import Delta
from .errors import GatewayError, InvalidRequestError, RateLimitError, upstream_timeout
from .exchange import current_exchange
from .health import TargetHealth, monotonic
from .policies import order_targets
from .prices import Pricing
from .routing import Route, Target
from .tool_plan import ToolPlan, needs_plan, plan_tools
from .types import ResponseRequest

logger = logging.getLogger("gateway")

_RECENT_LIMIT = 1024
"""How many targets outside the configured model groups keep their health (least recently used go first)."""


@dataclass
class Attempt:
    """The target that answered, and what it answered with."""

    target: Target
    result: Any
    started: float
    state: TargetHealth
    span: Any = None
    """The attempt's trace span (tracing on), ended when the response is."""
    plan: ToolPlan | None = None
    """How the request's tools were fitted to the target's provider (None: passed on as they are)."""


class Dispatcher:
    """Owns the per-target health and the in-flight limits of one gateway process.

    The targets of configured model groups keep their health for the process's life (``health``, made at
    startup). Any other target (``instance/model`` named by a request) shares a bounded table of the
    ``_RECENT_LIMIT`` most recently used ones, so client-chosen model names never grow memory without limit.
    """

    def __init__(self, settings: RoutingSettings, configured: Iterable[Target] = (),
                 observers: Observers | None = None) -> None:
        self.settings = settings
        self.observers = observers or Observers(Pricing())
        self.health: dict[str, TargetHealth] = {target.state_key: TargetHealth(settings) for target in configured}
        self._recent: OrderedDict[str, TargetHealth] = OrderedDict()
        self.in_flight = 0

    def state(self, target: Target) -> TargetHealth:
        """The health record of ``target``."""
        key = target.state_key
        state = self.health.get(key)
        if state is not None:
            return state
        recent = self._recent
        state = recent.get(key)
        if state is not None:
            recent.move_to_end(key)
            return state
        state = recent[key] = TargetHealth(self.settings)
        if len(recent) > _RECENT_LIMIT:
            self._forget_one()
        return state

    def tracked(self) -> int:
        """How many targets have a health record now."""
        return len(self.health) + len(self._recent)

    def _forget_one(self) -> None:
        """Drop the least recently used idle record (a busy one stays: its in-flight count is live)."""
        for key, state in self._recent.items():
            if state.in_flight == 0:
                del self._recent[key]
                return

    def admit(self) -> None:
        """Count a request in, or refuse it at once when the process is at its limit."""
        if self.in_flight >= self.settings.max_in_flight:
            raise RateLimitError("the gateway is at its limit of requests in flight; retry shortly",
                                 code="gateway_overloaded", retry_after=1.0)
        self.in_flight += 1

    def release(self) -> None:
        """Count a request out."""
        self.in_flight -= 1

    async def invoke(self, route: Route, request: ResponseRequest, check: Callable[[Target], None]) -> Attempt:
        """Run a non-streaming request; the attempt's result is the list of deltas."""
        return await self._run(route, request, check, streaming=False)

    async def open_stream(self, route: Route, request: ResponseRequest, check: Callable[[Target], None]) -> Attempt:
        """Open a stream; the attempt's result is the delta iterator. The caller must ``finished()`` it."""
        return await self._run(route, request, check, streaming=True)

    def finished(self, attempt: Attempt) -> None:
        """A stream opened by :meth:`open_stream` has ended (however it ended)."""
        attempt.state.in_flight -= 1

    async def _run(
        self, route: Route, request: ResponseRequest, check: Callable[[Target], None], *, streaming: bool
    ) -> Attempt:
        settings = self.settings
        start = monotonic()
        deadline = start + settings.deadline
        last_error: GatewayError | None = None
        cooling_until: float | None = None
        exchange = current_exchange.get()
        tried = 0
        fit_tools = needs_plan(request)
        for target in order_targets(route, request, self.health, settings.explore):
            state = self.state(target)
            now = monotonic()
            if state.cooling(now):
                cooling_until = min(cooling_until or state.open_until, state.open_until)
                continue
            if state.in_flight >= settings.max_in_flight_per_target:
                last_error = RateLimitError(f"target '{target.key}' is at its limit of requests in flight",
                                            code="target_overloaded", retry_after=1.0, retryable=True)
                continue
            plan = None
            try:
                check(target)
                if fit_tools:
                    plan = self._plan(request, target)
            except InvalidRequestError as rejected:
                if len(route.targets) == 1:
                    raise
                last_error = rejected
                continue
            native = target.instance.translate(request if plan is None else plan.request, target.model)
            for attempt in range(target.max_retries + 1):
                remaining = deadline - monotonic()
                if remaining <= 0:
                    raise last_error or upstream_timeout("the request deadline passed before an upstream answered")
                state.in_flight += 1
                if exchange is not None and tried:
                    exchange.retries += attempt > 0
                    exchange.fallback = exchange.fallback or attempt == 0
                tried += 1
                span = self.observers.attempt_span(exchange, target, request, streaming)
                began = monotonic()
                own_timeout = target.first_byte_timeout if streaming else target.timeout
                call = target.instance.stream if streaming else target.instance.invoke
                try:
                    with attempt_deadline(min(own_timeout, remaining)):
                        if span is None:
                            result: Sequence[Delta] | AsyncIterator[Sequence[Delta]] = await call(native)
                        else:
                            async with self.observers.during(span):
                                result = await call(native)
                except asyncio.CancelledError:  # the client left while it waited
                    state.in_flight -= 1
                    self.observers.attempt_failed(span, target, GatewayError("the client left", code="cancelled"))
                    raise
                except Exception as exc:
                    if exchange is not None:
                        exchange.upstream_seconds += monotonic() - began
                    state.in_flight -= 1
                    if isinstance(exc, TimeoutError) and remaining < own_timeout and last_error is not None:
                        # the request deadline, not the target, cut this attempt short: the client learns
                        # why the earlier attempts failed rather than that the last one ran out of time
                        self.observers.attempt_failed(span, target, last_error)
                        raise last_error from None
                    error = (upstream_timeout(f"provider '{target.instance.name}' did not answer in time")
                             if isinstance(exc, TimeoutError) else target.instance.map_error(exc))
                    self.observers.attempt_failed(span, target, error)
                    if not error.retryable:
                        raise error from None
                    if state.failed(monotonic()):
                        self.observers.cooled_down(target)
                    last_error = error
                    if attempt == target.max_retries or state.cooling(monotonic()):
                        break
                    delay = self._delay(attempt, error)
                    if delay is None or delay >= deadline - monotonic():
                        break
                    await asyncio.sleep(delay)
                    continue
                elapsed = monotonic() - began
                state.succeeded(elapsed)
                if exchange is not None:
                    exchange.upstream_seconds += elapsed
                if not streaming:
                    state.in_flight -= 1
                return Attempt(target, result, began, state, span, plan)
        if last_error is None and cooling_until is not None:
            raise GatewayError("every target of this model is cooling down after repeated failures",
                               code="upstream_unavailable", status=503,
                               retry_after=max(0.0, cooling_until - monotonic()))
        raise last_error or GatewayError("no target could take this request", code="upstream_unavailable",
                                         status=503)

    def _plan(self, request: ResponseRequest, target: Target) -> ToolPlan | None:
        """The request's tools fitted to ``target``'s provider; dropped tools are logged once per attempt."""
        instance = target.instance
        plan = plan_tools(request, instance.capabilities.tool_types, self.settings.unsupported_tools == "refuse",
                          instance.name)
        if plan is not None and plan.dropped:
            logger.info("provider %r cannot run %s: left out (routing.unsupported_tools: drop)", instance.name,
                        ", ".join(plan.dropped))
        return plan

    def _delay(self, attempt: int, error: GatewayError) -> float | None:
        """Seconds to wait before retrying, or ``None`` to move on to the next target."""
        settings = self.settings
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= settings.max_retry_after else None
        ceiling = min(settings.backoff_max, settings.backoff_initial * 2**attempt)
        return ceiling * (0.5 + random.random() / 2)
