"""The plugin's one error boundary: openai SDK exceptions and in-band upstream errors -> gateway errors.

SDK exceptions are mapped by class; HTTP statuses, error codes, ``Retry-After`` and transport failures through
the core's shared helpers (:mod:`gateway_core.errors`). Errors that arrive inside a 200 body or stream (a
Responses ``error`` event or ``response.failed``, a chat ``{"error": ...}`` chunk) carry no status: their
code/type picks one. The API key is never put in a message (the SDK's messages hold none, and the core
redacts it again).
"""

from __future__ import annotations

from typing import Any

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


def _message_of(body: object, fallback: str) -> str:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
    return fallback


def map_sdk_error(error: BaseException) -> GatewayError | None:
    """Map an exception of the openai SDK (or of its transport); ``None`` when it is neither."""
    import openai  # already imported by the client: a dict lookup here

    if isinstance(error, openai.APITimeoutError):
        return upstream_connection_error() if _refused(error) else upstream_timeout()
    if isinstance(error, openai.APIConnectionError):
        return upstream_connection_error()
    if isinstance(error, openai.APIStatusError):
        message = _message_of(error.body, error.message)
        return _classified(error.status_code, error.code, error.type, message,
                           retry_after_from_headers(error.response.headers))
    if isinstance(error, openai.APIError):  # raised with no status (e.g. an SSE error payload)
        return error_from_body(error.code, error.message, error.type)
    return transport_error(error)


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
    status = status_of_error_type(code_text, upstream_type)
    return _classified(status, code_text, upstream_type, message or "the upstream reported an error")


def _classified(status: int, code: str | None, upstream_type: str | None, message: str,
                retry_after: float | None = None) -> GatewayError:
    """OpenAI says ``code: context_length_exceeded``; compatible servers (vLLM, for one) send only its
    message, ``This model's maximum context length is N tokens``."""
    if code == "context_length_exceeded" or (status == 400 and "maximum context length" in message):
        return context_length_exceeded(status, message)
    return error_for_status(status, message, retry_after=retry_after, upstream_type=upstream_type)
