"""Table-driven translation and response-mapping tests (no server), and client construction."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import msgspec
import pytest

from gateway_core import InvalidRequestError, ProviderSettings
from gateway_core.contract import deltas as d
from gateway_core.decode import decode_request
from gateway_google.errors import map_error
from gateway_google.options import GoogleOptions
from gateway_google.plugin import gateway_create_client
from gateway_google.response import response_deltas
from gateway_google.translate import clean_schema, translate


def native(body: dict[str, Any], model: str = "gemini-2.5-flash", vertexai: bool = False) -> Any:
    return translate(decode_request(msgspec.json.encode({"model": model, **body})), model, vertexai)


@pytest.mark.parametrize(("schema", "expected"), [
    ({"$schema": "x", "type": "object"}, {"type": "object"}),
    ({"type": "object", "properties": {"a": {"$ref": "#/definitions/A", "description": "d"}},
      "definitions": {"A": {"type": "string"}}},
     {"type": "object", "properties": {"a": {"type": "string", "description": "d"}}}),
    ({"type": "array", "items": {"$ref": "#/$defs/N"},
      "$defs": {"N": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/N"}}}}}},
     {"type": "array", "items": {"$ref": "#/$defs/N"},
      "$defs": {"N": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/N"}}}}}}),
    ({"anyOf": [{"const": 1}, {"type": "null"}], "exclusiveMinimum": 0}, {"anyOf": [{"const": 1}, {"type": "null"}],
                                                                          "exclusiveMinimum": 0}),
])
def test_clean_schema(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    assert clean_schema(schema) == expected


@pytest.mark.parametrize(("effort", "model", "expected"), [
    ("none", "gemini-2.5-flash", {"thinkingBudget": 0}),
    ("low", "gemini-2.5-pro", {"thinkingBudget": 1024}),
    ("high", "gemini-2.5-flash", {"thinkingBudget": 24576}),
    ("xhigh", "gemini-2.5-flash", {"thinkingBudget": -1}),
    ("none", "gemini-3-flash-preview", {"thinkingLevel": "MINIMAL"}),
    ("medium", "gemini-3-pro-preview", {"thinkingLevel": "MEDIUM"}),
    ("high", "gemini-3-pro-preview", {"thinkingLevel": "HIGH"}),
])
def test_thinking(effort: str, model: str, expected: dict[str, Any]) -> None:
    config = native({"input": "x", "reasoning": {"effort": effort}}, model).body["generationConfig"]
    assert config == {"thinkingConfig": expected}


@pytest.mark.parametrize(("body", "param"), [
    ({"input": "x", "tools": [{"type": "function", "name": "bad name"}]}, "tools[0].name"),
    ({"input": [{"type": "function_call_output", "call_id": "c", "output": "x"}]}, "input[0].call_id"),
    ({"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "[1]"}]}, "input[0].arguments"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "ftp://x"}]}]},
     "input[0].content[0]"),
])
def test_rejections(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        native(body)
    assert info.value.param == param


def test_name_hint_resolves_function_response_and_json_object() -> None:
    request = native({"input": [{"type": "function_call_output", "call_id": "c1", "name": "f", "output": "[1,2]"}],
                      "text": {"format": {"type": "json_object"}}, "stop": "END"})
    assert request.body["contents"] == [{"role": "user", "parts": [
        {"functionResponse": {"name": "f", "response": {"output": [1, 2]}, "id": "c1"}}]}]
    assert request.body["generationConfig"] == {"stopSequences": ["END"], "responseMimeType": "application/json"}


def test_vertex_model_path() -> None:
    assert native({"input": "x"}, vertexai=True).model_path == "publishers/google/models/gemini-2.5-flash"


def test_function_response_image() -> None:
    png = "data:image/png;base64,AAAA"
    request = native({"input": [
        {"type": "function_call", "call_id": "c", "name": "shot", "arguments": ""},
        {"type": "function_call_output", "call_id": "c", "output": [
            {"type": "input_text", "text": "here"}, {"type": "input_image", "image_url": png}]}]})
    assert request.body["contents"][1]["parts"][0]["functionResponse"] == {
        "name": "shot", "response": {"output": "here"}, "id": "c",
        "parts": [{"inlineData": {"mimeType": "image/png", "data": "AAAA"}}]}


FINISHES = [
    ("STOP", d.Finish()),
    ("MAX_TOKENS", d.Finish(incomplete_reason="max_output_tokens")),
    ("SAFETY", d.Finish(incomplete_reason="content_filter")),
    ("RECITATION", d.Finish(incomplete_reason="content_filter")),
    ("PROHIBITED_CONTENT", d.Finish(incomplete_reason="content_filter")),
    ("SPII", d.Finish(incomplete_reason="content_filter")),
    ("MALFORMED_FUNCTION_CALL", d.Finish(error_code="malformed_function_call",
                                         error_message="the model stopped with finish reason MALFORMED_FUNCTION_CALL")),
    ("OTHER", d.Finish(error_code="other", error_message="the model stopped with finish reason OTHER")),
]


@pytest.mark.parametrize(("reason", "finish"), FINISHES)
def test_finish_reasons(reason: str, finish: d.Finish) -> None:
    body = msgspec.json.encode({"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": reason}]})
    assert response_deltas(body, "m")[-1] == finish


def test_usage_and_call() -> None:
    body = msgspec.json.encode({
        "candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"id": "a1", "name": "f"}}]},
                        "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 4, "thoughtsTokenCount": 6,
                          "cachedContentTokenCount": 3, "totalTokenCount": 20}})
    assert response_deltas(body, "m") == [
        d.FunctionCallStart("a1", "f"), d.FunctionCallArgumentsDelta("{}"),
        d.UsageDelta(input_tokens=10, output_tokens=10, cached_tokens=3, reasoning_tokens=6, total_tokens=20),
        d.Finish()]


def test_sdk_errors_mapped() -> None:
    from google.genai import errors

    error = errors.ClientError(429, {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED",
                                               "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                                            "retryDelay": "29s"}]}})
    mapped = map_error(error)
    assert mapped is not None and mapped.status == 429 and mapped.retryable and mapped.retry_after == 29
    assert map_error(errors.ServerError(503, {"error": {"message": "x"}})).status == 503  # type: ignore[union-attr]
    assert map_error(errors.ClientError(403, {"error": {"message": "x"}})).code == "upstream_permission_denied"  # type: ignore[union-attr]
    assert map_error(TimeoutError()).code == "upstream_timeout"  # type: ignore[union-attr]
    assert map_error(ValueError()) is None


def test_vertex_client_construction(tmp_path: Any, monkeypatch: Any) -> None:
    # Application Default Credentials from a user-credentials file: google-auth's real discovery, no network
    credentials = tmp_path / "adc.json"
    credentials.write_text(json.dumps({"type": "authorized_user", "client_id": "id.apps.googleusercontent.com",
                                       "client_secret": "secret", "refresh_token": "refresh"}))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(credentials))

    async def build() -> Any:
        settings = ProviderSettings(name="v", type="google", timeout=30)
        client = gateway_create_client(settings, GoogleOptions(vertexai=True, project="my-proj",
                                                               location="europe-west4"))
        request = client.api._build_request("post", "publishers/google/models/gemini-2.5-flash:generateContent",
                                            {}, None)
        return client, request

    client, request = asyncio.run(build())
    assert client.sdk.vertexai
    assert request.url == ("https://europe-west4-aiplatform.googleapis.com/v1beta1/projects/my-proj/locations/"
                           "europe-west4/publishers/google/models/gemini-2.5-flash:generateContent")
    assert request.timeout == 30


def test_gemini_client_construction() -> None:
    settings = ProviderSettings(name="g", type="google", api_key="key-1", timeout=12.5, headers={"x-extra": "1"})
    client = gateway_create_client(settings, GoogleOptions())
    request = client.api._build_request("post", "models/gemini-2.5-flash:generateContent", {}, None)
    assert request.url == "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
    assert request.headers["x-goog-api-key"] == "key-1" and request.headers["x-extra"] == "1"
    assert request.timeout == 12.5 and client.api._http_options.retry_options is None


def test_plugin_imports_no_sdk() -> None:
    code = ("import sys, gateway_google.plugin; "
            "print([m for m in sys.modules if m.startswith(('google.genai', 'aiohttp', 'pydantic'))])")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"
