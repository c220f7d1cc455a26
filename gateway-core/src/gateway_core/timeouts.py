"""``timeout_after(seconds)``: ``asyncio.timeout`` (Python 3.11+), or the same for Python 3.10."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

if sys.version_info >= (3, 11):
    timeout_after: Callable[[float], AbstractAsyncContextManager[Any]] = asyncio.timeout
else:  # pragma: no cover - Python 3.10
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def timeout_after(seconds: float) -> AsyncIterator[None]:
        task = asyncio.current_task()
        handle = asyncio.get_running_loop().call_later(seconds, task.cancel)  # type: ignore[union-attr]
        try:
            yield
        except asyncio.CancelledError as exc:
            raise TimeoutError from exc
        finally:
            handle.cancel()
