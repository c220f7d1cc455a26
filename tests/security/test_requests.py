"""Items 2 and 3 of issue 14: one body reader for every POST (size, content type, deadline, decoding) and
request limits, each a 400/408/413 error object naming the parameter, never a 500 or a traceback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway_core.testing import run_gateway

from .rawhttp import exchange, post_head, status_of

LIMITS = {"max_body_bytes": 64 * 1024, "body_timeout": 0.5, "max_input_items": 8, "max_tools": 2}


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with run_gateway({"server": LIMITS}) as base:
        yield base


def post(url: str, body: bytes | dict[str, Any], path: str = "/v1/responses") -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(url + path, content=content, headers={"content-type": "application/json"}, timeout=10)


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error: dict[str, Any] = response.json()["error"]
    return error


@pytest.mark.parametrize("path", ["/v1/responses", "/v1/responses/compact"])
def test_deeply_nested_json_is_a_400(url: str, path: str) -> None:
    deep = b'{"model":"mock","input":"hi","metadata":' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    assert error_of(post(url, deep, path), 400)["code"] == "invalid_json"


@pytest.mark.parametrize("field", ["temperature", "max_output_tokens"])
def test_number_out_of_range_is_a_400(url: str, field: str) -> None:
    body = b'{"model":"mock","input":"hi","' + field.encode() + b'":1e400}'
    assert error_of(post(url, body), 400)["code"] == "invalid_json"


@pytest.mark.parametrize("path", ["/v1/responses", "/v1/responses/compact"])
def test_body_over_the_limit_is_a_413_on_every_post(url: str, path: str) -> None:
    body = {"model": "mock", "input": "x" * (LIMITS["max_body_bytes"] + 1)}
    assert error_of(post(url, body, path), 413)["code"] == "request_too_large"


@pytest.mark.parametrize("path", ["/v1/responses", "/v1/responses/compact"])
def test_body_that_does_not_arrive_in_time_is_a_408(url: str, path: str) -> None:
    answer = asyncio.run(exchange(url, post_head(path, "localhost", 1000), b'{"model":', timeout=5))
    assert status_of(answer) == 408 and b"request_timeout" in answer


@pytest.mark.parametrize("field", ["model", "provider"])
@pytest.mark.parametrize("value", ["mock\x00", "mock\nforged", "mock\x85", "m" * 257])
def test_names_with_control_characters_or_too_long_are_refused(url: str, field: str, value: str) -> None:
    body = {"model": "mock", "input": "hi", field: value}
    assert error_of(post(url, body), 400)["param"] == field


def test_a_nul_model_on_a_stream_is_refused_before_any_upstream_call(url: str) -> None:
    for _ in range(3):
        assert error_of(post(url, {"model": "mock\x00", "input": "hi", "stream": True}), 400)["param"] == "model"
    assert post(url, {"model": "mock", "input": "hi", "stream": True}).status_code == 200


@pytest.mark.parametrize("metadata", [
    {f"k{index}": "v" for index in range(17)},
    {"k" * 65: "v"},
    {"k": "v" * 513},
])
def test_metadata_limits(url: str, metadata: dict[str, str]) -> None:
    error = error_of(post(url, {"model": "mock", "input": "hi", "metadata": metadata}), 400)
    assert error["param"].startswith("metadata")  # "metadata" or "metadata[...]" (a key or a value)


def test_metadata_at_the_limits_is_accepted(url: str) -> None:
    metadata = {f"{index:02d}" + "k" * 62: "v" * 512 for index in range(16)}
    assert post(url, {"model": "mock", "input": "hi", "metadata": metadata}).status_code == 200


def test_input_item_cap(url: str) -> None:
    items = [{"role": "user", "content": "hi"}] * (LIMITS["max_input_items"] + 1)
    error = error_of(post(url, {"model": "mock", "input": items}), 400)
    assert error["param"] == "input" and error["code"] == "too_many_items"


def test_tool_cap(url: str) -> None:
    tools = [{"type": "function", "name": f"t{index}"} for index in range(LIMITS["max_tools"] + 1)]
    assert error_of(post(url, {"model": "mock", "input": "hi", "tools": tools}), 400)["param"] == "tools"


@pytest.mark.parametrize("field", ["max_output_tokens", "max_tool_calls"])
def test_integers_beyond_32_bits_are_refused(url: str, field: str) -> None:
    body = {"model": "mock", "input": "hi", field: 9_200_000_000_000_000_000}
    assert error_of(post(url, body), 400)["param"] == field


def test_websocket_messages_go_through_the_same_checks(url: str) -> None:
    from websockets.sync.client import connect

    with connect(url.replace("http", "ws") + "/v1/responses") as socket:
        socket.send('{"type":"response.create","model":"mock","input":"hi","metadata":'
                    + "[" * 10_000 + "]" * 10_000 + "}")
        first = json.loads(socket.recv(timeout=10))
        assert first["type"] == "error" and first["error"]["code"] == "invalid_json"
        socket.send(json.dumps({"type": "response.create", "model": "mock\x00", "input": "hi"}))
        second = json.loads(socket.recv(timeout=10))
        assert second["type"] == "error" and second["error"]["param"] == "model"
