"""One exchange: a client request from admission to its last byte, whatever the dialect or transport.

The request path fills it in as it goes (the caller's key, which route and target answered, time spent
waiting on the upstream, retries, the first event, usage and cost, the outcome); when the exchange ends it
is observed once: limits settled, a usage record, metrics and an access-log line. It is a plain object
whose unset fields are class defaults, so filling it in costs attribute stores only. The exchange being
served is ``current_exchange`` (a context variable set at admission, like the request id of the log lines),
so code deep in the path (the dispatcher, the body reader) adds to it without every signature carrying it.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .prices import TokenCounts

current_exchange: ContextVar[Exchange | None] = ContextVar("current_exchange", default=None)


class Exchange:
    """What the gateway learned about one request (see the module docstring). The fields most requests never
    set are class-level defaults, so admitting a request stores five attributes, not twenty-four."""

    requested_model = ""
    kind = ""
    instance = ""
    model = ""
    ended: float | None = None
    status = 200
    code: str | None = None
    key: Any = None
    """The caller's :class:`~gateway_core.auth.keys.GatewayKey` (None on an open gateway)."""
    ticket: Any = None
    """Its share of the key's limits (:class:`~gateway_core.auth.limits.Ticket`), once admitted."""
    session_id: str | None = None
    body_bytes = 0
    upstream_seconds = 0.0
    first_event: float | None = None
    retries = 0
    fallback = False
    disconnected = False
    usage: TokenCounts | None = None
    cost_usd: float | None = None
    span: Any = None

    def __init__(self, route: str, request_id: str = "", stream: bool = False) -> None:
        self.route = route
        self.request_id = request_id
        self.stream = stream
        self.started = time.perf_counter()
        self.headers: list[tuple[bytes, bytes]] = []
        """Response headers the path adds (rate-limit state, cost)."""

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
        return usage.input + usage.output if usage is not None else 0
