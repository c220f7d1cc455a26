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
from collections.abc import Callable
from types import BuiltinFunctionType, TracebackType
from typing import Any

TICK = 0.05
"""Seconds per slot of the wheel: how late a deadline may fire."""

_COUNTS_CANCELS = sys.version_info >= (3, 11)
"""Tasks count cancellation requests (``cancelling``, ``uncancel``) from Python 3.11."""


def _task_lookup() -> Callable[[asyncio.AbstractEventLoop], asyncio.Task[Any] | None]:
    """The running task of a loop, found without a Python frame: ``asyncio.current_task`` is C from Python
    3.12; before, it is a Python function reading ``asyncio.tasks._current_tasks``, which is read directly."""
    if isinstance(asyncio.current_task, BuiltinFunctionType):
        return asyncio.current_task
    return asyncio.tasks._current_tasks.get  # type: ignore[attr-defined]  # what 3.10's and 3.11's read


_current_task = _task_lookup()


class _Wheel:
    """The pending deadlines of one event loop, by slot (``ceil(when / TICK)``; only slots with some).
    :class:`Deadline` files and removes itself in ``slots`` (inline: a Python call per block was most of
    its cost); the wheel keeps the timer."""

    __slots__ = ("__weakref__", "cursor", "loop", "slots", "timer")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.slots: dict[int, set[Deadline]] = {}
        self.cursor = 0
        """The next slot to expire."""
        self.timer: asyncio.TimerHandle | None = None

    def start(self, now: float, slot: int) -> None:
        """Arm the timer: the first deadline of an idle wheel was filed in ``slot``."""
        self.cursor = min(slot, math.floor(now / TICK) + 1)
        self.timer = self.loop.call_at(self.cursor * TICK, self._tick)

    def _tick(self) -> None:
        """Expire every slot that has passed; look again next tick while any deadline is pending."""
        slots = self.slots
        now_slot = math.floor(self.loop.time() / TICK)
        while self.cursor <= now_slot and slots:
            for deadline in slots.pop(self.cursor, ()):
                deadline.expire()
            self.cursor += 1
        self.timer = self.loop.call_at(self.cursor * TICK, self._tick) if slots else None


_wheels: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Wheel] = weakref.WeakKeyDictionary()


def _new_wheel(loop: asyncio.AbstractEventLoop) -> _Wheel:
    wheel = _wheels.get(loop)
    if wheel is None:
        wheel = _wheels[loop] = _Wheel(loop)
    return wheel


_last_wheel: _Wheel | None = None
"""The wheel used last (a gateway process runs one loop), found without the weak dictionary's lookup."""


class Deadline:
    """One block's deadline (see the module docstring): ``with Deadline(seconds): await ...`` in a task."""

    __slots__ = ("_cancelling", "_slots", "_task", "expired", "seconds", "slot")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        """Whether the deadline passed while the block ran (its task was then cancelled)."""

    def __enter__(self) -> Deadline:
        global _last_wheel
        loop = asyncio.get_running_loop()
        task = _current_task(loop)
        if task is None:
            raise RuntimeError("a deadline needs a running task")
        self._task = task
        self._cancelling = task.cancelling() if _COUNTS_CANCELS else 0
        wheel = _last_wheel
        if wheel is None or wheel.loop is not loop:
            wheel = _last_wheel = _new_wheel(loop)
        now = loop.time()
        slot = math.ceil((now + self.seconds) / TICK)
        if wheel.timer is None:
            wheel.start(now, slot)
        elif slot < wheel.cursor:  # due at once: the next tick expires it
            slot = wheel.cursor
        self.slot = slot
        self._slots = slots = wheel.slots
        pending = slots.get(slot)
        if pending is None:
            slots[slot] = {self}
        else:
            pending.add(self)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        slots = self._slots
        pending = slots.get(self.slot)
        if pending is not None:
            pending.discard(self)
            if not pending:
                del slots[self.slot]
        if not self.expired:
            return
        left = self._task.uncancel() if _COUNTS_CANCELS else 0
        if kind is asyncio.CancelledError and left <= self._cancelling:
            raise TimeoutError from error

    def expire(self) -> None:
        """The deadline passed: cancel the block's task (called by the wheel)."""
        if not self._task.done():
            self.expired = True
            self._task.cancel()


deadline = Deadline
"""``with deadline(seconds):`` (the name reads as the ``asyncio.timeout`` it stands in for)."""
