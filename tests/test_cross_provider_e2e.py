"""A stored conversation that moves between providers: each provider's round-trip data (Anthropic thinking
signatures, Gemini thought signatures) goes back only to the provider that made it, and is dropped cleanly,
never sent, when the conversation moves elsewhere (the fake upstreams reject foreign or altered signatures,
as the real APIs do)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from gateway_anthropic.testing import fake_upstream as anthropic_fake
from gateway_core.testing import UpstreamRecorder, run_gateway, serve_asgi
from gateway_google.testing import fake_upstream as google_fake


@pytest.fixture(scope="module")
def setup() -> Iterator[tuple[str, Any, Any]]:
    claude, gemini = UpstreamRecorder(anthropic_fake.create_app()), UpstreamRecorder(google_fake.create_app())
    with ExitStack() as stack:
        claude_url = stack.enter_context(serve_asgi(claude))
        gemini_url = stack.enter_context(serve_asgi(gemini))
        config = {"providers": {
            "anthropic": {"api_key": "sk-ant-test-000000", "base_url": claude_url},
            "google": {"api_key": "gm-test-0000000000", "base_url": gemini_url},
        }}
        yield stack.enter_context(run_gateway(config)), claude, gemini


def post(url: str, **body: Any) -> dict[str, Any]:
    response = httpx.post(url + "/v1/responses", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_signatures_go_home_and_nowhere_else(setup: tuple[str, Any, Any]) -> None:
    url, claude, gemini = setup
    first = post(url, model="claude-sonnet-4-5", input="plan a trip", reasoning={"effort": "low"})
    reasoning = [item for item in first["output"] if item["type"] == "reasoning"]
    assert reasoning and reasoning[0]["encrypted_content"].startswith("orgw1.")

    moved = post(url, model="gemini-2.5-flash", input="history?", previous_response_id=first["id"])
    body = gemini.requests[-1].json
    assert "orgw1" not in str(body) and "signature" not in str(body).lower(), "no Anthropic data reached Gemini"
    assert "Thinking about" not in str(body)
    assert moved["output"][-1]["type"] == "message"

    back = post(url, model="claude-sonnet-4-5", input="and now?", previous_response_id=moved["id"],
                reasoning={"effort": "low"})
    assert back["status"] == "completed", "the original thinking block went back to Anthropic unaltered"
    messages = claude.requests[-1].json["messages"]
    thinking = [block for message in messages if isinstance(message["content"], list)
                for block in message["content"] if block.get("type") == "thinking"]
    assert thinking and thinking[0]["thinking"] == "Thinking about: plan a trip"
