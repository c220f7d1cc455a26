"""Layers measured side by side: the same gateway started again with one cross-cutting layer on or off, so
each layer's CPU per request is the difference between two targets of the same run.

- ``bare``: metrics, access log, usage log and tracing off, no gateway key (the floor for the others);
- ``observed``: ``bare`` plus Prometheus metrics and JSON access logs (issue: at most +0.03 CPU-ms);
- ``traced``: ``bare`` plus OpenTelemetry traces, exported over OTLP/HTTP to the fake upstream's
  ``/v1/traces`` (a real export, batched by the SDK; its cost is reported);
- ``keys``: ``bare`` plus a gateway key with rpm, tpm and budget limits, and cost accounting (the mock is
  given a price) (issue: auth, limits and cost at most +0.05 CPU-ms);
- ``usage``: ``bare`` plus the usage log (one record per request, written to SQLite in batches; reported);
- ``no-keepalive``: ``bare`` without SSE keepalive comments (what the stream writer costs; reported).
"""

from __future__ import annotations

from pathlib import Path

from .processes import Server
from .targets import Target, gateway_target, start_gateway

BENCH_KEY = "gw-bench-key-0123456789abcdef0123456789"
_OFF: dict[str, dict[str, object]] = {
    "metrics": {"enabled": False}, "server": {"access_log": False}, "usage": {"enabled": False},
    "tracing": {"enabled": False},
}
LAYERS: dict[str, tuple[str, dict[str, dict[str, object]]]] = {
    "bare": ("metrics, access log, usage log, tracing and keys off", {}),
    "observed": ("bare + Prometheus metrics + JSON access log", {
        "metrics": {"enabled": True}, "server": {"access_log": True, "log_format": "json"}}),
    "traced": ("bare + OpenTelemetry traces exported over OTLP/HTTP", {"tracing": {"enabled": True}}),
    "keys": ("bare + a gateway key with rpm/tpm/budget limits and cost accounting", {
        "auth": {"keys": [{"name": "bench", "key_env": "GATEWAY_BENCH_KEY",
                           "limits": {"rpm": 100_000_000, "tpm": 1_000_000_000, "budget_usd": 1_000_000.0}}]},
        "prices": {"mock": {"input": 1.0, "output": 2.0}}}),
    "usage": ("bare + the usage log", {"usage": {"enabled": True}}),
    "no-keepalive": ("bare without SSE keepalive comments", {"routing": {"keepalive_seconds": 0}}),
}
"""Name -> (what is on, the config sections over ``_OFF``)."""


def start_layer(name: str, upstream: Server, kinds: dict[str, str], log_dir: Path, store: str) -> Target:
    """The gateway with layer ``name`` (see :data:`LAYERS`), as target ``gw-<name>``."""
    description, sections = LAYERS[name]
    overlay = {section: dict(values) for section, values in _OFF.items()}
    for section, values in sections.items():
        overlay[section] = {**overlay.get(section, {}), **values} if isinstance(values, dict) else values
    env = {"GATEWAY_BENCH_KEY": BENCH_KEY}
    if name == "traced":
        env.update(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"http://127.0.0.1:{upstream.port}/v1/traces",
                   OTEL_SERVICE_NAME="gateway-bench")
    server = start_gateway(upstream, kinds, log_dir, store=store, name=f"gw-{name}", overlay=overlay, env_extra=env)
    headers = {"authorization": f"Bearer {BENCH_KEY}"} if name == "keys" else None
    target = gateway_target(server, kinds, f"gw-{name}", f"this gateway, one worker: {description}", headers)
    for key in target.requests:
        if not key.startswith("mock/"):  # the layers' budgets are on the core alone; other paths add only time
            target.requests[key] = "layers are measured on the mock paths"
    return target
