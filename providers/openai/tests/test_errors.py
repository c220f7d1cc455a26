"""Upstream failures: Retry-After, SDK exception mapping (timeouts, refused connections and in-band stream
errors are in the conformance kit)."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from gateway_openai.errors import map_sdk_error

from .conftest import API_KEY

MODEL = "gpt-4o-mini"


def _post(url: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(url + "/v1/responses", json={"model": MODEL, **body}, timeout=20)


def test_retry_after_copied(gateway: str) -> None:
    response = _post(gateway, {"input": "error:429"})
    assert response.status_code == 429 and response.headers["retry-after"] == "1"
    assert API_KEY not in response.text


def _status_error(cls: type[openai.APIStatusError], status: int, headers: dict[str, str] | None = None,
                  body: Any = None) -> openai.APIStatusError:
    import httpx2

    request = httpx2.Request("POST", "https://api.openai.com/v1/responses")
    response = httpx2.Response(status, headers=headers or {}, request=request)
    return cls("boom", response=response, body=body)


@pytest.mark.parametrize(
    ("error", "status", "code", "retryable"),
    [
        (_status_error(openai.BadRequestError, 400), 400, "invalid_request", False),
        (_status_error(openai.BadRequestError, 400, body={"message": "maximum context length is 128000 tokens"}),
         400, "context_length_exceeded", False),
        (_status_error(openai.BadRequestError, 400, body={"message": "Input is too long.",
                                                          "code": "context_length_exceeded"}),
         400, "context_length_exceeded", False),
        (_status_error(openai.BadRequestError, 400, body={"message": "the context window option is invalid"}),
         400, "invalid_request", False),
        (_status_error(openai.AuthenticationError, 401), 500, "upstream_authentication_failed", False),
        (_status_error(openai.PermissionDeniedError, 403), 500, "upstream_permission_denied", False),
        (_status_error(openai.NotFoundError, 404), 404, "model_not_found", False),
        (_status_error(openai.UnprocessableEntityError, 422), 400, "invalid_request", False),
        (_status_error(openai.RateLimitError, 429, {"retry-after": "7"}), 429, "rate_limit_exceeded", True),
        (_status_error(openai.InternalServerError, 500), 500, "upstream_server_error", True),
        (_status_error(openai.InternalServerError, 503), 503, "upstream_unavailable", True),
        (_status_error(openai.APIStatusError, 413), 400, "request_too_large", False),
    ],
)
def test_map_status_errors(error: BaseException, status: int, code: str, retryable: bool) -> None:
    mapped = map_sdk_error(error)
    assert mapped is not None
    assert (mapped.status, mapped.code, mapped.retryable) == (status, code, retryable)
    if status == 429:
        assert mapped.retry_after == 7


def test_map_transport_errors() -> None:
    import httpx2

    request = httpx2.Request("POST", "https://api.openai.com/v1/responses")
    assert map_sdk_error(openai.APITimeoutError(request)).code == "upstream_timeout"  # type: ignore[union-attr]
    assert map_sdk_error(openai.APIConnectionError(request=request)).code == "upstream_connection_error"  # type: ignore[union-attr]
    mid = openai.APIError("overloaded", request, body={"code": "server_error", "message": "overloaded"})
    assert map_sdk_error(mid).status == 500  # type: ignore[union-attr]
    assert map_sdk_error(httpx2.ReadTimeout("late")).code == "upstream_timeout"  # type: ignore[union-attr]
    assert map_sdk_error(httpx2.RemoteProtocolError("cut")).code == "upstream_connection_error"  # type: ignore[union-attr]
    assert map_sdk_error(KeyError("x")) is None
