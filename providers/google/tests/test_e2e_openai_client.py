"""The official ``openai`` SDK as the client of the gateway, with the raw bodies validated against openapi.json."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from openai import OpenAI

from gateway_core.testing import parse_sse
from gateway_core.testing.conformance import PNG_DATA_URL as PNG

TOOL = {"type": "function", "name": "get_weather", "description": "Weather for a city", "strict": True,
        "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"],
                       "additionalProperties": False}}
MODEL = "gemini-2.5-flash"


class Recorder(httpx.Client):
    """An httpx client keeping every raw response body, so the bodies can be validated too."""

    def __init__(self) -> None:
        super().__init__(timeout=30)
        self.bodies: list[tuple[str, bytes]] = []

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        response = super().send(request, **kwargs)
        response.read()
        self.bodies.append((response.headers.get("content-type", ""), response.content))
        return response


@pytest.fixture
def client(gateway: str) -> tuple[OpenAI, Recorder]:
    recorder = Recorder()
    return OpenAI(base_url=gateway + "/v1", api_key="anything", http_client=recorder, max_retries=0), recorder


def validate_last(recorder: Recorder, openresponses: Any) -> dict[str, Any]:
    kind, body = recorder.bodies[-1]
    if kind.startswith("text/event-stream"):
        events, done = parse_sse(body)
        resource = openresponses.check_stream(events, done)
    else:
        resource = json.loads(body)
    openresponses.validate_response(resource)
    return resource


def test_text(client: tuple[OpenAI, Recorder], openresponses: Any) -> None:
    sdk, recorder = client
    response = sdk.responses.create(model=MODEL, input="Hello there", instructions="Be nice.")
    assert response.output_text == "Hello there" and response.status == "completed"
    assert response.usage is not None and response.usage.total_tokens > 0
    validate_last(recorder, openresponses)


def test_streaming(client: tuple[OpenAI, Recorder], openresponses: Any) -> None:
    sdk, recorder = client
    stream = sdk.responses.create(model=MODEL, input="one two three", stream=True)
    events = list(stream)
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert "".join(deltas) == "one two three" and len(deltas) == 3
    assert events[-1].type == "response.completed"
    validate_last(recorder, openresponses)


def test_tool_call_round_trip(client: tuple[OpenAI, Recorder], openresponses: Any) -> None:
    sdk, recorder = client
    first = sdk.responses.create(model=MODEL, input="Paris", tools=[TOOL])
    validate_last(recorder, openresponses)
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1 and json.loads(calls[0].arguments) == {"text": "Paris"}
    history: list[Any] = [{"role": "user", "content": "Paris"}]
    history += [item.model_dump(exclude_none=True) for item in first.output]
    history.append({"type": "function_call_output", "call_id": calls[0].call_id, "output": "sunny"})
    second = sdk.responses.create(model=MODEL, input=history, tools=[TOOL])
    assert second.output_text == "tool said: sunny"
    validate_last(recorder, openresponses)


def test_image_input(client: tuple[OpenAI, Recorder], openresponses: Any) -> None:
    sdk, recorder = client
    response = sdk.responses.create(model=MODEL, input=[{"role": "user", "content": [
        {"type": "input_text", "text": "image?"}, {"type": "input_image", "image_url": PNG, "detail": "auto"}]}])
    assert response.output_text == "images: 1"
    validate_last(recorder, openresponses)


def test_structured_output(client: tuple[OpenAI, Recorder], openresponses: Any, upstream: tuple[Any, str]) -> None:
    sdk, recorder = client
    schema = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"],
              "additionalProperties": False}
    response = sdk.responses.create(model=MODEL, input="hi",
                                    text={"format": {"type": "json_schema", "name": "out", "schema": schema,
                                                     "strict": True}})
    assert json.loads(response.output_text) == {"text": "hi"}
    resource = validate_last(recorder, openresponses)
    assert resource["text"]["format"]["type"] == "json_schema"
    config = upstream[0].requests[-1].json["generationConfig"]
    assert config == {"responseMimeType": "application/json", "responseJsonSchema": schema}


def test_multi_turn(client: tuple[OpenAI, Recorder], openresponses: Any) -> None:
    sdk, recorder = client
    response = sdk.responses.create(model=MODEL, input=[
        {"role": "user", "content": "first"}, {"role": "assistant", "content": "second"},
        {"role": "user", "content": "history?"}])
    assert response.output_text == "user:first | assistant:second | user:history?"
    validate_last(recorder, openresponses)
