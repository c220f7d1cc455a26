"""The error boundary: google-genai, google-auth and transport exception classes -> gateway errors."""

from __future__ import annotations

import aiohttp
import httpx
import pytest
from google.auth.exceptions import RefreshError
from google.genai.errors import ClientError, ServerError

from gateway_google.errors import chunk_error, map_error

STATUS_NAMES = {400: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}


def api_error(status: int, message: str, **extra: object) -> ClientError | ServerError:
    body = {"error": {"code": status, "message": message, "status": STATUS_NAMES[status], **extra}}
    return (ClientError if status < 500 else ServerError)(status, body)


def test_status_errors() -> None:
    retry = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "29s"}]
    limited = map_error(api_error(429, "Resource exhausted", details=retry))
    assert limited is not None and (limited.status, limited.code, limited.retry_after) == (429, "rate_limit_exceeded",
                                                                                           29.0)
    unavailable = map_error(api_error(503, "The model is overloaded."))
    assert unavailable is not None and (unavailable.status, unavailable.retryable) == (503, True)


def test_context_window() -> None:
    message = "The input token count (3475108) exceeds the maximum number of tokens allowed (1048576)."
    for error in (map_error(api_error(400, message)), chunk_error({"code": 400, "message": message})):
        assert error is not None and (error.status, error.code, error.param) == (400, "context_length_exceeded",
                                                                                 "input")
    other = map_error(api_error(400, "Request contains an invalid argument: the context window"))
    assert other is not None and other.code == "invalid_request"


@pytest.mark.parametrize(("error", "code"), [
    (aiohttp.ServerDisconnectedError(), "upstream_connection_error"),
    (aiohttp.ServerTimeoutError(), "upstream_timeout"),
    (httpx.ReadTimeout("late"), "upstream_timeout"),
    (httpx.ConnectError("refused"), "upstream_connection_error"),
    (RefreshError("no token"), "upstream_authentication_failed"),
])
def test_by_class(error: BaseException, code: str) -> None:
    mapped = map_error(error)
    assert mapped is not None and mapped.code == code


def test_lookalike_module_names_are_not_mapped() -> None:
    class ConnectTimeout(Exception):  # named like httpx's, in a module named like it, but not its class
        __module__ = "httpx._exceptions"

    assert map_error(ConnectTimeout()) is None
    assert map_error(KeyError("x")) is None
