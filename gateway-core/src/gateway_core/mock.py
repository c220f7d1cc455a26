"""The built-in ``mock`` provider: deterministic, keyless, and registered through the same hooks as any plugin.

It answers under the echo protocol (:mod:`gateway_core.echo`): it echoes the prompt, streams it word by word,
and calls the first tool when tools are given, so every code path of the gateway can be tried with no key.
``options.delay`` (seconds) waits before each streamed chunk.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Annotated

from msgspec import Meta, Struct

from . import deltas as d
from .contract.hookspecs import hookimpl
from .contract.provider import ProviderInfo
from .echo import EchoReply, EchoRequest, chunk_text, echo_reply
from .errors import GatewayError, error_for_status
from .ids import new_call_id
from .types import (
    AllowedTools,
    FunctionCall,
    FunctionCallOutput,
    FunctionChoice,
    InputFile,
    InputImage,
    InputText,
    Message,
    OutputText,
    ResponseRequest,
    TextFormatJsonObject,
    TextFormatJsonSchema,
)


class MockOptions(Struct, kw_only=True, forbid_unknown_fields=True):
    """``options`` of a ``mock`` instance."""

    delay: Annotated[float, Meta(ge=0)] = 0.0
    """Seconds to wait before each streamed chunk."""


@hookimpl
def gateway_provider_info() -> ProviderInfo:
    """The mock needs no key and serves model names starting with ``mock``."""
    return ProviderInfo(description="built-in deterministic echo provider", model_prefixes=("mock",),
                        options=MockOptions)


@hookimpl
def gateway_create_client(options: MockOptions) -> float:
    """The mock's "client" is its per-chunk delay."""
    return options.delay


@hookimpl
def gateway_translate(request: ResponseRequest) -> EchoRequest:
    """Reduce the request to what the echo protocol reads."""
    echo = EchoRequest()
    if request.instructions:
        echo.system.append(request.instructions)
    for item in request.items:
        if type(item) is Message:
            text = "".join(part.text for part in item.content if type(part) in (InputText, OutputText))  # type: ignore[union-attr]
            echo.images += sum(1 for part in item.content if type(part) is InputImage)  # type: ignore[union-attr]
            echo.files += sum(1 for part in item.content if type(part) is InputFile)  # type: ignore[union-attr]
            if item.role in ("system", "developer"):
                echo.system.append(text)
            else:
                echo.turns.append((item.role, text))
        elif type(item) is FunctionCall:
            echo.turns.append(("assistant", f"call {item.name}({item.arguments})"))
    last = request.items[-1]
    if type(last) is FunctionCallOutput:
        echo.tool_output = last.output if isinstance(last.output, str) else "".join(
            part.text for part in last.output if type(part) is InputText
        )
    echo.json_output = request.text is not None and type(request.text.format) in (TextFormatJsonSchema,
                                                                                   TextFormatJsonObject)
    echo.tools = [tool.name for tool in request.tools or ()]
    choice = request.tool_choice
    if type(choice) is FunctionChoice:
        echo.forced_tool = choice.name
    elif type(choice) is AllowedTools:
        echo.tool_choice = choice.mode
        echo.tools = [tool.name for tool in choice.tools]
    elif isinstance(choice, str):
        echo.tool_choice = choice
    return echo


def _reply(native: EchoRequest) -> EchoReply:
    reply = echo_reply(native)
    if reply.error_status is not None:
        raise error_for_status(reply.error_status, "mock error requested", retry_after=1.0)
    return reply


def _ending(reply: EchoReply) -> list[d.Delta]:
    return [
        d.UsageDelta(input_tokens=reply.input_tokens, output_tokens=reply.output_tokens),
        d.Finish(incomplete_reason="max_output_tokens" if reply.finish == "length" else None),
    ]


@hookimpl
async def gateway_invoke(native: EchoRequest) -> Sequence[d.Delta]:
    """The whole echo answer as deltas."""
    reply = _reply(native)
    if reply.delay:  # an echo ``slow!``: otherwise the answer is there at once, no turn of the loop
        await asyncio.sleep(reply.delay)
    if reply.call_name is not None:
        return [
            d.FunctionCallStart(new_call_id(), reply.call_name),
            d.FunctionCallArgumentsDelta(reply.call_arguments or "{}"),
            *_ending(reply),
        ]
    if reply.refusal is not None:
        return [d.RefusalDelta(reply.refusal), *_ending(reply)]
    reasoning = [d.ReasoningSummaryDelta(reply.reasoning)] if reply.reasoning else []
    return [*reasoning, d.TextDelta(reply.text or ""), *_ending(reply)]


@hookimpl
async def gateway_stream(client: float, native: EchoRequest) -> AsyncIterator[Sequence[d.Delta]]:
    """The echo answer word by word (``cut!`` ends without a finish; an in-band error ends it failing, and
    with no text before it raises here, as the core's stream driver does)."""
    reply = _reply(native)
    if reply.inband_error is not None and not reply.text:
        raise _inband_error(reply.inband_error)
    if reply.delay:
        await asyncio.sleep(reply.delay)
    return _chunks(reply, client or reply.pace)


def _inband_error(status: int) -> GatewayError:
    return error_for_status(status, "mock in-band error requested")


async def _chunks(reply: EchoReply, delay: float) -> AsyncIterator[Sequence[d.Delta]]:
    if reply.reasoning:
        yield [d.ReasoningSummaryDelta(reply.reasoning)]
    if reply.refusal is not None:
        yield [d.RefusalDelta(reply.refusal)]
    elif reply.call_name is not None:
        yield [d.FunctionCallStart(new_call_id(), reply.call_name)]
        for piece in chunk_text(reply.call_arguments or "{}"):
            if delay:
                await asyncio.sleep(delay)
            yield [d.FunctionCallArgumentsDelta(piece)]
    elif reply.inband_error is not None:
        yield [d.TextDelta(piece) for piece in chunk_text(reply.text or "")]
        raise _inband_error(reply.inband_error)
    else:
        chunks = chunk_text(reply.text or "")
        for index, piece in enumerate(chunks):
            if delay:
                await asyncio.sleep(delay)
            if reply.cut and index == len(chunks) // 2:
                return
            yield [d.TextDelta(piece)]
        if reply.stream_error:
            raise error_for_status(503, "mock overloaded mid-stream (stream-error!)")
    yield _ending(reply)


@hookimpl
def gateway_map_error() -> GatewayError | None:
    """The mock raises gateway errors itself (the core passes those through); nothing else is expected."""
    return None

