"""The ``google`` provider: Gemini through google-genai, on the Gemini API or Vertex AI.

Hook implementations only; the work is in ``translate`` (request), ``response`` / ``stream`` (answers),
``errors`` (the error boundary) and ``_sdk`` (the SDK's raw request path).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from gateway_core import Capabilities, DeltaStream, GatewayError, ProviderInfo, ProviderSettings, hookimpl
from gateway_core.contract import deltas as d
from gateway_core.sse import SSEStream
from gateway_core.types import ResponseRequest
from gateway_core.upstream import NO_REDIRECTS_ANY

from . import _sdk
from .errors import map_error
from .options import GoogleOptions
from .response import response_deltas
from .stream import GeminiStreamParser
from .translate import GeminiRequest, translate


class GoogleClient:
    """One instance's google-genai client and its lower-level API client (see ``_sdk``)."""

    __slots__ = ("sdk", "api", "limit")

    def __init__(self, sdk: Any, limit: int) -> None:
        self.sdk = sdk
        self.api = sdk.aio._api_client
        self.limit = limit


@hookimpl
def gateway_capabilities() -> Capabilities:
    """Every capability; of the OpenAI tool types, web search runs here (Grounding with Google Search)."""
    return Capabilities(tool_types=frozenset({"function", "web_search"}))


@hookimpl
def gateway_provider_info() -> ProviderInfo:
    """Keys from ``GOOGLE_API_KEY`` then ``GEMINI_API_KEY``; serves ``gemini-*`` models."""
    return ProviderInfo(
        description="Google Gemini (Gemini API or Vertex AI) through google-genai",
        api_key_env=("GOOGLE_API_KEY", "GEMINI_API_KEY"),
        model_prefixes=("gemini-",),
        options=GoogleOptions,
    )


@hookimpl
def gateway_create_client(settings: ProviderSettings, options: GoogleOptions) -> GoogleClient:
    """One ``google.genai.Client`` per instance: aiohttp transport, no SDK retries, timeouts from settings,
    redirects never followed (they would carry ``x-goog-api-key`` elsewhere).

    ``options.vertexai`` switches to Vertex AI: with ``project``/``location`` it authenticates with
    Application Default Credentials (``options.credentials_file`` may name a service-account file),
    without them with the API key (Vertex express mode)."""
    from google import genai
    from google.genai import types

    vertexai = options.vertexai
    http_options = types.HttpOptions(
        base_url=settings.base_url,
        # the SDK's Gemini API default is v1; v1beta is where the REST reference documents every field used
        api_version=options.api_version or (None if vertexai else "v1beta"),
        headers=dict(settings.headers) or None,
        timeout=int(settings.timeout * 1000),  # milliseconds
        client_args=NO_REDIRECTS_ANY,
        async_client_args=NO_REDIRECTS_ANY,
    )
    if vertexai:
        project, location = options.project, options.location
        if project or location:
            credentials = None
            if options.credentials_file:
                from google.oauth2 import service_account

                credentials = service_account.Credentials.from_service_account_file(
                    options.credentials_file, scopes=["https://www.googleapis.com/auth/cloud-platform"])
            sdk = genai.Client(vertexai=True, project=project, location=location or "global",
                               credentials=credentials, http_options=http_options)
        else:
            sdk = genai.Client(vertexai=True, api_key=settings.api_key, http_options=http_options)
    else:
        sdk = genai.Client(vertexai=False, api_key=settings.api_key, http_options=http_options)
    return GoogleClient(sdk, settings.max_response_bytes)


@hookimpl
async def gateway_close_client(client: GoogleClient) -> None:
    """Close the SDK's connection pools."""
    await client.sdk.aio.aclose()
    client.sdk.close()


@hookimpl
def gateway_translate(request: ResponseRequest, model: str, options: GoogleOptions) -> GeminiRequest:
    """Open Responses -> the ``generateContent`` body (see ``translate``)."""
    return translate(request, model, vertexai=options.vertexai)


@hookimpl
async def gateway_invoke(client: GoogleClient, native: GeminiRequest) -> Sequence[d.Delta]:
    """``generateContent``, the JSON body decoded straight into deltas."""
    body = await _sdk.post(client.api, f"{native.model_path}:generateContent", native.body, client.limit)
    return response_deltas(body, native.model)


@hookimpl
async def gateway_stream(client: GoogleClient, native: GeminiRequest) -> DeltaStream:
    """``streamGenerateContent?alt=sse`` through the core's driver; returns after the first deltas arrived
    (errors before them raise here)."""
    raw = await _sdk.post_stream(client.api, f"{native.model_path}:streamGenerateContent?alt=sse", native.body)
    return await SSEStream.open(raw.chunks(), raw.close, GeminiStreamParser(native.model))


@hookimpl
async def gateway_list_models(client: GoogleClient) -> list[str]:
    """``models.list`` (every page), ids without the ``models/`` (or ``publishers/google/models/``) prefix."""
    return [(model.name or "").rpartition("/")[2] async for model in await client.sdk.aio.models.list()]


@hookimpl
async def gateway_count_tokens(client: GoogleClient, native: GeminiRequest, settings: ProviderSettings,
                               options: GoogleOptions) -> int:
    """``countTokens`` on the translated request: Gemini's own count (the Gemini API takes the whole
    ``generateContentRequest``; Vertex AI takes contents, system instruction and tools)."""
    body = native.body
    counted: dict[str, Any]
    if options.vertexai:
        counted = {key: body[key] for key in ("contents", "systemInstruction", "tools") if key in body}
    else:
        counted = {"generateContentRequest": {"model": native.model_path, **body}}
    answer = json.loads(await _sdk.post(client.api, f"{native.model_path}:countTokens", counted,
                                         settings.max_response_bytes))
    return int(answer.get("totalTokens", 0))


@hookimpl
def gateway_map_error(error: BaseException) -> GatewayError | None:
    """SDK ``ClientError``/``ServerError`` by status, timeouts and connection errors (see ``errors``)."""
    return map_error(error)
