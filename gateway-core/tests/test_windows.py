"""The rate windows: the in-memory counters give ``limits``' own answers, the shared ones batch tokens on a real
redis-server, and a budget period is worked out once per period."""

from __future__ import annotations

import asyncio
import calendar
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from gateway_core.auth.budgets import Periods, period_end, period_start
from gateway_core.auth.windows import MemoryWindows, SharedWindows
from gateway_core.testing.servers import run_redis_server


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with run_redis_server(tmp_path) as url:
        yield url


def _same_as_limits(previous: int, limit: int, costs: list[int]) -> None:
    """Hits of ``costs`` after ``previous`` counted in the minute before, on ``limits`` and on ours, compared."""
    storage = MemoryStorage()
    strategy = SlidingWindowCounterRateLimiter(storage)
    item = RateLimitItemPerMinute(limit, namespace="t")
    ours = MemoryWindows()
    while True:
        now = time.time()
        if 1 < now % 60 < 55:  # not so near a minute's end that one side would count in the next
            break
        time.sleep(0.5)
    if previous:
        previous_key, _ = storage.sliding_window_keys(item.key_for("k"), 60, now)
        storage.incr(previous_key, 120, amount=previous)
        ours.count("rpm", ("k",), limit, previous, now=now - 60)
    for cost in costs:
        allowed = strategy.hit(item, "k", cost=cost)
        stats = strategy.get_window_stats(item, "k")
        window = ours.count("rpm", ("k",), limit, cost)
        assert (window.allowed, window.remaining) == (allowed, stats.remaining), (previous, limit, cost)
        assert window.reset_in == pytest.approx(max(0.0, stats.reset_time - time.time()), abs=0.05)
        look = ours.state("rpm", ("k",), limit)
        assert (look.remaining, look.allowed) == (stats.remaining, stats.remaining > 0)


def test_memory_windows_count_as_limits_does_within_a_minute() -> None:
    _same_as_limits(0, 3, [1, 1, 1, 1, 1])
    _same_as_limits(0, 1000, [400, 500, 200, 100, 1, 1001])


def test_memory_windows_weigh_the_previous_minute_as_limits_does() -> None:
    rng = random.Random(7)
    for previous, limit in ((10, 10), (7, 10), (1, 3), (900, 1000)):
        _same_as_limits(previous, limit, [rng.randint(1, max(1, limit // 3)) for _ in range(12)])


def test_memory_windows_forget_counts_older_than_the_previous_minute() -> None:
    windows = MemoryWindows()
    start = 60 * 1_000_000 + 20.0
    assert windows.count("rpm", ("k",), 2, 2, now=start).remaining == 0
    assert not windows.count("rpm", ("k",), 2, now=start + 1).allowed
    later = windows.state("rpm", ("k",), 2, now=start + 60)  # 2 counted a minute ago, 2/3 of it still in
    assert later.remaining == 1 and later.reset_in == pytest.approx(10.0)  # one more leaves every 30 s
    assert windows.state("rpm", ("k",), 2, now=start + 120).remaining == 2
    assert windows.state("rpm", ("other",), 2, now=start).remaining == 2


def test_shared_windows_count_requests_at_once_and_tokens_in_batches(redis_url: str) -> None:
    async def scenario() -> None:
        from limits.storage import storage_from_string

        first = SharedWindows(storage_from_string("async+" + redis_url, implementation="redispy"), 0.1)
        second = SharedWindows(storage_from_string("async+" + redis_url, implementation="redispy"), 0.1)
        assert (await first.hit("rpm", ("k",), 2)).allowed
        assert (await second.hit("rpm", ("k",), 2)).remaining == 0
        assert not (await first.hit("rpm", ("k",), 2)).allowed
        assert (await second.look("tpm", ("k",), 1000)).remaining == 1000
        await first.charge("tpm", ("k",), 1000, 300)
        await first.charge("tpm", ("k",), 1000, 400)
        deadline = time.monotonic() + 10
        while (await second.look("tpm", ("k",), 1000)).remaining != 300:
            assert time.monotonic() < deadline, "the batched tokens never reached the other gateway"
            await asyncio.sleep(0.05)
        await first.charge("tpm", ("k",), 1000, 300)
        await first.close()  # what is pending is counted on close
        await asyncio.sleep(0.15)  # past the other's reuse of its last look
        assert (await second.look("tpm", ("k",), 1000)).remaining == 0
        await second.close()

    asyncio.run(scenario())


def test_periods_are_worked_out_once_per_period() -> None:
    march = calendar.timegm((2026, 3, 31, 23, 59, 59))
    assert period_end("month", period_start("month", march)) == calendar.timegm((2026, 4, 1, 0, 0, 0))
    assert period_end("month", calendar.timegm((2026, 12, 1, 0, 0, 0))) == calendar.timegm((2027, 1, 1, 0, 0, 0))
    assert period_end("week", period_start("week", march)) == period_start("week", march) + 7 * 86400
    periods = Periods()
    for period in ("day", "week", "month", "total"):
        for moment in (march, march + 1, march + 86400 * 3, march + 86400 * 40):
            assert periods.start(period, moment) == period_start(period, moment), (period, moment)
