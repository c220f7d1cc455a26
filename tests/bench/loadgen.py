"""The load generator: keep-alive HTTP/1.1 connections on uvloop, requests as precomputed bytes.

Each :class:`Connection` is a bare asyncio protocol that writes a request and parses the answer with
httptools' C parser (JSON or chunked SSE alike), timing the first body byte and the arrival of each text
delta (the ``tokNN`` markers of :mod:`tests.bench.wire`). Two ways to drive them:

- :func:`closed_loop`: ``concurrency`` connections, each sending its next request as soon as the last one
  ended, for a warm-up then a measured window (a :class:`~tests.bench.procstat.Meter` reads CPU over it);
- :func:`staggered`: one request per connection, started at evenly spaced instants over a ramp (all at once
  with no ramp), e.g. 500 concurrent streams.

Per request it costs a few tens of microseconds of this process's CPU; the report shows how busy it was.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httptools

from .procstat import Meter, Usage
from .wire import MARKERS

_TAIL = max(len(marker) for marker in MARKERS)
_ERROR_BODY = 600


def build_request(host: str, port: int, path: str, headers: dict[str, str], body: bytes) -> bytes:
    """A complete ``POST`` request with a ``Content-Length`` body, as bytes."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json",
             f"Content-Length: {len(body)}", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass(slots=True)
class Sample:
    """One request: when it was sent, its first body byte, each delta's arrival, its end (perf_counter s)."""

    start: float
    status: int = 0
    first_byte: float = 0.0
    end: float = 0.0
    marks: list[float] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        """A 200 whose body carried every delta of the answer, in order."""
        return self.status == 200 and not self.error and len(self.marks) == len(MARKERS)

    @property
    def latency(self) -> float:
        """Seconds from sending to the last byte."""
        return self.end - self.start

    @property
    def ttfb(self) -> float:
        """Seconds from sending to the first body byte."""
        return self.first_byte - self.start

    @property
    def ttft(self) -> float:
        """Seconds from sending to the first text delta."""
        return self.marks[0] - self.start


class Connection(asyncio.Protocol):
    """One keep-alive client connection; :meth:`request` sends one request and waits for its answer."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Sample] | None = None
        self.sample = Sample(0.0)
        self.tail = b""
        self.error_body = b""

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        """Connect."""
        _, protocol = await asyncio.get_running_loop().create_connection(cls, host, port)
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport."""
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        """The peer closed: fail the request in flight."""
        self.transport = None
        self._finish(f"connection closed ({exc or 'EOF'})")

    @property
    def usable(self) -> bool:
        """Whether the next request can go on this connection."""
        return self.transport is not None and not self.transport.is_closing()

    async def request(self, raw: bytes, timeout: float) -> Sample:
        """Send ``raw``; the :class:`Sample` of its answer (errors are recorded in it, never raised)."""
        loop = asyncio.get_running_loop()
        self.waiter = loop.create_future()
        self.sample = Sample(time.perf_counter())
        self.tail = self.error_body = b""
        assert self.transport is not None
        self.transport.write(raw)
        try:
            return await asyncio.wait_for(self.waiter, timeout)
        except asyncio.TimeoutError:
            self.sample.error = f"no complete answer within {timeout:g} s"
            self.close()
            return self.sample

    def close(self) -> None:
        """Close the connection."""
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        """Feed the parser."""
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._finish(f"bad HTTP answer: {exc}")
            self.close()

    def on_headers_complete(self) -> None:
        """httptools callback: the status is known."""
        self.sample.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        """httptools callback: time the first byte and every delta marker in this piece."""
        now = time.perf_counter()
        sample = self.sample
        if not sample.first_byte:
            sample.first_byte = now
        if sample.status != 200 and len(self.error_body) < _ERROR_BODY:
            self.error_body += body[:_ERROR_BODY]
        marks = sample.marks
        found = len(marks)
        if found < len(MARKERS):
            window = self.tail + body
            position = 0
            while found < len(MARKERS):
                position = window.find(MARKERS[found], position)
                if position < 0:
                    break
                marks.append(now)
                found += 1
            self.tail = window[-_TAIL:]

    def on_message_complete(self) -> None:
        """httptools callback: the answer is whole."""
        self.sample.end = time.perf_counter()
        if self.sample.status != 200:
            self.sample.error = f"HTTP {self.sample.status}: {self.error_body.decode(errors='replace')[:300]}"
        if not self.parser.should_keep_alive():
            self.close()
        self._finish("")

    def _finish(self, error: str) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            if error and not self.sample.error:
                self.sample.error = error
            if not self.sample.end:
                self.sample.end = time.perf_counter()
            waiter.set_result(self.sample)


@dataclass
class Run:
    """The samples of one measured window, its length, and the CPU the meter saw over it."""

    samples: list[Sample]
    seconds: float
    cpu: dict[str, Usage]
    peak_in_flight: int = 0


class _Client:
    """A connection that reconnects when the server closed it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.connection: Connection | None = None

    async def request(self, raw: bytes, timeout: float) -> Sample:
        if self.connection is None or not self.connection.usable:
            try:
                self.connection = await Connection.open(self.host, self.port)
            except OSError as exc:
                now = time.perf_counter()
                return Sample(now, end=now, error=f"connect failed: {exc}")
        return await self.connection.request(raw, timeout)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


async def closed_loop(host: str, port: int, requests: Sequence[bytes], *, concurrency: int, warmup: float,
                      duration: float, meter: Meter, stagger: float = 0.0, timeout: float = 60.0,
                      max_requests: int = 10_000_000) -> Run:
    """``concurrency`` connections sending ``requests`` (in turn) back to back, the i-th connection starting
    ``i * stagger / concurrency`` s in: ``warmup`` seconds unrecorded, then a window of ``duration`` seconds
    (or ``max_requests`` answers) in which every answer that ends is recorded."""
    clients = [_Client(host, port) for _ in range(concurrency)]
    rotation = itertools.cycle(requests)
    samples: list[Sample] = []
    state = {"recording": False, "stop": False}

    async def worker(client: _Client, delay: float) -> None:
        await asyncio.sleep(delay)
        while not state["stop"]:
            sample = await client.request(next(rotation), timeout)
            if state["recording"] and not state["stop"]:
                samples.append(sample)
                if len(samples) >= max_requests:
                    state["stop"] = True
            if sample.error and not sample.status:
                await asyncio.sleep(0.01)  # refused or reset: do not spin

    tasks = [asyncio.ensure_future(worker(client, index * stagger / concurrency))
             for index, client in enumerate(clients)]
    try:
        await asyncio.sleep(warmup)
        meter.start()
        window_start = time.perf_counter()
        state["recording"] = True
        deadline = window_start + duration
        while not state["stop"] and time.perf_counter() < deadline:
            await asyncio.sleep(min(0.05, max(0.0, deadline - time.perf_counter())))
        state["stop"] = True
        seconds = time.perf_counter() - window_start
        cpu = meter.stop()
        await asyncio.wait(tasks, timeout=timeout)
    finally:
        for task in tasks:
            task.cancel()
        for client in clients:
            client.close()
    return Run(samples, seconds, cpu)


async def staggered(host: str, port: int, raw: bytes, *, count: int, ramp: float, meter: Meter,
                    timeout: float = 120.0) -> Run:
    """``count`` requests on ``count`` connections (opened first), the i-th started at ``i * ramp / count``
    seconds; returns when all have answered. ``peak_in_flight`` is the most requests open at once."""
    connections = await asyncio.gather(*(Connection.open(host, port) for _ in range(count)))
    in_flight = {"now": 0, "peak": 0}

    async def one(connection: Connection, delay: float) -> Sample:
        await asyncio.sleep(delay)
        in_flight["now"] += 1
        in_flight["peak"] = max(in_flight["peak"], in_flight["now"])
        try:
            return await connection.request(raw, timeout)
        finally:
            in_flight["now"] -= 1

    meter.start()
    t0 = time.perf_counter()
    try:
        samples = await asyncio.gather(*(one(connection, index * ramp / count)
                                         for index, connection in enumerate(connections)))
    finally:
        for connection in connections:
            connection.close()
    seconds = time.perf_counter() - t0
    return Run(list(samples), seconds, meter.stop(), in_flight["peak"])
