"""What every provider plugin's HTTP client shares: redirects are never followed, answers are bounded.

A redirect to another origin would carry the instance's key (``x-goog-api-key``, ``Authorization``) and its
configured headers there, so no SDK client may follow one: a 3xx comes back as a status error, which the
plugins map through :func:`gateway_core.errors.error_for_status` to ``upstream_redirect``. JSON bodies are read
through :func:`read_bounded`, so a huge answer is refused by its ``Content-Length`` before it is read, or after
``max_response_bytes`` have arrived, instead of being decoded whole.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Any

from .contract.errors import ResponseTooLargeError

NO_REDIRECTS_HTTPX: dict[str, Any] = {"follow_redirects": False}
"""Constructor keyword arguments for an httpx / httpx2 client (the openai and anthropic SDKs' clients,
their aiohttp-backed ``DefaultAioHttpClient`` included)."""

NO_REDIRECTS_ANY: dict[str, Any] = {"follow_redirects": False, "allow_redirects": False}
"""For a library that passes each client's own arguments on (google-genai's ``HttpOptions.client_args`` /
``async_client_args``: ``follow_redirects`` for its httpx clients, ``allow_redirects`` for its aiohttp
requests; each drops the name its client does not take)."""


def check_content_length(value: str | None, limit: int) -> None:
    """Refuse an answer whose declared ``Content-Length`` is over ``limit`` bytes, before reading it."""
    if value is not None and value.isdigit() and int(value) > limit:
        raise ResponseTooLargeError(limit)


async def read_bounded(chunks: AsyncIterable[bytes], limit: int, content_length: str | None = None) -> bytes:
    """The whole body from ``chunks``, refusing it (``ResponseTooLargeError``) past ``limit`` bytes."""
    check_content_length(content_length, limit)
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise ResponseTooLargeError(limit)
        parts.append(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)
