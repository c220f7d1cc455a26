"""Gemini 3 tool loops for clients that send back only ``function_call`` + ``function_call_output`` (issue 16,
item 3). The fake Gemini refuses, as Gemini 3 does, a current-turn call without its thought signature; the
gateway keeps each stored call's reasoning item (which carries the signature) and puts it back; a call it never
made gets Google's placeholder; a Gemini signature never reaches another provider."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import openai
import pytest

from gateway_anthropic.testing import fake_upstream as anthropic_fake
from gateway_core.testing import UpstreamRecorder, run_gateway, serve_asgi
from gateway_google.testing import fake_upstream as google_fake

GEMINI_3 = "gemini-3-pro-preview"
WEATHER = {"type": "function", "name": "get_weather", "description": "Weather in a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
SIGNATURE = google_fake.sig("get_weather")


class Setup:
    def __init__(self, stack: ExitStack) -> None:
        self.gemini = UpstreamRecorder(google_fake.create_app())
        self.claude = UpstreamRecorder(anthropic_fake.create_app())
        config = {"providers": {
            "google": {"api_key": "gm-test-0000000000", "base_url": stack.enter_context(serve_asgi(self.gemini))},
            "anthropic": {"api_key": "sk-ant-test-000000", "base_url": stack.enter_context(serve_asgi(self.claude))},
        }}
        self.url = stack.enter_context(run_gateway(config))
        self.client = openai.OpenAI(base_url=self.url + "/v1", api_key="unused", max_retries=0)

    def sent_calls(self) -> list[dict[str, Any]]:
        """The functionCall parts of the last request the fake Gemini received."""
        body = [r for r in self.gemini.requests if r.method == "POST"][-1].json
        return [part for content in body["contents"] for part in content["parts"] if "functionCall" in part]


@pytest.fixture(scope="module")
def setup() -> Iterator[Setup]:
    with ExitStack() as stack:
        yield Setup(stack)


def first_turn(setup: Setup, stream: bool) -> dict[str, Any]:
    """A Gemini 3 turn that calls get_weather: the call item as the openai SDK returns it."""
    if stream:
        with setup.client.responses.stream(model=GEMINI_3, input="weather in Paris?", tools=[WEATHER]) as events:  # type: ignore[list-item]
            response = events.get_final_response()
    else:
        response = setup.client.responses.create(model=GEMINI_3, input="weather in Paris?", tools=[WEATHER])  # type: ignore[list-item]
    calls = [item for item in response.output if item.type == "function_call"]
    assert calls, response.output
    return {"type": "function_call", "call_id": calls[0].call_id, "name": calls[0].name,
            "arguments": calls[0].arguments}


@pytest.mark.parametrize("stream", [False, True])
def test_a_call_sent_back_without_its_reasoning_item_keeps_its_signature(setup: Setup, stream: bool) -> None:
    call = first_turn(setup, stream)
    history = [{"role": "user", "content": "weather in Paris?"}, call,
               {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"}]
    if stream:
        with setup.client.responses.stream(model=GEMINI_3, input=history, tools=[WEATHER]) as events:  # type: ignore[arg-type, list-item]
            answer = events.get_final_response()
    else:
        answer = setup.client.responses.create(model=GEMINI_3, input=history, tools=[WEATHER])  # type: ignore[arg-type, list-item]
    assert answer.output_text == "tool said: sunny"
    sent = setup.sent_calls()
    assert sent[0]["thoughtSignature"] == SIGNATURE, "the signature Gemini made went back byte-exact"


def test_an_injected_call_gets_the_placeholder(setup: Setup) -> None:
    history = [{"role": "user", "content": "weather in Rome?"},
               {"type": "function_call", "call_id": "call_made_up_by_client", "name": "get_weather",
                "arguments": json.dumps({"city": "Rome"})},
               {"type": "function_call_output", "call_id": "call_made_up_by_client", "output": "rain"}]
    answer = setup.client.responses.create(model=GEMINI_3, input=history, tools=[WEATHER])  # type: ignore[arg-type, list-item]
    assert answer.output_text == "tool said: rain"
    assert setup.sent_calls()[0]["thoughtSignature"] == google_fake.SKIP_SIGNATURE


def test_a_wrong_signature_is_still_refused_as_gemini_refuses_it(setup: Setup) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]},
                         {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {}},
                                                      "thoughtSignature": "Zm9yZ2Vk"}]},
                         {"role": "user", "parts": [{"functionResponse": {"name": "get_weather",
                                                                          "response": {"output": "x"}}}]}]}
    fake = [r for r in setup.gemini.requests if r.method == "POST"][-1]  # reached directly: what it enforces
    url = "http://" + fake.headers["host"] + f"/v1beta/models/{GEMINI_3}:generateContent"
    refused = httpx.post(url, json=body, headers={"x-goog-api-key": "gm-test-0000000000"}, timeout=10)
    assert refused.status_code == 400 and "missing a thought_signature" in refused.json()["error"]["message"]


def test_the_signature_never_reaches_another_provider(setup: Setup) -> None:
    call = first_turn(setup, stream=False)
    history = [{"role": "user", "content": "weather in Paris?"}, call,
               {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"}]
    answer = setup.client.responses.create(model="claude-sonnet-4-5", input=history, tools=[WEATHER])  # type: ignore[arg-type, list-item]
    assert answer.output_text == "tool said: sunny"
    sent = [r for r in setup.claude.requests if r.method == "POST"][-1].body.decode()
    assert SIGNATURE not in sent and "thought" not in sent.lower() and google_fake.SKIP_SIGNATURE not in sent
