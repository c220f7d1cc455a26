"""Hook implementations of the ``anthropic`` provider kind (Claude through the Messages API).

Thin by design: the mapping lives in ``translate`` (request), ``response`` (JSON body), ``stream`` (SSE) and
``errors``. Both calls use the SDK's raw-response paths and decode bodies with msgspec; the SDK is imported
only when a client is created.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway_core import deltas as d
from gateway_core.config import ProviderSettings
from gateway_core.deltas import DeltaStream
from gateway_core.errors import GatewayError
from gateway_core.plugins import hookimpl
from gateway_core.provider import ProviderInfo
from gateway_core.sse import SSEStream
from gateway_core.types import ResponseRequest

from . import errors, translate
from .response import message_deltas
from .stream import MessagesStreamParser


@hookimpl
def gateway_provider_info() -> ProviderInfo:
    """Keys from ``ANTHROPIC_API_KEY``; serves model names starting with ``claude-``."""
    return ProviderInfo(
        description="Anthropic Claude (Messages API)",
        api_key_env=("ANTHROPIC_API_KEY",),
        model_prefixes=("claude-",),
    )


@hookimpl
def gateway_create_client(settings: ProviderSettings) -> Any:
    """One ``AsyncAnthropic`` per instance on the SDK's aiohttp transport, SDK retries off, timeouts,
    base URL and default headers from the instance settings."""
    import httpx2
    from anthropic import AsyncAnthropic, DefaultAioHttpClient

    timeout = httpx2.Timeout(settings.timeout, connect=settings.connect_timeout)
    return AsyncAnthropic(
        api_key=settings.api_key,
        base_url=settings.base_url,
        timeout=timeout,
        max_retries=0,
        default_headers=settings.headers or None,
        http_client=DefaultAioHttpClient(timeout=timeout),
    )


@hookimpl
async def gateway_close_client(client: Any) -> None:
    """Close the client's connection pool."""
    await client.close()


@hookimpl
def gateway_translate(request: ResponseRequest, model: str, settings: ProviderSettings) -> dict[str, Any]:
    """The ``messages.create`` keyword arguments (see :mod:`gateway_anthropic.translate`)."""
    return translate.translate(request, model, settings)


@hookimpl
async def gateway_invoke(client: Any, native: dict[str, Any]) -> Sequence[d.Delta]:
    """Non-streaming call on the raw-response path. The explicit ``timeout`` (the client's) skips the SDK's
    "Streaming is required" guess for large ``max_tokens``."""
    response = await client.messages.with_raw_response.create(**native, timeout=client.timeout)
    return message_deltas(await response.read(), native["model"])


@hookimpl
async def gateway_stream(client: Any, native: dict[str, Any]) -> DeltaStream:
    """The raw SSE body through the core's driver (status errors, and errors before the first deltas, raise
    here)."""
    manager = client.messages.with_streaming_response.create(**native, stream=True)
    response = await manager.__aenter__()
    parser = MessagesStreamParser(native["model"])
    return await SSEStream.open(response.http_response.aiter_bytes(), response.close, parser)


@hookimpl
def gateway_map_error(error: BaseException) -> GatewayError | None:
    """SDK exception -> gateway error (see :mod:`gateway_anthropic.errors`)."""
    return errors.map_error(error)
