"""The test kit's OTLP/HTTP receiver, fed by OpenTelemetry's own exporter (plain and gzip): what it decodes,
what it answers, and what it refuses."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context

from gateway_core.testing import OtlpReceiver, run_otlp_receiver


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with run_otlp_receiver() as running:
        yield running


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip], ids=["plain", "gzip"])
def test_spans_from_the_real_exporter_are_decoded(receiver: OtlpReceiver, compression: Compression) -> None:
    exporter = OTLPSpanExporter(endpoint=receiver.url + "/v1/traces", compression=compression)
    provider = TracerProvider(resource=Resource.create({"service.name": "kit-test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("kit")
    parent = tracer.start_span("parent", kind=SpanKind.SERVER)
    child = tracer.start_span("child", context=set_span_in_context(parent), kind=SpanKind.CLIENT,
                              attributes={"text": "a", "count": 3, "ratio": 0.5, "flag": True, "list": ["x", "y"]})
    child.set_status(Status(StatusCode.ERROR, "broke"))
    child.end()
    parent.end()
    trace_id = f"{parent.get_span_context().trace_id:032x}"
    spans = receiver.trace(trace_id, 2, timeout=10)
    provider.shutdown()
    by_name = {span.name: span for span in spans}
    assert by_name["parent"].kind == "SERVER" and by_name["parent"].parent_span_id is None
    assert by_name["parent"].status == "UNSET"
    received = by_name["child"]
    assert received.kind == "CLIENT"
    assert received.span_id == f"{child.get_span_context().span_id:016x}"
    assert received.parent_span_id == by_name["parent"].span_id
    assert received.attributes == {"text": "a", "count": 3, "ratio": 0.5, "flag": True, "list": ["x", "y"]}
    assert (received.status, received.status_message) == ("ERROR", "broke")
    assert received.resource["service.name"] == "kit-test"


@pytest.mark.parametrize(("method", "path", "headers", "body", "status"), [
    ("POST", "/v1/traces", {"content-type": "application/json"}, b"{}", 415),
    ("POST", "/v1/traces", {"content-type": "application/x-protobuf"}, b"\xff\xff not protobuf", 400),
    ("POST", "/v1/traces", {"content-type": "application/x-protobuf", "content-encoding": "gzip"}, b"not gzip", 400),
    ("GET", "/v1/traces", {}, b"", 405),
    ("POST", "/v1/metrics", {"content-type": "application/x-protobuf"}, b"", 404),
], ids=["json", "not-protobuf", "not-gzip", "get", "metrics"])
def test_what_it_refuses(receiver: OtlpReceiver, method: str, path: str, headers: dict[str, str], body: bytes,
                         status: int) -> None:
    exports = receiver.exports
    response = httpx.request(method, receiver.url + path, headers=headers, content=body, timeout=10)
    assert response.status_code == status, response.text
    assert receiver.exports == exports
