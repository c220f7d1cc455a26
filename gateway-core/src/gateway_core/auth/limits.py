"""Per-key limits: requests and tokens per minute (``limits``' sliding-window counters, in memory or in
the shared Redis), requests in flight (per gateway process), and the budget (:mod:`.budgets`).

A request is admitted in :meth:`KeyLimiter.admit`: it counts one request, checks that its input estimate
fits the tokens left this minute, and reserves its worst-case cost. It is settled in :meth:`KeyLimiter.settle`
when it ends: the tokens it really used are counted (at the end of a stream, or what was generated before a
client cancelled), and the reservation becomes its real cost. Refusals are 429: ``rate_limit_exceeded``
with ``Retry-After`` from the window's own reset time, or ``insufficient_quota`` for the budget. Every
answer carries ``x-ratelimit-limit-*``, ``x-ratelimit-remaining-*`` and ``x-ratelimit-reset-*`` for
requests and tokens, in OpenAI's form (a reset like ``1.5s`` or ``6m0s``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from ..errors import RateLimitError
from .budgets import Ledger, Reservation, period_start
from .keys import GatewayKey


def reset_text(seconds: float) -> str:
    """A reset duration as OpenAI writes it: ``450ms``, ``1.5s``, ``6m0s``."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    if seconds < 60:
        return f"{seconds:.3g}s"
    minutes, rest = divmod(math.ceil(seconds), 60)
    return f"{minutes}m{rest}s"


@dataclass
class Ticket:
    """An admitted request's share of its key's limits."""

    key: GatewayKey
    scope: tuple[str, ...]
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    reservation: Reservation | None = None
    counted_in_flight: bool = False
    settled: bool = False


class KeyLimiter:
    """Limits of every key, on one ``limits`` storage (memory, or the shared Redis) and one budget ledger."""

    def __init__(self, storage: object, ledger: Ledger, reservation_ttl: float = 900.0) -> None:
        self.windows = SlidingWindowCounterRateLimiter(storage)  # type: ignore[arg-type]
        self.ledger = ledger
        self.reservation_ttl = reservation_ttl
        self.in_flight: dict[str, int] = {}
        self._items: dict[tuple[str, int], RateLimitItem] = {}

    def _item(self, kind: str, amount: int) -> RateLimitItem:
        item = self._items.get((kind, amount))
        if item is None:
            item = self._items[(kind, amount)] = RateLimitItemPerMinute(amount, namespace=f"gateway-{kind}")
        return item

    async def admit(self, key: GatewayKey, model: str, estimate_tokens: int, worst_cost: float | None) -> Ticket:
        """Count the request in; raise 429 when a limit refuses it."""
        limits = key.limits
        scope = (key.id, model) if limits.per_model else (key.id,)
        ticket = Ticket(key, scope)
        if limits.max_in_flight is not None:
            if self.in_flight.get(key.id, 0) >= limits.max_in_flight:
                raise RateLimitError(f"key {key.name!r} has {limits.max_in_flight} requests in flight already",
                                     code="rate_limit_exceeded", retry_after=1.0)
            self.in_flight[key.id] = self.in_flight.get(key.id, 0) + 1
            ticket.counted_in_flight = True
        try:
            if limits.rpm is not None:
                item = self._item("rpm", limits.rpm)
                allowed = await self.windows.hit(item, *scope)
                stats = await self.windows.get_window_stats(item, *scope)
                wait = max(0.0, stats.reset_time - time.time())
                ticket.headers += [(b"x-ratelimit-limit-requests", str(limits.rpm).encode()),
                                   (b"x-ratelimit-remaining-requests", str(stats.remaining).encode()),
                                   (b"x-ratelimit-reset-requests", reset_text(wait).encode())]
                if not allowed:
                    raise RateLimitError(f"key {key.name!r} is over its limit of {limits.rpm} requests per minute",
                                         code="rate_limit_exceeded", retry_after=max(1.0, math.ceil(wait)))
            if limits.tpm is not None:
                item = self._item("tpm", limits.tpm)
                stats = await self.windows.get_window_stats(item, *scope)
                wait = max(0.0, stats.reset_time - time.time())
                ticket.headers += [(b"x-ratelimit-limit-tokens", str(limits.tpm).encode()),
                                   (b"x-ratelimit-remaining-tokens", str(stats.remaining).encode()),
                                   (b"x-ratelimit-reset-tokens", reset_text(wait).encode())]
                if stats.remaining < min(estimate_tokens, limits.tpm) or stats.remaining <= 0:
                    raise RateLimitError(f"key {key.name!r} is over its limit of {limits.tpm} tokens per minute",
                                         code="rate_limit_exceeded", retry_after=max(1.0, math.ceil(wait)))
            if limits.budget_usd is not None:
                amount = worst_cost or 0.0
                period = period_start(limits.budget_period)
                ticket.reservation = await self.ledger.reserve(key.id, period, amount, limits.budget_usd,
                                                               self.reservation_ttl)
                if ticket.reservation is None:
                    raise RateLimitError(f"key {key.name!r} has spent its budget of ${limits.budget_usd:g} for this "
                                         f"{limits.budget_period}", code="insufficient_quota")
        except BaseException:
            await self.settle(ticket, 0, 0.0)
            raise
        return ticket

    async def settle(self, ticket: Ticket, tokens: int, cost: float) -> None:
        """Count what the request used and release what it held (once)."""
        if ticket.settled:
            return
        ticket.settled = True
        if ticket.counted_in_flight:
            self.in_flight[ticket.key.id] -= 1
        limits = ticket.key.limits
        if limits.tpm is not None and tokens > 0:
            await self.windows.hit(self._item("tpm", limits.tpm), *ticket.scope, cost=min(tokens, limits.tpm))
        if ticket.reservation is not None:
            await self.ledger.settle(ticket.reservation, cost)
