"""The Redis response store (optional dependency: ``pip install gateway-core[redis]``).

Keys, under ``key_prefix``:

- ``response:<id>``: the record;
- ``response-items:<id>``: the set of its item ids;
- ``item:<item id>``: the id of the response holding that item.

All three expire by Redis's own TTL, set on every save. The size quota is Redis's own: set ``maxmemory`` with
``maxmemory-policy volatile-ttl`` (every key here has a TTL, so Redis evicts the soonest-expiring, i.e. the
oldest, first); :meth:`RedisStore.open` logs a warning when the server has no ``maxmemory``.

Saves and deletes each run as one Lua script, so they
are atomic (a reader never sees a record without its index or the reverse) and take one round trip.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple, cast

from .base import ResponseStore, check_save

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

logger = logging.getLogger("gateway.store")

# KEYS[1] record key, KEYS[2] item set key; ARGV[1] response id, ARGV[2] item key prefix (both scripts).
# Drops the item keys of an earlier save, except those since taken over by another response.
_UNINDEX = """
for _, item in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local key = ARGV[2] .. item
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
redis.call('DEL', KEYS[2])
"""

# ARGV[3] record, ARGV[4] ttl in milliseconds, ARGV[5...] item ids.
_SAVE = (
    _UNINDEX
    + """
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
for i = 5, #ARGV do
  redis.call('SET', ARGV[2] .. ARGV[i], ARGV[1], 'PX', ARGV[4])
  redis.call('SADD', KEYS[2], ARGV[i])
end
if #ARGV >= 5 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
"""
)

# Returns 1 if the record existed, else 0.
_DELETE = _UNINDEX + "return redis.call('DEL', KEYS[1])\n"


async def _warn_without_quota(client: Redis, url: str) -> None:
    """Log when the server has no memory quota (a managed Redis may refuse CONFIG: then say nothing)."""
    try:
        config = await client.config_get("maxmemory")
    except Exception:  # CONFIG disabled or renamed
        return
    if str(config.get("maxmemory", "0")) == "0":
        logger.warning("redis at %s has no maxmemory: stored responses are bounded only by retention_days; "
                       "set maxmemory and maxmemory-policy volatile-ttl", url.split("@")[-1])


class _Connected(NamedTuple):
    """What :meth:`RedisStore.open` sets up."""

    client: Redis
    save: AsyncScript
    delete: AsyncScript


class RedisStore(ResponseStore):
    """Responses in Redis at ``url`` (``redis://``, ``rediss://`` or ``unix://``), every key under ``key_prefix``.

    Needs the ``redis`` package, imported by :meth:`open`; expiry is Redis's own key TTL (millisecond precision).
    """

    def __init__(self, url: str, *, max_record_bytes: int = 16 * 1024 * 1024, key_prefix: str = "gateway:") -> None:
        self.url = url
        self.max_record_bytes = max_record_bytes
        self.key_prefix = key_prefix
        self._connected: _Connected | None = None

    async def open(self) -> None:
        """Connect and check the server answers (PING), so a wrong URL fails at startup rather than per request."""
        if self._connected is not None:
            raise RuntimeError("RedisStore is already open")
        import redis.asyncio

        client = redis.asyncio.from_url(self.url)
        try:
            await client.ping()
        except BaseException:
            await client.aclose()
            raise
        await _warn_without_quota(client, self.url)
        self._connected = _Connected(client, client.register_script(_SAVE), client.register_script(_DELETE))

    async def save(self, response_id: str, record: bytes, item_ids: Sequence[str], ttl_seconds: float) -> None:
        """Store the record and its item index atomically, all with a TTL of ``ttl_seconds`` (at least 1 ms)."""
        check_save(record, ttl_seconds, self.max_record_bytes)
        ttl_ms = max(1, math.ceil(ttl_seconds * 1000))
        await self._open().save(
            keys=[self._record_key(response_id), self._items_key(response_id)],
            args=[response_id, self._item_key(""), record, ttl_ms, *item_ids],
        )

    async def load(self, response_id: str) -> bytes | None:
        """The record, or None when missing, deleted or expired."""
        return cast("bytes | None", await self._open().client.get(self._record_key(response_id)))

    async def find_item(self, item_id: str) -> str | None:
        """The id of the response holding ``item_id``, or None."""
        response_id = cast("bytes | None", await self._open().client.get(self._item_key(item_id)))
        return None if response_id is None else response_id.decode()

    async def delete(self, response_id: str) -> bool:
        """Remove the record and its item index atomically; True if the record existed."""
        removed = await self._open().delete(
            keys=[self._record_key(response_id), self._items_key(response_id)],
            args=[response_id, self._item_key("")],
        )
        return bool(removed)

    async def ping(self) -> None:
        """``PING``."""
        await self._open().client.ping()

    async def close(self) -> None:
        """Close the client and its connection pool."""
        connected, self._connected = self._connected, None
        if connected is not None:
            await connected.client.aclose()

    def _open(self) -> _Connected:
        """The connection, or RuntimeError before :meth:`open` / after :meth:`close`."""
        if self._connected is None:
            raise RuntimeError("RedisStore is not open")
        return self._connected

    def _record_key(self, response_id: str) -> str:
        """Key of a response's record."""
        return f"{self.key_prefix}response:{response_id}"

    def _items_key(self, response_id: str) -> str:
        """Key of the set of a response's item ids."""
        return f"{self.key_prefix}response-items:{response_id}"

    def _item_key(self, item_id: str) -> str:
        """Key of an item's index entry (with an empty id: the prefix of every such key)."""
        return f"{self.key_prefix}item:{item_id}"
