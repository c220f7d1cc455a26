"""End to end: the official ``openai`` SDK as the client of the gateway, the fake Anthropic API behind it.

Each call is made twice over: once through the SDK's typed path (it must parse), and the raw HTTP body or
event stream is validated against openapi.json (the SDK alone only proves it parses).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from openai import OpenAI

from gateway_anthropic.testing.fake_upstream import create_app, signature_of
from gateway_core.envelope import open_envelope
from gateway_core.testing import UpstreamRecorder, Validator, parse_sse, run_gateway, serve_asgi

MODEL = "claude-haiku-4-5"
PNG_DATA_URL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
TOOL = {"type": "function", "name": "get_weather", "description": "Weather for a city", "strict": True,
        "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"],
                       "additionalProperties": False}}


@pytest.fixture(scope="module")
def upstream_app() -> Any:
    return UpstreamRecorder(create_app())


@pytest.fixture(scope="module")
def client(upstream_app: Any) -> Iterator[OpenAI]:
    with serve_asgi(upstream_app) as upstream_url:
        config = {"providers": {"anthropic": {"api_key": "sk-ant-e2e-0123456789", "base_url": upstream_url}}}
        with run_gateway(config) as gateway_url:
            sdk = OpenAI(base_url=gateway_url + "/v1", api_key="anything", max_retries=0)
            yield sdk
            sdk.close()


def create(client: OpenAI, validator: Validator, **kwargs: Any) -> Any:
    """``responses.create`` through the SDK; the raw body is validated, the parsed object returned."""
    raw = client.responses.with_raw_response.create(model=MODEL, **kwargs)
    validator.validate_response(raw.http_response.json())
    return raw.parse()


def test_text(client: OpenAI, openresponses: Validator) -> None:
    response = create(client, openresponses, input="Hello from the openai SDK", instructions="Be kind.")
    assert response.output_text == "Hello from the openai SDK"
    assert response.status == "completed" and response.usage.total_tokens > 0


def test_multi_turn(client: OpenAI, openresponses: Validator) -> None:
    response = create(client, openresponses, input=[
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "second"},
        {"role": "user", "content": "history?"},
    ])
    assert response.output_text == "user:first | assistant:second | user:history?"


def test_streaming(client: OpenAI, openresponses: Validator) -> None:
    with client.responses.with_streaming_response.create(model=MODEL, input="one two three", stream=True) as raw:
        events, done = parse_sse(raw.read())
    openresponses.validate_response(openresponses.check_stream(events, done))

    deltas, final = [], None
    for event in client.responses.create(model=MODEL, input="one two three", stream=True):
        if event.type == "response.output_text.delta":
            deltas.append(event.delta)
        elif event.type == "response.completed":
            final = event.response
    assert len(deltas) >= 2 and "".join(deltas) == "one two three"
    assert final is not None and final.output_text == "one two three"


def test_tool_call_round_trip(client: OpenAI, openresponses: Validator, upstream_app: Any) -> None:
    first = create(client, openresponses, input="Paris", tools=[TOOL])
    call = first.output[0]
    assert call.type == "function_call" and call.name == "get_weather"
    assert json.loads(call.arguments) == {"text": "Paris"}
    second = create(client, openresponses, tools=[TOOL], input=[
        {"role": "user", "content": "Paris"},
        *[item.model_dump(exclude_none=True) for item in first.output],
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 21C"},
    ])
    assert second.output_text == "tool said: sunny, 21C"
    sent = upstream_app.requests[-1].json["messages"]
    assert sent[1]["content"] == [{"type": "tool_use", "id": call.call_id, "name": "get_weather",
                                   "input": {"text": "Paris"}}]
    assert sent[2]["content"] == [{"type": "tool_result", "tool_use_id": call.call_id, "content": "sunny, 21C"}]


def test_streamed_tool_call(client: OpenAI) -> None:
    arguments = ""
    for event in client.responses.create(model=MODEL, input="Oslo", tools=[TOOL], stream=True):
        if event.type == "response.function_call_arguments.done":
            arguments = event.arguments
    assert json.loads(arguments) == {"text": "Oslo"}


def test_image_input(client: OpenAI, openresponses: Validator) -> None:
    response = create(client, openresponses, input=[{"role": "user", "content": [
        {"type": "input_text", "text": "image?"},
        {"type": "input_image", "image_url": PNG_DATA_URL, "detail": "auto"},
    ]}])
    assert response.output_text == "images: 1"


def test_reasoning(client: OpenAI, openresponses: Validator, upstream_app: Any) -> None:
    response = create(client, openresponses, input="Why is the sky blue?",
                      reasoning={"effort": "medium", "summary": "auto"})
    reasoning, message = response.output
    assert reasoning.type == "reasoning" and message.type == "message"
    assert reasoning.summary[0].text == "Thinking about: Why is the sky blue?"
    assert open_envelope(reasoning.encrypted_content, "anthropic")["signature"] == signature_of(
        "Thinking about: Why is the sky blue?")
    assert upstream_app.requests[-1].json["thinking"] == {"type": "enabled", "budget_tokens": 8192,
                                                           "display": "summarized"}

    follow = create(client, openresponses, reasoning={"effort": "medium"}, input=[
        {"role": "user", "content": "Why is the sky blue?"},
        *[item.model_dump(exclude_none=True) for item in response.output],
        {"role": "user", "content": "history?"},
    ])
    assert follow.output_text.startswith("user:Why is the sky blue? | assistant:")
    assert upstream_app.requests[-1].json["messages"][1]["content"][0] == {
        "type": "thinking", "thinking": "Thinking about: Why is the sky blue?",
        "signature": signature_of("Thinking about: Why is the sky blue?")}


def test_reasoning_streaming(client: OpenAI, openresponses: Validator) -> None:
    with client.responses.with_streaming_response.create(model=MODEL, input="Explain", stream=True,
                                                          reasoning={"effort": "low"}) as raw:
        events, done = parse_sse(raw.read())
    terminal = openresponses.check_stream(events, done)
    openresponses.validate_response(terminal)
    kinds = [event["type"] for event in events]
    assert "response.reasoning_summary_text.delta" in kinds
    assert terminal["output"][0]["encrypted_content"].startswith("orgw1.")
