"""The usage log: one record per request, written off the request path, queried by ``GET /v1/admin/usage``
and ``gateway usage``.

A finished request's record is appended to a list in memory; a background task writes what has gathered
every ``flush_seconds`` (one transaction, or one pipeline, per batch). Records older than
``retention_days`` are removed (SQLite: a periodic delete; Redis: the stream is trimmed by time).

SQLite keeps them in a table beside the keys; Redis in one stream (``<prefix>usage``): an entry's id is the
time it was written, never before the request it records, so a time range is one ``XRANGE`` from its start.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from msgspec import Struct

from ..store.sqlite_schema import write_transaction
from .keystore import _connect_file

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger("gateway.usage")

GroupBy = Literal["key", "model", "day"]


class UsageRecord(Struct, kw_only=True, omit_defaults=True):
    """One request, as the usage log keeps it."""

    time: float
    request_id: str
    key_id: str = ""
    route: str = ""
    model: str = ""
    instance: str = ""
    upstream_model: str = ""
    status: int = 200
    error_code: str = ""
    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0
    duration_ms: float = 0.0
    ttfb_ms: float | None = None


_FIELDS = [name for name in UsageRecord.__struct_fields__]
_SUMMED = ("input_tokens", "cached_input_tokens", "cache_write_input_tokens", "output_tokens", "reasoning_tokens",
           "cost_usd")
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(UsageRecord).decode


def summarize(records: Iterable[UsageRecord], group_by: GroupBy | None) -> list[dict[str, Any]]:
    """Requests, errors, tokens and cost, per group (or in all)."""
    groups: dict[str, dict[str, Any]] = {}
    for record in records:
        if group_by == "key":
            name = record.key_id
        elif group_by == "model":
            name = record.model
        elif group_by == "day":
            name = time.strftime("%Y-%m-%d", time.gmtime(record.time))
        else:
            name = "all"
        group = groups.setdefault(name, {"group": name, "requests": 0, "errors": 0, **dict.fromkeys(_SUMMED, 0)})
        group["requests"] += 1
        group["errors"] += record.status >= 400
        for field_name in _SUMMED:
            group[field_name] += getattr(record, field_name)
    for group in groups.values():
        group["cost_usd"] = round(group["cost_usd"], 10)
    return sorted(groups.values(), key=lambda group: group["group"])


class UsageLog(abc.ABC):
    """Records gathered in memory and written in batches."""

    def __init__(self, retention_days: float = 90.0, flush_seconds: float = 0.5) -> None:
        self.retention_days = retention_days
        self.flush_seconds = flush_seconds
        self._pending: list[UsageRecord] = []
        self._task: asyncio.Task[None] | None = None

    def record(self, record: UsageRecord) -> None:
        """Queue one record (no I/O)."""
        self._pending.append(record)

    async def start(self) -> None:
        """Open the backend and start the writer."""
        await self.open()
        self._task = asyncio.create_task(self._flush_forever(), name="usage log writer")

    async def close(self) -> None:
        """Write what is queued, stop the writer and close the backend."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
        await self.disconnect()

    async def flush(self) -> None:
        """Write the queued records now."""
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            await self.write(batch)
        except Exception as exc:  # keep them for the next flush
            logger.warning("writing %d usage records failed: %s: %s", len(batch), type(exc).__name__, exc)
            self._pending[:0] = batch[-100_000:]

    async def _flush_forever(self) -> None:
        last_purge = 0.0
        while True:
            await asyncio.sleep(self.flush_seconds)
            await self.flush()
            if time.monotonic() - last_purge > 600:
                last_purge = time.monotonic()
                with contextlib.suppress(Exception):
                    await self.purge(time.time() - self.retention_days * 86400)

    async def query(self, *, key_id: str | None = None, model: str | None = None, since: float = 0.0,
                    until: float | None = None, group_by: GroupBy | None = None) -> list[dict[str, Any]]:
        """Summaries of the records in ``[since, until)``, filtered by key and model, grouped."""
        await self.flush()
        records = [record for record in await self.read(since, until if until is not None else time.time() + 1)
                   if (key_id is None or record.key_id == key_id) and (model is None or record.model == model)]
        return summarize(records, group_by)

    async def spend_since(self, since: float) -> dict[str, float]:
        """Cost per key of the records since ``since`` (to start a process's budget ledger)."""
        spend: dict[str, float] = {}
        for record in await self.read(since, time.time() + 1):
            if record.key_id:
                spend[record.key_id] = spend.get(record.key_id, 0.0) + record.cost_usd
        return spend

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect."""

    @abc.abstractmethod
    async def disconnect(self) -> None:
        """Disconnect."""

    @abc.abstractmethod
    async def write(self, batch: list[UsageRecord]) -> None:
        """Store a batch."""

    @abc.abstractmethod
    async def read(self, since: float, until: float) -> list[UsageRecord]:
        """The records in ``[since, until)``."""

    @abc.abstractmethod
    async def purge(self, before: float) -> None:
        """Remove the records before ``before``."""


class SQLiteUsageLog(UsageLog):
    """The usage table of a SQLite file (the keys' file by default)."""

    def __init__(self, path: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = path
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        """Open the file and its table."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-usage-sqlite")

        def connect() -> sqlite3.Connection:
            conn = _connect_file(self.path)
            conn.execute("CREATE TABLE IF NOT EXISTS usage (time REAL NOT NULL, record BLOB NOT NULL)")
            conn.execute("CREATE INDEX IF NOT EXISTS usage_time ON usage (time)")
            return conn

        self._conn = await self._run(connect)

    async def disconnect(self) -> None:
        """Close the file."""
        if self._conn is not None:
            await self._run(self._conn.close)
            self._conn = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def _run(self, function: Any, *args: Any) -> Any:
        if self._executor is None:
            raise RuntimeError("the usage log is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def write(self, batch: list[UsageRecord]) -> None:
        """One transaction for the batch."""
        rows = [(record.time, _encode(record)) for record in batch]

        def insert() -> None:
            assert self._conn is not None
            with write_transaction(self._conn):  # autocommit otherwise: a commit (and WAL sync) per row
                self._conn.executemany("INSERT INTO usage (time, record) VALUES (?, ?)", rows)

        await self._run(insert)

    async def read(self, since: float, until: float) -> list[UsageRecord]:
        """Records by time."""

        def select() -> list[Any]:
            assert self._conn is not None
            return self._conn.execute("SELECT record FROM usage WHERE time >= ? AND time < ? ORDER BY time",
                                      (since, until)).fetchall()

        return [_decode(row[0]) for row in await self._run(select)]

    async def purge(self, before: float) -> None:
        """Delete old records."""

        def delete() -> None:
            assert self._conn is not None
            with write_transaction(self._conn):
                self._conn.execute("DELETE FROM usage WHERE time < ?", (before,))

        await self._run(delete)


class RedisUsageLog(UsageLog):
    """One Redis stream shared by every gateway; entry ids are the records' times in milliseconds."""

    def __init__(self, client: Redis, key_prefix: str = "gateway:", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client
        self.stream = f"{key_prefix}usage"

    async def open(self) -> None:
        """Nothing to open (the client is the keys' one)."""

    async def disconnect(self) -> None:
        """Nothing to close."""

    async def write(self, batch: list[UsageRecord]) -> None:
        """One pipeline for the batch; the stream is trimmed by time as it grows."""
        minimum = int((time.time() - self.retention_days * 86400) * 1000)
        async with self.client.pipeline(transaction=False) as pipe:
            for record in batch:
                pipe.xadd(self.stream, {"r": _encode(record)}, minid=minimum, approximate=True)
            await pipe.execute()

    async def read(self, since: float, until: float) -> list[UsageRecord]:
        """``XRANGE`` from the range's start (entries are written after the requests they record), then by time."""
        entries = await self.client.xrange(self.stream, min=str(int(since * 1000)), max="+")
        records = [_decode(fields[b"r"]) for _, fields in entries]
        return [record for record in records if since <= record.time < until]

    async def purge(self, before: float) -> None:
        """Trim by time."""
        await self.client.xtrim(self.stream, minid=int(before * 1000), approximate=True)
