"""Retries, fallback, cooldown, timeouts and cancellation against fault-injecting upstreams, over real HTTP.

The targets are instances of the real openai plugin (Chat Completions mode) pointed at scriptable fake
upstreams (``fault_upstream``); each test asserts which upstreams were called, how often, in what order,
and what the client received.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from gateway_core.testing import default_validator, parse_sse, run_gateway, serve_asgi

from .fakes import fake_upstream
from .fault_upstream import create_app

VALIDATOR = default_validator()
FAST_ROUTING = {"backoff_initial": 0.01, "backoff_max": 0.05, "max_retries": 2, "cooldown_failures": 100}


class Upstreams:
    """Two fault-injecting upstreams, A and B, and a gateway with a fallback group over them."""

    def __init__(self, stack: ExitStack, routing: dict[str, Any], group: dict[str, Any] | None = None,
                 a_url: str | None = None) -> None:
        self.a, self.b = create_app("A"), create_app("B")
        urls = {"a": a_url or stack.enter_context(serve_asgi(self.a)), "b": stack.enter_context(serve_asgi(self.b))}
        providers = {
            name: {"type": "openai", "api_key": "sk-fault-test-key-0001", "base_url": url + "/v1", "timeout": 5,
                   "options": {"mode": "chat_completions"}}
            for name, url in urls.items()
        }
        group = group or {"policy": "fallback", "targets": [{"model": "a/model-a"}, {"model": "b/model-b"}]}
        config = {"providers": providers, "aliases": {"group": group}, "routing": {**FAST_ROUTING, **routing}}
        self.url = stack.enter_context(run_gateway(config))

    def post(self, **body: Any) -> httpx.Response:
        return httpx.post(self.url + "/v1/responses", json={"model": "group", "input": "hi", **body}, timeout=30)

    def calls(self) -> tuple[int, int]:
        return len(self.a.state.calls), len(self.b.state.calls)


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def text_of(response: httpx.Response) -> str:
    return response.json()["output"][0]["content"][0]["text"]


def test_429_honours_retry_after_then_succeeds_on_the_same_target(stack: ExitStack) -> None:
    up = Upstreams(stack, {})
    up.a.state.script.append(("status", 429, {"retry-after": "1"}))
    began = time.monotonic()
    response = up.post()
    elapsed = time.monotonic() - began
    assert response.status_code == 200 and text_of(response) == "from A"
    assert up.calls() == (2, 0)
    assert 0.9 <= elapsed < 3, "waited for Retry-After, then retried"
    assert response.headers["x-gateway-provider"] == "a"


def test_retryable_errors_exhaust_retries_then_fall_back_in_order(stack: ExitStack) -> None:
    up = Upstreams(stack, {})
    up.a.state.script.extend([("status", 500), ("status", 529), ("status", 503)])
    response = up.post()
    assert response.status_code == 200 and text_of(response) == "from B"
    assert up.calls() == (3, 1), "1 try + 2 retries on A, then B"
    assert response.json()["metadata"] == {"gateway_provider": "b", "gateway_model": "model-b"}


@pytest.mark.parametrize(("status", "client_status"), [(400, 400), (401, 500), (403, 500), (404, 404)])
def test_non_retryable_errors_return_at_once(stack: ExitStack, status: int, client_status: int) -> None:
    up = Upstreams(stack, {})
    up.a.state.script.append(("status", status))
    response = up.post()
    assert response.status_code == client_status
    VALIDATOR.validate_error(response.json())
    assert up.calls() == (1, 0), "no retry, no fallback"
    assert "sk-fault-test-key-0001" not in response.text


def test_last_error_is_returned_when_every_target_fails(stack: ExitStack) -> None:
    up = Upstreams(stack, {"max_retries": 0})
    up.a.state.script.append(("status", 500))
    up.b.state.script.append(("status", 429, {"retry-after": "7"}))
    response = up.post()
    assert response.status_code == 429 and response.headers["retry-after"] == "7"
    assert up.calls() == (1, 1)


def test_timeout_is_retried_then_falls_back(stack: ExitStack) -> None:
    group = {"policy": "fallback", "targets": [{"model": "a/model-a", "timeout": 0.3, "max_retries": 1},
                                               {"model": "b/model-b"}]}
    up = Upstreams(stack, {}, group)
    up.a.state.script.extend([("sleep", 2), ("sleep", 2)])
    began = time.monotonic()
    response = up.post()
    assert response.status_code == 200 and text_of(response) == "from B"
    assert up.calls() == (2, 1) and time.monotonic() - began < 1.5


def test_slow_first_byte_of_a_stream_falls_back_before_any_event(stack: ExitStack) -> None:
    group = {"policy": "fallback", "targets": [{"model": "a/model-a", "first_byte_timeout": 0.3, "max_retries": 0},
                                               {"model": "b/model-b"}]}
    up = Upstreams(stack, {}, group)
    up.a.state.script.append(("slow_headers", 2))
    response = up.post(stream=True)
    events, done = parse_sse(response.content)
    terminal = VALIDATOR.check_stream(events, done)
    assert terminal["status"] == "completed" and "from B" in response.text
    assert up.calls() == (1, 1)


def test_stream_cut_after_first_event_fails_without_fallback(stack: ExitStack) -> None:
    up = Upstreams(stack, {})
    up.a.state.script.append(("cut",))
    response = up.post(stream=True)
    events, done = parse_sse(response.content)
    VALIDATOR.check_stream(events, done)
    assert [event["type"] for event in events[-2:]] == ["error", "response.failed"]
    assert events[-2]["error"]["code"] == "upstream_stream_interrupted"
    assert up.calls() == (1, 0), "once events reached the client, no retry and no fallback"


def test_refused_connection_falls_back(stack: ExitStack) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}"
    up = Upstreams(stack, {"max_retries": 1}, a_url=dead)
    response = up.post()
    assert response.status_code == 200 and text_of(response) == "from B"


def test_cooldown_takes_a_failing_target_out_then_tries_it_again(stack: ExitStack) -> None:
    up = Upstreams(stack, {"max_retries": 0, "cooldown_failures": 2, "cooldown_seconds": 0.5})
    up.a.state.script.extend([("status", 500), ("status", 500)])
    for _ in range(2):
        assert text_of(up.post()) == "from B"
    assert up.calls() == (2, 2)
    assert text_of(up.post()) == "from B"
    assert up.calls() == (2, 3), "A is cooling down: not called"
    time.sleep(0.6)
    assert text_of(up.post()) == "from A", "after the cooldown A is tried again (and healed)"
    assert up.calls() == (3, 3)


def test_request_deadline_bounds_retries(stack: ExitStack) -> None:
    group = {"policy": "fallback", "targets": [{"model": "a/model-a", "max_retries": 50}]}
    up = Upstreams(stack, {"deadline": 0.5, "backoff_initial": 0.1, "backoff_max": 0.1}, group)
    up.a.state.script.extend([("status", 500)] * 50)
    began = time.monotonic()
    response = up.post()
    assert response.status_code == 500 and time.monotonic() - began < 1.2
    assert 2 <= up.calls()[0] < 10


def test_client_disconnect_closes_the_upstream_stream(stack: ExitStack) -> None:
    up = Upstreams(stack, {})
    up.a.state.script.append(("trickle", 0.1, 100))
    with httpx.stream("POST", up.url + "/v1/responses", timeout=10,
                      json={"model": "group", "input": "hi", "stream": True}) as response:
        chunks = response.iter_bytes()
        next(chunks)
    assert up.a.state.closed.wait(3), "the upstream saw the client leave"
    assert not up.a.state.finished, "generation stopped long before its 10 s end"


def test_fastest_policy_learns_which_target_is_faster(stack: ExitStack) -> None:
    group = {"policy": "fastest", "targets": [{"model": "a/model-a"}, {"model": "b/model-b"}]}
    up = Upstreams(stack, {"explore": 0.0}, group)
    up.a.state.script.extend([("sleep", 0.15)] * 30)
    for _ in range(2):
        up.post()
    providers = [up.post().headers["x-gateway-provider"] for _ in range(10)]
    assert providers == ["b"] * 10, providers


def test_cheapest_orders_by_the_price_table_when_no_price_is_configured(stack: ExitStack) -> None:
    """Three real plugins in front of their fake upstreams, no price in the config: ``cheapest`` goes to the
    model the bundled genai-prices table prices lowest (gemini-2.5-flash, under gpt-4o and claude-sonnet-4-5);
    a ``prices`` entry over the table changes the order."""
    providers = {}
    for kind, path in (("openai", "/v1"), ("anthropic", ""), ("google", "")):
        url = stack.enter_context(serve_asgi(fake_upstream(kind).create_app()))
        providers[kind] = {"type": kind, "api_key": f"sk-{kind}-upstream-key-0123456789", "base_url": url + path}
    group = {"policy": "cheapest", "targets": [{"model": "openai/gpt-4o"}, {"model": "anthropic/claude-sonnet-4-5"},
                                               {"model": "google/gemini-2.5-flash"}]}
    for prices, expected in (({}, "google"), ({"anthropic/claude-sonnet-4-5": {"input": 0.01, "output": 0.01}},
                                              "anthropic")):
        with run_gateway({"providers": providers, "aliases": {"cheap": group}, "prices": prices}) as url:
            answer = httpx.post(url + "/v1/responses", json={"model": "cheap", "input": "say:hello"}, timeout=30)
            assert answer.status_code == 200, answer.text
            assert answer.headers["x-gateway-provider"] == expected
            assert float(answer.headers["x-gateway-cost-usd"]) > 0  # priced by the same table
