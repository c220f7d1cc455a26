"""The Chat Completions dialect's conformance suite, a mixin for a provider's conformance class.

Mixed into a :class:`~gateway_core.testing.ProviderConformance` subclass, it drives ``POST
/v1/chat/completions`` of the same gateway with the official ``openai`` SDK, parses every body and chunk
strictly with the SDK's own types (``ChatCompletion``, ``ChatCompletionChunk``) and checks that the SDK's
stream helper rebuilds the message of the JSON call. Needs the ``openai`` package (skips without it).
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from ..provider import Capabilities
from .client import PNG_DATA_URL, GatewayClient
from .strict import sse_events, strict_parse

CHAT_WEATHER_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "description": "Weather for a city",
                 "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}},
}
CHAT_CLOCK_TOOL = {
    "type": "function",
    "function": {"name": "get_time", "description": "Time in a city",
                 "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}},
}


def _user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


class ChatCompletionsConformance:
    """``POST /v1/chat/completions`` through the provider under test (uses ``model``, ``api_key`` and the
    ``gateway`` and ``capabilities`` fixtures of :class:`~gateway_core.testing.ProviderConformance`)."""

    model: str
    api_key: str

    @pytest.fixture(scope="class")
    @classmethod
    def openai_client(cls, gateway: GatewayClient) -> Any:
        """The official ``openai`` client pointed at the gateway."""
        openai = pytest.importorskip("openai")
        client = openai.OpenAI(base_url=f"{gateway.http.base_url}/v1", api_key="unused", max_retries=0)
        yield client
        client.close()

    def _chat(self, gateway: GatewayClient, body: dict[str, Any]) -> httpx.Response:
        return gateway.http.post("/v1/chat/completions", json={"model": self.model, **body})

    def _completion(self, gateway: GatewayClient, body: dict[str, Any]) -> Any:
        from openai.types.chat import ChatCompletion

        response = self._chat(gateway, body)
        assert response.status_code == 200, response.text
        return strict_parse(ChatCompletion, response.json())

    def _chunks(self, gateway: GatewayClient, body: dict[str, Any]) -> list[Any]:
        from openai.types.chat import ChatCompletionChunk

        response = self._chat(gateway, {**body, "stream": True})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response.content)
        assert events[-1] == ("", "[DONE]") and all(data != "[DONE]" for _, data in events[:-1])
        chunks = [strict_parse(ChatCompletionChunk, json.loads(data)) for _, data in events[:-1]]
        assert len({chunk.id for chunk in chunks}) == 1 and chunks[0].choices[0].delta.role == "assistant"
        return chunks

    # -- JSON -------------------------------------------------------------------------------------------

    def test_chat_text(self, gateway: GatewayClient) -> None:
        completion = self._completion(gateway, {"messages": _user("Hello, gateway world!")})
        assert completion.object == "chat.completion" and completion.id.startswith("chatcmpl-")
        choice = completion.choices[0]
        assert (choice.index, choice.finish_reason, choice.message.role) == (0, "stop", "assistant")
        assert choice.message.content == "Hello, gateway world!" and choice.message.tool_calls is None
        usage = completion.usage
        assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
        assert usage.prompt_tokens_details.cached_tokens == 0
        assert usage.completion_tokens_details.reasoning_tokens >= 0

    def test_chat_system_and_developer(self, openai_client: Any) -> None:
        completion = openai_client.chat.completions.create(model=self.model, messages=[
            {"role": "system", "content": "Be brief."}, {"role": "developer", "content": "Answer in French."},
            {"role": "user", "content": "system?"}])
        content = completion.choices[0].message.content
        assert content.split() == ["Be", "brief.", "Answer", "in", "French."], "both, in order"

    def test_chat_multi_turn(self, openai_client: Any) -> None:
        completion = openai_client.chat.completions.create(model=self.model, messages=[
            {"role": "user", "content": "first"}, {"role": "assistant", "content": "second"},
            {"role": "user", "content": [{"type": "text", "text": "history?"}]}])
        assert completion.choices[0].message.content == "user:first | assistant:second | user:history?"

    def test_chat_max_tokens(self, openai_client: Any) -> None:
        completion = openai_client.chat.completions.create(model=self.model, messages=_user("length!"),
                                                           max_completion_tokens=16)
        assert completion.choices[0].finish_reason == "length"

    def test_chat_image(self, openai_client: Any, capabilities: Capabilities) -> None:
        if not capabilities.images:
            pytest.skip("the provider takes no images")
        completion = openai_client.chat.completions.create(model=self.model, messages=[{"role": "user", "content": [
            {"type": "text", "text": "image?"}, {"type": "image_url", "image_url": {"url": PNG_DATA_URL}}]}])
        assert completion.choices[0].message.content == "images: 1"

    def test_chat_structured_output(self, openai_client: Any, capabilities: Capabilities) -> None:
        if not capabilities.structured_output:
            pytest.skip("the provider has no structured output")
        from pydantic import BaseModel

        class Echoed(BaseModel):  # the echo protocol answers JSON output with {"text": <prompt>}
            text: str

        completion = openai_client.chat.completions.parse(model=self.model, messages=_user("Paris"),
                                                          response_format=Echoed)
        assert completion.choices[0].message.parsed == Echoed(text="Paris")

    # -- tools ------------------------------------------------------------------------------------------

    def test_chat_tool_call(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        if not capabilities.tools:
            pytest.skip("the provider has no tools")
        completion = self._completion(gateway, {"messages": _user("Paris"), "tools": [CHAT_WEATHER_TOOL]})
        choice = completion.choices[0]
        assert choice.finish_reason == "tool_calls" and choice.message.content is None
        [call] = choice.message.tool_calls
        assert call.type == "function" and call.id and call.function.name == "get_weather"
        assert json.loads(call.function.arguments) == {"text": "Paris"}

    def test_chat_forced_tool(self, openai_client: Any, capabilities: Capabilities) -> None:
        if not capabilities.tools:
            pytest.skip("the provider has no tools")
        completion = openai_client.chat.completions.create(
            model=self.model, messages=_user("Rome"), tools=[CHAT_WEATHER_TOOL, CHAT_CLOCK_TOOL],
            tool_choice={"type": "function", "function": {"name": "get_time"}})
        assert [call.function.name for call in completion.choices[0].message.tool_calls] == ["get_time"]

    def test_chat_tool_round_trip(self, openai_client: Any, capabilities: Capabilities) -> None:
        if not capabilities.tools:
            pytest.skip("the provider has no tools")
        completion = openai_client.chat.completions.create(model=self.model, tools=[CHAT_WEATHER_TOOL], messages=[
            {"role": "user", "content": "What is the weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "call_abc123", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"text": "Paris"}'}}]},
            {"role": "tool", "tool_call_id": "call_abc123", "content": "sunny, 21C"}])
        assert completion.choices[0].message.content == "tool said: sunny, 21C"

    # -- streams ----------------------------------------------------------------------------------------

    def test_chat_stream_text_with_usage(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        if not capabilities.streaming:
            pytest.skip("the provider does not stream")
        chunks = self._chunks(gateway, {"messages": _user("one two three four five"),
                                        "stream_options": {"include_usage": True}})
        *content, finish, usage = chunks
        texts = [chunk.choices[0].delta.content for chunk in content if chunk.choices[0].delta.content]
        assert len(texts) >= 2 and "".join(texts) == "one two three four five"
        assert all(chunk.usage is None and chunk.choices[0].finish_reason is None for chunk in content)
        assert finish.choices[0].finish_reason == "stop" and finish.usage is None
        assert usage.choices == [] and usage.usage.completion_tokens > 0
        assert usage.usage.total_tokens == usage.usage.prompt_tokens + usage.usage.completion_tokens

    def test_chat_stream_without_usage(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        if not capabilities.streaming:
            pytest.skip("the provider does not stream")
        chunks = self._chunks(gateway, {"messages": _user("one two")})
        assert chunks[-1].choices[0].finish_reason == "stop"
        assert all(chunk.choices and chunk.usage is None for chunk in chunks)

    def test_chat_stream_tool_call(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        if not (capabilities.tools and capabilities.streaming):
            pytest.skip("the provider cannot stream tool calls")
        chunks = self._chunks(gateway, {"messages": _user("Oslo"), "tools": [CHAT_WEATHER_TOOL]})
        calls = [call for chunk in chunks for call in chunk.choices[0].delta.tool_calls or ()]
        assert calls[0].index == 0 and calls[0].id and calls[0].function.name == "get_weather"
        assert all(call.index == 0 and call.id is None for call in calls[1:])
        assert json.loads("".join(call.function.arguments for call in calls)) == {"text": "Oslo"}
        assert chunks[-1].choices[0].finish_reason == "tool_calls"

    @pytest.mark.parametrize("case", ["text", "tools"])
    def test_chat_stream_helper_matches_json(self, openai_client: Any, capabilities: Capabilities, case: str) -> None:
        if not capabilities.streaming or (case == "tools" and not capabilities.tools):
            pytest.skip("the provider cannot stream this")
        body: dict[str, Any] = {"model": self.model, "messages": _user("Paris is lovely")}
        if case == "tools":
            body["tools"] = [CHAT_WEATHER_TOOL]
        answer = openai_client.chat.completions.create(**body).choices[0]
        with openai_client.chat.completions.stream(**body) as stream:
            for _ in stream:
                pass
            streamed = stream.get_final_completion().choices[0]
        assert streamed.finish_reason == answer.finish_reason
        assert streamed.message.content == answer.message.content
        assert [(call.function.name, json.loads(call.function.arguments)) for call in streamed.message.tool_calls
                or ()] == [(call.function.name, json.loads(call.function.arguments)) for call in
                           answer.message.tool_calls or ()]

    # -- models -----------------------------------------------------------------------------------------

    def test_models_in_openai_shape(self, openai_client: Any, gateway_app: Any) -> None:
        """``GET /v1/models`` in OpenAI's shape lists the instance's upstream models once fetched."""
        instance, _ = gateway_app.state.gateway.router.resolve(self.model)
        deadline = time.monotonic() + 10
        while True:
            models = list(openai_client.models.list())
            mine = [model.id for model in models if model.owned_by == instance.name]
            if not instance.lists_models or mine:
                break
            assert time.monotonic() < deadline, f"the upstream models of {instance.name!r} never appeared"
            time.sleep(0.05)
        assert all(model.object == "model" for model in models)
        if instance.lists_models:
            assert all(model_id.startswith(f"{instance.name}/") for model_id in mine)
            assert openai_client.models.retrieve(mine[0]).id == mine[0]

    # -- errors -----------------------------------------------------------------------------------------

    def test_chat_unservable_parameters(self, gateway: GatewayClient) -> None:
        for extra, param in (({"n": 2}, "n"), ({"logprobs": True}, "logprobs")):
            response = self._chat(gateway, {"messages": _user("x"), **extra})
            assert response.status_code == 400, response.text
            error = response.json()["error"]
            assert error["param"] == param and error["type"] == "invalid_request_error" and error["message"]

    def test_chat_open_responses_body_is_redirected(self, gateway: GatewayClient) -> None:
        response = self._chat(gateway, {"input": "Hello"})
        assert response.status_code == 400
        error = response.json()["error"]
        assert "/v1/responses" in error["message"] and error["param"] == "input"

    def test_chat_upstream_errors(self, openai_client: Any, capabilities: Capabilities) -> None:
        import openai

        with pytest.raises(openai.RateLimitError) as raised:
            openai_client.chat.completions.create(model=self.model, messages=_user("error:429"))
        assert raised.value.response.headers.get("retry-after") is not None
        assert self.api_key not in raised.value.response.text
        with pytest.raises(openai.BadRequestError):
            openai_client.chat.completions.create(model=self.model, messages=_user("error:400"))
        if capabilities.streaming:
            with pytest.raises(openai.RateLimitError):
                openai_client.chat.completions.create(model=self.model, messages=_user("error:429"), stream=True)

    def test_chat_stream_cut_mid_way(self, openai_client: Any, capabilities: Capabilities) -> None:
        if not capabilities.streaming:
            pytest.skip("the provider does not stream")
        import openai

        with pytest.raises(openai.APIError) as raised:
            for _ in openai_client.chat.completions.create(model=self.model, messages=_user("cut!"), stream=True):
                pass
        assert self.api_key not in str(raised.value)
