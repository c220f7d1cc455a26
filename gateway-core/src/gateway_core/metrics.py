"""Prometheus metrics (``prometheus-client``), on by default, of bounded cardinality.

Every exchange (one client request, whatever its dialect or transport) is observed once, when it ends, from
its :class:`~gateway_core.exchange.Exchange` record; the dispatcher and the store count their own events
(retries, fallbacks, cooldowns, writes). Labels only take values from the configuration or from the
gateway's own vocabulary: ``instance`` is a configured instance, ``model`` an upstream model the
configuration names (an alias target or an instance's ``models``) or ``other``, ``code`` one of the
gateway's error codes. Histogram buckets are chosen for LLM latencies (seconds to minutes) and, for the
gateway's own overhead, for microseconds.

With several workers the metrics go through prometheus-client's multiprocess mode: ``gateway serve`` sets
``PROMETHEUS_MULTIPROC_DIR`` to a fresh folder before the workers start, and any worker's ``/metrics``
(or the supervisor's ``server.metrics_port``) reports the sum over all of them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from msgspec import structs
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .exchange import Exchange

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)
"""Seconds: an LLM answer takes from tens of milliseconds (a cached short reply) to minutes (reasoning)."""

FIRST_EVENT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
EVENT_GAP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
OVERHEAD_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.0025, 0.005, 0.01, 0.025, 0.1)
"""Seconds of the gateway's own time per request: tens of microseconds to a few milliseconds."""

CONTENT_TYPE = CONTENT_TYPE_LATEST
OTHER = "other"


class Metrics:
    """The gateway's metrics, in a registry of their own (one per application; in multiprocess mode the values
    live in the shared folder's files whatever the registry)."""

    def __init__(self, known_models: Iterable[tuple[str, str]] = (), key_label: bool = False) -> None:
        self.known_models = frozenset(known_models)
        self.key_label = key_label
        self.registry = registry = CollectorRegistry(auto_describe=True)
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)
        kw = {"registry": registry}
        request_labels = ["route", "instance", "model", "status", "code", "stream"] + (["key"] if key_label else [])
        self.requests = Counter("gateway_requests", "Requests answered, by route, instance, upstream model, HTTP "
                                "status and error code.", request_labels, **kw)
        self.request_seconds = Histogram("gateway_request_duration_seconds", "Whole request duration, to the last "
                                         "byte.", ["route", "instance", "stream"], buckets=LATENCY_BUCKETS, **kw)
        self.upstream_seconds = Histogram("gateway_upstream_duration_seconds", "Time spent waiting on the upstream "
                                          "(every attempt).", ["instance", "model"], buckets=LATENCY_BUCKETS, **kw)
        self.overhead_seconds = Histogram("gateway_overhead_seconds", "The gateway's own time per request: total "
                                          "minus time waiting on the upstream.", ["route", "stream"],
                                          buckets=OVERHEAD_BUCKETS, **kw)
        self.first_event_seconds = Histogram("gateway_stream_first_event_seconds", "Streams: time to the first "
                                             "event with content.", ["instance", "model"],
                                             buckets=FIRST_EVENT_BUCKETS, **kw)
        self.event_gap_seconds = Histogram("gateway_stream_event_gap_seconds", "Streams: time between upstream "
                                           "chunks.", ["instance"], buckets=EVENT_GAP_BUCKETS, **kw)
        self.tokens = Counter("gateway_tokens", "Tokens by type: input, cached_input, cache_write_input, output, "
                              "reasoning.", ["instance", "model", "type"] + (["key"] if key_label else []), **kw)
        self.cost = Counter("gateway_cost_usd", "Cost in USD of the usage answered.",
                            ["instance", "model"] + (["key"] if key_label else []), **kw)
        self.in_flight = Gauge("gateway_requests_in_flight", "Requests being answered.", ["route"],
                               multiprocess_mode="livesum", **kw)
        self.streams_in_flight = Gauge("gateway_streams_in_flight", "Streams open to clients.", ["route"],
                                       multiprocess_mode="livesum", **kw)
        self.retries = Counter("gateway_upstream_retries", "Attempts repeated on the same target.", ["instance"], **kw)
        self.fallbacks = Counter("gateway_fallbacks", "Requests answered by another target than the first.",
                                 ["instance"], **kw)
        self.cooldowns = Counter("gateway_target_cooldowns", "Times a target was taken out of rotation.",
                                 ["instance"], **kw)
        self.target_cooling = Gauge("gateway_target_cooling", "1 while a target is cooling down.", ["instance"],
                                    multiprocess_mode="max", **kw)
        self.refusals = Counter("gateway_refusals", "Requests refused by a limit: rate_limit, budget, in_flight.",
                                ["reason"], **kw)
        self.store_writes = Counter("gateway_store_writes", "Response-store writes, by outcome.", ["outcome"], **kw)
        self.disconnects = Counter("gateway_client_disconnects", "Clients that left before the answer ended.",
                                   ["route"], **kw)
        self._series: dict[tuple[object, ...], _Series] = {}
        """Children by label combination; bounded as the labels are (configured names, the gateway's codes)."""
        self._children: dict[tuple[Any, tuple[str, ...]], Any] = {}

    def model_label(self, instance: str, model: str) -> str:
        """``model`` when the configuration names it for ``instance``, else ``other`` (bounded cardinality)."""
        return model if (instance, model) in self.known_models else OTHER

    def in_flight_of(self, route: str) -> Gauge:
        """The in-flight gauge of ``route``."""
        return self.child(self.in_flight, route)

    def child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, cached: ``labels()`` costs more than the update. Only for bounded
        labels (routes, configured instance names)."""
        key = (metric, labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def observe(self, exchange: Exchange) -> None:
        """Count one finished exchange."""
        instance = exchange.instance or "none"
        model = self.model_label(instance, exchange.model) if exchange.model else "none"
        key_id = (exchange.key_id or "") if self.key_label else None
        labels = (exchange.route, instance, model, exchange.status, exchange.code or "", exchange.stream, key_id)
        series = self._series.get(labels)
        if series is None:
            series = self._series[labels] = _Series(self, *labels)
        series.requests.inc()
        total = exchange.duration()
        series.duration.observe(total)
        if exchange.upstream_seconds:
            (series.upstream or series.make_upstream()).observe(exchange.upstream_seconds)
        series.overhead.observe(max(0.0, total - exchange.upstream_seconds))
        if exchange.first_event is not None:
            (series.first_event or series.make_first_event()).observe(exchange.first_event - exchange.started)
        if exchange.retries:
            self.retries.labels(instance).inc(exchange.retries)
        if exchange.fallback:
            self.fallbacks.labels(instance).inc()
        if exchange.disconnected:
            self.disconnects.labels(exchange.route).inc()
        usage = exchange.usage
        if usage is not None:
            for kind, count in structs.asdict(usage).items():
                if count:
                    series.tokens_of(kind).inc(count)
        if exchange.cost_usd:
            (series.cost or series.make_cost()).inc(exchange.cost_usd)


    def exposition(self) -> bytes:
        """The text exposition; in multiprocess mode, the sum over every worker's files."""
        return exposition(self.registry)


class _Series:
    """The metric children of one label combination of a finished exchange, made once and then reused (those
    a request may not touch on first use, so a series appears only once it has a value)."""

    __slots__ = ("cost", "duration", "first_event", "instance", "key", "metrics", "model", "overhead", "requests",
                 "tokens", "upstream")

    def __init__(self, metrics: Metrics, route: str, instance: str, model: str, status: int, code: str,
                 stream: bool, key_id: str | None) -> None:
        streaming = "true" if stream else "false"
        key = () if key_id is None else (key_id,)
        self.metrics, self.instance, self.model, self.key = metrics, instance, model, key
        self.requests = metrics.requests.labels(route, instance, model, str(status), code, streaming, *key)
        self.duration = metrics.request_seconds.labels(route, instance, streaming)
        self.overhead = metrics.overhead_seconds.labels(route, streaming)
        self.upstream: Histogram | None = None
        self.first_event: Histogram | None = None
        self.cost: Counter | None = None
        self.tokens: dict[str, Counter] = {}

    def make_upstream(self) -> Histogram:
        """The upstream-duration child, made on first use."""
        self.upstream = self.metrics.upstream_seconds.labels(self.instance, self.model)
        return self.upstream

    def make_first_event(self) -> Histogram:
        """The first-event child, made on first use."""
        self.first_event = self.metrics.first_event_seconds.labels(self.instance, self.model)
        return self.first_event

    def make_cost(self) -> Counter:
        """The cost child, made on first use."""
        self.cost = self.metrics.cost.labels(self.instance, self.model, *self.key)
        return self.cost

    def tokens_of(self, kind: str) -> Counter:
        """The token counter of ``kind`` (input, output, ...)."""
        child = self.tokens.get(kind)
        if child is None:
            child = self.tokens[kind] = self.metrics.tokens.labels(self.instance, self.model, kind, *self.key)
        return child


def exposition(registry: CollectorRegistry | None = None) -> bytes:
    """The text exposition of ``registry``; in multiprocess mode (and always without a registry: the
    supervisor's ``metrics_port``), the sum over every worker's files."""
    if registry is None or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def multiprocess_metrics() -> bool:
    """Whether this process is one of several workers sharing their metrics through files."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
