"""Per-key limits: requests and tokens per minute (sliding-window counters, :mod:`.windows`: in memory or
in the shared Redis), requests in flight (per gateway process), and the budget (:mod:`.budgets`).

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

from ..errors import RateLimitError
from .budgets import Ledger, MemoryLedger, Periods, Reservation
from .keys import GatewayKey
from .windows import MemoryWindows, Windows


def reset_text(seconds: float) -> str:
    """A reset duration as OpenAI writes it: ``450ms``, ``1.5s``, ``6m0s``."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    if seconds < 60:
        return f"{seconds:.3g}s"
    minutes, rest = divmod(math.ceil(seconds), 60)
    return f"{minutes}m{rest}s"


@dataclass(slots=True)
class Ticket:
    """An admitted request's share of its key's limits."""

    key: GatewayKey
    scope: tuple[str, ...]
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    reservation: Reservation | None = None
    counted_in_flight: bool = False
    settled: bool = False


class KeyLimiter:
    """Limits of every key, on one set of rate windows (memory, or the shared Redis) and one budget ledger."""

    def __init__(self, windows: Windows, ledger: Ledger, reservation_ttl: float = 900.0) -> None:
        self.windows = windows
        self.ledger = ledger
        self._local_windows = windows if isinstance(windows, MemoryWindows) else None
        self._local_ledger = ledger if isinstance(ledger, MemoryLedger) else None
        """The same, when they live in this process: asked without an ``await`` (a coroutine per call
        was about a quarter of what a limited request costs here)."""
        self.reservation_ttl = reservation_ttl
        self.periods = Periods()
        self.in_flight: dict[str, int] = {}
        self._numbers: dict[int, bytes] = {}

    def _number(self, value: int) -> bytes:
        """A limit as header bytes (made once per limit)."""
        text = self._numbers.get(value)
        if text is None:
            text = self._numbers[value] = str(value).encode()
        return text

    async def admit(self, key: GatewayKey, model: str, estimate_tokens: int, worst_cost: float | None) -> Ticket:
        """Count the request in; raise 429 when a limit refuses it."""
        limits = key.limits
        scope = (key.id, model) if limits.per_model else (key.id,)
        ticket = Ticket(key, scope)
        now = time.time()
        if limits.max_in_flight is not None:
            if self.in_flight.get(key.id, 0) >= limits.max_in_flight:
                raise RateLimitError(f"key {key.name!r} has {limits.max_in_flight} requests in flight already",
                                     code="rate_limit_exceeded", retry_after=1.0)
            self.in_flight[key.id] = self.in_flight.get(key.id, 0) + 1
            ticket.counted_in_flight = True
        try:
            if limits.rpm is not None:
                local = self._local_windows
                window = (local.count("rpm", scope, limits.rpm, 1, now) if local is not None
                          else await self.windows.hit("rpm", scope, limits.rpm))
                ticket.headers += [(b"x-ratelimit-limit-requests", self._number(limits.rpm)),
                                   (b"x-ratelimit-remaining-requests", str(window.remaining).encode()),
                                   (b"x-ratelimit-reset-requests", reset_text(window.reset_in).encode())]
                if not window.allowed:
                    raise RateLimitError(f"key {key.name!r} is over its limit of {limits.rpm} requests per minute",
                                         code="rate_limit_exceeded", retry_after=max(1.0, math.ceil(window.reset_in)))
            if limits.tpm is not None:
                local = self._local_windows
                window = (local.state("tpm", scope, limits.tpm, now) if local is not None
                          else await self.windows.look("tpm", scope, limits.tpm))
                ticket.headers += [(b"x-ratelimit-limit-tokens", self._number(limits.tpm)),
                                   (b"x-ratelimit-remaining-tokens", str(window.remaining).encode()),
                                   (b"x-ratelimit-reset-tokens", reset_text(window.reset_in).encode())]
                if window.remaining < min(estimate_tokens, limits.tpm) or window.remaining <= 0:
                    raise RateLimitError(f"key {key.name!r} is over its limit of {limits.tpm} tokens per minute",
                                         code="rate_limit_exceeded", retry_after=max(1.0, math.ceil(window.reset_in)))
            if limits.budget_usd is not None:
                amount = worst_cost or 0.0
                period = self.periods.start(limits.budget_period, now)
                ledger = self._local_ledger
                ticket.reservation = (
                    ledger.hold(key.id, period, amount, limits.budget_usd, self.reservation_ttl) if ledger is not None
                    else await self.ledger.reserve(key.id, period, amount, limits.budget_usd, self.reservation_ttl))
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
            if self._local_windows is not None:
                self._local_windows.add("tpm", ticket.scope, limits.tpm, min(tokens, limits.tpm))
            else:
                await self.windows.charge("tpm", ticket.scope, limits.tpm, min(tokens, limits.tpm))
        if ticket.reservation is not None:
            if self._local_ledger is not None:
                self._local_ledger.release(ticket.reservation, cost)
            else:
                await self.ledger.settle(ticket.reservation, cost)

    async def close(self) -> None:
        """Count what the windows still hold back."""
        await self.windows.close()
