"""The one error boundary: google-genai / transport exceptions -> gateway errors."""

from __future__ import annotations

from typing import Any

from gateway_core import GatewayError, error_for_status, parse_retry_after, upstream_connection_error, upstream_timeout


def map_error(error: BaseException) -> GatewayError | None:
    """Map an SDK or transport exception; ``None`` for anything unrecognised."""
    if isinstance(error, GatewayError):
        return error
    from google.genai import errors as genai_errors

    if isinstance(error, genai_errors.APIError):
        return _api_error(error)
    if isinstance(error, TimeoutError):  # asyncio/aiohttp timeouts (asyncio.TimeoutError is TimeoutError)
        return upstream_timeout()
    module = type(error).__module__
    if module.startswith("aiohttp"):
        name = type(error).__name__
        if "Timeout" in name:
            return upstream_timeout()
        return upstream_connection_error(f"the connection to the upstream failed ({name})")
    if module.startswith(("httpx", "httpx2")):
        name = type(error).__name__
        if "Timeout" in name:
            return upstream_timeout()
        return upstream_connection_error(f"the connection to the upstream failed ({name})")
    if module.startswith("google.auth"):
        return GatewayError(f"Google authentication failed ({type(error).__name__})",
                            code="upstream_authentication_failed")
    if isinstance(error, ConnectionError):
        return upstream_connection_error()
    return None


def _api_error(error: Any) -> GatewayError:
    status = int(error.code or 500)
    message = error.message or (error.status or "")
    if not isinstance(message, str):
        message = str(message)
    retry_after = None
    headers = getattr(getattr(error, "response", None), "headers", None)
    if headers is not None:
        retry_after = parse_retry_after(headers.get("retry-after"))
    if retry_after is None:
        retry_after = _retry_delay(error.details)
    return error_for_status(status, message, retry_after=retry_after, upstream_type=error.status)


def _retry_delay(details: Any) -> float | None:
    """Seconds from a ``google.rpc.RetryInfo`` detail (``"retryDelay": "29s"``), which Gemini sends on 429."""
    body = details.get("error", details) if isinstance(details, dict) else None
    entries = body.get("details") if isinstance(body, dict) else None
    for entry in entries if isinstance(entries, list) else ():
        delay = entry.get("retryDelay") if isinstance(entry, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            return parse_retry_after(delay[:-1])
    return None


def chunk_error(payload: dict[str, Any]) -> GatewayError:
    """The gateway error for an ``{"error": {...}}`` object arriving inside a stream."""
    code = payload.get("code")
    status = code if isinstance(code, int) and 400 <= code < 600 else 500
    message = payload.get("message")
    upstream_type = payload.get("status")
    return error_for_status(status, message if isinstance(message, str) else "error in the stream",
                            retry_after=_retry_delay(payload),
                            upstream_type=upstream_type if isinstance(upstream_type, str) else None)
