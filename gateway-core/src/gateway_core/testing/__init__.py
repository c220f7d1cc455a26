"""The test kit for the gateway and its provider plugins (needs the ``testing`` extra: pytest, jsonschema,
httpx).

- :class:`ProviderConformance`: the conformance suite a provider package subclasses.
- :class:`UpstreamRecorder`: wraps a fake upstream ASGI app and records each request it received.
- :func:`serve_asgi`, :func:`run_gateway`: run a fake upstream or the gateway on 127.0.0.1;
  :func:`free_port`: a port nothing listens on (for refused-connection tests).
- :class:`Validator`, :func:`parse_sse`: validate bodies and whole event streams against openapi.json.
- The pytest plugin (loaded automatically) adds the fixtures ``openresponses``, ``gateway_url`` and
  ``start_gateway``.
"""

from .conformance import GatewayClient, ProviderConformance, function_calls, output_text
from .recorder import RecordedRequest, UpstreamRecorder
from .servers import free_port, run_gateway, serve_asgi
from .validator import StreamViolation, Validator, default_validator, parse_sse

__all__ = [
    "GatewayClient",
    "ProviderConformance",
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
    "serve_asgi",
]
