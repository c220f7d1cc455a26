"""A real OTLP/HTTP trace receiver for tests: the gateway's own exporter sends to it over HTTP.

:class:`OtlpReceiver` is an ASGI app answering ``POST /v1/traces`` as an OpenTelemetry collector does: the
body, an ``ExportTraceServiceRequest`` in protobuf (``application/x-protobuf``, gzip-compressed or not), is
decoded with ``opentelemetry-proto`` (installed with the ``otel`` extra, imported only when a body arrives)
and answered with an ``ExportTraceServiceResponse``; each span becomes a :class:`ReceivedSpan`.
:func:`run_otlp_receiver` serves one on 127.0.0.1 and yields it.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .servers import serve_asgi

_PROTOBUF = "application/x-protobuf"
_KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
_STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}


@dataclass
class ReceivedSpan:
    """One span as the receiver decoded it (ids in lowercase hex, as in a ``traceparent``)."""

    name: str
    kind: str
    """``SERVER``, ``CLIENT``, ``INTERNAL``, ``PRODUCER``, ``CONSUMER`` or ``UNSPECIFIED``."""
    trace_id: str
    span_id: str
    parent_span_id: str | None
    attributes: dict[str, Any]
    status: str
    """``UNSET``, ``OK`` or ``ERROR``."""
    status_message: str = ""
    resource: dict[str, Any] = field(default_factory=dict)
    """The attributes of the resource that sent it (``service.name``, ...)."""


class OtlpReceiver:
    """An ASGI OTLP/HTTP trace receiver; the spans it got are in :attr:`spans` (oldest first), and
    :attr:`exports` counts the export requests."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.exports = 0
        self.url = ""
        """The base URL, once served by :func:`run_otlp_receiver` (the exporter's endpoint is ``url``)."""
        self._arrived = threading.Condition()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        body = await _body(receive)
        if scope["path"] != "/v1/traces":
            await _answer(send, 404, "text/plain", b"only /v1/traces is received here")
            return
        if scope["method"] != "POST":
            await _answer(send, 405, "text/plain", b"POST only")
            return
        if headers.get("content-type", "").split(";")[0].strip() != _PROTOBUF:
            await _answer(send, 415, "text/plain", b"only application/x-protobuf is received here")
            return
        try:
            spans = decode_traces(_decompressed(body, headers.get("content-encoding", "")))
        except (OSError, EOFError, zlib.error, ValueError) as error:
            await _answer(send, 400, "text/plain", f"undecodable export: {error}".encode())
            return
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

        with self._arrived:
            self.spans.extend(spans)
            self.exports += 1
            self._arrived.notify_all()
        await _answer(send, 200, _PROTOBUF, ExportTraceServiceResponse().SerializeToString())

    def wait_for(self, predicate: Callable[[list[ReceivedSpan]], bool], timeout: float = 30.0) -> list[ReceivedSpan]:
        """Wait until ``predicate(spans)`` holds for the spans received so far, and return them; raises
        ``AssertionError`` (with what did arrive) after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while not predicate(self.spans):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    names = [(span.kind, span.name, span.trace_id) for span in self.spans]
                    raise AssertionError(f"the awaited spans did not arrive in {timeout} s; received: {names}")
                self._arrived.wait(remaining)
            return list(self.spans)

    def trace(self, trace_id: str, count: int, timeout: float = 30.0) -> list[ReceivedSpan]:
        """The spans of trace ``trace_id``, once at least ``count`` of them arrived."""
        arrived = self.wait_for(lambda spans: sum(span.trace_id == trace_id for span in spans) >= count, timeout)
        return [span for span in arrived if span.trace_id == trace_id]


def decode_traces(body: bytes) -> list[ReceivedSpan]:
    """The spans of a protobuf ``ExportTraceServiceRequest``; raises ``ValueError`` if it is not one."""
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as error:
        raise ValueError(str(error)) from error
    spans = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(ReceivedSpan(
                    name=span.name, kind=_KINDS.get(span.kind, str(span.kind)), trace_id=span.trace_id.hex(),
                    span_id=span.span_id.hex(), parent_span_id=span.parent_span_id.hex() or None,
                    attributes=_attributes(span.attributes),
                    status=_STATUS.get(span.status.code, str(span.status.code)), status_message=span.status.message,
                    resource=resource))
    return spans


@contextmanager
def run_otlp_receiver() -> Iterator[OtlpReceiver]:
    """An :class:`OtlpReceiver` on a free port of 127.0.0.1 until the block ends (its :attr:`~OtlpReceiver.url`
    is set: point ``OTEL_EXPORTER_OTLP_ENDPOINT`` at it)."""
    receiver = OtlpReceiver()
    with serve_asgi(receiver, lifespan="off") as url:
        receiver.url = url
        yield receiver


def _attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


def _value(value: Any) -> Any:
    """An OTLP ``AnyValue`` as a Python value (arrays as lists, key-value lists as dicts)."""
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_value(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    return getattr(value, which) if which is not None else None


def _decompressed(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding in ("", "identity"):
        return body
    raise ValueError(f"unsupported content-encoding {encoding!r}")


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(send: Any, status: int, content_type: str, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

