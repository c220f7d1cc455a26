"""Routing policies, limits, request ids and graceful shutdown, over real HTTP on mock instances.

Retries, fallback, cooldown and timeouts against failing upstreams are tested end to end with real
provider plugins and fault-injecting fake upstreams in ``tests/test_reliability_e2e.py``.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway_core.config import Price, RoutingSettings
from gateway_core.decode import decode_request
from gateway_core.health import TargetHealth
from gateway_core.policies import order_targets
from gateway_core.prices import Pricing
from gateway_core.provider import BoundProvider
from gateway_core.routing import Route, Target
from gateway_core.testing import run_gateway
from gateway_core.testing.servers import run_gateway_process

GROUPS = {
    "ab": {"policy": "weighted", "targets": [{"model": "a/m1", "weight": 3}, {"model": "b/m2", "weight": 1}]},
    "sticky": {"policy": "weighted", "sticky": "user",
               "targets": [{"model": "a/m1"}, {"model": "b/m2"}]},
    "cheap": {"policy": "cheapest", "targets": [
        {"model": "a/m1", "price": {"input": 3, "output": 15}},
        {"model": "b/m2", "price": {"input": 0.5, "output": 1.5}},
        {"model": "c/m3"},
    ]},
    "spread": {"policy": "fallback", "targets": [{"model": "slow/m"}, {"model": "b/m2"}]},
}
CONFIG = {
    "providers": {"a": {"type": "mock"}, "b": {"type": "mock"}, "c": {"type": "mock"},
                  "slow": {"type": "mock", "options": {"delay": 0.3}}},
    "aliases": GROUPS,
    "routing": {"max_in_flight_per_target": 1},
}


@pytest.fixture(scope="module")
def gateway() -> Iterator[httpx.Client]:
    with run_gateway(CONFIG) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client


def test_weighted_split_lands_within_tolerance(gateway: httpx.Client) -> None:
    """3:1 weights over 1,000 requests: 750 expected on `a`; the tolerance of +/-60 is over 4 standard
    deviations of the binomial (sd 13.7), so this fails only if the split is wrong."""
    counts = Counter(
        gateway.post("/v1/responses", json={"model": "ab", "input": "x"}).headers["x-gateway-provider"]
        for _ in range(1000)
    )
    assert set(counts) == {"a", "b"}
    assert abs(counts["a"] - 750) <= 60, counts


def test_sticky_key_keeps_a_user_on_one_arm(gateway: httpx.Client) -> None:
    def arm(user: str) -> str:
        body = {"model": "sticky", "input": "x", "user": user}
        return gateway.post("/v1/responses", json=body).headers["x-gateway-provider"]

    for user in ("alice", "bob", "carol"):
        assert len({arm(user) for _ in range(15)}) == 1
    assert len({arm(f"user-{n}") for n in range(40)}) == 2, "different users spread over both arms"


def test_cheapest_picks_the_lowest_price_and_reports_it(gateway: httpx.Client) -> None:
    response = gateway.post("/v1/responses", json={"model": "cheap", "input": "x"})
    assert response.headers["x-gateway-provider"] == "b" and response.headers["x-gateway-model"] == "m2"
    assert response.json()["metadata"] == {"gateway_provider": "b", "gateway_model": "m2"}
    assert response.json()["model"] == "cheap"


def test_busy_target_spills_to_the_next(gateway: httpx.Client) -> None:
    """With one request in flight per target, a second request to the group goes to the next target."""
    results: dict[str, str] = {}

    def slow_stream() -> None:
        with httpx.stream("POST", str(gateway.base_url) + "/v1/responses", timeout=10,
                          json={"model": "spread", "input": "one two three", "stream": True}) as response:
            results["first"] = response.headers["x-gateway-provider"]
            response.read()

    thread = threading.Thread(target=slow_stream)
    thread.start()
    time.sleep(0.15)
    second = gateway.post("/v1/responses", json={"model": "spread", "input": "x"})
    thread.join()
    assert results["first"] == "slow"
    assert second.headers["x-gateway-provider"] == "b"


def test_process_limit_answers_429_at_once() -> None:
    config = {"providers": {"mock": {"options": {"delay": 0.3}}}, "routing": {"max_in_flight": 1}}
    with run_gateway(config) as url:
        thread = threading.Thread(target=lambda: httpx.post(
            url + "/v1/responses", json={"model": "mock", "input": "a b c", "stream": True}, timeout=10))
        thread.start()
        time.sleep(0.15)
        began = time.monotonic()
        refused = httpx.post(url + "/v1/responses", json={"model": "mock", "input": "x"}, timeout=10)
        elapsed = time.monotonic() - began
        thread.join()
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["code"] == "gateway_overloaded"
        assert elapsed < 0.25, "refused at once, not queued"
        assert httpx.post(url + "/v1/responses", json={"model": "mock", "input": "x"}).status_code == 200


# -- policy ordering, without HTTP -----------------------------------------------------------------------

class _Instance:
    def __init__(self, name: str) -> None:
        self.name = name


def _targets(*names: str) -> list[Target]:
    return [Target(_Instance(name), "m", 60, 60, 0) for name in names]  # type: ignore[arg-type]


def _request(**fields: Any):  # type: ignore[no-untyped-def]
    import json

    return decode_request(json.dumps({"model": "g", "input": "x", **fields}).encode())


def test_fallback_keeps_the_configured_order() -> None:
    targets = _targets("a", "b", "c")
    assert order_targets(Route(targets, "fallback"), _request(), {}, 0) == targets


def test_fastest_prefers_unmeasured_then_lowest_ewma() -> None:
    a, b, c = _targets("a", "b", "c")
    settings = RoutingSettings()
    health = {a.key: TargetHealth(settings), b.key: TargetHealth(settings)}
    health[a.key].succeeded(0.50)
    health[b.key].succeeded(0.10)
    assert order_targets(Route([a, b, c], "fastest"), _request(), health, 0) == [c, b, a]
    for _ in range(20):
        health[b.key].succeeded(2.0)  # b got slow: the EWMA follows
    assert order_targets(Route([a, b, c], "fastest"), _request(), health, 0) == [c, a, b]
    orders = {tuple(t.key for t in order_targets(Route([a, b, c], "fastest"), _request(), health, 1.0))
              for _ in range(50)}
    assert len(orders) > 1, "exploration shuffles the order now and then"


def test_cheapest_puts_unpriced_last() -> None:
    a, b, c = _targets("a", "b", "c")
    pricing = Pricing()
    a.unit_cost = pricing.unit_cost("mock", "a", "m", Price(10, 10))
    c.unit_cost = pricing.unit_cost("mock", "c", "m", Price(1, 1))
    assert pricing.unit_cost("mock", "b", "m") is None  # the built-in mock is free: no price at all
    assert order_targets(Route([a, b, c], "cheapest"), _request(), {}, 0) == [c, a, b]


def test_breaker_opens_after_repeated_failures_and_half_opens() -> None:
    state = TargetHealth(RoutingSettings(cooldown_failures=3, cooldown_seconds=10))
    for _ in range(2):
        state.failed(100.0)
    assert not state.cooling(100.0)
    state.failed(100.0)
    assert state.cooling(105.0) and not state.cooling(110.0)
    state.failed(110.0)  # the half-open trial failed: open again
    assert state.cooling(115.0)
    state.succeeded(0.1)
    assert not state.cooling(115.0)


def test_bound_provider_is_what_targets_hold() -> None:
    assert Target.__dataclass_fields__["instance"].type in ("BoundProvider", BoundProvider)


# -- request ids in logs, graceful shutdown ----------------------------------------------------------------

def test_request_id_is_in_every_log_line() -> None:
    with run_gateway_process("providers: {mock: {}}\nrouting: {max_retries: 0}") as gateway:
        httpx.post(gateway.url + "/v1/responses", json={"model": "mock", "input": "error:500"},
                   headers={"x-request-id": "rid-4242"})
        output = gateway.stop()
    lines = [line for line in output.splitlines() if "request failed" in line]
    assert lines and all("[rid-4242]" in line for line in lines), output


def test_sigterm_drains_an_in_flight_stream() -> None:
    config = "providers: {mock: {options: {delay: 0.1}}}\nserver: {shutdown_grace: 10}"
    words = " ".join(f"w{n}" for n in range(15))
    received: list[bytes] = []
    with run_gateway_process(config) as gateway:
        process, url = gateway.process, gateway.url
        with httpx.stream("POST", url + "/v1/responses", timeout=20,
                          json={"model": "mock", "input": words, "stream": True}) as response:
            chunks = response.iter_bytes()
            received.append(next(chunks))
            process.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            with pytest.raises(httpx.TransportError):
                httpx.post(url + "/v1/responses", json={"model": "mock", "input": "late"}, timeout=2)
            received.extend(chunks)
        body = b"".join(received).decode()
        assert body.endswith("data: [DONE]\n\n") and "response.completed" in body
        assert words in body, "the whole answer arrived"
        # uvicorn re-raises the signal once drained, so the exit status says "ended by SIGTERM"
        assert process.wait(timeout=10) in (0, -signal.SIGTERM)
