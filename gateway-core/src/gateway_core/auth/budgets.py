"""Budgets that hold under concurrency: reserve the worst case before the upstream call, settle after.

A key's budget (``limits.budget_usd`` per ``limits.budget_period``) is checked against what it spent in the
current period plus what its requests in flight have reserved. A request reserves its worst case (its input
estimate plus its output limit, at the model's prices) in one atomic step, and is refused with 429
``insufficient_quota`` when that would pass the budget; when it ends (success, failure or cancel) the
reservation is replaced by what it really cost. So concurrent requests can never spend more than the budget
plus the one request whose real cost passed its estimate.

:class:`MemoryLedger` does this in one process (the check and the update run without an ``await`` between
them); :class:`RedisLedger` does it for every gateway sharing a Redis, in one Lua script per reservation.
Reservations expire (``ttl``: the request deadline) so a gateway killed mid-request cannot hold them forever.
"""

from __future__ import annotations

import abc
import calendar
import itertools
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .keys import Period

if TYPE_CHECKING:
    from redis.asyncio import Redis


def period_start(period: Period, now: float | None = None) -> int:
    """The Unix time (UTC) the current ``period`` began: midnight, Monday midnight, the 1st; 0 for ``total``."""
    if period == "total":
        return 0
    moment = time.gmtime(now if now is not None else time.time())
    midnight = calendar.timegm((moment.tm_year, moment.tm_mon, moment.tm_mday, 0, 0, 0))
    if period == "day":
        return midnight
    if period == "week":
        return midnight - moment.tm_wday * 86400
    return calendar.timegm((moment.tm_year, moment.tm_mon, 1, 0, 0, 0))


def period_end(period: Period, start: int) -> float:
    """When the period that began at ``start`` (see :func:`period_start`) ends; never for ``total``."""
    if period == "total":
        return float("inf")
    if period == "day":
        return start + 86400
    if period == "week":
        return start + 7 * 86400
    moment = time.gmtime(start)
    year, month = (moment.tm_year + 1, 1) if moment.tm_mon == 12 else (moment.tm_year, moment.tm_mon + 1)
    return calendar.timegm((year, month, 1, 0, 0, 0))


class Periods:
    """:func:`period_start` of now, worked out once per period (it is asked on every request)."""

    def __init__(self) -> None:
        self._current: dict[Period, tuple[int, float]] = {}

    def start(self, period: Period, now: float | None = None) -> int:
        """The start of the period ``now`` (default: the current time) is in."""
        now = time.time() if now is None else now
        known = self._current.get(period)
        if known is not None and known[0] <= now < known[1]:
            return known[0]
        start = period_start(period, now)
        self._current[period] = (start, period_end(period, start))
        return start


@dataclass(slots=True)
class Reservation:
    """One request's hold on its key's budget."""

    key_id: str
    period: int
    amount: float
    token: str


class Ledger(abc.ABC):
    """Spend and reservations per key and period."""

    @abc.abstractmethod
    async def reserve(self, key_id: str, period: int, amount: float, budget: float, ttl: float) -> Reservation | None:
        """Hold ``amount`` if spent + held + amount stays within ``budget``; None when it would not."""

    @abc.abstractmethod
    async def settle(self, reservation: Reservation, cost: float) -> None:
        """Release the hold and add what the request really cost."""

    @abc.abstractmethod
    async def spent(self, key_id: str, period: int) -> float:
        """What the key spent in the period (settled requests)."""


class MemoryLedger(Ledger):
    """The ledger of one gateway process; ``spent`` starts from the usage log (see ``UsageLog.spend_since``)."""

    def __init__(self, spent: Mapping[tuple[str, int], float] | None = None) -> None:
        self._spent: dict[tuple[str, int], float] = dict(spent or {})
        self._held: dict[tuple[str, int], dict[str, tuple[float, float]]] = {}
        self._tokens = itertools.count()

    def hold(self, key_id: str, period: int, amount: float, budget: float, ttl: float) -> Reservation | None:
        """:meth:`reserve` without an ``await`` (so atomic within the event loop)."""
        now = time.monotonic()
        held = self._held.setdefault((key_id, period), {})
        total = self._spent.get((key_id, period), 0.0)
        if held:
            for token in [token for token, (_, expires) in held.items() if expires <= now]:
                del held[token]
            total += sum(value for value, _ in held.values())
        if total + amount > budget:
            return None
        token = str(next(self._tokens))  # unique within the process, which is all a memory hold needs
        held[token] = (amount, now + ttl)
        return Reservation(key_id, period, amount, token)

    def release(self, reservation: Reservation, cost: float) -> None:
        """:meth:`settle` without an ``await``."""
        slot = (reservation.key_id, reservation.period)
        self._held.get(slot, {}).pop(reservation.token, None)
        self._spent[slot] = self._spent.get(slot, 0.0) + cost

    async def reserve(self, key_id: str, period: int, amount: float, budget: float, ttl: float) -> Reservation | None:
        """See :meth:`hold`."""
        return self.hold(key_id, period, amount, budget, ttl)

    async def settle(self, reservation: Reservation, cost: float) -> None:
        """See :meth:`release`."""
        self.release(reservation, cost)

    async def spent(self, key_id: str, period: int) -> float:
        """Settled spend."""
        return self._spent.get((key_id, period), 0.0)


# KEYS[1] spent (a float), KEYS[2] reservations (a sorted set: member "token:amount", score = expiry in ms)
# ARGV[1] now ms, ARGV[2] amount, ARGV[3] budget, ARGV[4] token, ARGV[5] expiry ms, ARGV[6] spent ttl seconds
_RESERVE = """
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local held = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  held = held + tonumber(string.match(member, ':(.*)$'))
end
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
if spent + held + tonumber(ARGV[2]) > tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4] .. ':' .. ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[6])
return 1
"""

# KEYS as above; ARGV[1] member, ARGV[2] cost, ARGV[3] spent ttl seconds
_SETTLE = """
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('INCRBYFLOAT', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""

_SPENT_TTL = 40 * 86400  # a period's counters outlive it (a month is at most 31 days)


class RedisLedger(Ledger):
    """The ledger shared by every gateway on one Redis."""

    def __init__(self, client: Redis, key_prefix: str = "gateway:") -> None:
        self.client = client
        self.prefix = key_prefix
        self._reserve = client.register_script(_RESERVE)
        self._settle = client.register_script(_SETTLE)

    def _keys(self, key_id: str, period: int) -> list[str]:
        return [f"{self.prefix}spent:{key_id}:{period}", f"{self.prefix}held:{key_id}:{period}"]

    async def reserve(self, key_id: str, period: int, amount: float, budget: float, ttl: float) -> Reservation | None:
        """One round trip: the check and the hold in one script."""
        token = secrets.token_hex(8)
        now_ms = int(time.time() * 1000)
        ok = await self._reserve(keys=self._keys(key_id, period),
                                 args=[now_ms, repr(amount), repr(budget), token, now_ms + int(ttl * 1000),
                                       _SPENT_TTL])
        return Reservation(key_id, period, amount, token) if ok else None

    async def settle(self, reservation: Reservation, cost: float) -> None:
        """Release and record, in one script."""
        await self._settle(keys=self._keys(reservation.key_id, reservation.period),
                           args=[f"{reservation.token}:{reservation.amount!r}", repr(cost), _SPENT_TTL])

    async def spent(self, key_id: str, period: int) -> float:
        """Settled spend."""
        value = await self.client.get(self._keys(key_id, period)[0])
        return float(value or 0.0)
