"""The exact upstream request the gateway sent, per translation rule (through the real gateway and SDK)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from gateway_core.envelope import open_envelope, seal
from gateway_core.testing import RecordedRequest, parse_sse
from gateway_core.testing.conformance import PNG_DATA_URL as PNG
from gateway_google.testing.fake_upstream import sig

from .conftest import API_KEY

TOOL = {"type": "function", "name": "get_weather", "description": "Weather",
        "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}
CLOCK = {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {}}}


def send(http: httpx.Client, upstream: tuple[Any, str], body: dict[str, Any], status: int = 200
         ) -> tuple[dict[str, Any], RecordedRequest]:
    """POST the body; return (gateway answer, upstream request record)."""
    app = upstream[0]
    before = len(app.requests)
    response = http.post("/v1/responses", json={"model": "gemini-2.5-flash", **body})
    assert response.status_code == status, response.text
    assert len(app.requests) == before + 1
    return response.json(), app.requests[-1]


def test_path_headers_and_text(http: httpx.Client, upstream: tuple[Any, str]) -> None:
    _, sent = send(http, upstream, {"input": "hi"})
    assert sent.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert sent.headers["x-goog-api-key"] == API_KEY
    assert sent.json == {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


def test_stream_path(http: httpx.Client, upstream: tuple[Any, str]) -> None:
    response = http.post("/v1/responses", json={"model": "gemini-2.5-flash", "input": "hi", "stream": True})
    assert response.status_code == 200
    sent = upstream[0].requests[-1]
    assert sent.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert sent.query == "alt=sse"


def test_system_instruction_and_roles(http: httpx.Client, upstream: tuple[Any, str]) -> None:
    _, sent = send(http, upstream, {"instructions": "Be kind.", "input": [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": [{"type": "output_text", "text": "b"}]},
        {"role": "system", "content": "Late rule."},
        {"role": "user", "content": [{"type": "input_text", "text": "c"}]},
    ]})
    assert sent.json["systemInstruction"] == {"parts": [{"text": "Be kind."}, {"text": "Be brief."},
                                                           {"text": "Late rule."}]}
    assert sent.json["contents"] == [
        {"role": "user", "parts": [{"text": "a"}]},
        {"role": "model", "parts": [{"text": "b"}]},
        {"role": "user", "parts": [{"text": "c"}]},
    ]


def test_images(http: httpx.Client, upstream: tuple[Any, str]) -> None:
    _, sent = send(http, upstream, {"input": [{"role": "user", "content": [
        {"type": "input_text", "text": "image?"},
        {"type": "input_image", "image_url": PNG},
        {"type": "input_image", "image_url": "gs://bucket/cat.png"},
        {"type": "input_image", "image_url": "https://example.com/dog.jpg"},
    ]}]})
    assert sent.json["contents"][0]["parts"] == [
        {"text": "image?"},
        {"inlineData": {"mimeType": "image/png", "data": PNG.split(",", 1)[1]}},
        {"fileData": {"fileUri": "gs://bucket/cat.png", "mimeType": "image/png"}},
        {"fileData": {"fileUri": "https://example.com/dog.jpg", "mimeType": "image/jpeg"}},
    ]


def test_schema_conversion(http: httpx.Client, upstream: tuple[Any, str]) -> None:
    parameters = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {"city": {"$ref": "#/$defs/City"}, "when": {"type": ["string", "null"]}},
        "required": ["city"], "additionalProperties": False,
        "$defs": {"City": {"type": "object", "properties": {"name": {"type": "string", "const": "x"}}}},
    }
    _, sent = send(http, upstream, {"input": "hi", "tools": [{"type": "function", "name": "f", "description": "d",
                                                              "parameters": parameters, "strict": True}]})
    declaration = sent.json["tools"][0]["functionDeclarations"][0]
    assert declaration == {"name": "f", "description": "d", "parametersJsonSchema": {
        "type": "object",
        "properties": {"city": {"type": "object", "properties": {"name": {"type": "string", "const": "x"}}},
                       "when": {"type": ["string", "null"]}},
        "required": ["city"], "additionalProperties": False,
    }}


@pytest.mark.parametrize(("choice", "expected"), [
    ("auto", {"mode": "AUTO"}),
    ("required", {"mode": "ANY"}),
    ("none", {"mode": "NONE"}),
    ({"type": "function", "name": "get_time"}, {"mode": "ANY", "allowedFunctionNames": ["get_time"]}),
    ({"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_time"}]},
     {"mode": "ANY", "allowedFunctionNames": ["get_time"]}),
    ({"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "get_time"}]},
     {"mode": "VALIDATED", "allowedFunctionNames": ["get_time"]}),
])
def test_tool_choice(http: httpx.Client, upstream: tuple[Any, str], choice: Any, expected: dict[str, Any]) -> None:
    _, sent = send(http, upstream, {"input": "hi", "tools": [TOOL, CLOCK], "tool_choice": choice})
    assert sent.json["toolConfig"] == {"functionCallingConfig": expected}


def test_function_response_pairing(http: httpx.Client, upstream: tuple[Any, str]) -> None:
    answer, sent = send(http, upstream, {"tools": [TOOL, CLOCK], "input": [
        {"role": "user", "content": "weather and time?"},
        {"type": "function_call", "call_id": "call_gwAAAAAAAAAAAAAAAAAAAAAA", "name": "get_weather",
         "arguments": '{"text": "Paris"}'},
        {"type": "function_call", "call_id": "fc-7", "name": "get_time", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_gwAAAAAAAAAAAAAAAAAAAAAA", "output": '{"temp": 21}'},
        {"type": "function_call_output", "call_id": "fc-7", "output": "noon"},
    ]})
    assert sent.json["contents"][1:] == [
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"text": "Paris"}}},
                                    {"functionCall": {"name": "get_time", "args": {}, "id": "fc-7"}}]},
        {"role": "user", "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"output": {"temp": 21}}}},
            {"functionResponse": {"name": "get_time", "response": {"output": "noon"}, "id": "fc-7"}}]},
    ]
    assert answer["output"][0]["content"][0]["text"] == "tool said: noon"


def test_unknown_call_id_is_400(http: httpx.Client, upstream: tuple[Any, str]) -> None:
    response = http.post("/v1/responses", json={"model": "gemini-2.5-flash", "input": [
        {"role": "user", "content": "x"},
        {"type": "function_call_output", "call_id": "nope", "output": "1"}]})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "input[1].call_id"


def test_generation_config(http: httpx.Client, upstream: tuple[Any, str]) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    _, sent = send(http, upstream, {
        "input": "hi", "temperature": 0.3, "top_p": 0.8, "max_output_tokens": 99, "stop": ["END"],
        "presence_penalty": 0.5, "frequency_penalty": -0.5,
        "text": {"format": {"type": "json_schema", "name": "out", "schema": schema}},
        "reasoning": {"effort": "medium", "summary": "auto"},
    })
    assert sent.json["generationConfig"] == {
        "temperature": 0.3, "topP": 0.8, "maxOutputTokens": 99, "stopSequences": ["END"],
        "presencePenalty": 0.5, "frequencyPenalty": -0.5,
        "responseMimeType": "application/json", "responseJsonSchema": schema,
        "thinkingConfig": {"thinkingBudget": 8192, "includeThoughts": True},
    }


def test_thinking_level_for_gemini_3(http: httpx.Client, upstream: tuple[Any, str]) -> None:
    response = http.post("/v1/responses", json={"model": "gemini-3-pro-preview", "input": "hi",
                                                "reasoning": {"effort": "low"}})
    assert response.status_code == 200
    assert upstream[0].requests[-1].json["generationConfig"] == {"thinkingConfig": {"thinkingLevel": "LOW"}}


def test_call_signature_round_trip(http: httpx.Client, upstream: tuple[Any, str]) -> None:
    first, _ = send(http, upstream, {"input": "Paris", "tools": [TOOL]})
    call, carrier = first["output"]
    assert call["type"] == "function_call" and call["call_id"].startswith("call_gw")
    assert carrier["type"] == "reasoning" and carrier["summary"] == []
    data = open_envelope(carrier["encrypted_content"], "google")
    assert data["sigs"] == [{"on": "call", "call_id": call["call_id"], "sig": sig("get_weather")}]
    _, sent = send(http, upstream, {"tools": [TOOL], "input": [
        {"role": "user", "content": "Paris"}, *first["output"],
        {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"}]})
    assert sent.json["contents"][1] == {"role": "model", "parts": [
        {"functionCall": {"name": "get_weather", "args": {"text": "Paris"}}, "thoughtSignature": sig("get_weather")}]}
    assert sent.json["contents"][2] == {"role": "user", "parts": [
        {"functionResponse": {"name": "get_weather", "response": {"output": "sunny"}}}]}


def test_parallel_calls_only_first_signed(http: httpx.Client, upstream: tuple[Any, str]) -> None:
    first, _ = send(http, upstream, {"input": "parallel!", "tools": [TOOL, CLOCK]})
    calls = [item for item in first["output"] if item["type"] == "function_call"]
    assert [c["name"] for c in calls] == ["get_weather", "get_time"]
    _, sent = send(http, upstream, {"tools": [TOOL, CLOCK], "input": [
        {"role": "user", "content": "parallel!"}, *first["output"],
        *({"type": "function_call_output", "call_id": c["call_id"], "output": "ok"} for c in calls)]})
    model_parts = sent.json["contents"][1]["parts"]
    assert model_parts[0]["thoughtSignature"] == sig("get_weather") and "thoughtSignature" not in model_parts[1]
    assert len(sent.json["contents"][2]["parts"]) == 2


def test_text_signature_and_thoughts_round_trip(http: httpx.Client, upstream: tuple[Any, str]) -> None:
    first, _ = send(http, upstream, {"input": "think!", "reasoning": {"summary": "auto"}})
    kinds = [item["type"] for item in first["output"]]
    assert kinds == ["reasoning", "message", "reasoning"]
    assert first["output"][0]["summary"] == [{"type": "summary_text", "text": "thinking hard"}]
    assert first["usage"]["output_tokens_details"]["reasoning_tokens"] == 5
    _, sent = send(http, upstream, {"input": [{"role": "user", "content": "think!"}, *first["output"],
                                              {"role": "user", "content": "more"}]})
    assert sent.json["contents"] == [
        {"role": "user", "parts": [{"text": "think!"}]},
        {"role": "model", "parts": [{"text": "thought", "thoughtSignature": sig("text")}]},
        {"role": "user", "parts": [{"text": "more"}]},
    ]


def test_foreign_envelope_dropped(http: httpx.Client, upstream: tuple[Any, str]) -> None:
    foreign = seal("anthropic", "claude", {"sig": "abc"})
    mine = seal("google", "gemini-2.5-flash", {"sigs": [{"on": "call", "call_id": "other", "sig": "eA=="}]})
    _, sent = send(http, upstream, {"input": [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": [{"type": "output_text", "text": "b"}]},
        {"type": "reasoning", "summary": [], "encrypted_content": foreign},
        {"type": "reasoning", "summary": [], "encrypted_content": mine},
        {"role": "user", "content": "c"}]})
    assert sent.json["contents"][1] == {"role": "model", "parts": [{"text": "b"}]}


def test_stream_signature_and_call(http: httpx.Client, upstream: tuple[Any, str]) -> None:
    response = http.post("/v1/responses", json={"model": "gemini-3-pro-preview", "input": "Oslo", "tools": [TOOL],
                                                "stream": True})
    events, _ = parse_sse(response.content)
    done = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    assert done[0]["call_id"] == "fc-get_weather" and json.loads(done[0]["arguments"]) == {"text": "Oslo"}
    assert open_envelope(done[1]["encrypted_content"], "google")["sigs"][0]["call_id"] == "fc-get_weather"
    assert events[-1]["type"] == "response.completed"
