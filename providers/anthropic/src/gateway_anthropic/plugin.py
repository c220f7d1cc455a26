"""Hook implementations of the ``anthropic`` provider kind (Claude through the Messages API).

Thin by design: the mapping lives in ``translate`` (request), ``response`` (JSON body), ``stream`` (SSE) and
``errors``. Both calls use the SDK's raw-response paths and decode bodies with msgspec; the SDK is imported
only when a client is created.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from gateway_core import (
    Capabilities,
    DeltaStream,
    GatewayError,
    NativeRequest,
    ProviderInfo,
    ProviderSettings,
    hookimpl,
)
from gateway_core.contract import deltas as d
from gateway_core.sse import SSEStream
from gateway_core.types import ResponseRequest
from gateway_core.upstream import NO_REDIRECTS_HTTPX, read_bounded

from . import errors, translate
from .options import AnthropicOptions
from .passthrough import passthrough
from .response import message_deltas
from .stream import MessagesStreamParser


@hookimpl
def gateway_provider_info() -> ProviderInfo:
    """Keys from ``ANTHROPIC_API_KEY``; serves model names starting with ``claude-``."""
    return ProviderInfo(
        description="Anthropic Claude (Messages API)",
        api_key_env=("ANTHROPIC_API_KEY",),
        model_prefixes=("claude-",),
        options=AnthropicOptions,
    )


@hookimpl
def gateway_capabilities() -> Capabilities:
    """Every capability; of the OpenAI tool types, web search runs here (Anthropic's web search tool)."""
    return Capabilities(tool_types=frozenset({"function", "web_search"}))


@hookimpl
def gateway_create_client(settings: ProviderSettings) -> Any:
    """One ``AsyncAnthropic`` per instance on the SDK's aiohttp transport, SDK retries off, timeouts,
    base URL and default headers from the instance settings; redirects are never followed (they would carry
    the key elsewhere)."""
    import httpx2
    from anthropic import AsyncAnthropic, DefaultAioHttpClient

    timeout = httpx2.Timeout(settings.timeout, connect=settings.connect_timeout)
    return AsyncAnthropic(
        api_key=settings.api_key,
        base_url=settings.base_url,
        timeout=timeout,
        max_retries=0,
        default_headers=settings.headers or None,
        http_client=DefaultAioHttpClient(timeout=timeout, **NO_REDIRECTS_HTTPX),
    )


@hookimpl
async def gateway_close_client(client: Any) -> None:
    """Close the client's connection pool."""
    await client.close()


@hookimpl
def gateway_translate(request: ResponseRequest, model: str, options: AnthropicOptions) -> dict[str, Any]:
    """The ``messages.create`` keyword arguments (see :mod:`gateway_anthropic.translate`); a request that came
    in on the gateway's own ``/v1/messages`` is forwarded as the client sent it (see
    :mod:`gateway_anthropic.passthrough`)."""
    if type(request) is NativeRequest and request.dialect == "messages":
        return passthrough(request, model, options.default_max_tokens)
    return translate.translate(request, model, options)


@hookimpl
async def gateway_invoke(client: Any, native: dict[str, Any], settings: ProviderSettings) -> Sequence[d.Delta]:
    """Non-streaming call on the streaming-response path, so the body is read up to ``max_response_bytes``
    and no further. The explicit ``timeout`` (the client's) skips the SDK's "Streaming is required" guess for
    large ``max_tokens``."""
    async with client.messages.with_streaming_response.create(**native, timeout=client.timeout) as response:
        body = await read_bounded(response.iter_bytes(), settings.max_response_bytes,
                                  response.headers.get("content-length"))
    return message_deltas(body, native["model"])


@hookimpl
async def gateway_stream(client: Any, native: dict[str, Any]) -> DeltaStream:
    """The raw SSE body through the core's driver (status errors, and errors before the first deltas, raise
    here)."""
    manager = client.messages.with_streaming_response.create(**native, stream=True)
    response = await manager.__aenter__()
    parser = MessagesStreamParser(native["model"])
    return await SSEStream.open(response.http_response.aiter_bytes(), response.close, parser)


@hookimpl
async def gateway_list_models(client: Any) -> list[str]:
    """``models.list`` (every page)."""
    return [model.id async for model in client.models.list()]


_COUNTED_KEYS = frozenset({"model", "messages", "system", "tools", "tool_choice", "thinking"})
"""The keys of a Messages request that ``messages.count_tokens`` takes."""


@hookimpl
async def gateway_count_tokens(client: Any, native: dict[str, Any]) -> int:
    """``messages.count_tokens`` on the translated request: Anthropic's own count."""
    counted = await client.messages.count_tokens(**{key: value for key, value in native.items()
                                                    if key in _COUNTED_KEYS})
    return int(counted.input_tokens)


@hookimpl
def gateway_map_error(error: BaseException) -> GatewayError | None:
    """SDK exception -> gateway error (see :mod:`gateway_anthropic.errors`), carrying the upstream's own error
    body for clients of the gateway's Messages dialect."""
    mapped = errors.map_error(error)
    body = getattr(error, "body", None)
    response = getattr(error, "response", None)
    if mapped is not None and isinstance(body, dict) and body.get("type") == "error" and response is not None:
        mapped.native = ("messages", response.status_code, msgspec.json.encode(body))
    return mapped
