"""Keys never leave: upstream errors quoting the key (whole or masked) are redacted on every path, for every
provider: JSON errors, SSE and WebSocket error events, ``response.failed``, the stored record, the log."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import websockets.sync.client as ws_client

from gateway_core.testing import parse_sse

from .conftest import PROVIDERS, Hostile, assert_no_secret, providers_config


@pytest.fixture(scope="module")
def gateway(hostile: Hostile) -> Any:
    from gateway_core.testing import run_gateway

    with run_gateway(providers_config(hostile.url)) as url:
        yield url


@pytest.mark.parametrize("provider", PROVIDERS)
def test_stream_error_after_start_is_redacted_and_so_is_the_stored_record(gateway: str, provider: str,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    response = httpx.post(gateway + "/v1/responses", json={"model": f"{provider}/echo-key", "input": "hi",
                                                          "stream": True}, timeout=30)
    events, _ = parse_sse(response.content)
    assert [event["type"] for event in events[-2:]] == ["error", "response.failed"]
    assert "your credentials" in events[-2]["error"]["message"]  # the upstream's message is kept, redacted
    assert_no_secret(response.text)
    stored = httpx.get(f"{gateway}/v1/responses/{events[-1]['response']['id']}", timeout=10)
    assert stored.status_code == 200 and stored.json()["status"] == "failed"
    assert_no_secret(stored.text)
    assert_no_secret(caplog.text)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_websocket_error_after_start_is_redacted(gateway: str, provider: str) -> None:
    with ws_client.connect(gateway.replace("http", "ws", 1) + "/v1/responses") as socket:
        socket.send(json.dumps({"type": "response.create", "model": f"{provider}/echo-key", "input": "hi"}))
        received: list[str] = []
        while not received or json.loads(received[-1])["type"] not in ("response.failed", "response.completed"):
            received.append(str(socket.recv(timeout=30)))
    assert json.loads(received[-1])["type"] == "response.failed"
    assert_no_secret("\n".join(received))


@pytest.mark.parametrize("model", ["masked-401", "echo-key"])
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("stream", [False, True])
def test_json_errors_hide_whole_and_masked_keys(gateway: str, provider: str, model: str, stream: bool,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    response = httpx.post(gateway + "/v1/responses", json={"model": f"{provider}/{model}", "input": "hi",
                                                          "stream": stream}, timeout=30)
    if not (stream and model == "echo-key"):
        assert response.status_code >= 400
        assert response.json()["error"]["message"]
    assert "***" in response.text
    assert_no_secret(response.text)
    assert_no_secret(caplog.text)


def test_redactor_forms() -> None:
    from gateway_core.redact import Redactor, mask_url

    key = "sk-ant-api03-abcdefghijklmnop-QRST"
    redactor = Redactor.for_instance(key, {"Authorization": "Bearer tok-1234567890", "OpenAI-Beta": "x"})
    cases: dict[str, Callable[[str], bool]] = {
        f"bad key {key}": lambda out: key not in out,
        "Incorrect API key provided: sk-ant-a****************QRST.": lambda out: "QRST" not in out,
        "key sk-ant-...QRST revoked": lambda out: "QRST" not in out,
        "the key ending …QRST": lambda out: "QRST" not in out,
        "token tok-1234567890 refused": lambda out: "tok-1234567890" not in out,
        "QRST alone is just a word": lambda out: out == "QRST alone is just a word",
    }
    for text, holds in cases.items():
        assert holds(redactor.text(text)), text
    assert mask_url("https://user:pass@example.com/v1") == "https://***@example.com/v1"
    assert mask_url("https://token@example.com/v1") == "https://***@example.com/v1"
    assert mask_url("https://example.com/v1") == "https://example.com/v1"
