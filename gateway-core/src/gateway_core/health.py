"""What the gateway learns about each target while it runs: latency, failures, cooldown, load."""

from __future__ import annotations

import time
from collections.abc import Callable

from .config import RoutingSettings

_EWMA_WEIGHT = 0.2


class TargetHealth:
    """Per-target state: an EWMA of time to first byte, a circuit breaker, and the in-flight count.

    The breaker opens after ``cooldown_failures`` consecutive retryable failures and keeps the target out
    of rotation for ``cooldown_seconds``; after that one request may try it (half-open): success closes
    the breaker, failure opens it again.
    """

    __slots__ = ("_settings", "failures", "in_flight", "open_until", "ttfb")

    def __init__(self, settings: RoutingSettings) -> None:
        self._settings = settings
        self.ttfb: float | None = None
        self.failures = 0
        self.open_until = 0.0
        self.in_flight = 0

    def cooling(self, now: float) -> bool:
        """Whether the breaker keeps this target out of rotation at ``now``."""
        return now < self.open_until

    def succeeded(self, ttfb: float) -> None:
        """Record a success and its time to first byte."""
        self.failures = 0
        self.open_until = 0.0
        self.ttfb = ttfb if self.ttfb is None else self.ttfb + _EWMA_WEIGHT * (ttfb - self.ttfb)

    def failed(self, now: float) -> bool:
        """Record a retryable failure; open the breaker when they keep coming (True when this opened it)."""
        self.failures += 1
        if self.failures >= self._settings.cooldown_failures:
            opened = not self.cooling(now)
            self.open_until = now + self._settings.cooldown_seconds
            return opened
        return False


monotonic: Callable[[], float] = time.monotonic
"""The clock health is measured with."""
