"""End to end with the official openai SDK as the gateway's client, in both upstream modes; raw bodies and
events are validated against openapi.json as well (the SDK only proves that it parses)."""

from __future__ import annotations

from typing import Any

import httpx
from openai import OpenAI

from gateway_core.testing import parse_sse
from gateway_core.testing.conformance import PNG_DATA_URL

MODEL = "gpt-4o-mini"
WEATHER = {"type": "function", "name": "get_weather", "description": "Weather for a city",
           "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
           "strict": False}


def client(gateway: str) -> OpenAI:
    return OpenAI(base_url=gateway + "/v1", api_key="anything", max_retries=0)


def test_text(gateway: str, openresponses: Any) -> None:
    response = client(gateway).responses.create(model=MODEL, input="Hello there")
    assert response.output_text == "Hello there" and response.status == "completed"
    assert response.id.startswith("resp_") and response.usage and response.usage.total_tokens > 0
    raw = httpx.post(gateway + "/v1/responses", json={"model": MODEL, "input": "Hello there"})
    openresponses.validate_response(raw.json())


def test_stream(gateway: str, openresponses: Any) -> None:
    events = list(client(gateway).responses.create(model=MODEL, input="one two three", stream=True))
    kinds = [event.type for event in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "one two three"
    raw = httpx.post(gateway + "/v1/responses", json={"model": MODEL, "input": "one two three", "stream": True})
    parsed, done = parse_sse(raw.content)
    openresponses.validate_response(openresponses.check_stream(parsed, done))


def test_tool_round_trip(gateway: str, openresponses: Any) -> None:
    sdk = client(gateway)
    first = sdk.responses.create(model=MODEL, input="Paris", tools=[WEATHER])
    call = next(item for item in first.output if item.type == "function_call")
    assert call.name == "get_weather" and call.id.startswith("fc_")
    history: list[Any] = [{"role": "user", "content": "Paris"}, call.model_dump(exclude_none=True),
                          {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}]
    second = sdk.responses.create(model=MODEL, input=history, tools=[WEATHER])
    assert second.output_text == "tool said: sunny"
    raw = httpx.post(gateway + "/v1/responses", json={"model": MODEL, "input": history, "tools": [WEATHER]})
    openresponses.validate_response(raw.json())


def test_stream_tool_call(gateway: str) -> None:
    events = list(client(gateway).responses.create(model=MODEL, input="Oslo", tools=[WEATHER], stream=True))
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert done.arguments == '{"text": "Oslo"}'
    assert events[-1].type == "response.completed"


def test_image_input(gateway: str) -> None:
    response = client(gateway).responses.create(model=MODEL, input=[{"role": "user", "content": [
        {"type": "input_text", "text": "image?"},
        {"type": "input_image", "image_url": PNG_DATA_URL, "detail": "high"},
    ]}])
    assert response.output_text == "images: 1"


def test_multi_turn(gateway: str) -> None:
    sdk = client(gateway)
    first = sdk.responses.create(model=MODEL, input="first")
    history: list[Any] = [{"role": "user", "content": "first"}]
    history += [item.model_dump(exclude_none=True) for item in first.output]
    history.append({"role": "user", "content": "history?"})
    second = sdk.responses.create(model=MODEL, input=history, instructions="be nice")
    assert second.output_text == "user:first | assistant:first | user:history?"


def test_reasoning_round_trip(gateway: str, upstream: tuple[Any, str], mode: str) -> None:
    sdk = client(gateway)
    first = sdk.responses.create(model=MODEL, input="think!")
    kinds = [item.type for item in first.output]
    assert kinds == ["reasoning", "message"] and first.output_text == "thought"
    reasoning = first.output[0]
    if mode == "responses":
        assert reasoning.summary[0].text == "thinking hard" and reasoning.encrypted_content
    else:
        assert reasoning.content and reasoning.content[0].text == "thinking hard"
    streamed = list(sdk.responses.create(model=MODEL, input="think!", stream=True))
    assert streamed[-1].type == "response.completed"
    assert [item.type for item in streamed[-1].response.output] == ["reasoning", "message"]
    # replay: OpenAI's own blob goes back (without content), a foreign envelope is dropped
    history = [{"role": "user", "content": "think!"}, reasoning.model_dump(exclude_none=True),
               {"type": "reasoning", "summary": [], "encrypted_content": "orgw1.eyJwIjoiYW50aHJvcGljIn0"},
               {"role": "user", "content": "again"}]
    sdk.responses.create(model=MODEL, input=history)
    body = upstream[0].requests[-1].json
    if mode == "responses":
        sent = [item for item in body["input"] if item["type"] == "reasoning"]
        assert len(sent) == 1 and sent[0]["encrypted_content"] == reasoning.encrypted_content
        assert "content" not in sent[0]
    else:
        assert all("reasoning" not in json for json in map(str, body["messages"]))
