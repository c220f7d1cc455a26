"""The response store: where responses saved with ``store: true`` live, for ``previous_response_id``,
``item_reference`` and ``GET``/``DELETE /v1/responses/{id}``.

:func:`create_store` builds the configured backend; callers ``await store.open()`` at startup and
``await store.close()`` at shutdown.
"""

from __future__ import annotations

import os

from ..config import StoreSettings
from .base import RecordTooLarge, ResponseStore
from .null import NullStore
from .redis import RedisStore
from .sqlite import SQLiteStore

__all__ = ["NullStore", "RecordTooLarge", "RedisStore", "ResponseStore", "SQLiteStore", "StoreSettings", "create_store"]


def default_store_path() -> str:
    """Where the embedded SQLite store lives unless configured: ``$XDG_DATA_HOME/gateway/responses.sqlite3``."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "gateway", "responses.sqlite3")


def create_store(settings: StoreSettings) -> ResponseStore:
    """The (not yet opened) store that ``settings`` describe."""
    if settings.backend == "sqlite":
        return SQLiteStore(settings.path or default_store_path(), max_record_bytes=settings.max_record_bytes,
                           max_bytes=settings.max_bytes)
    if settings.backend == "redis":
        return RedisStore(settings.url, max_record_bytes=settings.max_record_bytes)
    return NullStore()
