"""The error boundary: SDK exceptions and in-stream error types -> gateway errors (no server)."""

from __future__ import annotations

import subprocess
import sys

import anthropic
import httpx2
import pytest

from gateway_anthropic.errors import map_error, stream_error

REQUEST = httpx2.Request("POST", "https://api.anthropic.com/v1/messages")


def status_error(status: int, kind: str, message: str = "boom", headers: dict[str, str] | None = None) -> Exception:
    body = {"type": "error", "error": {"type": kind, "message": message}}
    response = httpx2.Response(status, json=body, headers=headers or {}, request=REQUEST)
    return anthropic.AsyncAnthropic(api_key="k")._make_status_error(f"Error code: {status}", body=body,
                                                                     response=response)


@pytest.mark.parametrize(("status", "kind", "http", "code", "retryable"), [
    (400, "invalid_request_error", 400, "invalid_request", False),
    (401, "authentication_error", 500, "upstream_authentication_failed", False),
    (402, "billing_error", 500, "upstream_billing", False),
    (403, "permission_error", 500, "upstream_permission_denied", False),
    (404, "not_found_error", 404, "model_not_found", False),
    (413, "request_too_large", 400, "request_too_large", False),
    (429, "rate_limit_error", 429, "rate_limit_exceeded", True),
    (500, "api_error", 500, "upstream_server_error", True),
    (503, "api_error", 503, "upstream_unavailable", True),
    (529, "overloaded_error", 503, "overloaded", True),
])
def test_status_errors(status: int, kind: str, http: int, code: str, retryable: bool) -> None:
    error = map_error(status_error(status, kind, headers={"retry-after": "7"} if status == 429 else None))
    assert (error.status, error.code, error.retryable) == (http, code, retryable)
    if status == 429:
        assert error.retry_after == 7.0


def test_context_length() -> None:
    error = map_error(status_error(400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000"))
    assert error.code == "context_length_exceeded" and error.param == "input"


@pytest.mark.parametrize(("kind", "http", "code"), [
    ("overloaded_error", 503, "overloaded"),
    ("api_error", 500, "upstream_server_error"),
    ("rate_limit_error", 429, "rate_limit_exceeded"),
    ("something_new", 500, "upstream_server_error"),
])
def test_in_stream_error_types(kind: str, http: int, code: str) -> None:
    for error in (stream_error(kind, "x"), map_error(status_error(200, kind))):
        assert (error.status, error.code) == (http, code)


def test_transport_errors() -> None:
    assert map_error(anthropic.APITimeoutError(request=REQUEST)).code == "upstream_timeout"
    assert map_error(anthropic.APIConnectionError(request=REQUEST)).code == "upstream_connection_error"
    assert map_error(httpx2.ReadTimeout("slow")).code == "upstream_timeout"
    assert map_error(httpx2.ReadError("reset")).code == "upstream_connection_error"
    assert map_error(KeyError("x")) is None


def test_plugin_import_does_not_load_the_sdk() -> None:
    code = "import sys, gateway_anthropic.plugin; print('anthropic' in sys.modules, 'httpx2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
