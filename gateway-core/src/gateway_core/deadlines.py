"""Deadlines on the request path: ``with deadline(seconds):`` raises ``TimeoutError`` when the block is still
running after ``seconds``, as ``async with asyncio.timeout(seconds):`` does, for a fraction of its cost.

``asyncio.timeout`` arms and cancels one loop timer per block: about 6 CPU-us under uvloop, and a request
passes two of them (its body, its upstream attempt), a stream two more (its whole stream, its keepalive
wait): a tenth of the gateway's own work on a mock answer. Here every pending deadline of a loop sits in a
timing wheel (a set per :data:`TICK`-long slot), and one timer, running only while deadlines are pending,
expires a slot's deadlines once it has passed: a block costs a set insert and a discard. A deadline fires up to one tick
late, which no timeout of the gateway (seconds, settable to tenths) minds.

The cancellation follows ``asyncio.timeout``'s rules: the expired block's task is cancelled, and leaving the
block turns that cancellation (and only that one) into ``TimeoutError``.
"""

from __future__ import annotations

import asyncio
import math
import sys
import weakref
from types import TracebackType

TICK = 0.05
"""Seconds per slot of the wheel: how late a deadline may fire."""

_COUNTS_CANCELS = sys.version_info >= (3, 11)
"""Tasks count cancellation requests (``cancelling``, ``uncancel``) from Python 3.11."""


class _Wheel:
    """The pending deadlines of one event loop, by slot (``ceil(when / TICK)``; only slots with some)."""

    __slots__ = ("__weakref__", "_cursor", "_slots", "_timer", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._slots: dict[int, set[Deadline]] = {}
        self._cursor = 0
        """The next slot to expire."""
        self._timer: asyncio.TimerHandle | None = None

    def add(self, deadline: Deadline, seconds: float) -> None:
        now = self.loop.time()
        slot = math.ceil((now + seconds) / TICK)
        if self._timer is not None and slot < self._cursor:  # due at once: the next tick expires it
            slot = self._cursor
        deadline.slot = slot
        pending = self._slots.get(slot)
        if pending is None:
            pending = self._slots[slot] = set()
        pending.add(deadline)
        if self._timer is None:
            self._cursor = min(slot, math.floor(now / TICK) + 1)
            self._timer = self.loop.call_at(self._cursor * TICK, self._tick)

    def discard(self, deadline: Deadline) -> None:
        pending = self._slots.get(deadline.slot)
        if pending is not None:
            pending.discard(deadline)
            if not pending:
                del self._slots[deadline.slot]

    def _tick(self) -> None:
        """Expire every slot that has passed; look again next tick while any deadline is pending."""
        slots = self._slots
        now_slot = math.floor(self.loop.time() / TICK)
        while self._cursor <= now_slot and slots:
            for deadline in slots.pop(self._cursor, ()):
                deadline.expire()
            self._cursor += 1
        self._timer = self.loop.call_at(self._cursor * TICK, self._tick) if slots else None


_wheels: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Wheel] = weakref.WeakKeyDictionary()
_last: list[_Wheel] = []
"""The wheel used last (a gateway process runs one loop), found without the weak dictionary's lookup."""


def _wheel_of(loop: asyncio.AbstractEventLoop) -> _Wheel:
    if _last and _last[0].loop is loop:
        return _last[0]
    wheel = _wheels.get(loop)
    if wheel is None:
        wheel = _wheels[loop] = _Wheel(loop)
    _last[:] = [wheel]
    return wheel


class Deadline:
    """One block's deadline (see the module docstring); made by :func:`deadline`."""

    __slots__ = ("_cancelling", "_task", "_wheel", "expired", "seconds", "slot")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.slot = 0
        self.expired = False
        """Whether the deadline passed while the block ran (its task was then cancelled)."""
        self._task: asyncio.Task[object] | None = None
        self._wheel: _Wheel | None = None
        self._cancelling = 0

    def __enter__(self) -> Deadline:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a deadline needs a running task")
        self._task = task
        self._cancelling = task.cancelling() if _COUNTS_CANCELS else 0
        self._wheel = _wheel_of(task.get_loop())
        self._wheel.add(self, self.seconds)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        assert self._wheel is not None and self._task is not None
        self._wheel.discard(self)
        if not self.expired:
            return
        left = self._task.uncancel() if _COUNTS_CANCELS else 0
        if kind is asyncio.CancelledError and left <= self._cancelling:
            raise TimeoutError from error

    def expire(self) -> None:
        """The deadline passed: cancel the block's task (called by the wheel)."""
        if self._task is not None and not self._task.done():
            self.expired = True
            self._task.cancel()


def deadline(seconds: float) -> Deadline:
    """A context manager raising ``TimeoutError`` from a block still running after ``seconds`` (up to
    :data:`TICK` later); use it in a task (``with deadline(5): await ...``)."""
    return Deadline(seconds)
