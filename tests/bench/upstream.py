"""The fake upstream: every provider API on one port, answering precomputed bytes (see :mod:`tests.bench.wire`).

A bare asyncio protocol on uvloop with httptools' C parser: no framework, no JSON work per request, so it
costs a few tens of microseconds per answer and is never what the benchmark measures. Keep-alive, chunked
streams (one HTTP chunk per delta), an optional model latency (before the answer starts) and an optional
delay between stream events, both changed at run time through ``POST /_bench/settings?latency_ms=..&
event_delay_ms=..&jitter_pct=..``. ``GET /_bench/stats`` answers the number of answers given per API.

Routes: ``POST /v1/responses``, ``/v1/chat/completions``, ``/v1/messages`` (streaming when the body says
``"stream": true``), and any path containing ``:generateContent`` or ``:streamGenerateContent`` (Gemini);
``POST /v1/traces`` accepts OTLP/HTTP trace exports (the traced layer's receiver).

Run: ``python -m tests.bench.upstream --port 9000`` (from the repository root).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import httptools
import uvloop

from .wire import APIS, Api

_STREAM_FLAGS = (b'"stream":true', b'"stream": true')


def _head(status: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status}"] + [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


@dataclass(frozen=True)
class Answer:
    """One answer as the byte strings to write: one for JSON, one per delta for a stream."""

    pieces: list[bytes]


def _json_answer(api: Api) -> Answer:
    content_type = "application/json; charset=UTF-8" if api.name == "gemini" else "application/json"
    id_header = "request-id" if api.name == "anthropic" else "x-request-id"
    head = _head("200 OK", [("content-type", content_type), ("content-length", str(len(api.json_body))),
                            (id_header, "req_bench0000000000000000")])
    return Answer([head + api.json_body])


def _stream_answer(api: Api) -> Answer:
    id_header = "request-id" if api.name == "anthropic" else "x-request-id"
    head = _head("200 OK", [("content-type", "text/event-stream; charset=utf-8"), ("transfer-encoding", "chunked"),
                            ("cache-control", "no-cache"), (id_header, "req_bench0000000000000000")])
    frames = list(api.stream.deltas)
    frames[0] = api.stream.prelude + frames[0]
    frames[-1] = frames[-1] + api.stream.epilogue
    pieces = [_chunk(frame) for frame in frames]
    pieces[0] = head + pieces[0]
    pieces[-1] = pieces[-1] + b"0\r\n\r\n"
    return Answer(pieces)


def _plain(status: str, body: bytes) -> Answer:
    head = _head(status, [("content-type", "application/json"), ("content-length", str(len(body)))])
    return Answer([head + body])


JSON_ANSWERS = {name: _json_answer(api) for name, api in APIS.items()}
STREAM_ANSWERS = {name: _stream_answer(api) for name, api in APIS.items()}
NOT_FOUND = _plain("404 Not Found", b'{"error":{"message":"no such route","type":"invalid_request_error"}}')
OK = _plain("200 OK", b"{}")
TRACES_OK = Answer([_head("200 OK", [("content-type", "application/x-protobuf"), ("content-length", "0")])])
"""An OTLP/HTTP export accepted (an empty ExportTraceServiceResponse): the receiver of the traced layer."""


@dataclass
class Settings:
    """What every answer waits: ``latency`` before it starts (drawn uniformly within ``latency * (1 +- jitter)``),
    ``event_delay`` between stream events (seconds)."""

    latency: float = 0.0
    jitter: float = 0.0
    event_delay: float = 0.0
    served: Counter[str] = field(default_factory=Counter)


def route(settings: Settings, url: bytes, body: bytes) -> tuple[Answer, str | None]:
    """The answer for a request, and the API name it counts under (``None`` for control routes)."""
    path = url.split(b"?", 1)[0]
    if b":streamGenerateContent" in path:
        return STREAM_ANSWERS["gemini"], "gemini"
    if b":generateContent" in path:
        return JSON_ANSWERS["gemini"], "gemini"
    name = {b"/v1/responses": "openai-responses", b"/v1/chat/completions": "openai-chat",
            b"/v1/messages": "anthropic"}.get(path)
    if name is not None:
        streaming = any(flag in body for flag in _STREAM_FLAGS)
        return (STREAM_ANSWERS if streaming else JSON_ANSWERS)[name], name
    if path == b"/_bench/settings":
        query = parse_qs(urlsplit(url.decode()).query)
        settings.latency = float(query.get("latency_ms", ["0"])[0]) / 1000
        settings.event_delay = float(query.get("event_delay_ms", ["0"])[0]) / 1000
        settings.jitter = float(query.get("jitter_pct", ["0"])[0]) / 100
        return OK, None
    if path == b"/v1/traces":
        return TRACES_OK, "otlp-traces"
    if path == b"/_bench/stats":
        return _plain("200 OK", json.dumps(dict(settings.served)).encode()), None
    return NOT_FOUND, None


class UpstreamProtocol(asyncio.Protocol):
    """One client connection: parse requests with httptools, answer with precomputed bytes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport."""
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the transport: pending timers see it gone and stop writing."""
        self.transport = None

    def data_received(self, data: bytes) -> None:
        """Feed the parser; a malformed request closes the connection."""
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.close()

    def on_message_begin(self) -> None:
        """httptools callback: a new request."""
        self.url = b""
        self.body = []

    def on_url(self, url: bytes) -> None:
        """httptools callback: (part of) the request target."""
        self.url += url

    def on_body(self, body: bytes) -> None:
        """httptools callback: (part of) the request body."""
        self.body.append(body)

    def on_message_complete(self) -> None:
        """httptools callback: answer now, or after the model latency."""
        answer, name = route(self.settings, self.url, b"".join(self.body))
        if name is not None:
            self.settings.served[name] += 1
        keep_alive = self.parser.should_keep_alive()
        delay = self.settings.latency if name is not None else 0.0
        if delay and self.settings.jitter:
            delay *= 1.0 + self.settings.jitter * (2.0 * random.random() - 1.0)
        if delay:
            asyncio.get_running_loop().call_later(delay, self._write, answer.pieces, 0, keep_alive)
        else:
            self._write(answer.pieces, 0, keep_alive)

    def _write(self, pieces: list[bytes], index: int, keep_alive: bool) -> None:
        transport = self.transport
        if transport is None:
            return
        gap = self.settings.event_delay
        if not gap:
            transport.write(b"".join(pieces[index:]) if index else b"".join(pieces))
        else:
            transport.write(pieces[index])
            if index + 1 < len(pieces):
                asyncio.get_running_loop().call_later(gap, self._write, pieces, index + 1, keep_alive)
                return
        if not keep_alive:
            transport.close()


async def serve(host: str, port: int) -> None:
    """Serve until cancelled."""
    settings = Settings()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: UpstreamProtocol(settings), host, port, backlog=4096)
    async with server:
        await server.serve_forever()


def main() -> None:
    """``python -m tests.bench.upstream --port N``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvloop.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
