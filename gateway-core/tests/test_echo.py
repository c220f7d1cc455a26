"""The echo protocol's scripted agent turns: ``use:`` steps, one or several in sequence, then the echo."""

from __future__ import annotations

import json

from gateway_core.echo import EchoRequest, echo_reply

TOOLS = ["exec_command", "update_plan"]
PROMPT = ('run two commands\nuse:exec_command {"cmd": "echo one"}\nuse:nope {"x": 1}\n'
          'use:exec_command {"cmd": "echo two"}')


def history(*calls: str, output: str | None = None) -> EchoRequest:
    """The request after the prompt and ``calls`` (each answered; ``output`` the last result)."""
    turns = [("user", "an earlier turn"), ("assistant", "call exec_command({})"), ("user", PROMPT)]
    turns += [("assistant", f"call exec_command({call})") for call in calls]
    return EchoRequest(turns=turns, tools=TOOLS, tool_output=output)


def test_a_multi_step_prompt_calls_its_steps_in_order_then_echoes_the_last_result() -> None:
    first = echo_reply(history())
    assert (first.call_name, json.loads(first.call_arguments or "")) == ("exec_command", {"cmd": "echo one"})
    second = echo_reply(history('{"cmd": "echo one"}', output="one"))
    assert (second.call_name, json.loads(second.call_arguments or "")) == ("exec_command", {"cmd": "echo two"})
    last = echo_reply(history('{"cmd": "echo one"}', '{"cmd": "echo two"}', output="two"))
    assert (last.call_name, last.text) == (None, "tool said: two")


def test_a_single_step_echoes_its_result_and_steps_skip_unknown_tools() -> None:
    request = EchoRequest(turns=[("user", 'use:nope {"x": 1} then use:update_plan {"plan": []}')], tools=TOOLS)
    reply = echo_reply(request)
    assert (reply.call_name, reply.call_arguments) == ("update_plan", '{"plan": []}')
    request.turns.append(("assistant", 'call update_plan({"plan": []})'))
    request.tool_output = "Plan updated"
    assert echo_reply(request).text == "tool said: Plan updated"


def test_a_tool_result_without_steps_is_echoed() -> None:
    request = EchoRequest(turns=[("user", "weather?"), ("assistant", "call exec_command({})")], tools=TOOLS,
                          tool_output="sunny")
    assert echo_reply(request).text == "tool said: sunny"
