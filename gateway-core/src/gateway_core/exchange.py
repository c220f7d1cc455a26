"""One exchange: a client request from admission to its last byte, whatever the dialect or transport.

The request path fills it in as it goes (which route and target answered, time spent waiting on the
upstream, retries, the first event, usage, the outcome); when the exchange ends it is observed once, by the
metrics and the access log. It is a plain slotted object, so filling it in costs attribute stores only.
"""

from __future__ import annotations

import time


class Exchange:
    """What the gateway learned about one request (see the module docstring)."""

    __slots__ = ("code", "cost_usd", "disconnected", "ended", "fallback", "first_event", "instance", "key_id",
                 "model", "request_id", "requested_model", "retries", "route", "session_id", "started", "status",
                 "stream", "upstream_seconds", "usage")

    def __init__(self, route: str, request_id: str = "", stream: bool = False) -> None:
        self.route = route
        self.request_id = request_id
        self.stream = stream
        self.started = time.perf_counter()
        self.ended: float | None = None
        self.status = 200
        self.code: str | None = None
        self.requested_model = ""
        self.instance = ""
        self.model = ""
        self.key_id: str | None = None
        self.session_id: str | None = None
        self.upstream_seconds = 0.0
        self.first_event: float | None = None
        self.retries = 0
        self.fallback = False
        self.disconnected = False
        self.usage: dict[str, int] | None = None
        self.cost_usd = 0.0

    def duration(self) -> float:
        """Seconds from admission to the end (or to now, while it runs)."""
        return (self.ended if self.ended is not None else time.perf_counter()) - self.started
