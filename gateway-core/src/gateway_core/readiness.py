"""Readiness that means something: ``/readyz`` answers 503 while the response store (and, with Redis, the
shared state) cannot be reached, but only once it has been unreachable for ``server.ready_grace_seconds``.

A background task pings the store every ``server.ready_check_seconds`` (a ping slower than that counts as
failed); ``/readyz`` only reads the outcome, so a probe never waits on the store. The grace period keeps one
slow Redis from pulling every instance out of a load balancer at once: a blip shorter than the grace passes
unnoticed, a real outage takes the instance out (and so, behind a balancer, sends its traffic elsewhere).
``/healthz`` stays a liveness probe: it never looks at the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from .deadlines import deadline

logger = logging.getLogger("gateway")


class Readiness:
    """Follows whether the shared state can be reached."""

    def __init__(self, checks: list[tuple[str, Callable[[], Awaitable[None]]]], interval: float, grace: float) -> None:
        self.checks = checks
        self.interval = interval
        self.grace = grace
        self.failing_since: float | None = None
        self.problem = ""
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the background checks."""
        if self.checks:
            self._task = asyncio.create_task(self._watch(), name="readiness checks")

    async def stop(self) -> None:
        """Stop them."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def ready(self) -> bool:
        """False once the state has been unreachable for longer than the grace period."""
        return self.failing_since is None or time.monotonic() - self.failing_since < self.grace

    async def check_once(self) -> None:
        """Run every check now and record the outcome."""
        for name, check in self.checks:
            try:
                with deadline(self.interval):
                    await check()
            except Exception as exc:
                if self.failing_since is None:
                    self.failing_since = time.monotonic()
                    logger.warning("readiness: %s is unreachable (%s)", name, type(exc).__name__)
                self.problem = f"{name} unreachable"
                return
        if self.failing_since is not None:
            logger.info("readiness: the shared state is reachable again")
        self.failing_since, self.problem = None, ""

    async def _watch(self) -> None:
        while True:
            await self.check_once()
            await asyncio.sleep(self.interval)
