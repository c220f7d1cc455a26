"""The Anthropic Messages dialect's conformance suite, a mixin for a provider's conformance class.

Mixed into a :class:`~gateway_core.testing.ProviderConformance` subclass, it drives ``POST /v1/messages`` of
the same gateway with the official ``anthropic`` SDK, parses every body and stream event strictly with the
SDK's own types (``Message``, ``RawMessageStreamEvent``), checks the SSE grammar event by event, and checks
that ``client.messages.stream(...).get_final_message()`` equals the JSON call's message. Needs the
``anthropic`` package (skips without it).
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

MESSAGES_WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
}


def _user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


class MessagesConformance:
    """``POST /v1/messages`` through the provider under test (uses ``model``, ``api_key`` and the ``gateway``
    and ``capabilities`` fixtures of :class:`~gateway_core.testing.ProviderConformance`)."""

    model: str
    api_key: str

    @pytest.fixture(scope="class")
    @classmethod
    def anthropic_client(cls, gateway: GatewayClient) -> Any:
        """The official ``anthropic`` client pointed at the gateway."""
        anthropic = pytest.importorskip("anthropic")
        client = anthropic.Anthropic(base_url=str(gateway.http.base_url), api_key="unused", max_retries=0)
        yield client
        client.close()

    @pytest.fixture(scope="class")
    @classmethod
    def counts_tokens(cls, gateway_app: Any) -> bool:
        """Whether the routed instance's plugin counts tokens (``gateway_count_tokens``)."""
        instance, _ = gateway_app.state.gateway.router.resolve(cls.model)
        return bool(instance.counts_tokens)

    def _post(self, gateway: GatewayClient, body: dict[str, Any], path: str = "/v1/messages") -> httpx.Response:
        return gateway.http.post(path, json={"model": self.model, "max_tokens": 256, **body},
                                 headers={"anthropic-version": "2023-06-01"})

    def _message(self, gateway: GatewayClient, body: dict[str, Any], path: str = "/v1/messages") -> Any:
        from anthropic.types import Message

        response = self._post(gateway, body, path)
        assert response.status_code == 200, response.text
        return strict_parse(Message, response.json())

    def _events(self, gateway: GatewayClient, body: dict[str, Any]) -> list[Any]:
        """The stream's events, strictly parsed, after checking the grammar (ping aside)."""
        from anthropic.types import RawMessageStreamEvent

        response = self._post(gateway, {**body, "stream": True})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = sse_events(response.content)
        assert ("ping", '{"type":"ping"}') in raw
        for name, data in raw:
            assert json.loads(data)["type"] == name, "the event name is the data's type"
        events = [strict_parse(RawMessageStreamEvent, json.loads(data)) for name, data in raw if name != "ping"]
        kinds = [event.type for event in events]
        assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
        open_index = None
        for event in events[1:-2]:
            if event.type == "content_block_start":
                assert open_index is None, "one block at a time"
                open_index = event.index
            else:
                assert event.index == open_index, "deltas and stops name the open block"
                if event.type == "content_block_stop":
                    open_index = None
        assert open_index is None, "every block is stopped"
        starts = [event.index for event in events if event.type == "content_block_start"]
        assert starts == list(range(len(starts)))
        return events

    # -- JSON -------------------------------------------------------------------------------------------

    def test_messages_text(self, gateway: GatewayClient) -> None:
        message = self._message(gateway, {"messages": _user("Hello, gateway world!")})
        assert message.type == "message" and message.role == "assistant" and message.id.startswith("msg_")
        assert [block.type for block in message.content] == ["text"]
        assert message.content[0].text == "Hello, gateway world!" and message.stop_reason == "end_turn"
        assert message.model == self.model
        assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0

    def test_messages_beta_query(self, gateway: GatewayClient) -> None:
        message = self._message(gateway, {"messages": _user("beta")}, "/v1/messages?beta=true")
        assert message.content[0].text == "beta"

    def test_messages_system(self, anthropic_client: Any) -> None:
        string = anthropic_client.messages.create(model=self.model, max_tokens=64, system="Be brief.",
                                                  messages=_user("system?"))
        assert string.content[0].text == "Be brief."
        blocks = anthropic_client.messages.create(
            model=self.model, max_tokens=64, messages=_user("system?"),
            system=[{"type": "text", "text": "Answer in French.", "cache_control": {"type": "ephemeral"}}])
        assert blocks.content[0].text == "Answer in French."

    def test_messages_system_role_inside_messages(self, gateway: GatewayClient) -> None:
        """Claude Code puts ``{"role": "system"}`` messages inside ``messages`` for other vendors' models."""
        message = self._message(gateway, {"system": "Be brief.", "messages": [
            {"role": "system", "content": "Answer in French."}, {"role": "user", "content": "system?"}]})
        assert message.content[0].text.split() == ["Be", "brief.", "Answer", "in", "French."]

    def test_messages_liberal_fields(self, gateway: GatewayClient) -> None:
        """What Claude Code sends besides the basics is accepted."""
        message = self._message(gateway, {
            "messages": _user("still fine"),
            "metadata": {"user_id": json.dumps({"device_id": "d" * 64, "session_id": "s" * 36})},
            "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
            "output_config": {"effort": "medium"},
            "temperature": 0.5, "top_k": 40, "stop_sequences": ["\n\nHuman:"],
        })
        assert message.content[0].text == "still fine"

    def test_messages_multi_turn(self, anthropic_client: Any) -> None:
        message = anthropic_client.messages.create(model=self.model, max_tokens=64, messages=[
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": [{"type": "text", "text": "second"}]},
            {"role": "user", "content": [{"type": "text", "text": "history?"}]}])
        assert message.content[0].text == "user:first | assistant:second | user:history?"

    def test_messages_max_tokens(self, anthropic_client: Any) -> None:
        message = anthropic_client.messages.create(model=self.model, max_tokens=16, messages=_user("length!"))
        assert message.stop_reason == "max_tokens"

    def test_messages_image(self, anthropic_client: Any, capabilities: Capabilities) -> None:
        if not capabilities.images:
            pytest.skip("the provider takes no images")
        data = PNG_DATA_URL.partition(",")[2]
        message = anthropic_client.messages.create(model=self.model, max_tokens=64, messages=[{"role": "user",
            "content": [{"type": "text", "text": "image?"},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}]}])
        assert message.content[0].text == "images: 1"

    def test_messages_thinking_history_accepted(self, anthropic_client: Any, capabilities: Capabilities) -> None:
        """Thinking on, and earlier thinking / redacted_thinking blocks replayed whose signatures the gateway
        sealed for another provider: accepted, and never sent to this one."""
        if not capabilities.reasoning:
            pytest.skip("the provider has no reasoning")
        from ..envelope import seal

        foreign = seal("elsewhere", "other-model", {"t": "thinking", "thinking": "hmm", "signature": "c2ln"})
        message = anthropic_client.messages.create(
            model=self.model, max_tokens=4096, thinking={"type": "enabled", "budget_tokens": 2048},
            messages=[{"role": "user", "content": "first"},
                      {"role": "assistant", "content": [
                          {"type": "thinking", "thinking": "hmm", "signature": foreign},
                          {"type": "redacted_thinking", "data": seal("elsewhere", "other-model", {"t": "redacted"})},
                          {"type": "text", "text": "second"}]},
                      {"role": "user", "content": "third"}])
        assert [block.text for block in message.content if block.type == "text"] == ["third"]

    # -- tools ------------------------------------------------------------------------------------------

    def test_messages_tool_use(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        if not capabilities.tools:
            pytest.skip("the provider has no tools")
        message = self._message(gateway, {"messages": _user("Paris"), "tools": [
            {**MESSAGES_WEATHER_TOOL, "cache_control": {"type": "ephemeral"}},
            {"name": "later", "input_schema": {"type": "object"}, "defer_loading": True}]})
        assert message.stop_reason == "tool_use"
        [call] = [block for block in message.content if block.type == "tool_use"]
        assert call.id and call.name == "get_weather" and call.input == {"text": "Paris"}

    def test_messages_forced_tool(self, anthropic_client: Any, capabilities: Capabilities) -> None:
        if not capabilities.tools:
            pytest.skip("the provider has no tools")
        clock = {**MESSAGES_WEATHER_TOOL, "name": "get_time"}
        message = anthropic_client.messages.create(model=self.model, max_tokens=64, messages=_user("Rome"),
                                                   tools=[MESSAGES_WEATHER_TOOL, clock],
                                                   tool_choice={"type": "tool", "name": "get_time"})
        assert [block.name for block in message.content if block.type == "tool_use"] == ["get_time"]

    def test_messages_tool_round_trip(self, anthropic_client: Any, capabilities: Capabilities) -> None:
        if not capabilities.tools:
            pytest.skip("the provider has no tools")
        message = anthropic_client.messages.create(model=self.model, max_tokens=64, tools=[MESSAGES_WEATHER_TOOL],
                                                   messages=[
            {"role": "user", "content": "What is the weather in Paris?"},
            {"role": "assistant", "content": [{"type": "text", "text": "Let me look."},
                                              {"type": "tool_use", "id": "toolu_01", "name": "get_weather",
                                               "input": {"text": "Paris"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01",
                                          "content": [{"type": "text", "text": "sunny, 21C"}]}]}])
        assert message.content[0].text == "tool said: sunny, 21C"

    # -- streams ----------------------------------------------------------------------------------------

    def test_messages_stream_text(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        if not capabilities.streaming:
            pytest.skip("the provider does not stream")
        events = self._events(gateway, {"messages": _user("one two three four five")})
        assert events[0].message.content == [] and events[0].message.stop_reason is None
        assert events[1].type == "content_block_start" and events[1].content_block.type == "text"
        texts = [event.delta.text for event in events if event.type == "content_block_delta"]
        assert len(texts) >= 2 and "".join(texts) == "one two three four five"
        assert events[-2].delta.stop_reason == "end_turn" and events[-2].usage.output_tokens > 0

    def test_messages_stream_tool_use(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        if not (capabilities.tools and capabilities.streaming):
            pytest.skip("the provider cannot stream tool calls")
        events = self._events(gateway, {"messages": _user("Oslo"), "tools": [MESSAGES_WEATHER_TOOL]})
        [start] = [event for event in events if event.type == "content_block_start"
                   and event.content_block.type == "tool_use"]
        assert start.content_block.input == {} and start.content_block.name == "get_weather"
        parts = [event.delta.partial_json for event in events
                 if event.type == "content_block_delta" and event.index == start.index]
        assert json.loads("".join(parts)) == {"text": "Oslo"}
        assert events[-2].delta.stop_reason == "tool_use"

    @pytest.mark.parametrize("case", ["text", "tools"])
    def test_messages_stream_helper_matches_json(
        self, anthropic_client: Any, capabilities: Capabilities, case: str
    ) -> None:
        if not capabilities.streaming or (case == "tools" and not capabilities.tools):
            pytest.skip("the provider cannot stream this")
        body: dict[str, Any] = {"model": self.model, "max_tokens": 128, "messages": _user("Paris is lovely")}
        if case == "tools":
            body["tools"] = [MESSAGES_WEATHER_TOOL]
        answer = anthropic_client.messages.create(**body)
        with anthropic_client.messages.stream(**body) as stream:
            streamed = stream.get_final_message()

        def shape(message: Any) -> Any:
            return [(block.type, getattr(block, "text", None), getattr(block, "name", None),
                     getattr(block, "input", None)) for block in message.content], message.stop_reason

        assert shape(streamed) == shape(answer)
        assert streamed.usage.output_tokens == answer.usage.output_tokens

    # -- count_tokens -----------------------------------------------------------------------------------

    def test_messages_count_tokens(self, anthropic_client: Any, gateway: GatewayClient, counts_tokens: bool) -> None:
        """A real count where the provider can count (it matches the usage of the same request), an error
        (never a made-up 200) where it cannot."""
        import anthropic

        body: dict[str, Any] = {"model": self.model, "system": "Be brief today.",
                                "messages": _user("count these five words")}
        if not counts_tokens:
            with pytest.raises(anthropic.APIStatusError) as raised:
                anthropic_client.messages.count_tokens(**body)
            assert raised.value.status_code == 501 and raised.value.response.json()["type"] == "error"
            return
        counted = anthropic_client.messages.count_tokens(**body)
        answered = anthropic_client.messages.create(max_tokens=64, **body)
        assert counted.input_tokens == answered.usage.input_tokens > 0
        response = gateway.http.post("/v1/messages/count_tokens", json={"model": self.model, "messages": []})
        assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"

    # -- models -----------------------------------------------------------------------------------------

    def test_models_in_anthropic_shape(self, anthropic_client: Any, gateway: GatewayClient, gateway_app: Any) -> None:
        """With ``anthropic-version``, ``GET /v1/models`` is Anthropic's page of ``type: model`` entries, with
        the instance's upstream models (listed in the background) once they are fetched."""
        from anthropic.types import ModelInfo

        instance, _ = gateway_app.state.gateway.router.resolve(self.model)
        deadline = time.monotonic() + 10
        while True:
            page = gateway.http.get("/v1/models", headers={"anthropic-version": "2023-06-01"}).json()
            ids = [entry["id"] for entry in page["data"]]
            if not instance.lists_models or any(i.startswith(f"{instance.name}/") for i in ids):
                break
            assert time.monotonic() < deadline, f"the upstream models of {instance.name!r} never appeared: {ids}"
            time.sleep(0.05)
        assert page["has_more"] is False
        assert (page["first_id"], page["last_id"]) == ((ids[0], ids[-1]) if ids else (None, None))
        models = [strict_parse(ModelInfo, entry) for entry in page["data"]]
        assert [model.id for model in anthropic_client.models.list()] == ids
        if models:
            assert anthropic_client.models.retrieve(models[-1].id).id == models[-1].id
        with pytest.raises(pytest.importorskip("anthropic").NotFoundError):
            anthropic_client.models.retrieve("no-such-model")

    # -- errors -----------------------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("prompt", "status", "error_type"),
        [("error:400", 400, "invalid_request_error"), ("error:404", 404, "not_found_error"),
         ("error:429", 429, "rate_limit_error"), ("error:529", 529, "overloaded_error")],
    )
    def test_messages_upstream_errors(self, gateway: GatewayClient, prompt: str, status: int, error_type: str) -> None:
        response = self._post(gateway, {"messages": _user(prompt)})
        assert response.status_code == status, response.text
        body = response.json()
        assert body["type"] == "error" and body["error"]["type"] == error_type and body["error"]["message"]
        assert self.api_key not in response.text

    def test_messages_sdk_errors(self, anthropic_client: Any, capabilities: Capabilities) -> None:
        import anthropic

        with pytest.raises(anthropic.RateLimitError):
            anthropic_client.messages.create(model=self.model, max_tokens=64, messages=_user("error:429"))
        with pytest.raises(anthropic.BadRequestError) as raised:
            anthropic_client.messages.create(model=self.model, max_tokens=64, messages=[])
        assert raised.value.response.json()["error"]["type"] == "invalid_request_error"
        if capabilities.streaming:
            with pytest.raises(anthropic.APIStatusError) as overloaded, anthropic_client.messages.stream(
                    model=self.model, max_tokens=64, messages=_user("error:529")) as stream:
                stream.get_final_message()
            assert overloaded.value.status_code == 529

    def test_messages_stream_cut_mid_way(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        if not capabilities.streaming:
            pytest.skip("the provider does not stream")
        response = self._post(gateway, {"messages": _user("cut!"), "stream": True})
        events = sse_events(response.content)
        assert events[0][0] == "message_start" and events[-1][0] == "error"
        assert json.loads(events[-1][1])["error"]["type"] == "api_error"
        assert "message_stop" not in [name for name, _ in events] and self.api_key not in response.text
