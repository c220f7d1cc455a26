"""Answers, finish reasons and errors end to end (fake upstream -> SDK -> gateway)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway_core.testing import free_port, parse_sse, run_gateway


def post(http: httpx.Client, prompt: str, **extra: Any) -> httpx.Response:
    return http.post("/v1/responses", json={"model": "gemini-2.5-flash", "input": prompt, **extra})


def test_block_reason_is_content_filter(http: httpx.Client, openresponses: Any) -> None:
    body = post(http, "block!").json()
    openresponses.validate_response(body)
    assert body["status"] == "incomplete" and body["incomplete_details"] == {"reason": "content_filter"}
    assert body["output"] == []


def test_safety_finish(http: httpx.Client, openresponses: Any) -> None:
    body = post(http, "safety!").json()
    openresponses.validate_response(body)
    assert body["status"] == "incomplete" and body["incomplete_details"] == {"reason": "content_filter"}


@pytest.mark.parametrize("stream", [False, True])
def test_malformed_function_call_fails(http: httpx.Client, openresponses: Any, stream: bool) -> None:
    response = post(http, "malformed!", stream=stream)
    if stream:
        events, done = parse_sse(response.content)
        body = openresponses.check_stream(events, done)
    else:
        body = response.json()
    openresponses.validate_response(body)
    assert body["status"] == "failed" and body["error"]["code"] == "malformed_function_call"


def test_stream_length(http: httpx.Client, openresponses: Any) -> None:
    events, done = parse_sse(post(http, "length!", stream=True).content)
    body = openresponses.check_stream(events, done)
    assert body["status"] == "incomplete" and body["incomplete_details"] == {"reason": "max_output_tokens"}


def test_stream_thoughts(http: httpx.Client, openresponses: Any) -> None:
    events, done = parse_sse(post(http, "think!", stream=True).content)
    body = openresponses.check_stream(events, done)
    assert [item["type"] for item in body["output"]] == ["reasoning", "message", "reasoning"]
    assert body["output"][2]["encrypted_content"].startswith("orgw1.")


def test_error_mid_stream(http: httpx.Client, openresponses: Any) -> None:
    events, done = parse_sse(post(http, "stream-error!", stream=True).content)
    body = openresponses.check_stream(events, done)
    assert [event["type"] for event in events[-2:]] == ["error", "response.failed"]
    assert events[-2]["error"]["code"] == "upstream_unavailable"
    assert body["status"] == "failed"


def test_retry_after_and_status(http: httpx.Client) -> None:
    response = post(http, "error:429")
    assert response.status_code == 429 and response.headers["retry-after"] == "1"


def test_timeout(http: httpx.Client) -> None:
    response = post(http, "slow!")
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "upstream_timeout"


def test_connection_refused() -> None:
    config = {"providers": {"google": {"type": "google", "api_key": "k-123456",
                                       "base_url": f"http://127.0.0.1:{free_port()}"}}}
    with run_gateway(config) as url:
        for stream in (False, True):
            response = httpx.post(url + "/v1/responses", timeout=10,
                                  json={"model": "gemini-2.5-flash", "input": "hi", "stream": stream})
            assert response.status_code == 500
            assert response.json()["error"]["code"] == "upstream_connection_error"
