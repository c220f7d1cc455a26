"""The provider conformance suite: the same end-to-end tests for every provider plugin.

A provider package runs it against its own fake upstream (an ASGI app speaking the provider's real wire
format and answering under the echo protocol, :mod:`gateway_core.echo`) with a few class attributes::

    from gateway_acme.testing.fake_upstream import create_app
    from gateway_core.testing import ProviderConformance

    class TestConformance(ProviderConformance):
        kind = "acme"
        model = "acme-large"
        fake_upstream = create_app

Every test drives the real gateway over HTTP and validates each body and stream against openapi.json.
Capabilities the instance reports as missing (``gateway_capabilities``) turn their tests into skips, and so
does ``fake_upstream = None`` for the transport tests (timeouts, refused connections, disconnects).
The fixtures ``upstream_url`` and ``upstream_requests`` (what the fake received during the test, through
:class:`UpstreamRecorder`) are there for a plugin's own extra tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest

from ..app import create_app
from ..config import config_from_data
from ..echo import TEXT_BEFORE_ERROR
from ..provider import Capabilities
from .chat_conformance import ChatCompletionsConformance
from .client import PDF_DATA_URL, PNG_DATA_URL, GatewayClient
from .messages_conformance import MessagesConformance
from .recorder import RecordedRequest, UpstreamRecorder
from .servers import free_port, serve_asgi, with_temporary_store
from .validator import default_validator

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
}
CLOCK_TOOL = {
    "type": "function",
    "name": "get_time",
    "description": "Time in a city",
    "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
}

PATCH_TOOL = {"type": "custom", "name": "apply_patch", "description": "Apply a patch to the files.",
              "format": {"type": "grammar", "syntax": "lark", "definition": 'start: "*** Begin Patch" /.*/'}}
CRM_TOOLS = {"type": "namespace", "name": "crm", "description": "The CRM.", "tools": [
    {"type": "function", "name": "lookup", "description": "Find a customer.",
     "parameters": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}}]}


def output_text(resource: dict[str, Any]) -> str:
    """All output_text of a resource's message items."""
    return "".join(
        part["text"]
        for item in resource["output"]
        if item["type"] == "message"
        for part in item["content"]
        if part["type"] == "output_text"
    )


def function_calls(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """The function_call items of a resource."""
    return [item for item in resource["output"] if item["type"] == "function_call"]


class ProviderConformance(ChatCompletionsConformance, MessagesConformance):
    """Base class of a provider's conformance run: set the class attributes below.

    - ``kind``: the provider kind (its entry-point name); ``model``: a model name it serves.
    - ``fake_upstream``: a callable returning the fake upstream ASGI app (``None``: no upstream, as for the
      in-process mock; the transport tests skip).
    - ``base_path``: appended to the fake's URL to make the instance's ``base_url`` (e.g. ``"/v1"``).
    - ``options``: the instance's ``options``.
    - ``api_key``: the instance's key; tests check that it never reaches a client.

    The gateway gets three instances of ``kind``: ``<kind>`` (the one under test), ``slow`` (timeout 0.5 s)
    and ``down`` (a port nothing listens on). Override the ``gateway_config`` fixture for anything else.
    """

    kind: ClassVar[str] = ""
    model: ClassVar[str] = ""
    fake_upstream: ClassVar[Callable[[], Any] | None] = None
    base_path: ClassVar[str] = ""
    options: ClassVar[dict[str, Any]] = {}
    api_key: ClassVar[str] = "sk-conformance-secret-0123456789abcdef"

    @pytest.fixture(scope="class")
    @classmethod
    def upstream_recorder(cls) -> UpstreamRecorder | None:
        """The fake upstream, wrapped in the recorder (``None`` without ``fake_upstream``)."""
        return None if cls.fake_upstream is None else UpstreamRecorder(cls.fake_upstream())

    @pytest.fixture(scope="class")
    @classmethod
    def upstream_url(cls, upstream_recorder: UpstreamRecorder | None) -> Iterator[str | None]:
        """Base URL of the running fake upstream (``None`` without one)."""
        if upstream_recorder is None:
            yield None
            return
        with serve_asgi(upstream_recorder) as url:
            yield url

    @pytest.fixture
    def upstream_requests(self, upstream_recorder: UpstreamRecorder | None) -> list[RecordedRequest]:
        """The requests the fake upstream receives during this test, oldest first."""
        if upstream_recorder is None:
            pytest.skip("this provider has no fake upstream")
        upstream_recorder.requests.clear()
        return upstream_recorder.requests

    @classmethod
    def instance(cls, base_url: str | None, **settings: Any) -> dict[str, Any]:
        """The config of one instance of ``kind`` at ``base_url``."""
        found = {"type": cls.kind, "api_key": cls.api_key, "options": dict(cls.options), **settings}
        if base_url is not None:
            found["base_url"] = base_url + cls.base_path
        return found

    @pytest.fixture(scope="class")
    @classmethod
    def gateway_config(cls, upstream_url: str | None) -> dict[str, Any]:
        """The gateway config: the instance under test, and ``slow`` and ``down`` for the transport tests."""
        providers = {cls.kind: cls.instance(upstream_url)}
        if upstream_url is not None:
            providers["slow"] = cls.instance(upstream_url, timeout=0.5)
            providers["down"] = cls.instance(f"http://127.0.0.1:{free_port()}")
        return {"providers": providers}

    @pytest.fixture(scope="class")
    @classmethod
    def gateway_app(cls, gateway_config: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
        """The gateway application under test: retries and cooldowns off, so each test sees the provider's
        own mapping of one upstream answer (the retry policy is the core's, tested there)."""
        routing = {"max_retries": 0, "cooldown_failures": 1_000_000, **gateway_config.get("routing", {})}
        config = with_temporary_store({**gateway_config, "routing": routing}, str(tmp_path_factory.mktemp("store")))
        return create_app(config_from_data(config, "<conformance config>"))

    @pytest.fixture(scope="class")
    @classmethod
    def gateway(cls, gateway_app: Any) -> Iterator[GatewayClient]:
        """A validating client of the running gateway."""
        with serve_asgi(gateway_app) as url:
            client = GatewayClient(url, default_validator())
            yield client
            client.http.close()

    @pytest.fixture(scope="class")
    @classmethod
    def capabilities(cls, gateway_app: Any) -> Capabilities:
        """What the routed instance says it can do."""
        instance, _ = gateway_app.state.gateway.router.resolve(cls.model)
        return instance.capabilities

    def body(self, input: Any, **extra: Any) -> dict[str, Any]:
        """A request body for ``self.model``."""
        return {"model": self.model, "input": input, **extra}

    def answer(self, gateway: GatewayClient, capabilities: Capabilities, body: dict[str, Any],
               streaming: bool) -> dict[str, Any]:
        """The validated resource for ``body``, from a JSON call or the terminal snapshot of a stream."""
        if not streaming:
            return gateway.create(body)
        if not capabilities.streaming:
            pytest.skip("the provider does not stream")
        return gateway.stream(body)[1]

    # -- text -------------------------------------------------------------------------------------------

    def test_text(self, gateway: GatewayClient) -> None:
        resource = gateway.create(self.body("Hello, gateway world!"))
        assert resource["status"] == "completed"
        assert resource["model"] == self.model
        assert output_text(resource) == "Hello, gateway world!"
        assert resource["usage"]["input_tokens"] > 0 and resource["usage"]["output_tokens"] > 0
        assert resource["usage"]["total_tokens"] >= resource["usage"]["input_tokens"]
        assert resource["id"].startswith("resp_") and resource["output"][0]["id"].startswith("msg_")

    def test_stream_text(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        if not capabilities.streaming:
            pytest.skip("the provider does not stream")
        events, terminal = gateway.stream(self.body("one two three four five"))
        deltas = [event["delta"] for event in events if event["type"] == "response.output_text.delta"]
        assert len(deltas) >= 2, "text arrives in several deltas"
        assert "".join(deltas) == "one two three four five"
        assert terminal["status"] == "completed" and output_text(terminal) == "one two three four five"
        assert terminal["usage"]["output_tokens"] > 0

    def test_instructions(self, gateway: GatewayClient) -> None:
        resource = gateway.create(self.body("system?", instructions="Answer in French."))
        assert output_text(resource) == "Answer in French."
        assert resource["instructions"] == "Answer in French."

    def test_system_message(self, gateway: GatewayClient) -> None:
        body = self.body([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "system?"}])
        assert output_text(gateway.create(body)) == "Be brief."

    def test_multi_turn(self, gateway: GatewayClient) -> None:
        body = self.body([
            {"type": "message", "role": "user", "content": "first"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "second"}]},
            {"role": "user", "content": [{"type": "input_text", "text": "history?"}]},
        ])
        assert output_text(gateway.create(body)) == "user:first | assistant:second | user:history?"

    def test_max_output_tokens(self, gateway: GatewayClient) -> None:
        resource = gateway.create(self.body("length!", max_output_tokens=16))
        assert resource["status"] == "incomplete"
        assert resource["incomplete_details"] == {"reason": "max_output_tokens"}
        assert resource["completed_at"] is None and resource["max_output_tokens"] == 16

    # -- tools ------------------------------------------------------------------------------------------

    def test_tool_call(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        if not capabilities.tools:
            pytest.skip("the provider has no tools")
        resource = gateway.create(self.body("Paris", tools=[WEATHER_TOOL]))
        calls = function_calls(resource)
        assert len(calls) == 1 and resource["status"] == "completed"
        assert calls[0]["name"] == "get_weather" and json.loads(calls[0]["arguments"]) == {"text": "Paris"}
        assert calls[0]["call_id"] and calls[0]["id"].startswith("fc_")
        assert resource["tools"][0]["name"] == "get_weather"

    def test_stream_tool_call(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        if not (capabilities.tools and capabilities.streaming):
            pytest.skip("the provider cannot stream tool calls")
        events, terminal = gateway.stream(self.body("Oslo", tools=[WEATHER_TOOL]))
        kinds = [event["type"] for event in events]
        assert "response.function_call_arguments.delta" in kinds
        assert "response.function_call_arguments.done" in kinds
        calls = function_calls(terminal)
        assert len(calls) == 1 and json.loads(calls[0]["arguments"]) == {"text": "Oslo"}

    def test_forced_tool(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        if not capabilities.tools:
            pytest.skip("the provider has no tools")
        body = self.body("Rome", tools=[WEATHER_TOOL, CLOCK_TOOL], tool_choice={"type": "function", "name": "get_time"})
        calls = function_calls(gateway.create(body))
        assert [call["name"] for call in calls] == ["get_time"]

    def test_allowed_tools(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        if not capabilities.tools:
            pytest.skip("the provider has no tools")
        choice = {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_time"}]}
        resource = gateway.create(self.body("Rome", tools=[WEATHER_TOOL, CLOCK_TOOL], tool_choice=choice))
        assert [call["name"] for call in function_calls(resource)] == ["get_time"]
        assert resource["tool_choice"]["type"] == "allowed_tools" and resource["tool_choice"]["mode"] == "required"

    def test_tool_choice_none(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        if not capabilities.tools:
            pytest.skip("the provider has no tools")
        resource = gateway.create(self.body("just talk", tools=[WEATHER_TOOL], tool_choice="none"))
        assert function_calls(resource) == [] and output_text(resource) == "just talk"

    def test_tool_round_trip(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        if not capabilities.tools:
            pytest.skip("the provider has no tools")
        body = self.body(
            [
                {"role": "user", "content": "What is the weather in Paris?"},
                {"type": "function_call", "call_id": "call_abc123", "name": "get_weather",
                 "arguments": '{"text": "Paris"}'},
                {"type": "function_call_output", "call_id": "call_abc123", "output": "sunny, 21C"},
            ],
            tools=[WEATHER_TOOL],
        )
        resource = gateway.create(body)
        assert output_text(resource) == "tool said: sunny, 21C"

    # -- OpenAI's other tool types (the core lowers them for providers that do not run them) ---------------

    @pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
    def test_custom_tool(self, gateway: GatewayClient, capabilities: Capabilities, streaming: bool) -> None:
        """A ``custom`` (freeform) tool is called with text and answered with ``custom_tool_call``."""
        if not capabilities.tools:
            pytest.skip("the provider has no tools")
        prompt = 'use:apply_patch {"input": "*** Begin Patch"}'
        resource = self.answer(gateway, capabilities, self.body(prompt, tools=[PATCH_TOOL]), streaming)
        calls = [item for item in resource["output"] if item["type"] == "custom_tool_call"]
        assert [(call["name"], call["input"]) for call in calls] == [("apply_patch", "*** Begin Patch")], resource
        history = [{"role": "user", "content": prompt},
                   {"type": "custom_tool_call", "call_id": calls[0]["call_id"], "name": "apply_patch",
                    "input": "*** Begin Patch"},
                   {"type": "custom_tool_call_output", "call_id": calls[0]["call_id"], "output": "done"}]
        assert output_text(gateway.create(self.body(history, tools=[PATCH_TOOL]))) == "tool said: done"

    def test_namespace_tool(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        """A function in a ``namespace`` tool is called under its own name, with ``namespace`` set."""
        if not capabilities.tools:
            pytest.skip("the provider has no tools")
        runs = "*" in capabilities.tool_types or "namespace" in capabilities.tool_types
        prompt = 'use:lookup {"id": 7}' if runs else 'use:crm__lookup {"id": 7}'
        calls = function_calls(gateway.create(self.body(prompt, tools=[CRM_TOOLS])))
        assert [(call["name"], call.get("namespace"), json.loads(call["arguments"])) for call in calls] == [
            ("lookup", "crm", {"id": 7})]

    @pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
    def test_web_search(self, gateway: GatewayClient, capabilities: Capabilities, streaming: bool) -> None:
        """Where the provider runs web search: a ``web_search_call`` item and the text's ``url_citation``."""
        if not ("*" in capabilities.tool_types or "web_search" in capabilities.tool_types):
            pytest.skip("the provider does not run web search")
        resource = self.answer(gateway, capabilities, self.body("search:gateway", tools=[{"type": "web_search"}]),
                               streaming)
        searches = [item for item in resource["output"] if item["type"] == "web_search_call"]
        assert searches and searches[0]["action"]["query"] == "gateway", resource
        parts = [part for item in resource["output"] if item["type"] == "message" for part in item["content"]]
        assert parts[0]["text"] == "found: gateway"
        assert parts[0]["annotations"][0]["url"] == "https://example.com/gateway"

    def test_unsupported_tool_is_dropped_and_named(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        """A tool the provider cannot run is left out and named in ``x-gateway-dropped-tools``."""
        if not capabilities.tools or "*" in capabilities.tool_types:
            pytest.skip("the provider runs every tool type")
        tools = [WEATHER_TOOL, {"type": "file_search", "vector_store_ids": ["vs_1"]}]
        response = gateway.post(self.body("say:fine", tools=tools))
        assert response.status_code == 200, response.text
        assert response.headers["x-gateway-dropped-tools"] == "tools[1] (file_search)"
        assert output_text(response.json()) == "fine"

    # -- images -----------------------------------------------------------------------------------------

    def test_image_input(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        if not capabilities.images:
            pytest.skip("the provider takes no images")
        body = self.body([{"role": "user", "content": [
            {"type": "input_text", "text": "image?"},
            {"type": "input_image", "image_url": PNG_DATA_URL, "detail": "low"},
        ]}])
        assert output_text(gateway.create(body)) == "images: 1"

    # -- errors -----------------------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("upstream_status", "status", "error_type"),
        [
            (400, 400, "invalid_request"),
            (401, 500, "server_error"),
            (403, 500, "server_error"),
            (404, 404, "not_found"),
            (429, 429, "too_many_requests"),
            (500, 500, "server_error"),
            (503, 503, "server_error"),
        ],
    )
    def test_upstream_error(self, gateway: GatewayClient, upstream_status: int, status: int, error_type: str) -> None:
        response = gateway.post(self.body(f"error:{upstream_status}"))
        assert response.status_code == status, response.text
        payload = response.json()
        gateway.validator.validate_error(payload)
        assert payload["error"]["type"] == error_type
        assert self.api_key not in response.text
        if upstream_status == 429:
            assert response.headers.get("retry-after") is not None

    def test_stream_error_before_first_event(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        if not capabilities.streaming:
            pytest.skip("the provider does not stream")
        error = gateway.error(self.body("error:429", stream=True), 429)
        assert error["type"] == "too_many_requests"

    def test_stream_cut_mid_way(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        """An EOF without the provider's end marker: what arrived is delivered, then an interrupted stream."""
        if not capabilities.streaming:
            pytest.skip("the provider does not stream")
        events, terminal = gateway.stream(self.body("cut!"))
        assert any(event["type"] == "response.output_text.delta" for event in events)
        assert [event["type"] for event in events[-2:]] == ["error", "response.failed"]
        assert events[-2]["error"]["type"] == "server_error"
        assert events[-2]["error"]["code"] == "upstream_stream_interrupted"
        assert terminal["status"] == "failed" and terminal["error"]["code"] == "upstream_stream_interrupted"
        assert self.api_key not in json.dumps(events)

    def test_stream_inband_error_before_any_delta(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        """An in-band error before the first delta is a pre-stream error (retryable, answered as JSON): the
        stream is primed inside ``gateway_stream``'s await."""
        if not capabilities.streaming:
            pytest.skip("the provider does not stream")
        error = gateway.error(self.body("inband-error:429", stream=True), 429)
        assert error["type"] == "too_many_requests"

    def test_stream_text_then_inband_error_in_one_read(self, gateway: GatewayClient,
                                                       capabilities: Capabilities) -> None:
        """Text and an in-band error in the same upstream read: the text is delivered, then the stream fails."""
        if not capabilities.streaming:
            pytest.skip("the provider does not stream")
        events, terminal = gateway.stream(self.body("text-then-error:429"))
        deltas = [event["delta"] for event in events if event["type"] == "response.output_text.delta"]
        assert "".join(deltas) == TEXT_BEFORE_ERROR
        assert [event["type"] for event in events[-2:]] == ["error", "response.failed"]
        assert events[-2]["error"]["type"] == "too_many_requests"
        assert terminal["status"] == "failed" and output_text(terminal) == TEXT_BEFORE_ERROR

    # -- conversation state (stored responses) ---------------------------------------------------------

    def test_previous_response_chain(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        """Three turns chained by previous_response_id: the upstream receives the whole history, in order."""
        first = gateway.create(self.body("alpha", instructions="Be kind."))
        assert first["store"] is True
        second = gateway.create(self.body("beta", previous_response_id=first["id"]))
        assert second["previous_response_id"] == first["id"]
        third_body = self.body("history?", previous_response_id=second["id"])
        if capabilities.streaming:
            _, third = gateway.stream(third_body)
        else:
            third = gateway.create(third_body)
        assert output_text(third) == "user:alpha | assistant:alpha | user:beta | assistant:beta | user:history?"
        unchained = gateway.create(self.body("system?", previous_response_id=first["id"]))
        assert output_text(unchained) == "", "instructions are not carried over from the previous response"

    def test_tool_loop_with_previous_response(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        if not capabilities.tools:
            pytest.skip("the provider has no tools")
        first = gateway.create(self.body("Paris", tools=[WEATHER_TOOL]))
        call = function_calls(first)[0]
        output = {"type": "function_call_output", "call_id": call["call_id"], "output": "rainy"}
        second = gateway.create(self.body([output], tools=[WEATHER_TOOL], previous_response_id=first["id"]))
        assert output_text(second) == "tool said: rainy"

    def test_item_reference(self, gateway: GatewayClient) -> None:
        first = gateway.create(self.body("gamma"))
        reference = {"type": "item_reference", "id": first["output"][0]["id"]}
        body = self.body([{"role": "user", "content": "gamma"}, reference, {"role": "user", "content": "history?"}])
        assert output_text(gateway.create(body)) == "user:gamma | assistant:gamma | user:history?"

    def test_unknown_references(self, gateway: GatewayClient) -> None:
        error = gateway.error(self.body("x", previous_response_id="resp_does_not_exist"), 404)
        assert (error["code"], error["param"]) == ("previous_response_not_found", "previous_response_id")
        reference = {"type": "item_reference", "id": "msg_nope"}
        error = gateway.error(self.body([{"role": "user", "content": "a"}, reference]), 400)
        assert error["param"] == "input[1].id"

    def test_store_false_is_not_kept(self, gateway: GatewayClient) -> None:
        unstored = gateway.create(self.body("secret", store=False))
        assert unstored["store"] is False
        gateway.error(self.body("x", previous_response_id=unstored["id"]), 404)
        assert gateway.http.get(f"/v1/responses/{unstored['id']}").status_code == 404

    def test_retrieve_and_delete(self, gateway: GatewayClient) -> None:
        created = gateway.create(self.body("keep me"))
        fetched = gateway.http.get(f"/v1/responses/{created['id']}")
        assert fetched.status_code == 200 and fetched.json() == created
        gateway.validator.validate_response(fetched.json())
        items = gateway.http.get(f"/v1/responses/{created['id']}/input_items").json()
        assert items["object"] == "list" and items["data"][0]["content"][0]["text"] == "keep me"
        assert gateway.http.delete(f"/v1/responses/{created['id']}").json()["deleted"] is True
        assert gateway.http.get(f"/v1/responses/{created['id']}").status_code == 404
        gateway.error(self.body("x", previous_response_id=created["id"]), 404)

    def test_compaction_round_trip(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        """Compaction, the provider's own (``Capabilities.compaction``) or the gateway's (a summary by the
        provider's own model, sealed); either way the compacted window works as the next input."""
        conversation = [{"role": "user", "content": "first"}, {"role": "assistant", "content": "noted"},
                        {"role": "user", "content": "second"}]
        response = gateway.http.post("/v1/responses/compact", json=self.body(conversation))
        assert response.status_code == 200, response.text
        compacted = response.json()
        gateway.validator.validate("CompactResource", compacted)
        assert [item["type"] for item in compacted["output"]][-1] == "compaction"
        assert [item["content"][0]["text"] for item in compacted["output"] if item["type"] == "message"] == [
            "first", "second"]
        follow_up = gateway.create(self.body([*compacted["output"], {"role": "assistant", "content": "ok"},
                                              {"role": "user", "content": "history?"}]))
        if not capabilities.compaction:  # the summary comes back in the user's role, never as instructions
            assert "Summary of the earlier conversation" in output_text(follow_up)  # history? lists no system text
        else:
            assert output_text(follow_up), "the provider read its compaction item back as context"
        tampered = {**compacted["output"][-1], "encrypted_content": compacted["output"][-1]["encrypted_content"][:-4]}
        error = gateway.error(self.body([tampered, {"role": "user", "content": "x"}]), 400)
        if not capabilities.compaction:
            assert (error["code"], error["param"]) == ("invalid_compaction", "input[0].encrypted_content")


    # -- transport: timeouts, refused connections, client disconnects ---------------------------------

    @pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
    def test_timeout(self, gateway: GatewayClient, upstream_url: str | None, streaming: bool) -> None:
        """An upstream slower than the instance's ``timeout`` is a 504 ``upstream_timeout``, never a hang."""
        if upstream_url is None:
            pytest.skip("this provider has no fake upstream")
        error = gateway.error(self.body("slow!", model=f"slow/{self.model}", stream=streaming), 504)
        assert error["code"] == "upstream_timeout"

    @pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
    def test_connection_refused(self, gateway: GatewayClient, upstream_url: str | None, streaming: bool) -> None:
        if upstream_url is None:
            pytest.skip("this provider has no fake upstream")
        response = gateway.post(self.body("hi", model=f"down/{self.model}", stream=streaming))
        assert response.status_code == 500, response.text
        gateway.validator.validate_error(response.json())
        assert response.json()["error"]["code"] == "upstream_connection_error"
        assert self.api_key not in response.text

    def test_client_disconnect_closes_the_upstream_stream(
        self, gateway: GatewayClient, capabilities: Capabilities, upstream_requests: list[RecordedRequest]
    ) -> None:
        """A client that leaves mid-stream makes the gateway close the upstream stream (it stops generating)."""
        if not capabilities.streaming:
            pytest.skip("the provider does not stream")
        with gateway.http.stream("POST", "/v1/responses", json=self.body("endless!", stream=True)) as response:
            assert response.status_code == 200
            lines = response.iter_lines()
            while "response.output_text.delta" not in next(lines):
                pass
        assert upstream_requests, "the upstream was called"
        assert upstream_requests[-1].disconnected.wait(5), "the upstream saw the gateway leave"
        assert not upstream_requests[-1].finished, "the upstream did not stream to its end"

    # -- in-band stream errors ----------------------------------------------------------------------------

    def test_stream_error_mid_way(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        """An error the upstream sends inside its stream ends the stream with ``error`` + ``response.failed``."""
        if not capabilities.streaming:
            pytest.skip("the provider does not stream")
        events, terminal = gateway.stream(self.body("stream-error!"))
        assert [event["type"] for event in events[-2:]] == ["error", "response.failed"]
        assert events[-2]["error"]["type"] == "server_error" and events[-2]["error"]["code"]
        assert terminal["status"] == "failed" and terminal["error"]["code"]
        assert self.api_key not in json.dumps(events)

    # -- answers: refusals, reasoning, structured output, files --------------------------------------------

    @pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
    def test_refusal(self, gateway: GatewayClient, capabilities: Capabilities, streaming: bool) -> None:
        """A refusal is a ``refusal`` part (or, for a provider without refusal text, a content-filter stop),
        never ordinary output text."""
        resource = self.answer(gateway, capabilities, self.body("refuse!"), streaming)
        parts = [part for item in resource["output"] if item["type"] == "message" for part in item["content"]]
        refusals = [part["refusal"] for part in parts if part["type"] == "refusal"]
        filtered = resource["status"] == "incomplete" and resource["incomplete_details"] == {
            "reason": "content_filter"}
        assert refusals == ["I can't help with that."] or (filtered and not refusals), resource
        assert output_text(resource) == ""

    @pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
    def test_reasoning(self, gateway: GatewayClient, capabilities: Capabilities, streaming: bool) -> None:
        """Reasoning arrives as a ``reasoning`` item before the message, with text or a round-trip blob."""
        if not capabilities.reasoning:
            pytest.skip("the provider does not reason")
        body = self.body("think!", reasoning={"effort": "low", "summary": "auto"})
        resource = self.answer(gateway, capabilities, body, streaming)
        kinds = [item["type"] for item in resource["output"]]
        assert "reasoning" in kinds and kinds.index("reasoning") < kinds.index("message"), kinds
        reasoning = resource["output"][kinds.index("reasoning")]
        texts = [part["text"] for part in reasoning.get("summary", []) + (reasoning.get("content") or [])]
        assert any(texts) or reasoning.get("encrypted_content"), reasoning
        assert output_text(resource) == "thought"

    @pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
    def test_structured_output(self, gateway: GatewayClient, capabilities: Capabilities, streaming: bool) -> None:
        if not capabilities.structured_output:
            pytest.skip("the provider has no structured output")
        schema = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"],
                  "additionalProperties": False}
        text = {"format": {"type": "json_schema", "name": "echo", "schema": schema, "strict": True}}
        resource = self.answer(gateway, capabilities, self.body("Lisbon", text=text), streaming)
        assert json.loads(output_text(resource)) == {"text": "Lisbon"}
        assert resource["text"]["format"]["type"] == "json_schema"

    def test_file_input(self, gateway: GatewayClient, capabilities: Capabilities) -> None:
        if not capabilities.files:
            pytest.skip("the provider takes no files")
        body = self.body([{"role": "user", "content": [
            {"type": "input_text", "text": "file?"},
            {"type": "input_file", "filename": "note.pdf", "file_data": PDF_DATA_URL},
        ]}])
        assert output_text(gateway.create(body)) == "files: 1"
