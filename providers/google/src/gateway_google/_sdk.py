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

from collections.abc import AsyncIterator
from typing import Any

import msgspec

from gateway_core.upstream import read_bounded

_encode = msgspec.json.encode


async def post(api: Any, path: str, body: dict[str, Any], limit: int) -> bytes:
    """POST ``body`` to ``path`` (relative to the API version); returns the response body, read on the
    streaming path up to ``limit`` bytes (``ResponseTooLargeError`` past it, or by ``Content-Length``)."""
    raw = await post_stream(api, path, body)
    try:
        return await read_bounded(raw.chunks(), limit, raw.content_length())
    finally:
        await raw.close()


class RawStream:
    """An open streaming response: ``chunks()`` yields raw body bytes as they arrive; ``close()`` aborts."""

    __slots__ = ("_response",)

    def __init__(self, response: Any) -> None:
        self._response = response

    def chunks(self) -> AsyncIterator[bytes]:
        """The body, one network read at a time."""
        response = self._response
        content = getattr(response, "content", None)
        if content is not None and hasattr(content, "iter_any"):  # aiohttp.ClientResponse
            return content.iter_any()  # type: ignore[no-any-return]
        return response.aiter_bytes()  # type: ignore[no-any-return]  # httpx.Response

    def content_length(self) -> str | None:
        """The declared ``Content-Length``, if any."""
        return self._response.headers.get("content-length")  # type: ignore[no-any-return]

    async def close(self) -> None:
        """Release the connection (closing it if the body was not read to the end)."""
        response = self._response
        if hasattr(response, "aclose"):
            await response.aclose()
        else:
            response.close()


async def post_stream(api: Any, path: str, body: dict[str, Any]) -> RawStream:
    """POST ``body`` to the streaming ``path``; returns once the status line arrived (errors raise here)."""
    request = api._build_request("post", path, {}, None)
    request.data = _encode(body)
    response = await api._async_request_once(request, True, implicit_retry=False)
    return RawStream(response.response_stream)
