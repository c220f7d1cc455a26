"""Raw HTTP over a socket, for requests a client library would refuse to send (bad Host, huge or half-sent
heads, browser WebSocket upgrades)."""

from __future__ import annotations

import asyncio
import base64
import os


def split(url: str) -> tuple[str, int]:
    """``http://127.0.0.1:PORT`` -> ``("127.0.0.1", PORT)``."""
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


async def exchange(url: str, head: bytes, body: bytes = b"", *, timeout: float = 10) -> bytes:
    """Send ``head`` (without the final blank line) and ``body``; everything answered until the server closes
    or ``timeout``."""
    reader, writer = await asyncio.open_connection(*split(url))
    try:
        writer.write(head + b"\r\n\r\n" + body)
        await writer.drain()
        return await read_until_closed(reader, timeout)
    finally:
        writer.close()


async def read_until_closed(reader: asyncio.StreamReader, timeout: float) -> bytes:
    """Bytes read until EOF (or ``timeout``, then what arrived so far)."""
    chunks: list[bytes] = []
    try:
        async with asyncio.timeout(timeout):
            while chunk := await reader.read(65536):
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and b"connection: close" not in b"".join(chunks).lower():
                    head, _, rest = b"".join(chunks).partition(b"\r\n\r\n")
                    length = _content_length(head)
                    if length is not None and len(rest) >= length:
                        break
    except TimeoutError:
        pass
    return b"".join(chunks)


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return None


def status_of(answer: bytes) -> int:
    """The status code of a raw HTTP answer (0 when nothing came back)."""
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def websocket_upgrade(path: str, host: str, extra: str = "") -> bytes:
    """The head of a WebSocket upgrade request."""
    key = base64.b64encode(os.urandom(16)).decode()
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13{extra}").encode()


def post_head(path: str, host: str, length: int, content_type: str = "application/json") -> bytes:
    """The head of a POST with a body of ``length`` bytes."""
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {length}").encode()
