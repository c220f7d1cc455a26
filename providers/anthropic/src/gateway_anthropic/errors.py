"""The plugin's one error boundary: anthropic SDK exceptions (and in-stream ``error`` events) -> gateway errors.

HTTP statuses go through the core's shared table (:func:`gateway_core.errors.error_for_status`). An ``error``
event inside a stream has no status of its own (the SDK would raise ``APIStatusError`` with the stream's 200):
it is classified by its error ``type``.
"""

from __future__ import annotations

from gateway_core import (
    GatewayError,
    InvalidRequestError,
    error_for_status,
    parse_retry_after,
    upstream_connection_error,
    upstream_timeout,
)

STATUS_OF_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
"""Anthropic error ``type`` -> the HTTP status the API documents for it."""


def from_upstream(
    status: int, upstream_type: str | None, message: str, retry_after: float | None = None
) -> GatewayError:
    """The gateway error for an upstream status (or, for 200 / unknown, the error type) and message; a 3xx
    stays a redirect (``upstream_redirect``)."""
    if status < 300:
        status = STATUS_OF_TYPE.get(upstream_type or "", 500)
    if status == 400 and "prompt is too long" in message:
        return InvalidRequestError(f"upstream error (400): {message}", code="context_length_exceeded", param="input")
    return error_for_status(status, message, retry_after=retry_after, upstream_type=upstream_type)


def stream_error(upstream_type: str, message: str) -> GatewayError:
    """The gateway error for an ``error`` event received mid-stream."""
    return from_upstream(200, upstream_type, message)


def map_error(error: BaseException) -> GatewayError | None:
    """Map an exception raised by the anthropic SDK or its HTTP transport; ``None`` if unknown."""
    if isinstance(error, GatewayError):
        return error
    import anthropic  # already loaded by the client; kept out of module import time
    import httpx2

    if isinstance(error, anthropic.APIStatusError):
        headers = error.response.headers
        retry_after = parse_retry_after(headers.get("retry-after"))
        if retry_after is None and headers.get("retry-after-ms"):
            milliseconds = parse_retry_after(headers.get("retry-after-ms"))
            retry_after = milliseconds / 1000 if milliseconds is not None else None
        message = error.api_message or error.message
        return from_upstream(error.status_code, error.type, message, retry_after)
    if isinstance(error, (anthropic.APITimeoutError, httpx2.TimeoutException)):
        return upstream_timeout()
    if isinstance(error, (anthropic.APIConnectionError, httpx2.TransportError)):
        return upstream_connection_error()
    return None
