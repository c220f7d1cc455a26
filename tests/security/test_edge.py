"""Item 1 of issue 14: who may reach the gateway. Raw sockets, since httpx would not send a forged Host or a
browser's WebSocket upgrade. Every test here fails on the code before the fix."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest

from gateway_core.config import ServerSettings
from gateway_core.testing import run_gateway

from .rawhttp import exchange, post_head, split, status_of, websocket_upgrade

BODY = b'{"model":"mock","input":"hi"}'


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with run_gateway({"server": {"allowed_origins": ["https://app.example"]}}) as base:
        yield base


def test_default_bind_is_loopback() -> None:
    assert ServerSettings().host == "127.0.0.1"


@pytest.mark.parametrize("path", ["/v1/responses", "/v1/responses/compact"])
def test_rebinding_host_is_refused_on_post(url: str, path: str) -> None:
    answer = asyncio.run(exchange(url, post_head(path, "evil.example", len(BODY)), BODY))
    assert status_of(answer) == 400
    error = json.loads(answer.partition(b"\r\n\r\n")[2])["error"]
    assert error["code"] == "invalid_host" and error["type"] == "invalid_request"


def test_rebinding_host_is_refused_on_get(url: str) -> None:
    answer = asyncio.run(exchange(url, b"GET /v1/models HTTP/1.1\r\nHost: evil.example:8080"))
    assert status_of(answer) == 400 and b"invalid_host" in answer


def test_missing_host_is_refused(url: str) -> None:
    answer = asyncio.run(exchange(url, b"GET /healthz HTTP/1.0"))
    assert status_of(answer) == 400


@pytest.mark.parametrize("host", ["localhost:9", "127.0.0.1", "LOCALHOST", "[::1]:8080"])
def test_loopback_names_with_any_port_are_served(url: str, host: str) -> None:
    answer = asyncio.run(exchange(url, post_head("/v1/responses", host, len(BODY)), BODY))
    assert status_of(answer) == 200, answer


def test_configured_hosts_replace_the_defaults() -> None:
    with run_gateway({"server": {"allowed_hosts": ["gateway.internal", "*.corp.example"]}}) as base:
        for host, status in (("gateway.internal:80", 200), ("a.corp.example", 200), ("localhost", 400),
                             ("corp.example.evil", 400)):
            answer = asyncio.run(exchange(base, f"GET /healthz HTTP/1.1\r\nHost: {host}".encode()))
            assert status_of(answer) == status, host


def test_websocket_from_a_foreign_origin_is_refused_before_accept(url: str) -> None:
    head = websocket_upgrade("/v1/responses", "localhost", "\r\nOrigin: https://evil.example")
    assert status_of(asyncio.run(exchange(url, head, timeout=3))) == 403


def test_websocket_with_a_rebinding_host_is_refused(url: str) -> None:
    assert status_of(asyncio.run(exchange(url, websocket_upgrade("/v1/responses", "evil.example"), timeout=3))) == 403


@pytest.mark.parametrize("origin", ["", "\r\nOrigin: https://app.example"])
def test_websocket_without_origin_or_from_an_allowed_one_is_accepted(url: str, origin: str) -> None:
    head = websocket_upgrade("/v1/responses", f"127.0.0.1:{split(url)[1]}", origin)
    assert status_of(asyncio.run(exchange(url, head, timeout=1))) == 101


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"])
@pytest.mark.parametrize("path", ["/v1/responses", "/v1/responses/compact"])
def test_simple_request_content_types_are_refused(url: str, path: str, content_type: str) -> None:
    response = httpx.post(url + path, content=BODY, headers={"content-type": content_type})
    assert response.status_code == 415 and response.json()["error"]["code"] == "unsupported_media_type"


def test_json_suffix_types_are_accepted(url: str) -> None:
    response = httpx.post(url + "/v1/responses", content=BODY,
                          headers={"content-type": "application/vnd.api+json; charset=utf-8"})
    assert response.status_code == 200


def test_cors_is_off_by_default(url: str) -> None:
    response = httpx.options(url + "/v1/responses", headers={"origin": "https://evil.example",
                                                           "access-control-request-method": "POST"})
    assert "access-control-allow-origin" not in response.headers


def test_cors_allows_only_the_configured_origins() -> None:
    with run_gateway({"server": {"cors": ["https://app.example"]}}) as base:
        preflight = {"access-control-request-method": "POST", "access-control-request-headers": "content-type"}
        allowed = httpx.options(base + "/v1/responses", headers={"origin": "https://app.example", **preflight})
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        refused = httpx.options(base + "/v1/responses", headers={"origin": "https://evil.example", **preflight})
        assert "access-control-allow-origin" not in refused.headers
        answer = httpx.post(base + "/v1/responses", content=BODY,
                            headers={"origin": "https://app.example", "content-type": "application/json"})
        assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "https://app.example"
