"""The shared error helpers every plugin's boundary uses (pure functions, real exception classes)."""

from __future__ import annotations

import asyncio

import aiohttp
import httpx
import httpx2
import pytest

from gateway_core.errors import (
    context_length_exceeded,
    error_for_status,
    retry_after_from_headers,
    status_of_error_type,
    transport_error,
)


def test_the_status_table_does_not_guess_from_message_text() -> None:
    error = error_for_status(400, "the context length is too long for this window")
    assert (error.status, error.code) == (400, "invalid_request")
    exceeded = context_length_exceeded(400, "prompt is too long")
    assert (exceeded.status, exceeded.code, exceeded.param) == (400, "context_length_exceeded", "input")
    assert exceeded.message == "upstream error (400): prompt is too long"


def test_status_of_error_type() -> None:
    assert status_of_error_type(None, "rate_limit_error") == 429
    assert status_of_error_type("insufficient_quota", "invalid_request_error") == 429  # the first known wins
    assert status_of_error_type("overloaded_error") == 529
    assert status_of_error_type("something_new", None) == 500


@pytest.mark.parametrize(("headers", "seconds"), [
    ({"retry-after": "7"}, 7.0),
    ({"retry-after-ms": "1500"}, 1.5),
    ({"retry-after": "soon", "retry-after-ms": "250"}, 0.25),
    ({}, None),
])
def test_retry_after_from_headers(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after_from_headers(httpx2.Headers(headers)) == seconds


@pytest.mark.parametrize(("error", "code"), [
    (asyncio.TimeoutError(), "upstream_timeout"),
    (httpx2.ReadTimeout("late"), "upstream_timeout"),
    (httpx.ConnectTimeout("late"), "upstream_timeout"),
    (httpx2.RemoteProtocolError("cut"), "upstream_connection_error"),
    (httpx.ConnectError("refused"), "upstream_connection_error"),
    (aiohttp.ServerDisconnectedError(), "upstream_connection_error"),
    (aiohttp.ServerTimeoutError(), "upstream_timeout"),
    (ConnectionResetError(), "upstream_connection_error"),
])
def test_transport_errors_by_class(error: BaseException, code: str) -> None:
    mapped = transport_error(error)
    assert mapped is not None and (mapped.code, mapped.retryable) == (code, True)


def test_transport_error_ignores_lookalikes() -> None:
    class ClientTimeout(Exception):  # a name and module that look like aiohttp's, not its class
        __module__ = "aiohttp.client"

    assert transport_error(ClientTimeout()) is None
    assert transport_error(KeyError("x")) is None
