"""Table-driven tests of the pure request translation (no server)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from gateway_anthropic.options import AnthropicOptions
from gateway_anthropic.translate import JSON_OBJECT_INSTRUCTION, translate
from gateway_core import InvalidRequestError
from gateway_core.decode import decode_request
from gateway_core.envelope import seal

MODEL = "claude-sonnet-4-5"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
TOOL = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}
CLOCK = {"type": "function", "name": "get_time", "description": "Time"}


def native(body: dict[str, Any], **options: Any) -> dict[str, Any]:
    request = decode_request(json.dumps({"model": MODEL, **body}).encode())
    return translate(request, MODEL, msgspec.convert(options, AnthropicOptions))


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": text}]}


CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("plain string input", {"input": "hi"},
     {"messages": [user("hi")], "max_tokens": 4096, "model": MODEL}),
    ("instructions + system + developer -> system blocks", {
        "instructions": "A", "input": [{"role": "system", "content": "B"}, {"role": "developer", "content": "C"},
                                       {"role": "user", "content": "hi"}]},
     {"system": [{"type": "text", "text": t} for t in "ABC"]}),
    ("consecutive user turns merge, empty text dropped", {"input": [
        {"role": "user", "content": "a"}, {"role": "user", "content": [{"type": "input_text", "text": ""}]},
        {"role": "user", "content": "b"}]},
     {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]}),
    ("first turn assistant gets a user turn before it", {"input": [
        {"role": "assistant", "content": "earlier"}, {"role": "user", "content": "hi"}]},
     {"messages": [user("(continue)"), {"role": "assistant", "content": [{"type": "text", "text": "earlier"}]},
                   user("hi")]}),
    ("refusal parts of assistant messages dropped", {"input": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}, {"type": "output_text", "text": "ok"}]},
        {"role": "user", "content": "again"}]},
     {"messages": [user("q"), {"role": "assistant", "content": [{"type": "text", "text": "ok"}]}, user("again")]}),
    ("data-URL image -> base64 source, https -> url source", {"input": [{"role": "user", "content": [
        {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "high"},
        {"type": "input_image", "image_url": "https://example.com/cat.jpg"}]}]},
     {"messages": [{"role": "user", "content": [
         {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
         {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}]}]}),
    ("PDF and text files -> document blocks with title", {"input": [{"role": "user", "content": [
        {"type": "input_file", "filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0="},
        {"type": "input_file", "filename": "n.txt", "file_data": "data:text/plain;base64,aGVsbG8="},
        {"type": "input_file", "file_url": "https://example.com/doc.pdf"}]}]},
     {"messages": [{"role": "user", "content": [
         {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
          "title": "a.pdf"},
         {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "hello"},
          "title": "n.txt"},
         {"type": "document", "source": {"type": "url", "url": "https://example.com/doc.pdf"}}]}]}),
    ("tools with default input_schema and description", {"input": "x", "tools": [
        {"type": "function", "name": "f"}, {"type": "function", "name": "g", "description": "G",
                                            "parameters": {"type": "object", "properties": {"a": {}}}}]},
     {"tools": [{"name": "f", "input_schema": {"type": "object", "properties": {}}},
                {"name": "g", "input_schema": {"type": "object", "properties": {"a": {}}}, "description": "G"}]}),
    ("tool_choice required -> any", {"input": "x", "tools": [TOOL], "tool_choice": "required"},
     {"tool_choice": {"type": "any"}}),
    ("tool_choice none", {"input": "x", "tools": [TOOL], "tool_choice": "none"}, {"tool_choice": {"type": "none"}}),
    ("named function -> tool", {"input": "x", "tools": [TOOL, CLOCK],
                                "tool_choice": {"type": "function", "name": "get_time"}},
     {"tool_choice": {"type": "tool", "name": "get_time"}}),
    ("allowed_tools -> only those tools + mode", {"input": "x", "tools": [TOOL, CLOCK], "tool_choice": {
        "type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_time"}]}},
     {"tools": [{"name": "get_time", "input_schema": {"type": "object", "properties": {}}, "description": "Time"}],
      "tool_choice": {"type": "any"}}),
    ("parallel_tool_calls false -> disable_parallel_tool_use", {"input": "x", "tools": [TOOL],
                                                                 "parallel_tool_calls": False},
     {"tool_choice": {"type": "auto", "disable_parallel_tool_use": True}}),
    ("max_output_tokens -> max_tokens", {"input": "x", "max_output_tokens": 100}, {"max_tokens": 100}),
    ("stop string and list", {"input": "x", "stop": "END"}, {"stop_sequences": ["END"]}),
    ("safety_identifier -> metadata.user_id", {"input": "x", "safety_identifier": "u1"},
     {"metadata": {"user_id": "u1"}}),
    ("user extension -> metadata.user_id", {"input": "x", "user": "u2"}, {"metadata": {"user_id": "u2"}}),
    ("json_schema -> output_config.format", {"input": "x", "text": {"format": {
        "type": "json_schema", "name": "r", "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}}},
     {"output_config": {"format": {"type": "json_schema",
                                   "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}}}),
    ("json_object -> system instruction", {"input": "x", "text": {"format": {"type": "json_object"}}},
     {"system": [{"type": "text", "text": JSON_OBJECT_INSTRUCTION}]}),
    ("effort medium -> budget 8192 on top of the default", {"input": "x", "reasoning": {"effort": "medium"}},
     {"thinking": {"type": "enabled", "budget_tokens": 8192}, "max_tokens": 4096 + 8192}),
    ("effort high with a client max -> budget within it", {"input": "x", "max_output_tokens": 10000,
                                                           "reasoning": {"effort": "high"}},
     {"thinking": {"type": "enabled", "budget_tokens": 10000 - 1024}, "max_tokens": 10000}),
    ("reasoning summary -> display summarized", {"input": "x", "reasoning": {"effort": "low", "summary": "auto"}},
     {"thinking": {"type": "enabled", "budget_tokens": 2048, "display": "summarized"}}),
    ("service tier default -> standard_only", {"input": "x", "service_tier": "default"},
     {"service_tier": "standard_only"}),
]


@pytest.mark.parametrize(("body", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_translation(body: dict[str, Any], expected: dict[str, Any]) -> None:
    result = native(body)
    for key, value in expected.items():
        assert result[key] == value, key


@pytest.mark.parametrize(("body", "absent"), [
    ({"input": "x", "reasoning": {"effort": "none"}}, "thinking"),
    ({"input": "x", "max_output_tokens": 1500, "reasoning": {"effort": "low"}}, "thinking"),  # no room for 1024
    ({"input": "x", "tools": [TOOL], "tool_choice": "required", "reasoning": {"effort": "low"}}, "thinking"),
    ({"input": "x", "temperature": 0.2}, "extra_body"),  # sampling params off by default
    ({"input": "x", "tool_choice": "required"}, "tool_choice"),  # no tools: nothing to choose from
    ({"input": "x", "metadata": {"a": "b"}}, "metadata"),
])
def test_not_sent(body: dict[str, Any], absent: str) -> None:
    assert absent not in native(body)


def test_sampling_params_option_sends_temperature_only() -> None:
    result = native({"input": "x", "temperature": 0.2, "top_p": 0.5}, sampling_params=True)
    assert result["extra_body"] == {"temperature": 0.2}
    assert native({"input": "x", "top_p": 0.5}, sampling_params=True)["extra_body"] == {"top_p": 0.5}
    thinking = native({"input": "x", "temperature": 0.2, "reasoning": {"effort": "low"}}, sampling_params=True)
    assert "extra_body" not in thinking  # thinking requires the default temperature


def test_default_max_tokens_option() -> None:
    assert native({"input": "x"}, default_max_tokens=1234)["max_tokens"] == 1234


def test_adaptive_thinking_option() -> None:
    result = native({"input": "x", "reasoning": {"effort": "high"}}, adaptive_thinking_models=["claude-sonnet-4"])
    assert result["thinking"] == {"type": "adaptive"} and result["output_config"] == {"effort": "high"}


def test_tool_round_trip_order_and_ids() -> None:
    result = native({"tools": [TOOL], "input": [
        {"role": "user", "content": "weather?"},
        {"type": "function_call", "call_id": "call.1", "name": "get_weather", "arguments": '{"c": "Paris"}'},
        {"type": "function_call", "call_id": "call_2", "name": "get_weather", "arguments": ""},
        {"type": "function_call_output", "call_id": "call.1", "output": "sunny"},
        {"role": "user", "content": "and?"},
        {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "rain"}]},
    ]})
    safe = result["messages"][1]["content"][0]["id"]
    assert safe != "call.1" and safe.startswith("call_1_")
    assert result["messages"][1:] == [
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": safe, "name": "get_weather", "input": {"c": "Paris"}},
            {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": safe, "content": "sunny"},
            {"type": "tool_result", "tool_use_id": "call_2", "content": [{"type": "text", "text": "rain"}]},
            {"type": "text", "text": "and?"}]},
    ]


def test_history_tools_without_tools_get_stubs() -> None:
    result = native({"input": [
        {"role": "user", "content": "q"},
        {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "found"},
    ]})
    assert [tool["name"] for tool in result["tools"]] == ["lookup"]
    assert result["tool_choice"] == {"type": "none"}


def test_incomplete_calls_and_their_outputs_dropped() -> None:
    result = native({"tools": [TOOL], "input": [
        {"role": "user", "content": "q"},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"a', "status": "incomplete"},
        {"type": "function_call_output", "call_id": "c1", "output": "x"},
        {"role": "user", "content": "again"},
    ]})
    assert result["messages"] == [{"role": "user", "content": [{"type": "text", "text": "q"},
                                                               {"type": "text", "text": "again"}]}]


def test_thinking_round_trip_exact_and_in_place() -> None:
    thinking = seal("anthropic", MODEL, {"t": "thinking", "thinking": "Let me think…\n", "signature": "SiG+/=="})
    redacted = seal("anthropic", MODEL, {"t": "redacted", "data": "REDACTED=="})
    empty = seal("anthropic", MODEL, {"t": "thinking", "thinking": "", "signature": "only-sig"})
    foreign = seal("gemini", "gemini-2.5-pro", {"sigs": []})
    result = native({"tools": [TOOL], "reasoning": {"effort": "low"}, "input": [
        {"role": "user", "content": "q"},
        {"type": "reasoning", "summary": [], "encrypted_content": thinking},
        {"type": "reasoning", "summary": [], "encrypted_content": foreign},
        {"type": "reasoning", "summary": [], "encrypted_content": "gAAAA-openai-blob"},
        {"type": "reasoning", "summary": [], "encrypted_content": redacted},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
        {"type": "reasoning", "summary": [], "encrypted_content": empty},
        {"type": "function_call", "call_id": "c2", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "a"},
        {"type": "function_call_output", "call_id": "c2", "output": "b"},
    ]})
    assert result["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "Let me think…\n", "signature": "SiG+/=="},
        {"type": "redacted_thinking", "data": "REDACTED=="},
        {"type": "tool_use", "id": "c1", "name": "get_weather", "input": {}},
        {"type": "thinking", "thinking": "", "signature": "only-sig"},
        {"type": "tool_use", "id": "c2", "name": "get_weather", "input": {}},
    ]
    assert result["thinking"]["type"] == "enabled"


def test_thinking_skipped_when_the_tool_turn_lost_its_reasoning() -> None:
    result = native({"tools": [TOOL], "reasoning": {"effort": "low"}, "input": [
        {"role": "user", "content": "q"},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "a"},
    ]})
    assert "thinking" not in result


@pytest.mark.parametrize(("body", "param"), [
    ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "data:image/bmp;base64,AAAA"}]}]},
     "input[0].content[0]"),
    ({"input": [{"role": "user", "content": [{"type": "input_file", "file_data": "data:application/zip;base64,AA"}]}]},
     "input[0].content[0]"),
    ({"input": [{"role": "user", "content": "q"},
                {"type": "function_call", "call_id": "c", "name": "f", "arguments": "[1]"}]}, "input[1].arguments"),
    ({"input": [{"role": "system", "content": "only a system prompt"}]}, "input"),
])
def test_rejected(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        native(body)
    assert info.value.param == param
