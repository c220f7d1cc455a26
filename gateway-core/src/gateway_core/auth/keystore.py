"""Where key records live: SQLite (one gateway, the embedded default) or Redis (several gateways).

Both keep every record under its id and a version number that every change increments, so a gateway can
poll one small value (once a second) and reload the keys only when something changed. Key checks on the
request path never reach the store: they read the in-memory :class:`~gateway_core.auth.keyring.Keyring`.
"""

from __future__ import annotations

import abc
import asyncio
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..store.sqlite_schema import write_transaction
from .keys import GatewayKey, decode_key, encode_key

if TYPE_CHECKING:
    from redis.asyncio import Redis


class KeyStore(abc.ABC):
    """Key records by id, with a change counter."""

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect (and create the schema)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Disconnect."""

    @abc.abstractmethod
    async def version(self) -> int:
        """A number that grows with every change."""

    @abc.abstractmethod
    async def all(self) -> list[GatewayKey]:
        """Every record."""

    @abc.abstractmethod
    async def put(self, key: GatewayKey) -> None:
        """Create or replace a record (and bump the version)."""

    @abc.abstractmethod
    async def delete(self, key_id: str) -> bool:
        """Remove a record; True if it existed."""

    async def get(self, key_id: str) -> GatewayKey | None:
        """One record, or None."""
        return next((key for key in await self.all() if key.id == key_id), None)


class SQLiteKeyStore(KeyStore):
    """Key records in a SQLite file (created 0600 in a 0700 folder), on a thread of their own."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        """Open or create the file and its tables."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-keys-sqlite")
        self._conn = await self._run(_connect, self.path)

    async def close(self) -> None:
        """Close the file."""
        if self._conn is not None:
            await self._run(self._conn.close)
            self._conn = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def version(self) -> int:
        """The change counter."""
        row = await self._query("SELECT value FROM key_meta WHERE name = 'version'")
        return int(row[0][0]) if row else 0

    async def all(self) -> list[GatewayKey]:
        """Every record."""
        return [decode_key(record) for (record,) in await self._query("SELECT record FROM gateway_keys")]

    async def put(self, key: GatewayKey) -> None:
        """Create or replace, bumping the version in the same transaction."""
        await self._write("INSERT INTO gateway_keys (id, record) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET "
                          "record = excluded.record", (key.id, encode_key(key)))

    async def delete(self, key_id: str) -> bool:
        """Remove one record."""
        return bool(await self._write("DELETE FROM gateway_keys WHERE id = ?", (key_id,)))

    async def _run(self, function: Any, *args: Any) -> Any:
        if self._executor is None:
            raise RuntimeError("SQLiteKeyStore is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        def run() -> list[Any]:
            assert self._conn is not None
            return self._conn.execute(sql, args).fetchall()

        return cast("list[Any]", await self._run(run))

    async def _write(self, sql: str, args: tuple[Any, ...]) -> int:
        def run() -> int:
            assert self._conn is not None
            with write_transaction(self._conn):  # the change and the version bump together
                changed = self._conn.execute(sql, args).rowcount
                self._conn.execute("UPDATE key_meta SET value = value + 1 WHERE name = 'version'")
            return changed

        return cast("int", await self._run(run))


def _connect_file(path: str) -> sqlite3.Connection:
    """Open (or create: the file 0600, a missing folder 0700) a SQLite file in WAL mode."""
    folder = Path(path).parent
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)
    created = not Path(path).exists()
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    if created:
        os.chmod(path, 0o600)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def _connect(path: str) -> sqlite3.Connection:
    conn = _connect_file(path)
    conn.execute("CREATE TABLE IF NOT EXISTS gateway_keys (id TEXT PRIMARY KEY, record BLOB NOT NULL)")
    conn.execute("CREATE TABLE IF NOT EXISTS key_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    conn.execute("INSERT OR IGNORE INTO key_meta (name, value) VALUES ('version', 0)")
    return conn


class RedisKeyStore(KeyStore):
    """Key records in one Redis hash (``<prefix>keys``) with a counter (``<prefix>keys:version``), changed
    together in a transaction."""

    def __init__(self, url: str, key_prefix: str = "gateway:") -> None:
        self.url = url
        self._records = f"{key_prefix}keys"
        self._version = f"{key_prefix}keys:version"
        self._client: Redis | None = None

    async def open(self) -> None:
        """Connect and check the server answers."""
        import redis.asyncio

        self._client = redis.asyncio.from_url(self.url)
        await self._client.ping()

    async def close(self) -> None:
        """Disconnect."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _redis(self) -> Redis:
        if self._client is None:
            raise RuntimeError("RedisKeyStore is not open")
        return self._client

    async def version(self) -> int:
        """The change counter."""
        value = await self._redis().get(self._version)
        return int(value or 0)

    async def all(self) -> list[GatewayKey]:
        """Every record."""
        return [decode_key(record) for record in (await self._redis().hgetall(self._records)).values()]

    async def put(self, key: GatewayKey) -> None:
        """Create or replace, and bump the counter, atomically."""
        async with self._redis().pipeline(transaction=True) as pipe:
            await pipe.hset(self._records, key.id, encode_key(key)).incr(self._version).execute()

    async def delete(self, key_id: str) -> bool:
        """Remove one record, and bump the counter, atomically."""
        async with self._redis().pipeline(transaction=True) as pipe:
            removed, _ = await pipe.hdel(self._records, key_id).incr(self._version).execute()
        return bool(removed)
