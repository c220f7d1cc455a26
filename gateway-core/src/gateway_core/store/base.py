"""The response store contract every backend implements, and the checks they share."""

from __future__ import annotations

import abc
from collections.abc import Sequence


class RecordTooLarge(Exception):
    """A record is larger than the backend's ``max_record_bytes``; nothing was stored."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"record of {size} bytes exceeds the store's limit of {limit} bytes")
        self.size = size
        self.limit = limit


class ResponseStore(abc.ABC):
    """Where stored responses live. Records are opaque bytes (the core encodes them).

    Every record is kept under its response id together with an index from each of its item ids to that
    response id; both expire after the ``ttl_seconds`` given to :meth:`save`. Saving an id again replaces its
    record and its item index. An item id saved by several responses is found in the one saved last.
    Call :meth:`open` before use and :meth:`close` at shutdown.
    """

    async def open(self) -> None:  # noqa: B027 - a hook, deliberately empty for backends that need no setup
        """Prepare the backend (connect, create the schema). The default does nothing."""

    @abc.abstractmethod
    async def save(self, response_id: str, record: bytes, item_ids: Sequence[str], ttl_seconds: float) -> None:
        """Store ``record`` under ``response_id`` and index every item id to it, all expiring after ``ttl_seconds``.

        Raises :class:`RecordTooLarge` when ``len(record)`` exceeds the backend's ``max_record_bytes`` and
        :class:`ValueError` when ``ttl_seconds`` is not positive.
        """

    @abc.abstractmethod
    async def load(self, response_id: str) -> bytes | None:
        """The record saved under ``response_id``, or None when it is missing, deleted or expired."""

    @abc.abstractmethod
    async def find_item(self, item_id: str) -> str | None:
        """The id of the stored response that holds ``item_id``, or None."""

    @abc.abstractmethod
    async def delete(self, response_id: str) -> bool:
        """Remove a record and its item index; True if it existed (and had not expired)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the backend's connections and tasks. Safe to call more than once."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise when the backend cannot be used right now (readiness checks)."""


def check_save(record: bytes, ttl_seconds: float, max_record_bytes: int) -> None:
    """Raise what :meth:`ResponseStore.save` promises for a record that is too large or a ttl that is not positive."""
    if len(record) > max_record_bytes:
        raise RecordTooLarge(len(record), max_record_bytes)
    if not ttl_seconds > 0:
        raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds!r}")
