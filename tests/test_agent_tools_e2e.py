"""Every Responses tool type through the official openai SDK, on every provider (issue 16, item 1).

An OpenAI instance in Responses mode gets every tool and item as it was sent and its hosted items come back
(web searches, custom tool calls) in JSON and in the stream. The other providers (OpenAI in Chat Completions
mode, Anthropic, Gemini) get ``namespace`` tools flattened and ``custom`` tools as one-string functions, with
the calls mapped back; tools they cannot run are dropped and named in ``x-gateway-dropped-tools``, or refused
with a 400 naming every one under ``routing.unsupported_tools: refuse``. Every body and stream is validated
against openapi.json (with the documented OpenAI-type extensions).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import openai
import pytest

from gateway_anthropic.testing import fake_upstream as anthropic_fake
from gateway_core.testing import UpstreamRecorder, default_validator, parse_sse, run_gateway, serve_asgi
from gateway_google.testing import fake_upstream as google_fake
from gateway_openai.testing import fake_upstream as openai_fake

VALIDATOR = default_validator()
MODELS = {"openai": "openai/gpt-5", "openai-chat": "openai-chat/gpt-4o", "anthropic": "anthropic/claude-sonnet-4-5",
          "google": "google/gemini-2.5-flash"}
TRANSLATED = ["openai-chat", "anthropic", "google"]
PATCH_TOOL = {"type": "custom", "name": "apply_patch", "description": "Apply a patch.",
              "format": {"type": "grammar", "syntax": "lark", "definition": 'start: "*** Begin Patch" /.+/'}}
CRM = {"type": "namespace", "name": "crm", "description": "The CRM.", "tools": [
    {"type": "function", "name": "lookup", "description": "Find a customer.",
     "parameters": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}}]}
FUNCTION = {"type": "function", "name": "get_weather", "description": "Weather.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": False}
EVERY_TOOL = [
    FUNCTION, CRM, PATCH_TOOL,
    {"type": "web_search", "external_web_access": False},
    {"type": "file_search", "vector_store_ids": ["vs_1"], "max_num_results": 3},
    {"type": "mcp", "server_label": "docs", "server_url": "https://mcp.example.com", "require_approval": "never",
     "authorization": "mcp-secret-token-123"},
    {"type": "local_shell"}, {"type": "shell"}, {"type": "apply_patch"},
    {"type": "tool_search", "description": "Find more tools."},
    {"type": "code_interpreter", "container": {"type": "auto"}},
    {"type": "image_generation", "quality": "low"},
]


class Setup:
    """One gateway in front of a fake of each provider (two OpenAI instances: both modes)."""

    def __init__(self, stack: ExitStack, routing: dict[str, Any] | None = None) -> None:
        self.fakes = {"openai": UpstreamRecorder(openai_fake.create_app()),
                      "openai-chat": UpstreamRecorder(openai_fake.create_app()),
                      "anthropic": UpstreamRecorder(anthropic_fake.create_app()),
                      "google": UpstreamRecorder(google_fake.create_app())}
        urls = {name: stack.enter_context(serve_asgi(fake)) for name, fake in self.fakes.items()}
        providers = {
            "openai": {"type": "openai", "api_key": "sk-test-openai-0000", "base_url": urls["openai"] + "/v1"},
            "openai-chat": {"type": "openai", "api_key": "sk-test-openai-0001", "base_url": urls["openai-chat"] + "/v1",
                            "options": {"mode": "chat_completions"}},
            "anthropic": {"api_key": "sk-ant-test-000000", "base_url": urls["anthropic"]},
            "google": {"api_key": "gm-test-0000000000", "base_url": urls["google"]},
        }
        self.url = stack.enter_context(run_gateway({"providers": providers, "routing": routing or {}}))
        self.client = openai.OpenAI(base_url=self.url + "/v1", api_key="unused", max_retries=0)

    def last_body(self, provider: str) -> dict[str, Any]:
        """The body of the last model call the provider's fake received."""
        calls = [r for r in self.fakes[provider].requests if r.method == "POST"]
        return calls[-1].json  # type: ignore[no-any-return]

    def post(self, **body: Any) -> httpx.Response:
        return httpx.post(self.url + "/v1/responses", json=body, timeout=30)

    def stream(self, **body: Any) -> dict[str, Any]:
        """A validated stream's terminal response."""
        response = self.post(stream=True, **body)
        assert response.status_code == 200, response.text
        events, done = parse_sse(response.content)
        return VALIDATOR.check_stream(events, done)


@pytest.fixture(scope="module")
def setup() -> Iterator[Setup]:
    with ExitStack() as stack:
        yield Setup(stack)


def without_nulls(value: Any) -> Any:
    """``value`` with the null-valued keys of every object left out."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def upstream_tool_names(body: dict[str, Any], provider: str) -> list[str]:
    """The names of the function tools an upstream request declares, in its provider's shape."""
    if provider == "openai-chat":
        return [tool["function"]["name"] for tool in body.get("tools", [])]
    if provider == "anthropic":
        return [tool["name"] for tool in body.get("tools", [])]
    return [declaration["name"] for group in body.get("tools", [])
            for declaration in group.get("functionDeclarations", [])]


def test_openai_responses_mode_gets_every_tool_as_sent(setup: Setup) -> None:
    response = setup.post(model=MODELS["openai"], input="say:ready", tools=EVERY_TOOL)
    assert response.status_code == 200, response.text
    assert "x-gateway-dropped-tools" not in response.headers
    sent = setup.last_body("openai")["tools"]
    assert without_nulls(sent) == EVERY_TOOL, "every tool reached OpenAI unchanged (unset keys may be null)"
    body = response.json()
    VALIDATOR.validate_response(body)
    echoed = {tool["type"]: tool for tool in body["tools"]}
    assert echoed["file_search"] == EVERY_TOOL[4] and echoed["custom"] == PATCH_TOOL
    assert "authorization" not in echoed["mcp"] and "mcp-secret-token-123" not in response.text


SEARCHES = ["openai", "anthropic", "google"]  # the providers that run web search


@pytest.mark.parametrize("provider", SEARCHES)
@pytest.mark.parametrize("stream", [False, True])
def test_web_search_comes_back_as_a_call_with_citations(setup: Setup, provider: str, stream: bool) -> None:
    body = {"model": MODELS[provider], "input": "search:gateway pricing",
            "tools": [{"type": "web_search", "filters": {"allowed_domains": ["example.com"]}}]}
    if stream:
        output = setup.stream(**body)["output"]
    else:
        response = setup.client.responses.create(**body)  # type: ignore[call-overload]
        VALIDATOR.validate_response(response.model_dump(mode="json", exclude_unset=True))
        assert "web_search_call" in [item.type for item in response.output], "the openai SDK parses its own type"
        output = [item.model_dump(mode="json", exclude_unset=True) for item in response.output]
    if provider == "google":  # Gemini reports its searches after the answer
        output = output[::-1]
    search = output[0]
    assert search["type"] == "web_search_call" and search["status"] == "completed"
    assert search["action"]["query"] == "gateway pricing"
    assert search["action"]["sources"] == [{"type": "url", "url": "https://example.com/gateway-pricing"}]
    text = output[1]["content"][0]
    assert text["text"] == "found: gateway pricing"
    citation = text["annotations"][0]
    assert citation["type"] == "url_citation" and citation["url"] == "https://example.com/gateway-pricing"
    assert (citation["start_index"], citation["end_index"]) == (0, len(text["text"]))
    if provider == "anthropic":
        tool = setup.last_body("anthropic")["tools"][0]
        assert tool == {"type": "web_search_20250305", "name": "web_search", "allowed_domains": ["example.com"]}
    if provider == "google":
        assert setup.last_body("google")["tools"] == [{"googleSearch": {}}]


@pytest.mark.parametrize("provider", ["openai", *TRANSLATED])
@pytest.mark.parametrize("stream", [False, True])
def test_custom_tool_call_round_trip(setup: Setup, provider: str, stream: bool) -> None:
    prompt = 'use:apply_patch {"input": "*** Begin Patch\\n+hello"}'
    body = {"model": MODELS[provider], "input": prompt, "tools": [PATCH_TOOL]}
    if stream:
        output = setup.stream(**body)["output"]
    else:
        response = setup.client.responses.create(**body)  # type: ignore[call-overload]
        assert response.output[0].type == "custom_tool_call", "the openai SDK parses it as its own type"
        output = [item.model_dump(mode="json", exclude_unset=True) for item in response.output]
    call = output[0]
    assert call["type"] == "custom_tool_call" and call["name"] == "apply_patch"
    assert call["input"] == "*** Begin Patch\n+hello"
    if provider != "openai":
        assert upstream_tool_names(setup.last_body(provider), provider) == ["apply_patch"]
        assert "lark grammar" in json.dumps(setup.last_body(provider)), "the grammar is in the description"

    history = [{"role": "user", "content": prompt},
               {"type": "custom_tool_call", "call_id": call["call_id"], "name": "apply_patch", "input": call["input"]},
               {"type": "custom_tool_call_output", "call_id": call["call_id"], "output": "patched"}]
    answer = setup.client.responses.create(model=MODELS[provider], input=history, tools=[PATCH_TOOL])  # type: ignore[arg-type]
    assert answer.output_text == "tool said: patched"
    assert "patched" in json.dumps(setup.last_body(provider))


@pytest.mark.parametrize("provider", ["openai", *TRANSLATED])
def test_namespace_calls_map_back(setup: Setup, provider: str) -> None:
    response = setup.client.responses.create(model=MODELS[provider], input='use:crm__lookup {"id": 7}'
                                             if provider != "openai" else 'use:lookup {"id": 7}', tools=[CRM])  # type: ignore[list-item]
    VALIDATOR.validate_response(response.model_dump(mode="json", exclude_unset=True))
    call = response.output[0]
    assert call.type == "function_call" and call.name == "lookup" and call.namespace == "crm"
    assert json.loads(call.arguments) == {"id": 7}
    if provider != "openai":
        assert upstream_tool_names(setup.last_body(provider), provider) == ["crm__lookup"]
    history = [{"role": "user", "content": "look up 7"},
               {"type": "function_call", "call_id": call.call_id, "name": "lookup", "namespace": "crm",
                "arguments": call.arguments},
               {"type": "function_call_output", "call_id": call.call_id, "output": "Ada"}]
    answer = setup.client.responses.create(model=MODELS[provider], input=history, tools=[CRM])  # type: ignore[arg-type, list-item]
    assert answer.output_text == "tool said: Ada"
    sent = json.dumps(setup.last_body(provider))
    assert ("crm__lookup" in sent) is (provider != "openai"), "the replayed call is renamed as it was declared"


@pytest.mark.parametrize("provider", TRANSLATED)
def test_tools_a_provider_cannot_run_are_dropped_and_named(setup: Setup, provider: str) -> None:
    tools = [FUNCTION, {"type": "file_search", "vector_store_ids": ["vs_1"]}, {"type": "local_shell"}]
    response = setup.post(model=MODELS[provider], input="say:done", tools=tools)
    assert response.status_code == 200, response.text
    assert response.headers["x-gateway-dropped-tools"] == "tools[1] (file_search), tools[2] (local_shell)"
    assert upstream_tool_names(setup.last_body(provider), provider) == ["get_weather"]
    VALIDATOR.validate_response(response.json())


@pytest.mark.parametrize("provider", TRANSLATED)
def test_replayed_hosted_items_are_left_out_for_other_providers(setup: Setup, provider: str) -> None:
    history = [{"role": "user", "content": "list files"},
               {"type": "local_shell_call", "id": "lsh_1", "call_id": "call_ls", "status": "completed",
                "action": {"type": "exec", "command": ["ls"], "env": {}}},
               {"type": "local_shell_call_output", "id": "lsh_1", "output": "README.md"},
               {"role": "user", "content": "say:ok"}]
    response = setup.post(model=MODELS[provider], input=history)
    assert response.status_code == 200, response.text
    assert "call_ls" not in json.dumps(setup.last_body(provider))


def test_the_refuse_policy_names_every_tool() -> None:
    with ExitStack() as stack:
        strict = Setup(stack, {"unsupported_tools": "refuse"})
        tools = [FUNCTION, {"type": "file_search", "vector_store_ids": ["vs_1"]}, {"type": "image_generation"}]
        with pytest.raises(openai.BadRequestError) as refused:
            strict.client.responses.create(model=MODELS["anthropic"], input="hi", tools=tools)  # type: ignore[arg-type]
        error = refused.value.body
        assert refused.value.status_code == 400 and error["code"] == "unsupported_tool"  # type: ignore[index]
        assert "tools[1] (file_search)" in error["message"] and "tools[2] (image_generation)" in error["message"]  # type: ignore[index]
        assert error["param"] == "tools[1]"  # type: ignore[index]
        ok = strict.client.responses.create(model=MODELS["openai"], input="say:fine", tools=tools)  # type: ignore[arg-type]
        assert ok.output_text == "fine", "OpenAI in Responses mode runs them"
