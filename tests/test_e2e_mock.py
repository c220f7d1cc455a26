"""End to end as a user meets it: `gateway serve` over real HTTP, called with the official openai SDK and curl-like
raw HTTP, on the keyless mock provider. Every body and event validates against openapi.json."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from gateway_core.testing import default_validator, parse_sse
from gateway_core.testing.servers import run_gateway_process

VALIDATOR = default_validator()
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    "strict": False,
}


@pytest.fixture(scope="module")
def gateway_url() -> Iterator[str]:
    """The real `gateway serve` command in a subprocess, as the README starts it."""
    with run_gateway_process() as gateway:
        yield gateway.url


@pytest.fixture(scope="module")
def client(gateway_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway_url + "/v1", api_key="sk-not-needed", max_retries=0)


def raw(gateway_url: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(gateway_url + "/v1/responses", json=body, timeout=10)


def test_sdk_text(client: openai.OpenAI, gateway_url: str) -> None:
    response = client.responses.create(model="mock", input="Hello from the SDK")
    assert response.output_text == "Hello from the SDK"
    assert response.status == "completed" and response.usage is not None and response.usage.total_tokens > 0
    VALIDATOR.validate_response(raw(gateway_url, {"model": "mock", "input": "Hello from the SDK"}).json())


def test_sdk_stream(client: openai.OpenAI) -> None:
    stream = client.responses.create(model="mock", input="alpha beta gamma", stream=True)
    events = list(stream)
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "alpha beta gamma"
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_sdk_stream_helper_and_final_response(client: openai.OpenAI) -> None:
    with client.responses.stream(model="mock", input="helper works") as stream:
        texts = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(texts) == "helper works" and final.output_text == "helper works"


def test_raw_stream_validates(gateway_url: str) -> None:
    response = raw(gateway_url, {"model": "mock", "input": "validate every event", "stream": True})
    assert response.headers["content-type"].startswith("text/event-stream")
    events, done = parse_sse(response.content)
    VALIDATOR.check_stream(events, done)


def test_sdk_tool_round_trip(client: openai.OpenAI, gateway_url: str) -> None:
    first = client.responses.create(model="mock", input="Paris", tools=[WEATHER])
    call = next(item for item in first.output if item.type == "function_call")
    assert call.name == "get_weather" and json.loads(call.arguments) == {"text": "Paris"}
    history: list[Any] = [{"role": "user", "content": "Paris"}, call.model_dump(exclude_none=True),
                          {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}]
    second = client.responses.create(model="mock", input=history, tools=[WEATHER])
    assert second.output_text == "tool said: sunny"
    VALIDATOR.validate_response(raw(gateway_url, {"model": "mock", "input": history, "tools": [WEATHER]}).json())


def test_sdk_streamed_tool_call(client: openai.OpenAI) -> None:
    events = list(client.responses.create(model="mock", input="Oslo", tools=[WEATHER], stream=True))
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert json.loads(done.arguments) == {"text": "Oslo"}


def test_sdk_multi_turn_and_image(client: openai.OpenAI) -> None:
    response = client.responses.create(model="mock", input=[
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "two"},
        {"role": "user", "content": [{"type": "input_text", "text": "history?"}]},
    ])
    assert response.output_text == "user:one | assistant:two | user:history?"
    image = client.responses.create(model="mock", input=[{"role": "user", "content": [
        {"type": "input_text", "text": "image?"},
        {"type": "input_image", "image_url": "https://example.com/cat.png", "detail": "auto"},
    ]}])
    assert image.output_text == "images: 1"


def test_sdk_structured_output_echo(client: openai.OpenAI) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
              "additionalProperties": False}
    response = client.responses.create(model="mock", input="x", text={"format": {
        "type": "json_schema", "name": "thing", "schema": schema, "strict": True}})
    assert response.text.format.type == "json_schema"


def test_sdk_errors_are_typed(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as not_found:
        client.responses.create(model="no-such-model", input="hi")
    assert not_found.value.code == "model_not_found" and not_found.value.param == "model"
    with pytest.raises(openai.RateLimitError):
        client.responses.create(model="mock", input="error:429")
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.create(model="mock", input=[{"role": "user", "content": 5}])  # type: ignore[list-item]
    assert bad.value.param == "input[0].content"


def test_sdk_stream_failure_surfaces(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIError, match="ended before the response was complete"):
        list(client.responses.create(model="mock", input="cut!", stream=True))
