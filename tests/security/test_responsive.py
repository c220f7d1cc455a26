"""Item 7 of issue 14: one large request must not stall the rest. While a 32 MB request of many small
items is being handled, small requests keep being answered (on main they all waited ~4 s)."""

from __future__ import annotations

import json
import threading
import time

import httpx

from gateway_core.testing import run_gateway


def test_small_requests_are_answered_while_a_large_one_is_processed() -> None:
    items = [{"role": "user", "content": "hi"}] * 900_000
    large = json.dumps({"model": "mock", "input": items}).encode()
    assert len(large) > 30 * 1024 * 1024
    with run_gateway() as url, httpx.Client(base_url=url, timeout=60) as client:
        client.post("/v1/responses", json={"model": "mock", "input": "warm up"})
        result: dict[str, object] = {}

        def send_large() -> None:
            response = httpx.post(url + "/v1/responses", content=large, timeout=60,
                                  headers={"content-type": "application/json"})
            result["status"], result["done"] = response.status_code, time.monotonic()

        sender = threading.Thread(target=send_large)
        sender.start()
        latencies = []
        while sender.is_alive():
            began = time.monotonic()
            assert client.post("/v1/responses", json={"model": "mock", "input": "hi"}).status_code == 200
            latencies.append(time.monotonic() - began)
        sender.join()
    assert result["status"] == 400  # more items than server.max_input_items, refused before normalising
    assert latencies and max(latencies) < 3.0, latencies
