"""OpenTelemetry traces, an optional extra (``pip install 'gateway-core[otel]'``), off unless
``tracing.enabled``.

A server span per request (its parent taken from the client's W3C ``traceparent``) and a client span per
upstream attempt named and attributed after the GenAI semantic conventions as OpenTelemetry semantic
conventions 1.41.0 published them (the last release before they moved to the semantic-conventions-genai
repository; ``opentelemetry-semantic-conventions`` 0.66b1, schema 1.44.0, still defines these names, marked as
moved): ``gen_ai.operation.name``, ``gen_ai.provider.name``, ``gen_ai.request.model``,
``gen_ai.response.model``, ``gen_ai.response.id``, ``gen_ai.response.finish_reasons`` and the
``gen_ai.usage.*`` tokens; a failed attempt has ``error.type`` and the status ERROR. While an attempt runs
its span is the current context, and OpenTelemetry's aiohttp-client instrumentation (the transport of every
provider SDK here) writes ``traceparent`` into the upstream request. The exporter is OTLP over HTTP, configured by the
standard ``OTEL_EXPORTER_OTLP_*`` / ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES`` variables; spans are
exported in batches from a thread of the SDK's own, off the request path. Prompt and answer content is
recorded (``gen_ai.input.messages``, ``gen_ai.output.messages``) only with ``tracing.capture_content``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

PROVIDER_NAMES = {"openai": "openai", "anthropic": "anthropic", "google": "gcp.gemini", "mock": "mock"}
"""``gen_ai.provider.name`` by plugin kind (the conventions' well-known values; others pass as they are)."""


class Tracing:
    """The tracer and propagator, built at startup; :meth:`server_span` and :meth:`client_span` open spans."""

    def __init__(self, capture_content: bool = False, service_name: str = "gateway") -> None:
        from opentelemetry import propagate, trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
        from opentelemetry.sdk.resources import OTELResourceDetector, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        resource = Resource.create({"service.name": service_name}).merge(OTELResourceDetector().detect())
        self.provider = TracerProvider(resource=resource)
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        self.tracer = self.provider.get_tracer("gateway_core")
        self.propagator = propagate.get_global_textmap()
        self.trace = trace
        self.capture_content = capture_content
        self._instrumentor = AioHttpClientInstrumentor()
        self._instrumentor.instrument(tracer_provider=self.provider)

    def server_span(self, name: str, headers: Iterable[tuple[bytes, bytes]]) -> Any:
        """Start the server span of a request, child of the client's ``traceparent`` if it sent one."""
        carrier = {key.decode("latin-1"): value.decode("latin-1") for key, value in headers
                   if key in (b"traceparent", b"tracestate")}
        context = self.propagator.extract(carrier) if carrier else None
        return self.tracer.start_span(name, context=context, kind=self.trace.SpanKind.SERVER)

    def client_span(self, parent: Any, operation: str, kind: str, model: str, attributes: Mapping[str, Any]) -> Any:
        """Start the client span of one upstream attempt."""
        context = self.trace.set_span_in_context(parent) if parent is not None else None
        span = self.tracer.start_span(f"{operation} {model}", context=context, kind=self.trace.SpanKind.CLIENT)
        span.set_attributes({"gen_ai.operation.name": operation,
                             "gen_ai.provider.name": PROVIDER_NAMES.get(kind, kind),
                             "gen_ai.request.model": model, **attributes})
        return span

    @contextlib.asynccontextmanager
    async def use(self, span: Any) -> AsyncIterator[Any]:
        """An async context manager making ``span`` the current span (so the upstream request carries it);
        async because the attempt it wraps is entered with ``async with`` (with its timeout)."""
        with self.trace.use_span(span, end_on_exit=False):
            yield span

    def failed(self, span: Any, error_type: str) -> None:
        """Mark ``span`` failed: ``error.type`` and the status ERROR, as the conventions ask of a failed
        operation."""
        span.set_attribute("error.type", error_type)
        span.set_status(self.trace.Status(self.trace.StatusCode.ERROR, error_type))

    @staticmethod
    def trace_id(span: Any) -> str | None:
        """The span's trace id as 32 hex digits (for the access log)."""
        context = span.get_span_context() if span is not None else None
        return f"{context.trace_id:032x}" if context is not None and context.is_valid else None

    def shutdown(self) -> None:
        """Export what is buffered and stop."""
        self._instrumentor.uninstrument()
        self.provider.shutdown()
