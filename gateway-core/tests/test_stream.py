"""The stream builder: semantic deltas in, the exact Open Responses event sequence out."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from gateway_core import GatewayError, ModelError, ResponseTooLargeError
from gateway_core.contract import deltas as d
from gateway_core.new_resource import new_resource
from gateway_core.redact import Redactor
from gateway_core.stream import ResponseBuilder, StreamInterrupted
from gateway_core.testing import StreamViolation, parse_sse
from gateway_core.types import ResponseRequest


def request(**fields: Any) -> ResponseRequest:
    return ResponseRequest(model="mock", input=[], **fields)


def run_stream(batches: list[list[d.Delta]], allowed: frozenset[str] | None = None) -> tuple[list[dict], bool]:
    builder = ResponseBuilder(new_resource(request()), framing="sse", allowed_tools=allowed)
    builder.start()
    raw = builder.take_frames()
    try:
        for batch in batches:
            builder.feed(batch)
            raw += builder.take_frames()
        builder.finish()
    except GatewayError as error:
        builder.fail(error)
    raw += builder.take_frames()
    return parse_sse(raw)


def run_json(batches: list[list[d.Delta]]) -> dict:
    builder = ResponseBuilder(new_resource(request()), framing=None)
    for batch in batches:
        builder.feed(batch)
    return msgspec.to_builtins(builder.finish())


def types(events: list[dict]) -> list[str]:
    return [event["type"].removeprefix("response.") for event in events]


def test_text_message_sequence(openresponses: Any) -> None:
    events, done = run_stream([[d.TextDelta("Hel")], [d.TextDelta("lo")], [d.UsageDelta(3, 2), d.Finish()]])
    terminal = openresponses.check_stream(events, done)
    assert types(events) == [
        "created", "in_progress", "output_item.added", "content_part.added", "output_text.delta",
        "output_text.delta", "output_text.done", "content_part.done", "output_item.done", "completed",
    ]
    assert terminal["output"][0]["content"][0]["text"] == "Hello"
    assert terminal["usage"]["total_tokens"] == 5
    assert terminal["completed_at"] is not None


def test_empty_deltas_are_skipped(openresponses: Any) -> None:
    events, done = run_stream([[d.TextDelta(""), d.TextDelta("x"), d.TextDelta("")], [d.Finish()]])
    openresponses.check_stream(events, done)
    assert types(events).count("output_text.delta") == 1


def test_two_parts_reasoning_calls_and_text(openresponses: Any) -> None:
    batches = [
        [d.ReasoningSummaryDelta("think"), d.ReasoningSummaryDelta("ing"), d.ReasoningSeal("orgw1.abc")],
        [d.TextDelta("a"), d.PartBreak(), d.TextDelta("b")],
        [d.FunctionCallStart("call_1", "f"), d.FunctionCallArgumentsDelta('{"x"'), d.FunctionCallArgumentsDelta(":1}")],
        [d.FunctionCallStart("call_2", "g")],
        [d.RefusalDelta("no")],
        [d.Finish()],
    ]
    events, done = run_stream(batches, allowed=frozenset({"f", "g"}))
    terminal = openresponses.check_stream(events, done)
    output = terminal["output"]
    assert [item["type"] for item in output] == ["reasoning", "message", "function_call", "function_call", "message"]
    assert output[0]["summary"] == [{"type": "summary_text", "text": "thinking"}]
    assert output[0]["encrypted_content"] == "orgw1.abc"
    assert [part["text"] for part in output[1]["content"]] == ["a", "b"]
    assert output[2]["arguments"] == '{"x":1}' and output[2]["call_id"] == "call_1"
    assert output[3]["arguments"] == "{}", "a call with no arguments gets an empty object"
    assert output[4]["content"] == [{"type": "refusal", "refusal": "no"}]
    assert "reasoning_summary_part.added" in types(events)


def test_raw_reasoning_text(openresponses: Any) -> None:
    events, done = run_stream([[d.ReasoningTextDelta("step 1")], [d.TextDelta("answer"), d.Finish()]])
    terminal = openresponses.check_stream(events, done)
    assert "reasoning.delta" in types(events) and "reasoning.done" in types(events)
    assert terminal["output"][0]["content"] == [{"type": "reasoning_text", "text": "step 1"}]


def test_seal_without_summary_opens_and_closes_an_item(openresponses: Any) -> None:
    events, done = run_stream([[d.ReasoningSeal("orgw1.sig"), d.TextDelta("hi"), d.Finish()]])
    terminal = openresponses.check_stream(events, done)
    assert terminal["output"][0] == {
        "type": "reasoning", "id": terminal["output"][0]["id"], "summary": [], "status": "completed",
        "encrypted_content": "orgw1.sig",
    }


def test_incomplete_marks_the_last_item(openresponses: Any) -> None:
    events, done = run_stream([[d.TextDelta("partial"), d.Finish(incomplete_reason="max_output_tokens")]])
    terminal = openresponses.check_stream(events, done)
    assert events[-1]["type"] == "response.incomplete"
    assert terminal["incomplete_details"] == {"reason": "max_output_tokens"}
    assert terminal["output"][0]["status"] == "incomplete" and terminal["completed_at"] is None


def test_missing_finish_is_an_interrupted_stream(openresponses: Any) -> None:
    events, done = run_stream([[d.TextDelta("half")]])
    terminal = openresponses.check_stream(events, done)
    assert types(events)[-2:] == ["error", "failed"]
    assert events[-2]["error"]["code"] == "upstream_stream_interrupted"
    assert terminal["output"][0]["status"] == "incomplete"
    assert terminal["output"][0]["content"][0]["text"] == "half", "the snapshot keeps what was sent"
    assert "output_text.done" not in types(events), "no .done for a part that never finished"


def test_tool_outside_allowed_tools_fails_the_response(openresponses: Any) -> None:
    events, done = run_stream([[d.FunctionCallStart("c", "send_email")]], allowed=frozenset({"get_weather"}))
    terminal = openresponses.check_stream(events, done)
    assert events[-2]["error"] == {
        "type": "model_error", "code": "tool_not_allowed",
        "message": "the model called the tool 'send_email', which this request does not allow", "param": None,
    }
    assert terminal["status"] == "failed" and terminal["output"] == []


def test_model_error_finish() -> None:
    resource = run_json_failed([[d.Finish(error_code="malformed_function_call", error_message="bad call")]])
    assert resource["status"] == "failed"
    assert resource["error"] == {"code": "malformed_function_call", "message": "bad call"}


def run_json_failed(batches: list[list[d.Delta]]) -> dict:
    builder = ResponseBuilder(new_resource(request()), framing=None)
    for batch in batches:
        builder.feed(batch)
    return msgspec.to_builtins(builder.finish())


def test_json_and_stream_build_the_same_output() -> None:
    batches = [
        [d.ReasoningSummaryDelta("r"), d.ReasoningSeal("orgw1.x")],
        [d.TextDelta("one "), d.TextDelta("two")],
        [d.FunctionCallStart("call_9", "f"), d.FunctionCallArgumentsDelta("{}")],
        [d.UsageDelta(input_tokens=7, output_tokens=3, cached_tokens=2, reasoning_tokens=1), d.Finish()],
    ]
    events, _ = run_stream(batches, allowed=frozenset({"f"}))
    streamed = events[-1]["response"]
    resource = run_json(batches)

    def strip_ids(items: list[dict]) -> list[dict]:
        return [{key: value for key, value in item.items() if key != "id"} for item in items]

    assert strip_ids(streamed["output"]) == strip_ids(resource["output"])
    assert resource["usage"] == streamed["usage"] == {
        "input_tokens": 7, "output_tokens": 3, "total_tokens": 10,
        "input_tokens_details": {"cached_tokens": 2}, "output_tokens_details": {"reasoning_tokens": 1},
    }


def test_json_builder_raises_without_finish() -> None:
    builder = ResponseBuilder(new_resource(request()), framing=None)
    builder.feed([d.TextDelta("x")])
    with pytest.raises(StreamInterrupted):
        builder.finish()


def test_tool_not_allowed_raises_model_error() -> None:
    builder = ResponseBuilder(new_resource(request()), framing=None, allowed_tools=frozenset())
    with pytest.raises(ModelError):
        builder.feed([d.FunctionCallStart("c", "f")])


def test_frames_are_whole_lf_events() -> None:
    builder = ResponseBuilder(new_resource(request()), framing="sse")
    builder.start()
    builder.feed([d.TextDelta("x")])
    raw = builder.take_frames()
    assert b"\r" not in raw and raw.endswith(b"\n\n")
    for frame in raw.split(b"\n\n")[:-1]:
        name, data = frame.split(b"\n")
        assert name.startswith(b"event: ") and data.startswith(b"data: ")
        assert json.loads(data[6:])["type"] == name[7:].decode()


def test_validator_rejects_a_broken_order(openresponses: Any) -> None:
    events, done = run_stream([[d.TextDelta("x"), d.Finish()]])
    broken = [events[0], events[2], events[1], *events[3:]]
    for index, event in enumerate(broken):
        broken[index] = {**event, "sequence_number": index}
    with pytest.raises(StreamViolation):
        openresponses.check_stream(broken, done)
    with pytest.raises(StreamViolation):
        openresponses.check_stream(events, False)


@pytest.mark.parametrize("delta", [
    d.TextDelta("x" * 600), d.ReasoningSummaryDelta("x" * 600), d.RefusalDelta("x" * 600),
    d.FunctionCallArgumentsDelta("x" * 600), d.ReasoningSeal("x" * 1100),
])
def test_what_one_response_holds_is_bounded(delta: d.Delta, openresponses: Any) -> None:
    builder = ResponseBuilder(new_resource(request()), framing="sse", max_chars=1024)
    builder.start()
    with pytest.raises(ResponseTooLargeError):
        builder.feed([d.FunctionCallStart("call_1", "f"), delta, delta])
    resource = builder.fail(ResponseTooLargeError(1024))
    events, done = parse_sse(builder.take_frames())
    assert resource.status == "failed" and resource.error.code == "response_too_large"  # type: ignore[union-attr]
    assert done and types(events)[-2:] == ["error", "failed"]


def test_fail_redacts_every_failure_it_emits_and_keeps() -> None:
    redactor = Redactor.for_instance("sk-live-0123456789abcd", {})
    builder = ResponseBuilder(new_resource(request()), framing="sse", redact=redactor.error)
    builder.start()
    builder.feed([d.TextDelta("hi"), d.Finish(error_code="upstream", error_message="key sk-live-0123456789abcd")])
    resource = builder.finish()
    frames = builder.take_frames().decode()
    assert resource.error.message == "key ***"  # type: ignore[union-attr]
    assert "0123456789abcd" not in frames and "key ***" in frames
