"""The exact upstream request the gateway sent, per translation rule (recorded by the fake upstream)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .conftest import instance

TOOL = {"type": "function", "name": "get_weather", "description": "Weather",
        "parameters": {"type": "object", "properties": {"text": {"type": "string"}}}, "strict": True}
CLOCK = {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {}}}
CHAT_TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                              "parameters": TOOL["parameters"], "strict": True}}
IMAGE = "data:image/png;base64,iVBORw0KGgo="


@pytest.fixture
def send(upstream: tuple[Any, str], start_gateway: Callable[[dict[str, Any]], str]) -> Callable[..., dict[str, Any]]:
    """``send(mode, body, **instance_options)`` -> the body the upstream received."""
    gateways: dict[str, str] = {}

    def run(mode: str, body: dict[str, Any], **options: Any) -> dict[str, Any]:
        key = repr((mode, sorted(options.items())))
        if key not in gateways:
            gateways[key] = start_gateway({"providers": {"openai": instance(upstream[1], mode, options=options)}})
        response = httpx.post(gateways[key] + "/v1/responses", json={"model": "gpt-4o", **body}, timeout=20)
        assert response.status_code == 200, response.text
        return upstream[0].requests[-1].json

    return run


CHAT_CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        "system texts hoisted to the front, string content",
        {"instructions": "Be kind.", "input": [{"role": "user", "content": "hi"},
                                               {"role": "system", "content": "Be brief."}]},
        {},
        {"model": "gpt-4o", "messages": [{"role": "system", "content": "Be kind.\n\nBe brief."},
                                         {"role": "user", "content": "hi"}]},
    ),
    (
        "developer role kept for OpenAI",
        {"instructions": "Be kind.", "input": [{"role": "developer", "content": "Be brief."},
                                               {"role": "user", "content": "hi"}]},
        {"dialect": "openai"},
        {"model": "gpt-4o", "messages": [{"role": "system", "content": "Be kind."},
                                         {"role": "developer", "content": "Be brief."},
                                         {"role": "user", "content": "hi"}]},
    ),
    (
        "image parts with detail",
        {"input": [{"role": "user", "content": [{"type": "input_text", "text": "look"},
                                                {"type": "input_image", "image_url": IMAGE, "detail": "low"},
                                                {"type": "input_image", "image_url": "https://x.test/a.png"}]}]},
        {},
        {"model": "gpt-4o", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "look"},
            {"type": "image_url", "image_url": {"url": IMAGE, "detail": "low"}},
            {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]}]},
    ),
    (
        "calls + outputs: one assistant message with tool_calls, then tool messages",
        {"tools": [TOOL], "parallel_tool_calls": False, "input": [
            {"role": "user", "content": "weather?"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "checking"}]},
            {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"text":"a"}'},
            {"type": "function_call", "call_id": "c2", "name": "get_weather", "arguments": '{"text":"b"}'},
            {"type": "function_call_output", "call_id": "c1", "output": "sun"},
            {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "rain"}]}]},
        {},
        {"model": "gpt-4o", "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": "checking", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"text":"a"}'}},
                {"id": "c2", "type": "function", "function": {"name": "get_weather", "arguments": '{"text":"b"}'}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "sun"},
            {"role": "tool", "tool_call_id": "c2", "content": "rain"}],
         "tools": [CHAT_TOOL], "parallel_tool_calls": False},
    ),
    (
        "named tool_choice, sampling, max_tokens for compatible servers, stop, json_schema",
        {"input": "hi", "tools": [TOOL], "tool_choice": {"type": "function", "name": "get_weather"},
         "temperature": 0.2, "top_p": 0.9, "max_output_tokens": 50, "stop": ["END"],
         "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}, "strict": True}}},
        {},
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}],
         "tool_choice": {"type": "function", "function": {"name": "get_weather"}}, "tools": [CHAT_TOOL],
         "temperature": 0.2, "top_p": 0.9, "stop": ["END"], "max_tokens": 50,
         "response_format": {"type": "json_schema",
                             "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": True}}},
    ),
    (
        "allowed_tools without a native filter: only the allowed tools + mode",
        {"input": "hi", "tools": [TOOL, CLOCK],
         "tool_choice": {"type": "allowed_tools", "mode": "required",
                         "tools": [{"type": "function", "name": "get_time"}]}},
        {},
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "tool_choice": "required",
         "tools": [{"type": "function", "function": {"name": "get_time", "parameters": CLOCK["parameters"]}}]},
    ),
    (
        "allowed_tools native for OpenAI; max_completion_tokens; reasoning_effort; json_object",
        {"input": "hi", "tools": [CLOCK], "max_output_tokens": 9, "reasoning": {"effort": "low"},
         "text": {"format": {"type": "json_object"}},
         "tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "get_time"}]}},
        {"dialect": "openai"},
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}],
         "tool_choice": {"type": "allowed_tools", "allowed_tools": {
             "mode": "auto", "tools": [{"type": "function", "function": {"name": "get_time"}}]}},
         "tools": [{"type": "function", "function": {"name": "get_time", "parameters": CLOCK["parameters"]}}],
         "max_completion_tokens": 9, "response_format": {"type": "json_object"}, "reasoning_effort": "low"},
    ),
    (
        "no tools: no parallel_tool_calls; effort off for compatible servers; strict off",
        {"input": "hi", "parallel_tool_calls": True, "reasoning": {"effort": "high"}},
        {},
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
    ),
    (
        "reasoning_effort for listed model prefixes; max_tokens_param override; tool_strict off",
        {"input": "hi", "reasoning": {"effort": "high"}, "max_output_tokens": 5, "tools": [TOOL],
         "tool_choice": "none"},
        {"reasoning_effort": ["gpt-"], "max_tokens_param": "max_completion_tokens", "tool_strict": False},
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "tool_choice": "none",
         "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                                     "parameters": TOOL["parameters"]}}],
         "max_completion_tokens": 5, "reasoning_effort": "high"},
    ),
]


@pytest.mark.parametrize(("rule", "body", "options", "expected"), CHAT_CASES, ids=[case[0] for case in CHAT_CASES])
def test_chat_request(send: Callable[..., dict[str, Any]], rule: str, body: dict[str, Any],
                      options: dict[str, Any], expected: dict[str, Any]) -> None:
    assert send("chat_completions", body, **options) == expected


def test_chat_stream_options(send: Callable[..., dict[str, Any]]) -> None:
    sent = send("chat_completions", {"input": "hi", "stream": True})
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    sent = send("chat_completions", {"input": "hi", "stream": True}, stream_usage=False)
    assert sent["stream"] is True and "stream_options" not in sent


def test_chat_tool_output_image_follows_as_user_message(send: Callable[..., dict[str, Any]]) -> None:
    sent = send("chat_completions", {"input": [
        {"role": "user", "content": "draw"},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": [
            {"type": "input_text", "text": "here"}, {"type": "input_image", "image_url": IMAGE}]},
        {"role": "user", "content": "and?"}]})
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "tool", "user", "user"]
    assert sent["messages"][3]["content"] == [{"type": "image_url", "image_url": {"url": IMAGE}}]


def test_responses_request(send: Callable[..., dict[str, Any]]) -> None:
    sent = send("responses", {
        "instructions": "Be kind.", "presence_penalty": 0.5, "frequency_penalty": 0.5, "include": [],
        "tools": [{"type": "function", "name": "get_time"}], "max_output_tokens": 20,
        "input": [
            {"type": "message", "id": "msg_1", "role": "user", "content": "hi", "status": "completed"},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "s"}],
             "content": [{"type": "reasoning_text", "text": "raw"}], "encrypted_content": "gAAAA-openai"},
            {"type": "reasoning", "id": "rs_2", "summary": [], "encrypted_content": "orgw1.eyJwIjoiZ2VtaW5pIn0"},
            {"type": "reasoning", "id": "rs_3", "summary": []},
            {"type": "function_call", "id": "fc_1", "call_id": "c1", "name": "get_time", "arguments": "{}",
             "status": "completed"},
            {"type": "function_call_output", "id": "fco_1", "call_id": "c1", "output": "noon"}],
    })
    assert sent == {
        "model": "gpt-4o", "store": False, "include": ["reasoning.encrypted_content"], "instructions": "Be kind.",
        "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "s"}],
             "encrypted_content": "gAAAA-openai", "id": "rs_1"},
            {"type": "function_call", "call_id": "c1", "name": "get_time", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "noon"}],
        "tools": [{"type": "function", "name": "get_time", "description": None, "parameters": None, "strict": None}],
        "max_output_tokens": 20,
    }


def test_native_compaction_and_its_items_go_back_only_to_openai(
    upstream: tuple[Any, str], start_gateway: Callable[[dict[str, Any]], str]
) -> None:
    """Responses mode compacts with OpenAI's own /responses/compact and sends its compaction item back as
    is; a Chat Completions instance cannot read it (400), and compacts through the gateway instead."""
    url = start_gateway({"providers": {"openai": instance(upstream[1], "responses"),
                                       "chat": instance(upstream[1], "chat_completions")}})
    conversation = [{"role": "user", "content": "first"}, {"role": "assistant", "content": "noted"}]
    compacted = httpx.post(url + "/v1/responses/compact", json={"model": "gpt-4o", "input": conversation,
                                                                "instructions": "Be kind."}).json()
    path, body = upstream[0].requests[-1].path, upstream[0].requests[-1].json
    assert path == "/v1/responses/compact"
    assert body == {"model": "gpt-4o", "instructions": "Be kind.", "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "first"}]},
        {"type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "noted", "annotations": []}]}]}
    item = compacted["output"][-1]
    assert item["type"] == "compaction" and item["encrypted_content"].startswith("fake-oai-cmp:")

    follow = httpx.post(url + "/v1/responses", json={"model": "gpt-4o", "input": [item, {"role": "user",
                                                                                        "content": "hi"}]})
    assert follow.status_code == 200
    assert upstream[0].requests[-1].json["input"][0] == {"type": "compaction",
                                                              "encrypted_content": item["encrypted_content"]}
    refused = httpx.post(url + "/v1/responses", json={"model": "chat/gpt-4o", "input": [item]})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_compaction"
    by_gateway = httpx.post(url + "/v1/responses/compact", json={"model": "chat/gpt-4o", "input": conversation})
    assert by_gateway.json()["output"][-1]["encrypted_content"].startswith("gwc1.")
