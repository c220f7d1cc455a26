"""The SQLite response store: one file, WAL mode, every call on one worker thread so the event loop never waits.

Rows carry ``expires_at`` (Unix time); reads ignore expired rows and a background task deletes them every
``purge_interval`` seconds. A second connection on its own thread checkpoints the WAL every
``checkpoint_interval`` seconds, so commits seldom have to (that flush to disk took milliseconds inside a
save); SQLite's own automatic checkpoint stays on as the bound on the WAL's size.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from .base import ResponseStore, check_save
from .sqlite_schema import migrate, write_transaction

logger = logging.getLogger("gateway.store")

T = TypeVar("T")


class SQLiteStore(ResponseStore):
    """Responses in a SQLite file at ``path`` (mode 0600), created with its parent folder (0700) on first
    :meth:`open`.

    The connection lives on a single dedicated worker thread; each public method hands its work to that
    thread and awaits it, so calls are serialised and the event loop keeps running meanwhile. Saves made
    while a write is on its way are group-committed: one thread hand-off and one transaction for all of
    them, each caller still waiting until its record is committed.
    """

    def __init__(
        self,
        path: str,
        *,
        max_record_bytes: int = 16 * 1024 * 1024,
        max_bytes: int | None = None,
        purge_interval: float = 300.0,
        checkpoint_interval: float = 1.0,
    ) -> None:
        self.path = path
        self.max_record_bytes = max_record_bytes
        self.max_bytes = max_bytes
        self.purge_interval = purge_interval
        self.checkpoint_interval = checkpoint_interval
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._purge_task: asyncio.Task[None] | None = None
        self._checkpointer: ThreadPoolExecutor | None = None
        self._checkpoint_task: asyncio.Task[None] | None = None
        self._batch: list[tuple[str, bytes, tuple[str, ...], float]] = []
        self._committed: asyncio.Future[None] | None = None
        self._commit_task: asyncio.Future[None] | None = None

    async def open(self) -> None:
        """Create or open the file, migrate its schema and start the purge task.

        Raises :class:`~gateway_core.store.sqlite_schema.SchemaTooNew` for a file from a newer gateway.
        """
        if self._executor is not None:
            raise RuntimeError("SQLiteStore is already open")
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-store-sqlite")
        try:
            self._conn = await asyncio.get_running_loop().run_in_executor(self._executor, _connect, self.path)
        except BaseException:
            await self.close()
            raise
        self._purge_task = asyncio.create_task(self._purge_forever(), name=f"purge {self.path}")
        self._checkpointer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-store-sqlite-checkpoint")
        self._checkpoint_task = asyncio.create_task(self._checkpoint_forever(), name=f"checkpoint {self.path}")

    async def save(self, response_id: str, record: bytes, item_ids: Sequence[str], ttl_seconds: float) -> None:
        """Store the record and its item index, both expiring ``ttl_seconds`` from now, in one transaction."""
        check_save(record, ttl_seconds, self.max_record_bytes)
        if self._executor is None:
            raise RuntimeError("SQLiteStore is not open")
        self._batch.append((response_id, record, tuple(item_ids), time.time() + ttl_seconds))
        committed = self._committed
        if committed is None:
            committed = self._committed = asyncio.get_running_loop().create_future()
            # the task runs after the other saves of this loop iteration joined the batch
            self._commit_task = asyncio.ensure_future(self._commit(committed))
        await asyncio.shield(committed)

    async def _commit(self, committed: asyncio.Future[None]) -> None:
        """Write every save queued so far in one transaction, then wake their callers."""
        batch, self._batch, self._committed = self._batch, [], None
        try:
            await self._call(_save_many, batch, self.max_bytes)
        except BaseException as exc:
            committed.set_exception(exc)
            raise
        committed.set_result(None)

    async def load(self, response_id: str) -> bytes | None:
        """The record, or None when missing, deleted or expired."""
        return await self._call(_load, response_id, time.time())

    async def find_item(self, item_id: str) -> str | None:
        """The id of the unexpired response holding ``item_id``, or None."""
        return await self._call(_find_item, item_id, time.time())

    async def delete(self, response_id: str) -> bool:
        """Remove the record and its item index; True if an unexpired record was there."""
        return await self._call(_delete, response_id, time.time())

    async def close(self) -> None:
        """Stop the background tasks, close the connection and end the worker threads."""
        for task in (self._purge_task, self._checkpoint_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._purge_task = self._checkpoint_task = None
        if self._checkpointer is not None:
            self._checkpointer.shutdown(wait=True)
            self._checkpointer = None
        executor, self._executor = self._executor, None
        conn, self._conn = self._conn, None
        if executor is None:
            return
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(executor, conn.close)
        executor.shutdown(wait=True)  # idle by now: its last job, the close, has finished

    async def ping(self) -> None:
        """A trivial query on the store's thread."""
        await self._call(lambda conn: conn.execute("SELECT 1").fetchone())

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(connection, *args)`` on the worker thread and return its result."""
        if self._executor is None or self._conn is None:
            raise RuntimeError("SQLiteStore is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, self._conn, *args)

    async def _checkpoint_forever(self) -> None:
        """Copy the WAL into the database file now and then, on a connection and thread of its own."""
        loop = asyncio.get_running_loop()
        conn = await loop.run_in_executor(self._checkpointer, _connect_checkpointer, self.path)
        try:
            while True:
                await asyncio.sleep(self.checkpoint_interval)
                try:
                    await loop.run_in_executor(self._checkpointer, _checkpoint, conn)
                except sqlite3.Error:  # busy now: the next round will do it
                    logger.debug("checkpointing %s failed", self.path, exc_info=True)
        finally:
            await asyncio.shield(loop.run_in_executor(self._checkpointer, conn.close))

    async def _purge_forever(self) -> None:
        """Delete expired rows now and then every ``purge_interval`` seconds, until cancelled."""
        while True:
            try:
                removed = await self._call(_purge, time.time())
            except Exception:  # a locked or failing file must not end the retention task for good
                logger.exception("purging expired responses from %s failed", self.path)
            else:
                if removed:
                    logger.debug("purged %d expired responses from %s", removed, self.path)
            await asyncio.sleep(self.purge_interval)


# The functions below run on the worker thread, which owns the connection.


def _private_file(path: str) -> None:
    """Make sure ``path`` exists readable by its owner only (0600), in a folder that is 0700 if we create it.

    An existing folder keeps its mode (it may be shared, such as a data volume); it is only logged when others
    may enter it. An existing store file is tightened to 0600. SQLite gives its ``-wal`` and ``-shm`` files
    the database file's mode.
    """
    folder = Path(path).parent
    if folder.exists():
        if folder.stat().st_mode & 0o077:
            logger.warning("the store's folder %s is open to other users (mode %o); consider chmod 700", folder,
                           folder.stat().st_mode & 0o777)
    else:
        folder.mkdir(mode=0o700, parents=True)
        folder.chmod(0o700)  # mkdir's mode is masked by the umask
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if os.fstat(descriptor).st_mode & 0o077:
            os.fchmod(descriptor, 0o600)
    finally:
        os.close(descriptor)


def _connect(path: str) -> sqlite3.Connection:
    """Open (creating if needed, private to this user) the file in WAL mode with an up-to-date schema."""
    _private_file(path)
    conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)  # transactions are explicit
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # durable at each checkpoint; WAL keeps the file consistent
        conn.execute("PRAGMA recursive_triggers=ON")  # so INSERT OR REPLACE keeps the usage count right
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _connect_checkpointer(path: str) -> sqlite3.Connection:
    """A second connection, for checkpoints only."""
    return sqlite3.connect(path, isolation_level=None, timeout=30.0, check_same_thread=False)


def _checkpoint(conn: sqlite3.Connection) -> None:
    """Copy what readers no longer need from the WAL into the file (never blocks the writer)."""
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")


def _save_many(
    conn: sqlite3.Connection, batch: list[tuple[str, bytes, tuple[str, ...], float]], max_bytes: int | None
) -> None:
    """Replace each response's record and item index, all in one transaction (the last save of an id wins);
    then, over ``max_bytes``, evict the oldest records (those expiring first) until the store fits."""
    batch = list({row[0]: row for row in batch}.values())
    with write_transaction(conn):
        conn.executemany("DELETE FROM items WHERE response_id = ?", [(row[0],) for row in batch])
        conn.executemany(
            "INSERT OR REPLACE INTO responses (id, record, expires_at) VALUES (?, ?, ?)",
            [(response_id, record, expires_at) for response_id, record, _, expires_at in batch],
        )
        conn.executemany(
            "INSERT OR REPLACE INTO items (item_id, response_id, expires_at) VALUES (?, ?, ?)",
            [(item_id, response_id, expires_at) for response_id, _, item_ids, expires_at in batch
             for item_id in item_ids],
        )
        if max_bytes is not None:
            _evict_oldest(conn, max_bytes)


def _evict_oldest(conn: sqlite3.Connection, max_bytes: int) -> None:
    """Delete the records that expire first (the oldest) and their items until the records fit ``max_bytes``."""
    used: int = conn.execute("SELECT bytes FROM usage").fetchone()[0]
    while used > max_bytes:
        oldest = conn.execute("SELECT id, length(record) FROM responses ORDER BY expires_at LIMIT 64").fetchall()
        if not oldest:
            return
        doomed = []
        for response_id, size in oldest:
            doomed.append((response_id,))
            used -= size
            if used <= max_bytes:
                break
        conn.executemany("DELETE FROM responses WHERE id = ?", doomed)
        conn.executemany("DELETE FROM items WHERE response_id = ?", doomed)
        logger.info("store over store.max_bytes: evicted the %d oldest responses", len(doomed))


def _load(conn: sqlite3.Connection, response_id: str, now: float) -> bytes | None:
    """The unexpired record, or None."""
    row = conn.execute("SELECT record FROM responses WHERE id = ? AND expires_at > ?", (response_id, now)).fetchone()
    return None if row is None else bytes(row[0])


def _find_item(conn: sqlite3.Connection, item_id: str, now: float) -> str | None:
    """The response id of an unexpired item, or None."""
    row = conn.execute("SELECT response_id FROM items WHERE item_id = ? AND expires_at > ?", (item_id, now)).fetchone()
    return None if row is None else str(row[0])


def _delete(conn: sqlite3.Connection, response_id: str, now: float) -> bool:
    """Remove the response and its items, expired or not; True if it was unexpired."""
    with write_transaction(conn):
        live = conn.execute("SELECT 1 FROM responses WHERE id = ? AND expires_at > ?", (response_id, now)).fetchone()
        conn.execute("DELETE FROM responses WHERE id = ?", (response_id,))
        conn.execute("DELETE FROM items WHERE response_id = ?", (response_id,))
    return live is not None


def _purge(conn: sqlite3.Connection, now: float) -> int:
    """Delete every expired record and item row; the number of records removed."""
    with write_transaction(conn):
        removed = conn.execute("DELETE FROM responses WHERE expires_at <= ?", (now,)).rowcount
        conn.execute("DELETE FROM items WHERE expires_at <= ?", (now,))
    return removed
