"""The one error boundary: google-genai, google-auth and transport exceptions -> gateway errors.

Mapped by class: the SDK's ``errors.APIError`` (``ClientError`` / ``ServerError``) by status, google-auth's
``GoogleAuthError``, and the transport's timeouts and connection failures through the core's
:func:`gateway_core.errors.transport_error`.
"""

from __future__ import annotations

from typing import Any

from gateway_core import (
    GatewayError,
    context_length_exceeded,
    error_for_status,
    parse_retry_after,
    retry_after_from_headers,
    transport_error,
)


def map_error(error: BaseException) -> GatewayError | None:
    """Map an SDK, auth or transport exception; ``None`` for anything unrecognised."""
    from google.auth.exceptions import GoogleAuthError  # both already loaded by the client
    from google.genai.errors import APIError

    if isinstance(error, APIError):
        return _api_error(error)
    if isinstance(error, GoogleAuthError):
        return GatewayError(f"Google authentication failed ({type(error).__name__})",
                            code="upstream_authentication_failed")
    return transport_error(error)


def _api_error(error: Any) -> GatewayError:
    status = int(error.code or 500)
    message = error.message or (error.status or "")
    if not isinstance(message, str):
        message = str(message)
    headers = getattr(getattr(error, "response", None), "headers", None)
    retry_after = retry_after_from_headers(headers) if headers is not None else None
    if retry_after is None:
        retry_after = _retry_delay(error.details)
    return _classified(status, message, retry_after, error.status)


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
    return _classified(status, message if isinstance(message, str) else "error in the stream", _retry_delay(payload),
                       upstream_type if isinstance(upstream_type, str) else None)


def _classified(status: int, message: str, retry_after: float | None, upstream_type: str | None) -> GatewayError:
    """Gemini says an input is over the context window with 400 ``INVALID_ARGUMENT``, ``The input token count
    (N) exceeds the maximum number of tokens allowed (M).``"""
    if status == 400 and "input token count" in message:
        return context_length_exceeded(status, message)
    return error_for_status(status, message, retry_after=retry_after, upstream_type=upstream_type)
