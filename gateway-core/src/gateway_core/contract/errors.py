"""One exception hierarchy for the whole gateway, mapped to the Open Responses error object.

    GatewayError                      server_error        500  (base; also "upstream failed")
     +-- InvalidRequestError          invalid_request     400
     +-- NotFoundError                not_found           404
     +-- RateLimitError               too_many_requests   429  (retryable, carries retry_after)
     +-- ModelError                   model_error         500
     +-- UnsupportedMediaTypeError    invalid_request     415
     +-- PayloadTooLargeError         invalid_request     413
     +-- ResponseTooLargeError        server_error        502  (the upstream's answer is over the limit)

Provider plugins translate their SDK's exceptions at one boundary (the ``gateway_map_error`` hook) with the
helpers below, so every provider maps the same HTTP status, error type, ``Retry-After`` header and transport
failure the same way; a plugin maps only its own SDK's exception classes (and classifies what only its
provider's error codes say, such as an exceeded context window: :func:`context_length_exceeded`). The core
passes a ``GatewayError`` raised by a plugin through unchanged.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from ..types import ErrorBody, ErrorEnvelope, ResponseError, encoder


class GatewayError(Exception):
    """An error with its Open Responses ``type``, ``code``, ``param``, HTTP status and retry advice."""

    type = "server_error"
    status = 500
    native: tuple[str, int, bytes] | None = None
    """``(dialect, status, body)``: the upstream's own error answer, for a client speaking that dialect (set
    by a plugin's ``gateway_map_error``; the Messages dialect returns an Anthropic upstream's errors as they
    came)."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        if status is not None:
            self.status = status
        self.retryable = retryable
        self.retry_after = retry_after

    def body(self) -> ErrorBody:
        """The error object as sent to clients."""
        return ErrorBody(type=self.type, code=self.code, message=self.message, param=self.param)

    def to_json(self) -> bytes:
        """``{"error": {...}}`` encoded."""
        return encoder.encode(ErrorEnvelope(error=self.body()))

    def for_resource(self) -> ResponseError:
        """The ``error`` field of a failed response resource."""
        return ResponseError(code=self.code or self.type, message=self.message)

    def headers(self) -> list[tuple[bytes, bytes]]:
        """Extra HTTP headers for this error (``retry-after`` when known)."""
        if self.retry_after is None:
            return []
        return [(b"retry-after", str(max(0, round(self.retry_after))).encode())]


class InvalidRequestError(GatewayError):
    """The request is malformed or asks for something the target cannot do."""

    type = "invalid_request"
    status = 400


class UnsupportedMediaTypeError(InvalidRequestError):
    """The body is not JSON."""

    status = 415


class PayloadTooLargeError(InvalidRequestError):
    """The body is over the configured size limit."""

    status = 413


class NotFoundError(GatewayError):
    """The model or resource does not exist."""

    type = "not_found"
    status = 404


class RateLimitError(GatewayError):
    """Throttled, by the gateway's limits or the upstream's; retry after ``retry_after`` seconds."""

    type = "too_many_requests"
    status = 429


class ModelError(GatewayError):
    """The model failed on a valid request (e.g. it called a tool that is not allowed)."""

    type = "model_error"
    status = 500


class StreamInterrupted(GatewayError):
    """The upstream stream ended without the provider's end marker."""

    def __init__(self) -> None:
        super().__init__(
            "the upstream stream ended before the response was complete",
            code="upstream_stream_interrupted",
            retryable=True,
        )


def error_for_status(
    status: int,
    message: str,
    *,
    retry_after: float | None = None,
    upstream_type: str | None = None,
) -> GatewayError:
    """Map an upstream HTTP status (and the upstream's error type, if any) to the gateway's error.

    This is the shared table every provider uses, so a 429 from any SDK becomes the same client error.
    """
    if 300 <= status < 400:
        return upstream_redirect(status)
    text = _upstream_text(status, message)
    if status == 400 or status == 422:
        return InvalidRequestError(text, code="invalid_request")
    if status == 401:
        return GatewayError(text, code="upstream_authentication_failed")
    if status == 402:
        return GatewayError(text, code="upstream_billing")
    if status == 403:
        return GatewayError(text, code="upstream_permission_denied")
    if status == 404:
        return NotFoundError(text, code="model_not_found", param="model")
    if status == 408:
        return upstream_timeout(text)
    if status == 409:
        return GatewayError(text, code="upstream_conflict", retryable=True)
    if status == 413:
        return InvalidRequestError(text, code="request_too_large")
    if status == 429:
        return RateLimitError(text, code="rate_limit_exceeded", retryable=True, retry_after=retry_after)
    if status == 529 or upstream_type == "overloaded_error":
        return GatewayError(text, code="overloaded", status=503, retryable=True, retry_after=retry_after)
    if status in (502, 503, 504):
        return GatewayError(text, code="upstream_unavailable", status=503, retryable=True, retry_after=retry_after)
    if status >= 500:
        return GatewayError(text, code="upstream_server_error", retryable=True, retry_after=retry_after)
    return GatewayError(text, code="upstream_error")


def _upstream_text(status: int, message: str) -> str:
    return f"upstream error ({status}): {message}" if message else f"upstream error ({status})"


def context_length_exceeded(status: int, message: str) -> InvalidRequestError:
    """The input does not fit the model's context window (the plugin recognises its provider's way of saying
    so; the core does not guess from message text)."""
    return InvalidRequestError(_upstream_text(status, message), code="context_length_exceeded", param="input")


ERROR_TYPE_STATUS: dict[str, int] = {
    # Anthropic's error types (https://docs.anthropic.com/en/api/errors)
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
    # OpenAI's error codes (and those of compatible servers)
    "invalid_prompt": 400,
    "context_length_exceeded": 400,
    "invalid_api_key": 401,
    "permission_denied": 403,
    "model_not_found": 404,
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
    "server_error": 500,
    "server_is_overloaded": 503,
    "slow_down": 503,
}
"""Upstream error types and codes -> the HTTP status they stand for, for errors that arrive without one
(inside a 200 body or stream)."""


def status_of_error_type(*names: str | None) -> int:
    """The HTTP status of the first known error type or code among ``names`` (500 if none is known)."""
    for name in names:
        status = ERROR_TYPE_STATUS.get(name or "")
        if status is not None:
            return status
    return 500


def retry_after_from_headers(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from an upstream answer's ``retry-after`` header, else its ``retry-after-ms``."""
    seconds = parse_retry_after(headers.get("retry-after"))
    if seconds is None:
        milliseconds = parse_retry_after(headers.get("retry-after-ms"))
        seconds = milliseconds / 1000 if milliseconds is not None else None
    return seconds


def transport_error(error: BaseException) -> GatewayError | None:
    """A timeout or connection failure below the SDK: asyncio's and the OS's, or one of the HTTP libraries
    the SDKs use (httpx, httpx2, aiohttp), matched by class; ``None`` for anything else.

    Only libraries already imported are checked (an error cannot come from one that is not), so this imports
    nothing. Streams raise these while their body is read: the SDKs map transport errors only before it.
    """
    if isinstance(error, TimeoutError):  # asyncio's, and aiohttp's timeouts (subclasses)
        return upstream_timeout()
    name = type(error).__name__
    for library_name in ("httpx2", "httpx"):
        library = sys.modules.get(library_name)
        if library is not None:
            if isinstance(error, library.TimeoutException):
                return upstream_timeout()
            if isinstance(error, library.TransportError):
                return upstream_connection_error(f"the connection to the upstream failed ({name})")
    aiohttp = sys.modules.get("aiohttp")
    if (aiohttp is not None and isinstance(error, aiohttp.ClientError)) or isinstance(error, ConnectionError):
        return upstream_connection_error(f"the connection to the upstream failed ({name})")
    return None


def upstream_timeout(message: str = "the upstream did not answer in time") -> GatewayError:
    """A timeout talking to the upstream (retryable): 504, as gateways answer and clients retry on."""
    return GatewayError(message, code="upstream_timeout", status=504, retryable=True)


def upstream_connection_error(message: str = "could not connect to the upstream") -> GatewayError:
    """A connection failure talking to the upstream (retryable)."""
    return GatewayError(message, code="upstream_connection_error", retryable=True)


class ResponseTooLargeError(GatewayError):
    """The upstream's answer is over the instance's ``max_response_bytes`` (502: the upstream misbehaved)."""

    status = 502

    def __init__(self, limit: int) -> None:
        super().__init__(f"the upstream's answer is larger than this gateway accepts ({limit} bytes)",
                         code="response_too_large")


def upstream_redirect(status: int) -> GatewayError:
    """The upstream answered with a redirect, which the gateway never follows (it would carry the key)."""
    return GatewayError(f"the upstream answered with a redirect ({status}), which the gateway does not follow; "
                        "check the provider's base_url", code="upstream_redirect", status=502)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` (or ``retry-after-ms``-converted) header value, if it is a number."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
