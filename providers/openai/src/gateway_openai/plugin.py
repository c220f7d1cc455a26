"""The ``openai`` provider kind: hook implementations only (the work is in the sibling modules).

Registered through the ``gateway_provider`` entry point. The openai SDK is imported in
``gateway_create_client``, never at module import, so the gateway starts fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gateway_core import (
    Capabilities,
    CompactedWindow,
    Delta,
    DeltaStream,
    GatewayError,
    ProviderInfo,
    ProviderSettings,
    hookimpl,
)
from gateway_core.sse import SSEStream
from gateway_core.types import ResponseRequest
from gateway_core.upstream import NO_REDIRECTS_HTTPX, read_bounded

from . import errors, response, stream, translate
from .options import Options

if TYPE_CHECKING:
    from openai import AsyncOpenAI


class OpenAIClient:
    """One instance's SDK client and its mode's raw call path, bound once at startup.

    Requests go through the SDK's generic ``post`` with ``cast_to=httpx2.Response`` (its documented path for
    custom requests): auth, headers, timeouts and typed status errors stay the SDK's, but neither the request
    (the ``create()`` TypedDict transform: about half the CPU of a call) nor the answer (pydantic) is
    processed. Bodies are decoded with msgspec; streams are read as raw bytes.
    """

    __slots__ = ("sdk", "mode", "path", "options", "decode", "limit", "_response_type", "_stream_cls")

    def __init__(self, sdk: AsyncOpenAI, mode: str, options: dict[str, Any], limit: int) -> None:
        import httpx2
        from openai import AsyncStream

        self.sdk = sdk
        self.mode = mode
        self.path = "/responses" if mode == "responses" else "/chat/completions"
        self.options = options
        self.limit = limit
        self.decode = response.responses_deltas if mode == "responses" else response.chat_deltas
        self._response_type = httpx2.Response
        self._stream_cls = AsyncStream[object]

    async def call(self, body: dict[str, Any], path: str | None = None) -> bytes:
        """POST ``body`` (to the mode's path unless given); the raw JSON answer, read up to the instance's
        ``max_response_bytes`` (SDK status errors propagate)."""
        answer = await self.sdk.post(  # type: ignore[call-overload]
            path or self.path, body=body, cast_to=self._response_type, options=self.options,
            stream=True, stream_cls=self._stream_cls)
        try:
            return await read_bounded(answer.aiter_bytes(), self.limit, answer.headers.get("content-length"))
        finally:
            await answer.aclose()

    async def open(self, body: dict[str, Any]) -> SSEStream:
        """POST ``body`` with ``stream: true``; the stream once its first deltas arrived (errors before them
        propagate)."""
        opened = await self.sdk.post(  # type: ignore[call-overload]
            self.path, body={**body, "stream": True}, cast_to=self._response_type,
                                     options=self.options, stream=True, stream_cls=self._stream_cls)
        # cast_to wins: the unread httpx2.Response
        parser = stream.ResponsesStreamParser() if self.mode == "responses" else stream.ChatStreamParser()
        return await SSEStream.open(opened.aiter_bytes(), opened.aclose, parser)


@hookimpl
def gateway_provider_info() -> ProviderInfo:
    """OpenAI's key comes from ``OPENAI_API_KEY``; the router's well-known OpenAI prefixes apply."""
    return ProviderInfo(
        description="OpenAI Responses API, or any Chat Completions server (options.mode)",
        api_key_env=("OPENAI_API_KEY",),
        model_prefixes=("gpt-", "o1", "o3", "o4", "chatgpt-"),
        options=Options,
    )


@hookimpl
def gateway_capabilities(options: Options) -> Capabilities:
    """Every capability in both modes (files need inline data in ``chat_completions`` mode, checked per
    part); OpenAI's own compaction only in ``responses`` mode."""
    responses = options.mode == "responses"
    return Capabilities(compaction=responses, tool_types=frozenset({"*"} if responses else {"function"}))


@hookimpl
def gateway_create_client(settings: ProviderSettings, options: Options) -> OpenAIClient:
    """One ``AsyncOpenAI`` on the aiohttp transport per instance, SDK retries off (the core retries), redirects
    never followed (they would carry the key elsewhere)."""
    import httpx2
    from openai import AsyncOpenAI, DefaultAioHttpClient, Omit

    timeout = httpx2.Timeout(settings.timeout, connect=settings.connect_timeout)
    sdk = AsyncOpenAI(
        api_key=settings.api_key or "unset",  # never fall back to OPENAI_API_KEY for another host
        base_url=settings.base_url,
        organization=options.organization,
        project=options.project,
        timeout=timeout,
        max_retries=0,
        default_headers=settings.headers or None,
        http_client=DefaultAioHttpClient(timeout=timeout, **NO_REDIRECTS_HTTPX),
    )
    sdk.organization, sdk.project = options.organization, options.project  # no env fallback either
    # keyless servers (Ollama, vLLM): no Authorization header at all (the SDK insists on an explicit Omit)
    request_options: dict[str, Any] = {} if settings.api_key else {"headers": {"Authorization": Omit()}}
    return OpenAIClient(sdk, options.mode, request_options, settings.max_response_bytes)


@hookimpl
async def gateway_close_client(client: OpenAIClient) -> None:
    """Close the instance's connection pool."""
    await client.sdk.close()


@hookimpl
def gateway_translate(request: ResponseRequest, model: str, options: Options) -> dict[str, Any]:
    """The ``create`` keyword arguments for the instance's mode (see :mod:`gateway_openai.translate`)."""
    if options.mode == "responses":
        return translate.to_responses(request, model)
    body = translate.to_chat(request, model, options)
    if request.stream and options.stream_usage:
        body["stream_options"] = {"include_usage": True}
    return body


@hookimpl
async def gateway_invoke(client: OpenAIClient, native: dict[str, Any]) -> Sequence[Delta]:
    """One raw call; the JSON body is decoded with msgspec (no pydantic models)."""
    return client.decode(await client.call(native))


@hookimpl
async def gateway_stream(client: OpenAIClient, native: dict[str, Any]) -> DeltaStream:
    """The raw SSE stream through the core's driver (errors before the first deltas propagate)."""
    return await client.open(native)


@hookimpl
async def gateway_compact(client: OpenAIClient, request: ResponseRequest, model: str) -> CompactedWindow | None:
    """OpenAI's own ``/responses/compact`` in ``responses`` mode; ``None`` (the gateway compacts) otherwise."""
    if client.mode != "responses":
        return None
    return response.compacted_window(await client.call(translate.to_compact(request, model), "/responses/compact"))


@hookimpl
async def gateway_list_models(client: OpenAIClient) -> list[str]:
    """``models.list`` (every page)."""
    return [model.id async for model in client.sdk.models.list()]


@hookimpl
def gateway_map_error(error: BaseException) -> GatewayError | None:
    """SDK exceptions (status, timeout, connection, mid-stream) -> gateway errors (see :mod:`.errors`)."""
    return errors.map_sdk_error(error)
