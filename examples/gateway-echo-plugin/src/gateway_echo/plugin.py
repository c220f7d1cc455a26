"""Hook implementations of the ``echo`` provider kind: Open Responses over a tiny JSON/NDJSON HTTP API.

The whole contract is ``gateway_core.hookspecs``: a client per instance at startup, a pure ``translate``,
``invoke`` and ``stream`` returning semantic deltas, and one error boundary (``map_error``). The core does
everything else (ids, items, events, routing, retries, storage).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any

import httpx

from gateway_core import (
    Delta,
    DeltaStream,
    Finish,
    FunctionCallArgumentsDelta,
    FunctionCallStart,
    GatewayError,
    ProviderInfo,
    ProviderSettings,
    ReasoningSummaryDelta,
    RefusalDelta,
    StreamInterrupted,
    TextDelta,
    UsageDelta,
    error_for_status,
    hookimpl,
    parse_retry_after,
    upstream_connection_error,
    upstream_timeout,
)
from gateway_core.types import (
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

from .options import EchoOptions

_INCOMPLETE = {"length": "max_output_tokens"}


@hookimpl
def gateway_provider_info() -> ProviderInfo:
    """The key comes from ``ECHO_API_KEY``; model names starting with ``echo-`` route here."""
    return ProviderInfo(description="example echo API over httpx", api_key_env=("ECHO_API_KEY",),
                        model_prefixes=("echo-",), options=EchoOptions)


@hookimpl
def gateway_create_client(settings: ProviderSettings, options: EchoOptions) -> httpx.AsyncClient:
    """One connection pool per instance, with its timeouts and headers."""
    headers = {"user-agent": options.user_agent, **settings.headers}
    if settings.api_key:
        headers["authorization"] = f"Bearer {settings.api_key}"
    timeout = httpx.Timeout(settings.timeout, connect=settings.connect_timeout)
    return httpx.AsyncClient(base_url=settings.base_url or "http://127.0.0.1:9000", headers=headers, timeout=timeout)


@hookimpl
async def gateway_close_client(client: httpx.AsyncClient) -> None:
    """Close the pool."""
    await client.aclose()


def _text(parts: Sequence[Any]) -> str:
    return "".join(part.text for part in parts if type(part) in (InputText, OutputText))


@hookimpl
def gateway_translate(request: ResponseRequest, model: str, options: EchoOptions) -> dict[str, Any]:
    """The ``/generate`` body: pure data, no I/O."""
    body: dict[str, Any] = {"model": model, "system": [request.instructions] if request.instructions else [],
                            "messages": [], "images": 0, "files": 0, "stream": bool(request.stream),
                            "max_words": request.max_output_tokens or options.default_max_words}
    for item in request.items:
        if type(item) is Message:
            content = item.content
            body["images"] += sum(1 for part in content if type(part) is InputImage)  # type: ignore[union-attr]
            body["files"] += sum(1 for part in content if type(part) is InputFile)  # type: ignore[union-attr]
            text = _text(content)  # type: ignore[arg-type]
            if item.role in ("system", "developer"):
                body["system"].append(text)
            else:
                body["messages"].append({"role": item.role, "text": text})
        elif type(item) is FunctionCall:
            body["messages"].append({"role": "assistant", "text": f"call {item.name}({item.arguments})"})
    last = request.items[-1] if request.items else None
    if type(last) is FunctionCallOutput:
        body["tool_output"] = last.output if isinstance(last.output, str) else _text(last.output)
    fmt = request.text.format if request.text is not None else None
    body["json"] = type(fmt) in (TextFormatJsonSchema, TextFormatJsonObject)
    body["tools"] = [tool.name for tool in request.tools or ()]
    choice = request.tool_choice
    if type(choice) is FunctionChoice:
        body["forced_tool"] = choice.name
    elif type(choice) is AllowedTools:
        body["tool_choice"], body["tools"] = choice.mode, [tool.name for tool in choice.tools]
    elif isinstance(choice, str):
        body["tool_choice"] = choice
    return body


def _ending(data: dict[str, Any]) -> list[Delta]:
    usage = data.get("usage") or {}
    return [UsageDelta(input_tokens=usage.get("input"), output_tokens=usage.get("output")),
            Finish(incomplete_reason=_INCOMPLETE.get(data.get("finish", "")))]


def _deltas(data: dict[str, Any]) -> list[Delta]:
    """The deltas of one answer object or stream line."""
    found: list[Delta] = []
    if data.get("reasoning"):
        found.append(ReasoningSummaryDelta(data["reasoning"]))
    if data.get("refusal"):
        found.append(RefusalDelta(data["refusal"]))
    if data.get("call"):
        found.append(FunctionCallStart(data["call"]["id"], data["call"]["name"]))
        if data["call"].get("arguments"):
            found.append(FunctionCallArgumentsDelta(data["call"]["arguments"]))
    if data.get("arguments"):
        found.append(FunctionCallArgumentsDelta(data["arguments"]))
    if data.get("text"):
        found.append(TextDelta(data["text"]))
    if "error" in data:
        raise error_for_status(data["error"]["status"], data["error"]["message"])
    if "done" in data:
        found += _ending(data["done"])
    return found


@hookimpl
async def gateway_invoke(client: httpx.AsyncClient, native: dict[str, Any]) -> Sequence[Delta]:
    """One JSON answer as deltas."""
    response = await client.post("/generate", json=native)
    response.raise_for_status()
    data = response.json()
    return [*_deltas(data), *_ending(data)]


@hookimpl
async def gateway_stream(client: httpx.AsyncClient, native: dict[str, Any]) -> DeltaStream:
    """Returns once the first NDJSON line arrived (an error status, or an in-band error as the first line, is
    then a pre-stream error the core may retry); then one delta list per line."""
    response = await client.send(client.build_request("POST", "/generate", json=native), stream=True)
    if response.is_error:
        await response.aread()
        await response.aclose()
        response.raise_for_status()
    lines = _lines(response)
    try:
        first = await anext(lines)
    except StopAsyncIteration:  # an empty body (the generator closed the response)
        raise StreamInterrupted() from None
    return _primed(first, lines)


async def _lines(response: httpx.Response) -> AsyncIterator[Sequence[Delta]]:
    try:
        async for line in response.aiter_lines():
            if line:
                yield _deltas(json.loads(line))
    finally:  # also when the core closes the iterator because the client left
        await response.aclose()


async def _primed(
    first: Sequence[Delta], rest: AsyncGenerator[Sequence[Delta], None]
) -> AsyncIterator[Sequence[Delta]]:
    try:
        yield first
        async for batch in rest:
            yield batch
    finally:
        await rest.aclose()


@hookimpl
def gateway_map_error(error: BaseException) -> GatewayError | None:
    """httpx's exceptions -> gateway errors (the core passes GatewayErrors through by itself)."""
    if isinstance(error, httpx.HTTPStatusError):
        response = error.response
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:200]
        return error_for_status(response.status_code, message,
                                retry_after=parse_retry_after(response.headers.get("retry-after")))
    if isinstance(error, httpx.TimeoutException):
        return upstream_timeout()
    if isinstance(error, httpx.TransportError):
        return upstream_connection_error()
    return None
