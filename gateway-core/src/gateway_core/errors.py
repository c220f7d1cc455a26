"""The gateway's error types; defined in :mod:`gateway_core.contract.errors` (this module keeps old imports working)."""

from .contract.errors import (
    GatewayError,
    InvalidRequestError,
    ModelError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitError,
    ResponseTooLargeError,
    UnsupportedMediaTypeError,
    error_for_status,
    parse_retry_after,
    upstream_connection_error,
    upstream_redirect,
    upstream_timeout,
)

__all__ = [
    "GatewayError",
    "InvalidRequestError",
    "ModelError",
    "NotFoundError",
    "PayloadTooLargeError",
    "RateLimitError",
    "ResponseTooLargeError",
    "UnsupportedMediaTypeError",
    "error_for_status",
    "parse_retry_after",
    "upstream_connection_error",
    "upstream_redirect",
    "upstream_timeout",
]
