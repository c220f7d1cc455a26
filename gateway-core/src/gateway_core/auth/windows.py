"""Sliding-window counters per key and minute: the rate windows :class:`~.limits.KeyLimiter` counts in.

Both kinds count the way ``limits``' sliding-window-counter strategy does: a fixed-window count for the
current minute and the previous one, the previous one weighted by the share of it still inside the last 60
seconds. :class:`SharedWindows` is that strategy itself, on ``limits``' Redis storage, so every gateway
sharing the Redis counts in the same windows; requests are counted exactly, and the tokens used are added
in batches (at most every ``flush_seconds``, so the shared count lags by that much). :class:`MemoryWindows`
is the same arithmetic on two integers per window in the process's memory, checked against ``limits``' own
answers in the tests: ``limits``' in-memory storages keep string keys, a lock and an expiry timer (a task or
a thread) per hit, about 30 us for the four operations of a limited request (a fifth of a whole mock
request), for counters one event loop can keep in a dict.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import math
import time
from typing import Any, NamedTuple

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.strategies import SlidingWindowCounterRateLimiter

logger = logging.getLogger("gateway.auth")

WINDOW_SECONDS = 60


class Window(NamedTuple):
    """A window's state after a hit or a look: whether the hit was counted, what is left, and the seconds
    until some of the count leaves the window (what ``limits`` reports as the window's reset)."""

    allowed: bool
    remaining: int
    reset_in: float


class Windows(abc.ABC):
    """Per-minute counters by scope (``kind``: ``rpm`` or ``tpm``; ``scope``: the key id, maybe a model)."""

    @abc.abstractmethod
    async def hit(self, kind: str, scope: tuple[str, ...], limit: int, cost: int = 1) -> Window:
        """Count ``cost`` unless that would pass ``limit`` (then count nothing, ``allowed`` False)."""

    @abc.abstractmethod
    async def look(self, kind: str, scope: tuple[str, ...], limit: int) -> Window:
        """The window's state, counting nothing (``allowed``: whether anything is left)."""

    @abc.abstractmethod
    async def charge(self, kind: str, scope: tuple[str, ...], limit: int, cost: int) -> None:
        """Count ``cost`` used (as :meth:`hit`; a shared store may add it a little later)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Count what is still pending."""


def _state(limit: int, previous: int, current: int, elapsed: float) -> tuple[int, float]:
    """What is left and the seconds to the reset, as ``limits``' ``get_window_stats`` reports them, of a window
    ``elapsed`` seconds into the minute with ``previous`` counted in the minute before and ``current`` in it."""
    previous_left = WINDOW_SECONDS - elapsed  # the previous minute's share still inside the sliding window
    remaining = limit - math.floor(previous * previous_left / WINDOW_SECONDS + current)
    if previous:
        reset_in = previous_left % (WINDOW_SECONDS / previous)
        if current:
            reset_in = min(reset_in, previous_left % WINDOW_SECONDS)
    else:
        reset_in = previous_left % WINDOW_SECONDS if current else 0.0
    return (remaining if remaining > 0 else 0), reset_in


def _counted(counter: list[int], limit: int, cost: int, elapsed: float) -> bool:
    """Add ``cost`` to a ``[minute, previous, current]`` counter ``elapsed`` seconds into its minute unless
    the weighted count (``limits``' sliding window) would pass ``limit``; whether it was added."""
    weighted = math.floor(counter[1] * (WINDOW_SECONDS - elapsed) / WINDOW_SECONDS + counter[2])
    if cost <= limit and weighted + cost <= limit:
        counter[2] += cost
        return True
    return False


class MemoryWindows(Windows):
    """The counters of one gateway process: per scope, the minute's number and its and the previous count."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, tuple[str, ...]], list[int]] = {}
        """``[minute, previous count, current count]`` by kind and scope."""

    def _counter(self, kind: str, scope: tuple[str, ...], now: float) -> list[int]:
        minute = int(now // WINDOW_SECONDS)
        counter = self._counts.get((kind, scope))
        if counter is None:
            counter = self._counts[(kind, scope)] = [minute, 0, 0]
        elif counter[0] != minute:
            counter[1] = counter[2] if counter[0] == minute - 1 else 0
            counter[0], counter[2] = minute, 0
        return counter

    def count(self, kind: str, scope: tuple[str, ...], limit: int, cost: int = 1, now: float | None = None) -> Window:
        """:meth:`hit` without an ``await`` (``now``: the Unix time, default the current one)."""
        now = time.time() if now is None else now
        counter = self._counter(kind, scope, now)
        elapsed = now % WINDOW_SECONDS
        allowed = _counted(counter, limit, cost, elapsed)
        return Window(allowed, *_state(limit, counter[1], counter[2], elapsed))

    def state(self, kind: str, scope: tuple[str, ...], limit: int, now: float | None = None) -> Window:
        """:meth:`look` without an ``await``."""
        now = time.time() if now is None else now
        counter = self._counter(kind, scope, now)
        remaining, reset_in = _state(limit, counter[1], counter[2], now % WINDOW_SECONDS)
        return Window(remaining > 0, remaining, reset_in)

    async def hit(self, kind: str, scope: tuple[str, ...], limit: int, cost: int = 1) -> Window:
        """See :meth:`Windows.hit`."""
        return self.count(kind, scope, limit, cost)

    async def look(self, kind: str, scope: tuple[str, ...], limit: int) -> Window:
        """See :meth:`Windows.look`."""
        return self.state(kind, scope, limit)

    def add(self, kind: str, scope: tuple[str, ...], limit: int, cost: int, now: float | None = None) -> None:
        """:meth:`charge` without an ``await``: :meth:`count`, not telling the window's state."""
        now = time.time() if now is None else now
        _counted(self._counter(kind, scope, now), limit, cost, now % WINDOW_SECONDS)

    async def charge(self, kind: str, scope: tuple[str, ...], limit: int, cost: int) -> None:
        """See :meth:`Windows.charge`."""
        self.add(kind, scope, limit, cost)

    async def close(self) -> None:
        """Nothing is pending: every count is made when asked."""


class SharedWindows(Windows):
    """``limits``' sliding-window counters on a shared storage (``limits``' Redis storage): requests counted
    exactly, tokens added in batches every ``flush_seconds``, a look at a window reused for that long."""

    def __init__(self, storage: Any, flush_seconds: float = 0.1) -> None:
        self.strategy = SlidingWindowCounterRateLimiter(storage)
        self.flush_seconds = flush_seconds
        self._items: dict[tuple[str, int], RateLimitItem] = {}
        self._pending: dict[tuple[str, tuple[str, ...], int], int] = {}
        self._looks: dict[tuple[str, tuple[str, ...], int], tuple[float, float, Window]] = {}
        """Recent looks by kind, scope and limit: (when, the window's reset as a Unix time, the window)."""
        self._flusher: asyncio.Task[None] | None = None

    def _item(self, kind: str, limit: int) -> RateLimitItem:
        item = self._items.get((kind, limit))
        if item is None:
            item = self._items[(kind, limit)] = RateLimitItemPerMinute(limit, namespace=f"gateway-{kind}")
        return item

    async def _stats(self, item: RateLimitItem, scope: tuple[str, ...]) -> tuple[int, float]:
        stats = await self.strategy.get_window_stats(item, *scope)
        return stats.remaining, stats.reset_time

    async def hit(self, kind: str, scope: tuple[str, ...], limit: int, cost: int = 1) -> Window:
        """Counted in the shared store, then its state read back (two round trips)."""
        item = self._item(kind, limit)
        allowed = await self.strategy.hit(item, *scope, cost=cost)
        remaining, reset_time = await self._stats(item, scope)
        return Window(allowed, remaining, max(0.0, reset_time - time.time()))

    async def look(self, kind: str, scope: tuple[str, ...], limit: int) -> Window:
        """The shared state, read at most every ``flush_seconds`` (the batched tokens lag as much anyway)."""
        now = time.time()
        seen = self._looks.get((kind, scope, limit))
        if seen is not None and now - seen[0] < self.flush_seconds:
            return seen[2]._replace(reset_in=max(0.0, seen[1] - now))
        remaining, reset_time = await self._stats(self._item(kind, limit), scope)
        window = Window(remaining > 0, remaining, max(0.0, reset_time - now))
        self._looks[(kind, scope, limit)] = (now, reset_time, window)
        return window

    async def charge(self, kind: str, scope: tuple[str, ...], limit: int, cost: int) -> None:
        """Added to the next batch (the flusher sends it within ``flush_seconds``)."""
        slot = (kind, scope, limit)
        self._pending[slot] = self._pending.get(slot, 0) + cost
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_soon(), name="gateway rate windows flush")

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self.flush_seconds)
        await self.flush()

    async def flush(self) -> None:
        """Send every pending count now (one hit per scope); a count the store refuses is dropped, logged."""
        pending, self._pending = self._pending, {}
        for (kind, scope, limit), cost in pending.items():
            try:
                await self.strategy.hit(self._item(kind, limit), *scope, cost=min(cost, limit))
            except Exception as exc:  # the store is away: rate limits fail open
                logger.warning("counting %d %s for %s in the limits store failed: %s: %s", cost, kind, scope[0],
                               type(exc).__name__, exc)
            self._looks.pop((kind, scope, limit), None)

    async def close(self) -> None:
        """Send what is pending and stop the flusher."""
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush()
