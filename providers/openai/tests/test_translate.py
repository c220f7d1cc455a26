"""Pure tables: request translation (no server) and upstream bodies/streams -> deltas."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway_core import GatewayError, InvalidRequestError, ProviderSettings, RateLimitError
from gateway_core.config import ConfigError, convert_options
from gateway_core.contract import deltas as d
from gateway_core.decode import decode_request
from gateway_openai.options import Options
from gateway_openai.response import chat_deltas, responses_deltas
from gateway_openai.stream import ChatStreamParser, ResponsesStreamParser
from gateway_openai.translate import to_chat, to_responses


def request(**body: Any) -> Any:
    return decode_request(json.dumps({"model": "m", **body}).encode())


def options(base_url: str | None = "http://local/v1", **raw: Any) -> Options:
    settings = ProviderSettings(name="x", type="openai", base_url=base_url, options=raw)
    return convert_options(Options, settings)  # type: ignore[no-any-return]


# -- request translation ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "key", "expected"), [
    ({"input": "hi", "temperature": 0.5}, "temperature", 0.5),
    ({"input": "hi", "presence_penalty": 1.0}, "presence_penalty", None),
    ({"input": "hi", "reasoning": {"effort": "low"}}, "reasoning", {"effort": "low"}),
    ({"input": "hi", "include": ["message.output_text.logprobs"]}, "include",
     ["message.output_text.logprobs", "reasoning.encrypted_content"]),
    ({"input": "hi", "tool_choice": {"type": "allowed_tools", "tools": [{"type": "function", "name": "f"}]}},
     "tool_choice", {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "f"}]}),
    ({"input": "hi", "text": {"format": {"type": "json_schema", "name": "o", "schema": {"type": "object"}}}},
     "text", {"format": {"type": "json_schema", "name": "o", "schema": {"type": "object"}, "strict": False}}),
    ({"input": [{"role": "assistant", "content": "yo", "phase": "final_answer", "id": "msg_1"}]}, "input",
     [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "yo", "annotations": []}],
       "phase": "final_answer"}]),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "https://x/a.png"}]}]}, "input",
     [{"type": "message", "role": "user", "content": [{"type": "input_image", "detail": "auto",
                                                       "image_url": "https://x/a.png"}]}]),
])
def test_responses_rules(body: dict[str, Any], key: str, expected: Any) -> None:
    assert to_responses(request(**body), "gpt-5").get(key) == expected


@pytest.mark.parametrize(("body", "opts", "key", "expected"), [
    ({"input": "hi", "safety_identifier": "u1"}, {}, "user", "u1"),
    ({"input": "hi", "safety_identifier": "u1"}, {"dialect": "openai"}, "safety_identifier", "u1"),
    ({"input": "hi", "service_tier": "flex"}, {}, "service_tier", None),
    ({"input": "hi", "service_tier": "flex"}, {"dialect": "openai"}, "service_tier", "flex"),
    ({"input": "hi", "text": {"verbosity": "low"}}, {"dialect": "openai"}, "verbosity", "low"),
    ({"input": "hi", "tool_choice": {"type": "allowed_tools", "mode": "none", "tools": []},
      "tools": [{"type": "function", "name": "f"}]}, {"dialect": "openai"}, "tool_choice", "none"),
    ({"input": [{"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]}]}, {"dialect": "openai"},
     "messages", [{"role": "assistant", "content": None, "refusal": "no"}]),
    ({"input": [{"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]}]}, {},
     "messages", [{"role": "assistant", "content": None}]),
    ({"input": [{"type": "reasoning", "summary": [], "encrypted_content": "x"}, {"role": "user", "content": "q"}]},
     {}, "messages", [{"role": "user", "content": "q"}]),
    ({"input": [{"role": "user", "content": [{"type": "input_file", "filename": "a.pdf",
                                              "file_data": "data:application/pdf;base64,JVBE"}]}]}, {},
     "messages", [{"role": "user", "content": [{"type": "file", "file": {
         "file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"}}]}]),
])
def test_chat_rules(body: dict[str, Any], opts: dict[str, Any], key: str, expected: Any) -> None:
    assert to_chat(request(**body), "gpt-5", options(**opts)).get(key) == expected


def test_chat_rejects_remote_files() -> None:
    body = {"input": [{"role": "user", "content": [{"type": "input_file", "file_url": "https://x/a.pdf"}]}]}
    with pytest.raises(InvalidRequestError) as info:
        to_chat(request(**body), "m", options())
    assert info.value.param == "input[0].content[0]"


def test_dialect_defaults() -> None:
    assert options(None).openai_dialect and options(None).max_tokens_param == "max_completion_tokens"
    assert options("https://api.openai.com/v1").reasoning_effort is True
    local = options()
    assert not local.openai_dialect and local.max_tokens_param == "max_tokens" and local.reasoning_effort is False
    with pytest.raises(ConfigError, match=r"key 'providers\.x\.options\.mode': Invalid enum value 'completions'"):
        options(mode="completions")


# -- upstream bodies -> deltas ---------------------------------------------------------------------------------

def test_chat_body() -> None:
    body = {"choices": [{"message": {"content": "hi", "reasoning": "hmm",
                                     "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": ""}}]},
                         "finish_reason": "length"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7,
                      "prompt_tokens_details": {"cached_tokens": 2},
                      "completion_tokens_details": {"reasoning_tokens": 1}}}
    out = chat_deltas(json.dumps(body).encode())
    assert out[:3] == [d.ReasoningTextDelta("hmm"), d.ItemBreak(), d.TextDelta("hi")]
    assert isinstance(out[3], d.FunctionCallStart) and out[3].call_id.startswith("call_gw")
    assert out[4] == d.FunctionCallArgumentsDelta("{}")
    assert out[5] == d.UsageDelta(3, 4, 2, 1, 7)
    assert out[6] == d.Finish(incomplete_reason="max_output_tokens")


def test_chat_content_filter() -> None:
    body = {"choices": [{"message": {"content": ""}, "finish_reason": "content_filter"}]}
    assert chat_deltas(json.dumps(body).encode())[-1] == d.Finish(incomplete_reason="content_filter")


def test_responses_body_failed_raises() -> None:
    body = {"status": "failed", "output": [], "error": {"code": "rate_limit_exceeded", "message": "slow"}}
    with pytest.raises(RateLimitError):
        responses_deltas(json.dumps(body).encode())


def _events(*chunks: dict[str, Any] | str) -> list[tuple[str, bytes]]:
    return [("", chunk.encode() if isinstance(chunk, str) else json.dumps(chunk).encode()) for chunk in chunks]


def _tc(index: int, call_id: str | None = None, name: str | None = None, args: str | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {}}
    if call_id:
        call["id"] = call_id
    if name:
        call["function"]["name"] = name
    if args is not None:
        call["function"]["arguments"] = args
    return {"choices": [{"delta": {"tool_calls": [call]}, "finish_reason": None}]}


def test_chat_stream_tool_fragments() -> None:
    parser = ChatStreamParser()
    out: list[d.Delta] = []
    parser.feed(_events(
        _tc(0, "a", "f", '{"x"'), _tc(0, args=": 1}"),
        _tc(0, "b", "g", "{}"),          # index 0 reused with a new id: a new call
        _tc(1, args='{"y"'), _tc(1, name="h"), _tc(1, args=":2}"),  # arguments before the name; no id
        {"choices": [{"delta": {}, "finish_reason": "tool_calls"}]},
        {"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}},
        "[DONE]",
    ), out)
    starts = [delta for delta in out if isinstance(delta, d.FunctionCallStart)]
    assert [(s.call_id[:7], s.name) for s in starts] == [("a", "f"), ("b", "g"), ("call_gw", "h")]
    args = "".join(delta.text for delta in out if isinstance(delta, d.FunctionCallArgumentsDelta))
    assert args == '{"x": 1}{}{"y":2}'
    assert out[-2:] == [d.UsageDelta(1, 2, None, None, 3), d.Finish()] and parser.done


def test_chat_stream_eof() -> None:
    parser = ChatStreamParser()
    out: list[d.Delta] = []
    parser.feed(_events({"choices": [{"delta": {"content": "hi"}, "finish_reason": None}]}), out)
    parser.end(out)
    assert out == [d.TextDelta("hi")]  # cut: no finish
    parser.feed(_events({"choices": [{"delta": {}, "finish_reason": "stop"}]}), out)
    parser.end(out)
    assert out[-1] == d.Finish()


def test_chat_stream_error_chunk() -> None:
    with pytest.raises(GatewayError) as info:
        ChatStreamParser().feed(_events({"error": {"message": "boom", "type": "server_error"}}), [])
    assert info.value.status == 500 and "boom" in info.value.message


def test_responses_stream_mapping() -> None:
    parser = ResponsesStreamParser()
    out: list[d.Delta] = []
    parser.feed([(e["type"], json.dumps(e).encode()) for e in [
        {"type": "response.created", "response": {"status": "in_progress", "output": []}},
        {"type": "response.output_item.added", "item": {"type": "reasoning", "summary": []}},
        {"type": "response.reasoning_summary_part.added", "summary_index": 0},
        {"type": "response.reasoning_summary_text.delta", "delta": "a"},
        {"type": "response.reasoning_summary_part.added", "summary_index": 1},
        {"type": "response.reasoning_summary_text.delta", "delta": "b"},
        {"type": "response.output_item.done", "item": {"type": "reasoning", "encrypted_content": "blob"}},
        {"type": "response.output_item.added", "item": {"type": "function_call", "call_id": "c", "name": "f"}},
        {"type": "response.output_item.done", "item": {"type": "function_call", "arguments": "{}"}},
        {"type": "response.output_item.added", "item": {"type": "message"}},
        {"type": "response.content_part.added", "content_index": 0},
        {"type": "response.refusal.delta", "delta": "no"},
        {"type": "response.output_item.done", "item": {"type": "message"}},
        {"type": "response.incomplete", "response": {"status": "incomplete", "output": [],
                                                     "incomplete_details": {"reason": "content_filter"},
                                                     "usage": {"input_tokens": 1, "output_tokens": 1}}},
    ]], out)
    assert out == [
        d.ItemBreak(), d.ReasoningSummaryDelta("a"), d.PartBreak(), d.ReasoningSummaryDelta("b"),
        d.ReasoningSeal("blob"), d.FunctionCallStart("c", "f"), d.FunctionCallArgumentsDelta("{}"), d.ItemBreak(),
        d.ItemBreak(), d.RefusalDelta("no"), d.ItemBreak(), d.UsageDelta(1, 1, None, None, None),
        d.Finish(incomplete_reason="content_filter"),
    ]
    assert parser.done


def test_responses_stream_error_event() -> None:
    event = {"type": "error", "code": "rate_limit_exceeded", "message": "slow", "param": None}
    with pytest.raises(RateLimitError):
        ResponsesStreamParser().feed([("error", json.dumps(event).encode())], [])
