"""The one module that touches google-genai's private API (``client.aio._api_client``).

The typed ``client.aio.models.generate_content[_stream]`` path validates every request into pydantic models,
converts them to the wire format, and parses every answer (every stream chunk) into a
``GenerateContentResponse``. The gateway already holds the wire-format body, so it sends it through the SDK's
lower-level API client instead: the SDK still builds the URL (Gemini API or Vertex AI, ``api_version``,
``base_url``), the headers (API key, user agent, ``x-server-timeout``), authenticates (API key or Vertex ADC
tokens), owns the transport (its aiohttp session) and raises its own ``errors.ClientError`` / ``ServerError``
for non-200 answers. Bodies are returned raw for msgspec to decode.

Private names used: ``BaseApiClient._build_request`` and ``BaseApiClient._async_request_once`` (google-genai
3.x). ``implicit_retry=False`` turns off the SDK's hidden one-shot retry of aiohttp connection errors (it
sleeps 1-10 s first); the core owns retries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec

_encode = msgspec.json.encode


async def post(api: Any, path: str, body: dict[str, Any]) -> str:
    """POST ``body`` to ``path`` (relative to the API version); returns the response body text."""
    request = api._build_request("post", path, {}, None)
    request.data = _encode(body)
    response = await api._async_request_once(request, False, implicit_retry=False)
    return response.response_stream[0] if response.response_stream else ""


async def post_stream(
    api: Any, path: str, body: dict[str, Any]
) -> tuple[AsyncIterator[bytes], Callable[[], Awaitable[None]]]:
    """POST ``body`` to the streaming ``path``; once the status line arrived (errors raise here), the body (one
    network read at a time) and the coroutine function that releases the connection (closing it if the body
    was not read to the end)."""
    request = api._build_request("post", path, {}, None)
    request.data = _encode(body)
    response = (await api._async_request_once(request, True, implicit_retry=False)).response_stream
    content = getattr(response, "content", None)
    if content is not None and hasattr(content, "iter_any"):  # aiohttp.ClientResponse: close() is not async

        async def close() -> None:
            response.close()

        return content.iter_any(), close
    return response.aiter_bytes(), response.aclose  # httpx.Response
