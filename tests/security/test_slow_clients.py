"""Item 6 of issue 14: slow and idle clients are bounded (head size and time, connections, WebSockets)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from gateway_core.testing import run_gateway

from .rawhttp import exchange, post_head, read_until_closed, split, status_of, websocket_upgrade

SERVER = {"header_timeout": 0.5, "max_header_bytes": 8192, "max_websockets": 2, "websocket_idle_seconds": 0.5}


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with run_gateway({"server": SERVER}) as base:
        yield base


def test_headers_over_the_limit_are_refused_with_431(url: str) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Filler: " + b"a" * 20_000
    answer = asyncio.run(exchange(url, head, timeout=5))
    assert status_of(answer) == 431 and b"headers_too_large" in answer


def test_a_large_head_arriving_whole_with_its_body_is_refused_before_it_is_served(url: str) -> None:
    body = b'{"model": "mock", "input": "hello"}'
    head = post_head("/v1/responses", "localhost", len(body)) + b"\r\nX-Filler: " + b"a" * 20_000
    answer = asyncio.run(exchange(url, head, body, timeout=5))
    assert status_of(answer) == 431 and b"headers_too_large" in answer and b"hello" not in answer


async def _in_pieces(url: str, pieces: list[bytes]) -> bytes:
    """Send ``pieces`` as separate TCP segments (a pause between them), then read the answer."""
    reader, writer = await asyncio.open_connection(*split(url))
    try:
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.05)
        return await read_until_closed(reader, timeout=5)
    finally:
        writer.close()


def test_a_head_whose_blank_line_spans_two_reads_is_measured_to_that_line() -> None:
    """The blank line ends in the next read, which carries a body far over the head limit: the request is
    served, its body not counted into its head."""
    text = "x" * 20_000
    body = b'{"model": "mock", "input": "' + text.encode() + b'"}'
    head = post_head("/v1/responses", "localhost", len(body)) + b"\r\n"
    with run_gateway({"server": SERVER}) as base:
        answer = asyncio.run(_in_pieces(base, [head + b"\r", b"\n" + body]))
    assert status_of(answer) == 200 and text.encode() in answer


def test_a_slow_second_head_on_a_kept_alive_connection_is_closed(url: str) -> None:
    async def second_head_never_ends() -> tuple[bytes, float]:
        reader, writer = await asyncio.open_connection(*split(url))
        try:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            first = await reader.readuntil(b'{"status":"ok"}')
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: loc")
            await writer.drain()
            began = time.monotonic()
            await read_until_closed(reader, timeout=10)
            return first, time.monotonic() - began
        finally:
            writer.close()

    first, waited = asyncio.run(second_head_never_ends())
    assert status_of(first) == 200 and waited < 5  # closed at the header timeout, not the 10 s read timeout


def test_endless_headers_are_cut_off(url: str) -> None:
    async def flood() -> int:
        _, writer = await asyncio.open_connection(*split(url))
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Filler: ")
        sent = 0
        try:
            while sent < 64 * 1024 * 1024:
                writer.write(b"a" * 65536)
                await asyncio.wait_for(writer.drain(), 5)
                sent += 65536
        except (ConnectionError, TimeoutError):
            pass
        writer.close()
        return sent

    assert asyncio.run(flood()) < 8 * 1024 * 1024  # the server hung up long before 64 MB


def test_headers_within_the_limit_are_served(url: str) -> None:
    answer = asyncio.run(exchange(url, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Filler: " + b"a" * 4000))
    assert status_of(answer) == 200


async def _half_sent(url: str, data: bytes) -> float:
    reader, writer = await asyncio.open_connection(*split(url))
    began = time.monotonic()
    writer.write(data)
    await writer.drain()
    await read_until_closed(reader, timeout=10)
    writer.close()
    return time.monotonic() - began


@pytest.mark.parametrize("data", [b"", b"GET /healthz HTTP/1.1\r\nHost: loc"])
def test_a_head_that_never_completes_is_closed(url: str, data: bytes) -> None:
    assert asyncio.run(_half_sent(url, data)) < 5  # closed by the server, not by the 10 s read timeout


def test_idle_websocket_is_closed(url: str) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    with connect(url.replace("http", "ws") + "/v1/responses") as socket:
        began = time.monotonic()
        with pytest.raises(ConnectionClosed):
            socket.recv(timeout=10)
        assert time.monotonic() - began < 5


def test_open_websockets_are_capped(url: str) -> None:
    from websockets.sync.client import connect

    async def third_upgrade() -> int:
        return status_of(await exchange(url, websocket_upgrade("/v1/responses", "localhost"), timeout=0.3))

    ws_url = url.replace("http", "ws") + "/v1/responses"
    with connect(ws_url), connect(ws_url):
        assert asyncio.run(third_upgrade()) == 403
    time.sleep(0.2)
    assert asyncio.run(third_upgrade()) == 101


def test_connections_are_capped() -> None:
    async def run(base: str) -> int:
        holders = [await asyncio.open_connection(*split(base)) for _ in range(4)]
        await asyncio.sleep(0.2)
        try:
            return status_of(await exchange(base, b"GET /healthz HTTP/1.1\r\nHost: localhost", timeout=3))
        finally:
            for _, writer in holders:
                writer.close()

    with run_gateway({"server": {"max_connections": 4}}) as base:
        assert asyncio.run(run(base)) == 503
