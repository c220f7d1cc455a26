"""``gateway_core.deadlines``: the request path's cheap deadlines behave as ``asyncio.timeout`` does."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway_core.deadlines import TICK, deadline


def test_a_block_past_its_deadline_raises_timeout_error_about_on_time() -> None:
    async def late() -> float:
        began = time.monotonic()
        with pytest.raises(TimeoutError), deadline(0.2):
            await asyncio.sleep(5)
        return time.monotonic() - began

    waited = asyncio.run(late())
    assert 0.2 <= waited < 0.2 + TICK + 0.1


def test_a_block_within_its_deadline_is_left_alone_and_the_task_is_not_cancelled_later() -> None:
    async def quick() -> int:
        with deadline(0.1):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # past the deadline: nothing may cancel the task now
        task = asyncio.current_task()
        assert task is not None
        return task.cancelling() if hasattr(task, "cancelling") else 0

    assert asyncio.run(quick()) == 0


def test_many_deadlines_expire_each_its_own_block_only() -> None:
    async def one(seconds: float, sleep: float) -> str:
        try:
            with deadline(seconds):
                await asyncio.sleep(sleep)
        except TimeoutError:
            return "timeout"
        return "done"

    async def many() -> list[str]:
        return await asyncio.gather(*(one(0.15, 0.5 if index % 2 else 0.01) for index in range(200)))

    results = asyncio.run(many())
    assert results == ["done" if index % 2 == 0 else "timeout" for index in range(200)]


def test_a_cancellation_from_outside_stays_a_cancellation() -> None:
    async def cancelled_from_outside() -> None:
        async def victim() -> None:
            with deadline(5):
                await asyncio.sleep(5)

        task = asyncio.ensure_future(victim())
        await asyncio.sleep(0.05)
        task.cancel()
        await task

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(cancelled_from_outside())


def test_deadlines_work_on_each_of_several_event_loops() -> None:
    async def late() -> bool:
        try:
            with deadline(0.05):
                await asyncio.sleep(1)
        except TimeoutError:
            return True
        return False

    assert all(asyncio.run(late()) for _ in range(3))
