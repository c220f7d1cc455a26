"""Bad input on the dialect endpoints gets the dialect's error object with the right status, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway_core.testing import run_gateway


@pytest.fixture(scope="module")
def gateway() -> Iterator[httpx.Client]:
    with run_gateway({"server": {"max_body_bytes": 4096}}) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def chat_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    return error


def messages_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error" and set(body["error"]) == {"type", "message"} and body["error"]["message"]
    return body["error"]


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": user("x")}, "model"),
        ({"model": "mock", "messages": user("x"), "temperature": 3}, "temperature"),
        ({"model": "mock", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"model": "mock", "messages": [{"role": "user", "content": [
            {"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}]}]}, "messages[0].content[0]"),
        ({"model": "mock", "messages": user("x"), "functions": [{"name": "f"}]}, "functions"),
        ({"model": "mock", "messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
        ({"model": "mock", "messages": []}, "messages"),
        ({"model": "mock", "messages": "hello"}, "messages"),
    ],
)
def test_chat_bad_input(gateway: httpx.Client, body: dict[str, Any], param: str) -> None:
    error = chat_error(gateway.post("/v1/chat/completions", json=body), 400)
    assert error["param"] == param and error["type"] == "invalid_request_error"


def test_chat_transport_errors(gateway: httpx.Client) -> None:
    assert chat_error(gateway.post("/v1/chat/completions", content=b"{nope",
                                   headers={"content-type": "application/json"}), 400)["code"] == "invalid_json"
    chat_error(gateway.post("/v1/chat/completions", content=b"{}", headers={"content-type": "text/plain"}), 415)
    big = {"model": "mock", "messages": user("x" * 5000)}
    assert chat_error(gateway.post("/v1/chat/completions", json=big), 413)["code"] == "request_too_large"
    unknown = gateway.post("/v1/chat/completions", json={"model": "nobody-serves-this", "messages": user("x")})
    assert chat_error(unknown, 404)["code"] == "model_not_found"
    assert gateway.get("/v1/chat/completions").status_code == 405


@pytest.mark.parametrize(
    "body",
    [
        {"model": "mock", "max_tokens": 10, "messages": [{"role": "user", "content": [{"type": "hologram"}]}]},
        {"model": "mock", "max_tokens": 10, "messages": user("x"),
         "tools": [{"type": "web_search_20250305", "name": "web_search"}]},
        {"model": "mock", "max_tokens": 10, "messages": user("x"), "tool_choice": {"type": "tool"}},
        {"model": "mock", "max_tokens": 0, "messages": user("x")},
        {"model": "mock", "max_tokens": 10, "messages": [{"role": "system", "content": [
            {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}]}, *user("x")]},
    ],
)
def test_messages_bad_input(gateway: httpx.Client, body: dict[str, Any]) -> None:
    assert messages_error(gateway.post("/v1/messages", json=body), 400)["type"] == "invalid_request_error"


def test_messages_transport_errors(gateway: httpx.Client) -> None:
    messages_error(gateway.post("/v1/messages", content=b"[", headers={"content-type": "application/json"}), 400)
    messages_error(gateway.post("/v1/messages", content=b"{}", headers={"content-type": "text/plain"}), 415)
    big = {"model": "mock", "max_tokens": 10, "messages": user("x" * 5000)}
    assert messages_error(gateway.post("/v1/messages", json=big), 413)["type"] == "request_too_large"
    unknown = gateway.post("/v1/messages", json={"model": "nobody-serves-this", "max_tokens": 5, "messages": user("x")})
    assert messages_error(unknown, 404)["type"] == "not_found_error"


@pytest.mark.parametrize("model", ["mock\nforged log line", "mock\x00", "m" * 300])
def test_every_dialect_refuses_a_model_name_the_wire_types_would_refuse(gateway: httpx.Client, model: str) -> None:
    """A newline in a model name once reached a response header through the dialects (a dropped connection)."""
    error = chat_error(gateway.post("/v1/chat/completions", json={"model": model, "messages": user("hi")}), 400)
    assert error["param"] == "model"
    error = messages_error(gateway.post("/v1/messages", json={"model": model, "max_tokens": 5,
                                                              "messages": user("hi")}), 400)
    assert "model" in error["message"]
