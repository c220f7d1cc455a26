"""``backend: none``: a store that keeps nothing, for gateways that never store responses."""

from __future__ import annotations

from collections.abc import Sequence

from .base import ResponseStore


class NullStore(ResponseStore):
    """Saves nothing and finds nothing: every load and lookup misses, every delete reports False."""

    async def save(self, response_id: str, record: bytes, item_ids: Sequence[str], ttl_seconds: float) -> None:
        """Discard the record."""

    async def load(self, response_id: str) -> bytes | None:
        """Always None: nothing is ever stored."""
        return None

    async def find_item(self, item_id: str) -> str | None:
        """Always None: nothing is ever stored."""
        return None

    async def delete(self, response_id: str) -> bool:
        """Always False: nothing is ever stored."""
        return False

    async def ping(self) -> None:
        """Nothing to reach."""

    async def close(self) -> None:
        """Nothing to release."""
