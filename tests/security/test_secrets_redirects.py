"""No SDK client follows an upstream redirect: a 307 to another origin would carry the key (``x-goog-api-key``,
``x-api-key``, ``Authorization``) and the configured secret headers there."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway_core.testing import run_gateway

from .conftest import HEADER_SECRET, KEY, PROVIDERS, Hostile, assert_no_secret, providers_config


@pytest.fixture(scope="module")
def gateway(hostile: Hostile) -> Iterator[str]:
    with run_gateway(providers_config(hostile.url)) as url:
        yield url


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_redirect_is_an_error_and_not_followed(gateway: str, hostile: Hostile, provider: str, stream: bool) -> None:
    hostile.recorder.state.headers.clear()
    response = httpx.post(gateway + "/v1/responses", json={"model": f"{provider}/redirect", "input": "hi",
                                                          "stream": stream}, timeout=30)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_redirect"
    assert_no_secret(response.text)
    leaked = [headers for headers in hostile.recorder.state.headers
              if KEY in str(headers) or HEADER_SECRET in str(headers)]
    assert hostile.recorder.state.headers == [] and not leaked
