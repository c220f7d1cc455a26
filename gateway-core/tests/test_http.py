"""The HTTP surface over a real socket: bad input gets an error object with the right status, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway_core.testing import output_text, run_gateway


@pytest.fixture(scope="module")
def gateway() -> Iterator[httpx.Client]:
    config = {"server": {"max_body_bytes": 4096}, "aliases": {"fast": "mock/echo-small"}}
    with run_gateway(config) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client


def expect_error(response: httpx.Response, status: int, openresponses: Any, **fields: Any) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert "Traceback" not in response.text
    body = response.json()
    openresponses.validate_error(body)
    for key, value in fields.items():
        assert body["error"][key] == value, body
    return body["error"]


def test_text_and_headers(gateway: httpx.Client, openresponses: Any) -> None:
    response = gateway.post("/v1/responses", json={"model": "fast", "input": "hi"}, headers={"x-request-id": "abc-1"})
    assert response.status_code == 200
    body = response.json()
    openresponses.validate_response(body)
    assert output_text(body) == "hi" and body["model"] == "fast"
    assert response.headers["x-request-id"] == "abc-1"
    assert response.headers["x-gateway-provider"] == "mock"
    assert response.headers["x-gateway-model"] == "echo-small"


def test_request_id_is_generated(gateway: httpx.Client) -> None:
    response = gateway.post("/v1/responses", json={"model": "mock", "input": "hi"})
    assert len(response.headers["x-request-id"]) == 24


def test_invalid_json(gateway: httpx.Client, openresponses: Any) -> None:
    response = gateway.post("/v1/responses", content=b'{"model": "mock", "input": ',
                            headers={"content-type": "application/json"})
    expect_error(response, 400, openresponses, type="invalid_request", code="invalid_json")


def test_body_not_an_object(gateway: httpx.Client, openresponses: Any) -> None:
    response = gateway.post("/v1/responses", json=[1, 2], headers={"content-type": "application/json"})
    expect_error(response, 400, openresponses, type="invalid_request")


def test_wrong_content_type(gateway: httpx.Client, openresponses: Any) -> None:
    response = gateway.post("/v1/responses", content=b"model=mock", headers={"content-type": "text/plain"})
    expect_error(response, 415, openresponses, type="invalid_request", code="unsupported_media_type")


def test_form_content_type_is_refused_even_with_a_json_body(gateway: httpx.Client, openresponses: Any) -> None:
    # a web page may send form-encoded bodies cross-origin without a preflight: refused
    response = gateway.post("/v1/responses", content=b'{"model":"mock","input":"hi"}',
                            headers={"content-type": "application/x-www-form-urlencoded"})
    expect_error(response, 415, openresponses, type="invalid_request", code="unsupported_media_type")


def test_missing_model(gateway: httpx.Client, openresponses: Any) -> None:
    response = gateway.post("/v1/responses", json={"input": "hi"})
    expect_error(response, 400, openresponses, type="invalid_request", param="model")


def test_unknown_model_says_how_to_fix_it(gateway: httpx.Client, openresponses: Any) -> None:
    response = gateway.post("/v1/responses", json={"model": "llama-9", "input": "hi"})
    error = expect_error(response, 404, openresponses, type="not_found", code="model_not_found", param="model")
    assert "provider/model" in error["message"] and "mock" not in error["message"]  # no instance names


def test_known_family_without_plugin_or_key(gateway: httpx.Client, openresponses: Any) -> None:
    response = gateway.post("/v1/responses", json={"model": "claude-sonnet-4-5", "input": "hi"})
    error = expect_error(response, 404, openresponses, code="model_not_found")
    assert "anthropic" in error["message"]
    assert "ANTHROPIC_API_KEY" in error["message"] or "gateway-anthropic" in error["message"]


def test_unknown_provider(gateway: httpx.Client, openresponses: Any) -> None:
    response = gateway.post("/v1/responses", json={"model": "x", "provider": "nope", "input": "hi"})
    expect_error(response, 404, openresponses, code="model_not_found", param="provider")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "mock", "input": 5}, "input"),
        ({"model": "mock", "input": [{"role": "user", "content": 3}]}, "input[0].content"),
        ({"model": "mock", "input": "hi", "temperature": "hot"}, "temperature"),
        ({"model": "mock", "input": "hi", "temperature": 7}, "temperature"),
        ({"model": "mock", "input": "hi", "tools": [{"type": "teleport"}]}, "tools[0].type"),
        ({"model": "mock", "input": "hi", "stream": "yes"}, "stream"),
        ({"model": 12, "input": "hi"}, "model"),
        ({"model": "mock", "input": [{"type": "message", "role": "robot", "content": "x"}]}, "input[0].role"),
        ({"model": "mock", "input": [{"type": "function_call_output", "output": "x"}]}, "input[0]"),
        ({"model": "mock", "input": [{"role": "system", "content": [
            {"type": "input_image", "image_url": "https://x/y.png"}]}]}, "input[0].content[0]"),
    ],
)
def test_wrong_field_types_name_the_param(gateway: httpx.Client, openresponses: Any, body: dict, param: str) -> None:
    error = expect_error(gateway.post("/v1/responses", json=body), 400, openresponses, type="invalid_request")
    assert error["param"] == param, error


def test_a_refusal_names_every_offending_parameter(gateway: httpx.Client, openresponses: Any) -> None:
    body = {"model": "mock", "input": [{"role": "user", "content": "hi"}, {"role": "robot", "content": "x"}],
            "temperature": "hot", "tools": [{"type": "function", "name": "f"}, {"type": "teleport"}]}
    error = expect_error(gateway.post("/v1/responses", json=body), 400, openresponses, type="invalid_request")
    assert error["param"] == "input[1].role", "the first offending parameter, in body order"
    for param in ("input[1].role", "temperature", "tools[1].type"):
        assert f"'{param}'" in error["message"], error["message"]
    assert error["message"].startswith("3 invalid parameters")


def test_oversize_body(gateway: httpx.Client, openresponses: Any) -> None:
    response = gateway.post("/v1/responses", json={"model": "mock", "input": "x" * 5000})
    expect_error(response, 413, openresponses, code="request_too_large")


def test_oversize_chunked_body(gateway: httpx.Client, openresponses: Any) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"model": "mock", "input": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    response = gateway.post("/v1/responses", content=chunks(), headers={"content-type": "application/json"})
    expect_error(response, 413, openresponses, code="request_too_large")


@pytest.mark.parametrize("empty", ["", [], None])
def test_empty_input(gateway: httpx.Client, openresponses: Any, empty: Any) -> None:
    response = gateway.post("/v1/responses", json={"model": "mock", "input": empty})
    expect_error(response, 400, openresponses, type="invalid_request", param="input")


def test_previous_response_id_without_store(gateway: httpx.Client, openresponses: Any) -> None:
    response = gateway.post("/v1/responses", json={"model": "mock", "input": "hi", "previous_response_id": "resp_1"})
    expect_error(response, 404, openresponses, code="previous_response_not_found", param="previous_response_id")


def test_item_reference_is_never_dropped(gateway: httpx.Client, openresponses: Any) -> None:
    body = {"model": "mock", "input": [{"role": "user", "content": "a"}, {"id": "msg_123"}]}
    expect_error(gateway.post("/v1/responses", json=body), 400, openresponses, param="input[1].id")


def test_background_is_refused(gateway: httpx.Client, openresponses: Any) -> None:
    response = gateway.post("/v1/responses", json={"model": "mock", "input": "hi", "background": True})
    expect_error(response, 400, openresponses, param="background")


def test_untyped_items_are_accepted(gateway: httpx.Client) -> None:
    body = {"model": "mock",
            "input": [{"role": "developer", "content": "rule"}, {"role": "user", "content": "system?"}]}
    response = gateway.post("/v1/responses", json=body)
    assert output_text(response.json()) == "rule"


def test_unknown_route_and_method(gateway: httpx.Client, openresponses: Any) -> None:
    expect_error(gateway.get("/v1/nothing"), 404, openresponses, type="not_found")
    expect_error(gateway.get("/v1/responses"), 405, openresponses, type="invalid_request")


def test_probes_and_models(gateway: httpx.Client) -> None:
    assert gateway.get("/healthz").json() == {"status": "ok"}
    ready = gateway.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}  # no instance names
    models = gateway.get("/v1/models").json()
    assert models["object"] == "list"
    assert {"id": "fast", "object": "model", "created": 0, "owned_by": "alias"} in models["data"]


def test_startup_heap_is_frozen_before_serving() -> None:
    """Objects alive once the server started (SDK modules and types) are exempt from the cyclic collector,
    whose full passes over them paused every request for ~180 ms at a time; young collections wait for
    10,000 net new objects, not 700."""
    import gc

    before = gc.get_freeze_count()
    alive_before_start = [[] for _ in range(1000)]  # containers, which the collector tracks
    with run_gateway() as url:
        assert httpx.get(f"{url}/readyz").status_code == 200
        assert gc.get_freeze_count() >= before + len(alive_before_start)
        assert gc.get_threshold()[0] == 10_000


def test_a_finished_stream_leaves_no_garbage_cycle(gateway: httpx.Client) -> None:
    """Each stream's objects are freed by reference counting when it ends: a cycle per stream (the builder's
    settle callback holding the run that holds the builder) made the cyclic GC run every few streams."""
    import gc

    from gateway_core.stream import ResponseBuilder

    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds unreachable stays in gc.garbage to be looked at
    try:
        for _ in range(3):
            with gateway.stream("POST", "/v1/responses", json={"model": "mock", "input": "hi", "stream": True}) as r:
                assert r.status_code == 200 and b"response.completed" in r.read()
        gc.collect()
        leaked = [thing for thing in gc.garbage if isinstance(thing, ResponseBuilder)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert leaked == []
