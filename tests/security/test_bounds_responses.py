"""Upstream answers are bounded: an endless stream ends with ``response_too_large`` once the instance's
``max_response_bytes`` of output arrived, and a huge JSON body (declared or chunked) is refused with a 502,
for every provider, over SSE, WebSocket and JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
import websockets.sync.client as ws_client

from gateway_core.testing import parse_sse, run_gateway

from .conftest import LIMIT, PROVIDERS, Hostile, providers_config


@pytest.fixture(scope="module")
def gateway(hostile: Hostile) -> Iterator[str]:
    with run_gateway(providers_config(hostile.url, max_response_bytes=LIMIT)) as url:
        yield url


@pytest.mark.parametrize("provider", PROVIDERS)
def test_endless_stream_ends_with_response_too_large(gateway: str, provider: str) -> None:
    response = httpx.post(gateway + "/v1/responses", json={"model": f"{provider}/endless", "input": "hi",
                                                          "stream": True}, timeout=60)
    events, done = parse_sse(response.content)
    assert done and [event["type"] for event in events[-2:]] == ["error", "response.failed"]
    assert events[-1]["response"]["error"]["code"] == "response_too_large"
    text = "".join(event["delta"] for event in events if event["type"] == "response.output_text.delta")
    assert 0 < len(text) <= LIMIT
    stored = httpx.get(f"{gateway}/v1/responses/{events[-1]['response']['id']}", timeout=10).json()
    assert stored["status"] == "failed" and len(json.dumps(stored)) < 2 * LIMIT


@pytest.mark.parametrize("provider", PROVIDERS)
def test_endless_stream_on_a_websocket(gateway: str, provider: str) -> None:
    with ws_client.connect(gateway.replace("http", "ws", 1) + "/v1/responses", max_size=None) as socket:
        socket.send(json.dumps({"type": "response.create", "model": f"{provider}/endless", "input": "hi"}))
        while True:
            event = json.loads(socket.recv(timeout=60))
            if event["type"] in ("response.failed", "response.completed"):
                break
    assert event["type"] == "response.failed" and event["response"]["error"]["code"] == "response_too_large"


@pytest.mark.parametrize("model", ["huge", "huge-chunked"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_huge_json_body_is_a_502(gateway: str, provider: str, model: str) -> None:
    response = httpx.post(gateway + "/v1/responses", json={"model": f"{provider}/{model}", "input": "hi"},
                          timeout=60)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "response_too_large"


def test_an_answer_under_the_limit_still_passes(hostile: Hostile) -> None:
    with run_gateway(providers_config(hostile.url, max_response_bytes=8 * LIMIT)) as url:
        response = httpx.post(url + "/v1/responses", json={"model": "openai/huge", "input": "hi"}, timeout=60)
    assert response.status_code == 200
    assert len(response.json()["output"][0]["content"][0]["text"]) == 4 * LIMIT
