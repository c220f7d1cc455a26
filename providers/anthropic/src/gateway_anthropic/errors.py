"""The plugin's one error boundary: anthropic SDK exceptions (and in-stream ``error`` events) -> gateway errors.

HTTP statuses, error types, ``Retry-After`` and transport failures go through the core's shared helpers
(:mod:`gateway_core.errors`). An ``error`` event inside a stream has no status of its own (the SDK would raise
``APIStatusError`` with the stream's 200): it is classified by its error ``type``.
"""

from __future__ import annotations

from gateway_core import (
    GatewayError,
    context_length_exceeded,
    error_for_status,
    retry_after_from_headers,
    status_of_error_type,
    transport_error,
    upstream_connection_error,
    upstream_timeout,
)


def from_upstream(
    status: int, upstream_type: str | None, message: str, retry_after: float | None = None
) -> GatewayError:
    """The gateway error for an upstream status (or, for 200 / unknown, the error type) and message; a 3xx
    stays a redirect (``upstream_redirect``).

    Anthropic has no error type for an exceeded context window: it answers 400 ``invalid_request_error``
    with ``prompt is too long: N tokens > M maximum``."""
    if status < 300:
        status = status_of_error_type(upstream_type)
    if status == 400 and "prompt is too long" in message:
        return context_length_exceeded(status, message)
    return error_for_status(status, message, retry_after=retry_after, upstream_type=upstream_type)


def stream_error(upstream_type: str, message: str) -> GatewayError:
    """The gateway error for an ``error`` event received mid-stream."""
    return from_upstream(200, upstream_type, message)


def map_error(error: BaseException) -> GatewayError | None:
    """Map an exception raised by the anthropic SDK or its HTTP transport; ``None`` if unknown."""
    import anthropic  # already loaded by the client; kept out of module import time

    if isinstance(error, anthropic.APIStatusError):
        return from_upstream(error.status_code, error.type, error.api_message or error.message,
                             retry_after_from_headers(error.response.headers))
    if isinstance(error, anthropic.APITimeoutError):
        return upstream_timeout()
    if isinstance(error, anthropic.APIConnectionError):
        return upstream_connection_error()
    return transport_error(error)
