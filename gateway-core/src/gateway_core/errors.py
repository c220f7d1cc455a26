"""One exception hierarchy for the whole gateway, mapped to the Open Responses error object.

    GatewayError                      server_error        500  (base; also "upstream failed")
     +-- InvalidRequestError          invalid_request     400
     +-- NotFoundError                not_found           404
     +-- RateLimitError               too_many_requests   429  (retryable, carries retry_after)
     +-- ModelError                   model_error         500
     +-- UnsupportedMediaTypeError    invalid_request     415
     +-- PayloadTooLargeError         invalid_request     413

Provider plugins translate their SDK's exceptions at one boundary (the ``gateway_map_error`` hook), mostly
through :func:`error_for_status`, so every provider maps the same HTTP status the same way.
"""

from __future__ import annotations

from .types import ErrorBody, ErrorEnvelope, ResponseError, encoder


class GatewayError(Exception):
    """An error with its Open Responses ``type``, ``code``, ``param``, HTTP status and retry advice."""

    type = "server_error"
    status = 500

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
    text = f"upstream error ({status}): {message}" if message else f"upstream error ({status})"
    if status == 400 or status == 422:
        if "context" in message.lower() and ("length" in message.lower() or "window" in message.lower()):
            return InvalidRequestError(text, code="context_length_exceeded", param="input")
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
        return GatewayError(text, code="upstream_timeout", retryable=True)
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


def upstream_timeout(message: str = "the upstream did not answer in time") -> GatewayError:
    """A timeout talking to the upstream (retryable)."""
    return GatewayError(message, code="upstream_timeout", retryable=True)


def upstream_connection_error(message: str = "could not connect to the upstream") -> GatewayError:
    """A connection failure talking to the upstream (retryable)."""
    return GatewayError(message, code="upstream_connection_error", retryable=True)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` (or ``retry-after-ms``-converted) header value, if it is a number."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
