"""Several instances of the plugin side by side, routed by ``instance/model``; client settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from .conftest import instance


def test_two_instances(upstream: tuple[Any, str], start_gateway: Callable[[dict[str, Any]], str]) -> None:
    app, base = upstream
    url = start_gateway({"providers": {
        "openai": instance(base, "responses", options={"organization": "org-1", "project": "proj-1"},
                           headers={"x-team": "blue"}),
        "groq": {"type": "openai", "api_key": "gsk-groq-key-123456", "base_url": base,
                 "options": {"mode": "chat_completions"}},
    }})
    first = httpx.post(url + "/v1/responses", json={"model": "openai/gpt-4o", "input": "hi"})
    assert first.status_code == 200 and first.json()["model"] == "openai/gpt-4o"
    path, body, headers = app.requests[-1].path, app.requests[-1].json, app.requests[-1].headers
    assert path == "/v1/responses" and body["model"] == "gpt-4o"
    assert headers["openai-organization"] == "org-1" and headers["openai-project"] == "proj-1"
    assert headers["x-team"] == "blue" and headers["authorization"].startswith("Bearer sk-test")

    second = httpx.post(url + "/v1/responses", json={"model": "groq/llama-3.1-8b-instant", "input": "hi"})
    assert second.status_code == 200 and second.headers["x-gateway-provider"] == "groq"
    path, body, headers = app.requests[-1].path, app.requests[-1].json, app.requests[-1].headers
    assert path == "/v1/chat/completions" and body["model"] == "llama-3.1-8b-instant"
    assert headers["authorization"] == "Bearer gsk-groq-key-123456"
    assert "openai-organization" not in headers and "x-team" not in headers


def test_keyless_instance(upstream: tuple[Any, str], start_gateway: Callable[[dict[str, Any]], str],
                          monkeypatch: Any) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # the core would fill it in (see README)
    app, base = upstream
    url = start_gateway({"providers": {"ollama": {"type": "openai", "base_url": base,
                                                  "options": {"mode": "chat_completions"}}}})
    response = httpx.post(url + "/v1/responses", json={"model": "ollama/llama3.2", "input": "hi"})
    assert response.status_code == 200
    assert "authorization" not in app.requests[-1].headers


def test_missing_tool_call_ids(start_gateway: Callable[[dict[str, Any]], str]) -> None:
    from gateway_core.testing import serve_asgi
    from gateway_openai.testing.fake_upstream import create_app

    with serve_asgi(create_app(tool_ids=False)) as base:
        url = start_gateway({"providers": {"openai": instance(base + "/v1", "chat_completions")}})
        tool = {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}
        for stream in (False, True):
            response = httpx.post(url + "/v1/responses", json={"model": "gpt-4o", "input": "Rome", "tools": [tool],
                                                                "stream": stream})
            assert response.status_code == 200
            assert '"call_id":"call_gw' in response.text
