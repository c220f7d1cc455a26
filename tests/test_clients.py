"""Widely used client libraries against the gateway: the OpenAI Agents SDK and LangChain's ChatOpenAI
(Responses API mode), on the mock and on a real provider plugin with its fake upstream."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from openai import AsyncOpenAI

from gateway_anthropic.testing.fake_upstream import create_app as anthropic_fake_app
from gateway_core.testing import run_gateway, serve_asgi


@pytest.fixture(scope="module", params=["mock", "claude-sonnet-4-5"])
def gateway(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(gateway URL, model): the keyless mock, and Claude through the anthropic plugin's fake upstream."""
    with ExitStack() as stack:
        config = {}
        if request.param != "mock":
            upstream = stack.enter_context(serve_asgi(anthropic_fake_app()))
            config = {"providers": {"anthropic": {"api_key": "sk-ant-clients-0000", "base_url": upstream}}}
        yield stack.enter_context(run_gateway(config)), request.param


@tool
def get_weather(text: str) -> str:
    """Weather for a city."""
    return "sunny"


def test_langchain_invoke_stream_and_tools(gateway: tuple[str, str]) -> None:
    url, model = gateway
    llm = ChatOpenAI(model=model, base_url=url + "/v1", api_key="unused", use_responses_api=True, max_retries=0)
    answer = llm.invoke([("system", "Be brief."), ("user", "hello langchain")])
    assert answer.text == "hello langchain"
    assert answer.usage_metadata is not None and answer.usage_metadata["total_tokens"] > 0
    streamed = "".join(chunk.text for chunk in llm.stream("stream these words"))
    assert streamed == "stream these words"
    call = llm.bind_tools([get_weather]).invoke("Paris")
    assert call.tool_calls[0]["name"] == "get_weather" and call.tool_calls[0]["args"] == {"text": "Paris"}


def test_agents_sdk_tool_loop_json_and_streamed(gateway: tuple[str, str]) -> None:
    url, model = gateway
    set_tracing_disabled(True)
    calls: list[str] = []

    @function_tool
    def weather(text: str) -> str:
        """Weather for a city."""
        calls.append(text)
        return "rainy"

    client = AsyncOpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
    agent = Agent(name="forecaster", instructions="Be kind.", tools=[weather],
                  model=OpenAIResponsesModel(model=model, openai_client=client))

    async def run() -> tuple[str, str]:
        result = await Runner.run(agent, "Oslo")
        streamed = Runner.run_streamed(agent, "Bergen")
        async for _ in streamed.stream_events():
            pass
        await client.close()
        return result.final_output, streamed.final_output

    final, streamed_final = asyncio.run(run())
    assert final == streamed_final == "tool said: rainy"
    assert calls == ["Oslo", "Bergen"], "the agent ran the tool the model asked for, then finished"
