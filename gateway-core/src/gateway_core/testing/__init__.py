"""The test kit for the gateway and its provider plugins (needs the ``testing`` extra: pytest, jsonschema,
httpx).

- :class:`ProviderConformance`: the conformance suite a provider package subclasses.
- :class:`UpstreamRecorder`: wraps a fake upstream ASGI app and records each request it received.
- :func:`run_otlp_receiver`: a real OTLP/HTTP trace receiver (:class:`OtlpReceiver`) collecting the spans
  the gateway exports (:class:`ReceivedSpan`; decoding needs the ``otel`` extra).
- :func:`serve_asgi`, :func:`run_gateway`: run a fake upstream or the gateway on 127.0.0.1;
  :func:`free_port`: a port nothing listens on (for refused-connection tests).
- :class:`Validator`, :func:`parse_sse`: validate bodies and whole event streams against openapi.json.
- The pytest plugin (loaded automatically) adds the fixtures ``openresponses``, ``gateway_url`` and
  ``start_gateway``.
"""

from .conformance import GatewayClient, ProviderConformance, function_calls, output_text
from .otlp import OtlpReceiver, ReceivedSpan, run_otlp_receiver
from .recorder import RecordedRequest, UpstreamRecorder
from .servers import free_port, run_gateway, serve_asgi
from .validator import StreamViolation, Validator, default_validator, parse_sse

__all__ = [
    "GatewayClient",
    "OtlpReceiver",
    "ProviderConformance",
    "ReceivedSpan",
    "RecordedRequest",
    "StreamViolation",
    "UpstreamRecorder",
    "Validator",
    "default_validator",
    "free_port",
    "function_calls",
    "output_text",
    "parse_sse",
    "run_gateway",
    "run_otlp_receiver",
    "serve_asgi",
]
