"""Through the running gateway: the EXACT upstream request per translation rule, and the response mapping
(thinking round trip, usage, block splits, 529). Refusals, stream errors, timeouts and refused connections
are in the conformance kit."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway_anthropic.testing.fake_upstream import create_app, signature_of
from gateway_core.envelope import open_envelope
from gateway_core.testing import (
    RecordedRequest,
    UpstreamRecorder,
    Validator,
    output_text,
    parse_sse,
    run_gateway,
    serve_asgi,
)

MODEL = "claude-sonnet-4-5"
KEY = "sk-ant-test-secret-key-0123456789"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
TOOL = {"type": "function", "name": "get_weather", "description": "Weather",
        "parameters": {"type": "object", "properties": {"text": {"type": "string"}}}}


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[Any, str]]:
    app = UpstreamRecorder(create_app())
    with serve_asgi(app) as url:
        yield app, url


@pytest.fixture(scope="module")
def gateway(upstream: tuple[Any, str]) -> Iterator[httpx.Client]:
    app, url = upstream
    config = {"providers": {"anthropic": {"api_key": KEY, "base_url": url, "headers": {"x-team": "blue"}}}}
    with run_gateway(config) as gateway_url, httpx.Client(base_url=gateway_url, timeout=30) as client:
        # the model catalog lists the upstream's models at startup, in the background: let that GET land
        # before the tests, or under load it is recorded as part of the first test's requests
        deadline = time.monotonic() + 30
        while not any(request.path == "/v1/models" and request.finished for request in app.requests):
            assert time.monotonic() < deadline, "the startup model listing never reached the upstream"
            time.sleep(0.01)
        yield client


@pytest.fixture
def sent(upstream: tuple[Any, str]) -> list[RecordedRequest]:
    """The requests the fake upstream receives during this test."""
    app, _ = upstream
    app.requests.clear()
    return app.requests


def create(gateway: httpx.Client, openresponses: Validator, body: dict[str, Any]) -> dict[str, Any]:
    response = gateway.post("/v1/responses", json={"model": MODEL, **body})
    assert response.status_code == 200, response.text
    resource = response.json()
    openresponses.validate_response(resource)
    return resource


def stream(gateway: httpx.Client, openresponses: Validator, body: dict[str, Any]) -> tuple[list[dict], dict]:
    response = gateway.post("/v1/responses", json={"model": MODEL, "stream": True, **body})
    assert response.status_code == 200, response.text
    events, done = parse_sse(response.content)
    terminal = openresponses.check_stream(events, done)
    openresponses.validate_response(terminal)
    return events, terminal


# -- exact upstream requests --------------------------------------------------------------------------------


def test_minimal_request_exact(gateway: httpx.Client, openresponses: Validator, sent: list, upstream: Any) -> None:
    create(gateway, openresponses, {"input": "Hello"})
    assert [request.json for request in sent] == [{"model": MODEL, "max_tokens": 4096, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Hello"}]}]}]
    headers = upstream[0].requests[-1].headers
    assert KEY in (headers.get("x-api-key"), headers.get("authorization", "").removeprefix("Bearer "))
    assert headers["x-team"] == "blue"


def test_system_and_merged_turns_exact(gateway: httpx.Client, openresponses: Validator, sent: list) -> None:
    create(gateway, openresponses, {"instructions": "Be terse.", "max_output_tokens": 50, "input": [
        {"role": "developer", "content": "Use French."},
        {"role": "user", "content": "one"},
        {"role": "user", "content": [{"type": "input_text", "text": ""}, {"type": "input_text", "text": "two"}]},
        {"role": "assistant", "content": "ok"},
        {"role": "assistant", "content": [{"type": "output_text", "text": ""}]},
        {"role": "user", "content": "history?"},
    ]})
    assert sent[0].json == {
        "model": MODEL, "max_tokens": 50,
        "system": [{"type": "text", "text": "Be terse."}, {"type": "text", "text": "Use French."}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
            {"role": "user", "content": [{"type": "text", "text": "history?"}]},
        ],
    }


def test_tool_use_and_results_exact(gateway: httpx.Client, openresponses: Validator, sent: list) -> None:
    resource = create(gateway, openresponses, {"tools": [TOOL], "parallel_tool_calls": False, "input": [
        {"role": "user", "content": "Weather in Paris and Oslo?"},
        {"type": "function_call", "call_id": "call:1", "name": "get_weather", "arguments": '{"text": "Paris"}'},
        {"type": "function_call", "call_id": "call_2", "name": "get_weather", "arguments": '{"text": "Oslo"}'},
        {"type": "function_call_output", "call_id": "call_2", "output": "rain"},
        {"type": "function_call_output", "call_id": "call:1", "output": "sunny"},
    ]})
    assert output_text(resource) == "tool said: sunny"
    first_id = sent[0].json["messages"][1]["content"][0]["id"]
    assert first_id.startswith("call_1_")
    assert sent[0].json == {
        "model": MODEL, "max_tokens": 4096,
        "tools": [{"name": "get_weather", "description": "Weather", "input_schema": TOOL["parameters"]}],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Oslo?"}]},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": first_id, "name": "get_weather", "input": {"text": "Paris"}},
                {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"text": "Oslo"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_2", "content": "rain"},
                {"type": "tool_result", "tool_use_id": first_id, "content": "sunny"}]},
        ],
    }


def test_tool_results_precede_user_text(gateway: httpx.Client, openresponses: Validator, sent: list) -> None:
    create(gateway, openresponses, {"tools": [TOOL], "input": [
        {"role": "user", "content": "q"},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
        {"role": "user", "content": "also this"},
        {"type": "function_call_output", "call_id": "c1", "output": "done"},
    ]})
    assert sent[0].json["messages"][2] == {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "c1", "content": "done"}, {"type": "text", "text": "also this"}]}


def test_history_tools_without_tools(gateway: httpx.Client, openresponses: Validator, sent: list) -> None:
    resource = create(gateway, openresponses, {"input": [
        {"role": "user", "content": "q"},
        {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "found"},
    ]})
    assert output_text(resource) == "tool said: found"
    assert sent[0].json["tools"] == [{"name": "lookup", "description": "(not available in this turn)",
                                 "input_schema": {"type": "object", "properties": {}}}]
    assert sent[0].json["tool_choice"] == {"type": "none"}


def test_images_exact(gateway: httpx.Client, openresponses: Validator, sent: list) -> None:
    resource = create(gateway, openresponses, {"input": [{"role": "user", "content": [
        {"type": "input_text", "text": "image?"},
        {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "low"},
        {"type": "input_image", "image_url": "https://example.com/a.webp"},
    ]}]})
    assert output_text(resource) == "images: 2"
    assert sent[0].json["messages"][0]["content"][1:] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.webp"}},
    ]


def test_unsupported_image_type_is_400(gateway: httpx.Client, sent: list) -> None:
    response = gateway.post("/v1/responses", json={"model": MODEL, "input": [{"role": "user", "content": [
        {"type": "input_image", "image_url": "data:image/tiff;base64,AAAA"}]}]})
    assert response.status_code == 400 and response.json()["error"]["param"] == "input[0].content[0]"
    assert sent == []


def test_structured_output_and_options_exact(gateway: httpx.Client, openresponses: Validator, sent: list) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
              "additionalProperties": False}
    resource = create(gateway, openresponses, {
        "input": "hi", "text": {"format": {"type": "json_schema", "name": "city", "schema": schema, "strict": True}},
        "stop": ["END", "STOP"], "safety_identifier": "user-42", "temperature": 0.3,
    })
    assert resource["text"]["format"]["name"] == "city"
    assert sent[0].json == {
        "model": MODEL, "max_tokens": 4096, "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "output_config": {"format": {"type": "json_schema", "schema": schema}},
        "stop_sequences": ["END", "STOP"], "metadata": {"user_id": "user-42"},
    }


def test_reasoning_request_exact(gateway: httpx.Client, openresponses: Validator, sent: list) -> None:
    create(gateway, openresponses, {"input": "think", "reasoning": {"effort": "high"}})
    assert sent[0].json["thinking"] == {"type": "enabled", "budget_tokens": 16384}
    assert sent[0].json["max_tokens"] == 4096 + 16384


# -- thinking round trip ------------------------------------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("prompt", ["Paris", "omit!"])
def test_thinking_signature_round_trip(
    gateway: httpx.Client, openresponses: Validator, sent: list, streaming: bool, prompt: str
) -> None:
    body = {"input": prompt, "tools": [TOOL], "reasoning": {"effort": "low"}}
    if streaming:
        events, first = stream(gateway, openresponses, body)
        kinds = [event["type"] for event in events]
        if prompt == "Paris":
            assert "response.reasoning_summary_text.delta" in kinds
    else:
        first = create(gateway, openresponses, body)
    reasoning, call = first["output"]
    thinking = "" if prompt == "omit!" else "Thinking about: Paris"
    assert reasoning["type"] == "reasoning" and call["type"] == "function_call"
    assert reasoning["summary"] == ([{"type": "summary_text", "text": thinking}] if thinking else [])
    envelope = open_envelope(reasoning["encrypted_content"], "anthropic")
    assert envelope == {"p": "anthropic", "m": MODEL, "t": "thinking", "thinking": thinking,
                        "signature": signature_of(thinking)}
    assert first["usage"]["input_tokens"] > 0

    replay = [{"role": "user", "content": prompt}, *first["output"],
              {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"}]
    second = create(gateway, openresponses, {**body, "input": replay})
    assert output_text(second) == "tool said: sunny"
    assert sent[-1].json["messages"][1] == {"role": "assistant", "content": [
        {"type": "thinking", "thinking": thinking, "signature": signature_of(thinking)},
        {"type": "tool_use", "id": call["call_id"], "name": "get_weather", "input": json.loads(call["arguments"])},
    ]}
    assert sent[-1].json["thinking"] == {"type": "enabled", "budget_tokens": 2048}


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
def test_redacted_thinking_round_trip(gateway: httpx.Client, openresponses: Validator, sent: list,
                                      streaming: bool) -> None:
    body = {"input": "redact!", "reasoning": {"effort": "low"}}
    first = stream(gateway, openresponses, body)[1] if streaming else create(gateway, openresponses, body)
    assert [item["type"] for item in first["output"]] == ["reasoning", "reasoning", "message"]
    assert open_envelope(first["output"][1]["encrypted_content"], "anthropic")["t"] == "redacted"
    create(gateway, openresponses, {**body, "input": [{"role": "user", "content": "redact!"}, *first["output"],
                                                      {"role": "user", "content": "next"}]})
    assert [block["type"] for block in sent[-1].json["messages"][1]["content"]] == [
        "thinking", "redacted_thinking", "text"]


def test_tampered_or_foreign_reasoning_is_not_sent(gateway: httpx.Client, openresponses: Validator,
                                                    sent: list) -> None:
    first = create(gateway, openresponses, {"input": "x", "reasoning": {"effort": "low"}})
    foreign = {"type": "reasoning", "summary": [], "encrypted_content": "orgw1.eyJwIjoiZ2VtaW5pIn0"}
    create(gateway, openresponses, {"input": [{"role": "user", "content": "x"}, foreign, *first["output"][1:],
                                              {"role": "user", "content": "y"}]})
    assert [block["type"] for block in sent[-1].json["messages"][1]["content"]] == ["text"]


# -- response mapping ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
def test_two_text_blocks_two_parts(gateway: httpx.Client, openresponses: Validator, streaming: bool) -> None:
    body = {"input": "two-blocks!"}
    resource = stream(gateway, openresponses, body)[1] if streaming else create(gateway, openresponses, body)
    assert [part["text"] for part in resource["output"][0]["content"]] == ["first block", "second block"]


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
def test_usage_with_cache(gateway: httpx.Client, openresponses: Validator, streaming: bool) -> None:
    body = {"input": "cache?"}
    resource = stream(gateway, openresponses, body)[1] if streaming else create(gateway, openresponses, body)
    usage = resource["usage"]
    assert usage["input_tokens"] == 1 + 5 + 3 and usage["input_tokens_details"]["cached_tokens"] == 5
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
def test_tool_call_without_arguments(gateway: httpx.Client, openresponses: Validator, streaming: bool) -> None:
    body = {"input": "noargs!", "tools": [TOOL]}
    if streaming:
        events, resource = stream(gateway, openresponses, body)
        deltas = [e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta"]
        assert deltas == ["{}"]
    else:
        resource = create(gateway, openresponses, body)
    assert resource["output"][0]["arguments"] == "{}"


# -- errors -------------------------------------------------------------------------------------------------


def test_overloaded_529(gateway: httpx.Client, openresponses: Validator) -> None:
    response = gateway.post("/v1/responses", json={"model": MODEL, "input": "error:529"})
    assert response.status_code == 503
    openresponses.validate_error(response.json())
    assert response.json()["error"]["code"] == "overloaded"
