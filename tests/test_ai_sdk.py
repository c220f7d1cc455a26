"""The Vercel AI SDK (ai 6 + @ai-sdk/openai 3, Responses API) as a client of the gateway: text, streaming,
a second turn replayed as an ``item_reference`` (its default), a tool loop it executes itself, and a stream
with keepalive comments before its first event."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway_core.testing import run_gateway

from .npm_clients import npm_ci

JS = Path(__file__).parent / "js"


@pytest.fixture(scope="module")
def node() -> str:
    """``node``, with the AI SDK installed from tests/js/package-lock.json (npm ci) on first use."""
    return npm_ci(JS, JS / "node_modules" / "ai")


@pytest.fixture(scope="module")
def gateway() -> Iterator[str]:
    with run_gateway({}) as url:
        yield url


def test_ai_sdk_against_the_gateway(node: str, gateway: str) -> None:
    result = subprocess.run([node, str(JS / "ai_sdk_client.mjs"), gateway, "mock"], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["text"] == "hello ai sdk" and summary["usage"] > 0
    assert summary["streamed"] == "stream these words" and summary["deltas"] == 3
    assert summary["sentItemReference"], "the AI SDK replayed the assistant turn by reference"
    assert summary["history"] == "user:hello ai sdk | assistant:hello ai sdk | user:history?"
    assert summary["toolCalls"] == ["Paris"] and summary["afterTools"] == "tool said: sunny"


def test_ai_sdk_reads_a_stream_with_keepalive_comments(node: str) -> None:
    with run_gateway({"routing": {"keepalive_seconds": 1}}) as gateway:
        raw = httpx.post(gateway + "/v1/responses", json={"model": "mock", "input": "slow!", "stream": True},
                         timeout=30)
        assert raw.text.startswith(": keepalive\n\n"), "the mock waits 3 s before its first event"
        result = subprocess.run([node, str(JS / "ai_sdk_client.mjs"), gateway, "mock", "slow"], capture_output=True,
                                text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"streamed": "slow!", "finishReason": "stop", "errors": []}
