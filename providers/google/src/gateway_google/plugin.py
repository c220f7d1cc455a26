"""The ``google`` provider: Gemini through google-genai, on the Gemini API or Vertex AI.

Hook implementations only; the work is in ``translate`` (request), ``response`` / ``stream`` (answers),
``errors`` (the error boundary) and ``_sdk`` (the SDK's raw request path).
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

from . import _sdk
from .errors import map_error
from .response import response_deltas
from .stream import GeminiStreamParser
from .translate import GeminiRequest, translate


class GoogleClient:
    """One instance's google-genai client and its lower-level API client (see ``_sdk``)."""

    __slots__ = ("sdk", "api")

    def __init__(self, sdk: Any) -> None:
        self.sdk = sdk
        self.api = sdk.aio._api_client


@hookimpl
def gateway_provider_info() -> ProviderInfo:
    """Keys from ``GOOGLE_API_KEY`` then ``GEMINI_API_KEY``; serves ``gemini-*`` models."""
    return ProviderInfo(
        description="Google Gemini (Gemini API or Vertex AI) through google-genai",
        api_key_env=("GOOGLE_API_KEY", "GEMINI_API_KEY"),
        model_prefixes=("gemini-",),
    )


@hookimpl
def gateway_create_client(settings: ProviderSettings) -> GoogleClient:
    """One ``google.genai.Client`` per instance: aiohttp transport, no SDK retries, timeouts from settings.

    ``options.vertexai`` switches to Vertex AI: with ``project``/``location`` it authenticates with
    Application Default Credentials (``options.credentials_file`` may name a service-account file),
    without them with the API key (Vertex express mode)."""
    from google import genai
    from google.genai import types

    options = settings.options
    vertexai = bool(options.get("vertexai"))
    http_options = types.HttpOptions(
        base_url=settings.base_url,
        # the SDK's Gemini API default is v1; v1beta is where the REST reference documents every field used
        api_version=options.get("api_version") or (None if vertexai else "v1beta"),
        headers=dict(settings.headers) or None,
        timeout=int(settings.timeout * 1000),  # milliseconds
    )
    if vertexai:
        project, location = options.get("project"), options.get("location")
        if project or location:
            credentials = None
            if options.get("credentials_file"):
                from google.oauth2 import service_account

                credentials = service_account.Credentials.from_service_account_file(
                    options["credentials_file"], scopes=["https://www.googleapis.com/auth/cloud-platform"])
            sdk = genai.Client(vertexai=True, project=project, location=location or "global",
                               credentials=credentials, http_options=http_options)
        else:
            sdk = genai.Client(vertexai=True, api_key=settings.api_key, http_options=http_options)
    else:
        sdk = genai.Client(vertexai=False, api_key=settings.api_key, http_options=http_options)
    return GoogleClient(sdk)


@hookimpl
async def gateway_close_client(client: GoogleClient) -> None:
    """Close the SDK's connection pools."""
    await client.sdk.aio.aclose()
    client.sdk.close()


@hookimpl
def gateway_translate(request: ResponseRequest, model: str, settings: ProviderSettings) -> GeminiRequest:
    """Open Responses -> the ``generateContent`` body (see ``translate``)."""
    return translate(request, model, vertexai=bool(settings.options.get("vertexai")))


@hookimpl
async def gateway_invoke(client: GoogleClient, native: GeminiRequest) -> Sequence[d.Delta]:
    """``generateContent``, the JSON body decoded straight into deltas."""
    body = await _sdk.post(client.api, f"{native.model_path}:generateContent", native.body)
    return response_deltas(body, native.model)


@hookimpl
async def gateway_stream(client: GoogleClient, native: GeminiRequest) -> DeltaStream:
    """``streamGenerateContent?alt=sse`` through the core's driver; returns after the first deltas arrived
    (errors before them raise here)."""
    body, close = await _sdk.post_stream(client.api, f"{native.model_path}:streamGenerateContent?alt=sse",
                                         native.body)
    return await SSEStream.open(body, close, GeminiStreamParser(native.model))


@hookimpl
def gateway_map_error(error: BaseException) -> GatewayError | None:
    """SDK ``ClientError``/``ServerError`` by status, timeouts and connection errors (see ``errors``)."""
    return map_error(error)
