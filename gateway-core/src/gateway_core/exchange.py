"""One exchange: a client request from admission to its last byte, whatever the dialect or transport.

The request path fills it in as it goes (the caller's key, which route and target answered, time spent
waiting on the upstream, retries, the first event, usage and cost, the outcome); when the exchange ends it
is observed once: limits settled, a usage record, metrics and an access-log line. It is a plain slotted
object, so filling it in costs attribute stores only. The exchange being served is ``current_exchange``
(a context variable set at admission, like the request id of the log lines), so code deep in the path
(the dispatcher, the body reader) adds to it without every signature carrying it.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

current_exchange: ContextVar[Exchange | None] = ContextVar("current_exchange", default=None)


class Exchange:
    """What the gateway learned about one request (see the module docstring)."""

    __slots__ = ("body_bytes", "code", "cost_usd", "disconnected", "ended", "fallback", "first_event", "headers",
                 "instance", "key", "kind", "model", "request_id", "requested_model", "retries", "route",
                 "session_id", "span", "started", "status", "stream", "ticket", "upstream_seconds", "usage")

    def __init__(self, route: str, request_id: str = "", stream: bool = False) -> None:
        self.route = route
        self.request_id = request_id
        self.stream = stream
        self.started = time.perf_counter()
        self.ended: float | None = None
        self.status = 200
        self.code: str | None = None
        self.requested_model = ""
        self.kind = ""
        self.instance = ""
        self.model = ""
        self.key: Any = None
        """The caller's :class:`~gateway_core.auth.keys.GatewayKey` (None on an open gateway)."""
        self.ticket: Any = None
        """Its share of the key's limits (:class:`~gateway_core.auth.limits.Ticket`), once admitted."""
        self.headers: list[tuple[bytes, bytes]] = []
        """Response headers the path adds (rate-limit state, cost)."""
        self.session_id: str | None = None
        self.body_bytes = 0
        self.upstream_seconds = 0.0
        self.first_event: float | None = None
        self.retries = 0
        self.fallback = False
        self.disconnected = False
        self.usage: dict[str, int] | None = None
        self.cost_usd: float | None = None
        self.span: Any = None

    @property
    def key_id(self) -> str | None:
        """The caller's key id."""
        return self.key.id if self.key is not None else None

    def duration(self) -> float:
        """Seconds from admission to the end (or to now, while it runs)."""
        return (self.ended if self.ended is not None else time.perf_counter()) - self.started

    def tokens(self) -> int:
        """Input plus output tokens (0 before usage is known)."""
        usage = self.usage
        return (usage.get("input", 0) + usage.get("output", 0)) if usage else 0
