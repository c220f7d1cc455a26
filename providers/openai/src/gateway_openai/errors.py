"""The plugin's one error boundary: openai SDK exceptions and in-band upstream errors -> gateway errors.

SDK exceptions are mapped by class and HTTP status through the core's shared table
(:func:`gateway_core.errors.error_for_status`); ``Retry-After`` is copied. Errors that arrive inside a 200
body or stream (a Responses ``error`` event or ``response.failed``, a chat ``{"error": ...}`` chunk) carry no
status: their code/type picks one. The API key is never put in a message (the SDK's messages hold none, and
the core redacts it again).
"""

from __future__ import annotations

from typing import Any

from gateway_core import GatewayError, error_for_status, parse_retry_after, upstream_connection_error, upstream_timeout

# in-band error code or type -> the HTTP status it stands for
_INBAND_STATUS = {
    "rate_limit_exceeded": 429,
    "rate_limit_error": 429,
    "insufficient_quota": 429,
    "invalid_request_error": 400,
    "invalid_prompt": 400,
    "context_length_exceeded": 400,
    "invalid_api_key": 401,
    "authentication_error": 401,
    "permission_denied": 403,
    "model_not_found": 404,
    "not_found_error": 404,
    "overloaded_error": 529,
    "server_is_overloaded": 503,
    "slow_down": 503,
    "server_error": 500,
}


def _message_of(body: object, fallback: str) -> str:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
    return fallback


def map_sdk_error(error: BaseException) -> GatewayError | None:
    """Map an exception of the openai SDK; ``None`` when it is not one."""
    import httpx2  # both already imported by the client: dict lookups here
    import openai

    if isinstance(error, GatewayError):
        return error
    if isinstance(error, openai.APITimeoutError):
        return upstream_connection_error() if _refused(error) else upstream_timeout()
    if isinstance(error, openai.APIConnectionError):
        return upstream_connection_error()
    if isinstance(error, openai.APIStatusError):
        headers = error.response.headers
        retry_after = parse_retry_after(headers.get("retry-after"))
        if retry_after is None:
            millis = parse_retry_after(headers.get("retry-after-ms"))
            retry_after = millis / 1000 if millis is not None else None
        message = _message_of(error.body, error.message)
        return error_for_status(error.status_code, message, retry_after=retry_after, upstream_type=error.type)
    if isinstance(error, openai.APIError):  # raised with no status (e.g. an SSE error payload)
        return error_from_body(error.code, error.message, error.type)
    # raised while reading a stream's body (the SDK maps transport errors only before the response)
    if isinstance(error, httpx2.TimeoutException):
        return upstream_timeout()
    if isinstance(error, httpx2.TransportError):
        return upstream_connection_error(f"the upstream connection failed: {type(error).__name__}")
    return None


def _refused(error: BaseException) -> bool:
    """Whether a "timeout" is really a failed connect: the SDK's aiohttp transport maps aiohttp's
    ``ClientConnectorError`` (connection refused, DNS) to ``ConnectTimeout`` through its parent class."""
    import aiohttp

    cause = error.__cause__
    while cause is not None:
        if isinstance(cause, aiohttp.ClientConnectorError):
            return True
        cause = cause.__cause__
    return False


def error_from_body(code: Any, message: str, upstream_type: str | None = None) -> GatewayError:
    """The gateway error for an in-band upstream error (no HTTP status: classified by code, then type)."""
    code_text = str(code) if code is not None else None
    status = _INBAND_STATUS.get(code_text or "") or _INBAND_STATUS.get(upstream_type or "") or 500
    return error_for_status(status, message or "the upstream reported an error", upstream_type=upstream_type)
