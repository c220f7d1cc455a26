"""The response store: where responses saved with ``store: true`` live, for ``previous_response_id``,
``item_reference`` and ``GET``/``DELETE /v1/responses/{id}``.

:func:`create_store` builds the configured backend; callers ``await store.open()`` at startup and
``await store.close()`` at shutdown.
"""

from __future__ import annotations

import os
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from .base import RecordTooLarge, ResponseStore
from .null import NullStore
from .redis import RedisStore
from .sqlite import SQLiteStore

__all__ = ["NullStore", "RecordTooLarge", "RedisStore", "ResponseStore", "SQLiteStore", "StoreSettings", "create_store"]


class StoreSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``store``: which backend keeps stored responses, and for how long."""

    backend: Literal["sqlite", "redis", "none"] = "sqlite"
    path: str = ""  # sqlite: the file (its folder is created if missing); default: default_store_path()
    url: str = "redis://127.0.0.1:6379/0"  # redis
    retention_days: Annotated[float, Meta(gt=0)] = 30.0
    max_record_bytes: Annotated[int, Meta(ge=1)] = 16 * 1024 * 1024
    write_retry_seconds: Annotated[float, Meta(ge=0)] = 60.0  # a failed write is tried again for this long
    max_pending_writes: Annotated[int, Meta(ge=1)] = 10000  # answered, not yet written; past it: store: false


def default_store_path() -> str:
    """Where the embedded SQLite store lives unless configured: ``$XDG_DATA_HOME/gateway/responses.sqlite3``."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "gateway", "responses.sqlite3")


def create_store(settings: StoreSettings) -> ResponseStore:
    """The (not yet opened) store that ``settings`` describe."""
    if settings.backend == "sqlite":
        return SQLiteStore(settings.path or default_store_path(), max_record_bytes=settings.max_record_bytes)
    if settings.backend == "redis":
        return RedisStore(settings.url, max_record_bytes=settings.max_record_bytes)
    return NullStore()
