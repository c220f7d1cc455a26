"""Ids the gateway issues: unguessable, and ordered by creation time (the store's indexes rely on it)."""

from __future__ import annotations

import re
import time

from gateway_core.ids import new_id


def test_ids_sort_in_creation_order_across_milliseconds() -> None:
    made = []
    for _ in range(5):
        made.append(new_id("resp"))
        time.sleep(0.002)
    assert sorted(made) == made


def test_ids_carry_128_random_bits_after_the_time() -> None:
    ids = [new_id("msg") for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"msg_[0-9a-f]{12}[0-9a-f]{32}", item) for item in ids)
    assert len({item[16:] for item in ids}) == len(ids)  # distinct even where the millisecond is shared
    assert abs(int(ids[0][4:16], 16) - time.time() * 1000) < 60_000
