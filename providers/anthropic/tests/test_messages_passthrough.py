"""The gateway's ``/v1/messages`` in front of an Anthropic instance: the client's request goes upstream with
full fidelity (its fields, ``cache_control``, ``anthropic-beta`` / ``anthropic-version``), thinking signatures
come back byte-exact, and upstream errors are returned as they came."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway_anthropic.testing.fake_upstream import create_app
from gateway_core.testing import UpstreamRecorder, run_gateway, serve_asgi

HEADERS = {"anthropic-version": "2023-06-01", "anthropic-beta": "context-management-2025-06-27"}


@pytest.fixture(scope="module")
def setup() -> Iterator[tuple[httpx.Client, UpstreamRecorder]]:
    upstream = UpstreamRecorder(create_app())
    with serve_asgi(upstream) as upstream_url, run_gateway({"providers": {"anthropic": {
            "type": "anthropic", "api_key": "sk-ant-fidelity-0123456789", "base_url": upstream_url}}}) as url, \
            httpx.Client(base_url=url, timeout=30) as client:
        yield client, upstream


def test_the_body_and_headers_go_upstream_as_sent(setup: tuple[httpx.Client, UpstreamRecorder]) -> None:
    client, upstream = setup
    body = {
        "model": "claude-sonnet-4-5", "max_tokens": 300, "top_k": 7,
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "system", "content": "Answer in French."},
                     {"role": "user", "content": [{"type": "text", "text": "hello",
                                                   "cache_control": {"type": "ephemeral", "ttl": "5m"}}]}],
        "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]},
    }
    response = client.post("/v1/messages?beta=true", json=body, headers=HEADERS)
    assert response.status_code == 200, response.text
    sent, headers = upstream.requests[-1].json, upstream.requests[-1].headers
    assert headers["anthropic-beta"] == HEADERS["anthropic-beta"] and headers["anthropic-version"] == "2023-06-01"
    assert sent["top_k"] == 7 and sent["max_tokens"] == 300 and sent["context_management"] == body["context_management"]
    assert sent["system"] == [body["system"][0], {"type": "text", "text": "Answer in French."}]
    assert sent["messages"] == [body["messages"][1]], "cache_control kept; the system message moved to system"


def test_thinking_signatures_come_back_byte_exact(setup: tuple[httpx.Client, UpstreamRecorder]) -> None:
    client, upstream = setup
    first = client.post("/v1/messages", headers=HEADERS, json={
        "model": "claude-sonnet-4-5", "max_tokens": 4096, "thinking": {"type": "enabled", "budget_tokens": 2048},
        "messages": [{"role": "user", "content": "plan a trip"}]}).json()
    thinking = [block for block in first["content"] if block["type"] == "thinking"]
    assert thinking, first
    replay = {"model": "claude-sonnet-4-5", "max_tokens": 4096, "thinking": {"type": "enabled", "budget_tokens": 2048},
              "messages": [{"role": "user", "content": "plan a trip"},
                           {"role": "assistant", "content": first["content"]},
                           {"role": "user", "content": "and then?"}]}
    response = client.post("/v1/messages", headers=HEADERS, json=replay)
    assert response.status_code == 200, response.text
    sent_back = [block for block in upstream.requests[-1].json["messages"][1]["content"]
                 if block["type"] == "thinking"]
    assert sent_back and not sent_back[0]["signature"].startswith("orgw1."), "the original signature went back"


def test_upstream_errors_come_back_as_they_came(setup: tuple[httpx.Client, UpstreamRecorder]) -> None:
    client, _ = setup
    for prompt, status, message in (("error:400", 400, "fake upstream error 400"), ("error:529", 529, "Overloaded")):
        response = client.post("/v1/messages", headers=HEADERS, json={
            "model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": prompt}]})
        assert response.status_code == status
        body = response.json()
        assert body["error"]["message"] == message and body["request_id"], "the upstream's own body"
        assert "sk-ant-fidelity" not in response.text
