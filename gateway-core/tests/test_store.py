"""The response store: one behaviour suite run against SQLite and a real ``redis-server``, then what each
backend promises on its own (SQLite: persistence, purge, migrations; Redis: native TTLs) and the settings."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import msgspec
import pytest

from gateway_core.store import NullStore, RedisStore, SQLiteStore, StoreSettings, create_store, default_store_path
from gateway_core.store.base import RecordTooLarge, ResponseStore
from gateway_core.store.sqlite_schema import SCHEMA_VERSION, SchemaTooNew
from gateway_core.testing.servers import free_port, run_redis_server

Scenario = Callable[[Any], Awaitable[None]]
MakeStore = Callable[..., ResponseStore]


def drive(store: ResponseStore, scenario: Scenario) -> None:
    """Open ``store`` in a fresh event loop, run ``scenario(store)``, and close the store even if it fails."""

    async def main() -> None:
        await store.open()
        try:
            await scenario(store)
        finally:
            await store.close()

    asyncio.run(main())


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` read straight from the database file, over a connection of the test's own."""
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway ``redis-server`` on a free port of 127.0.0.1, without persistence, for this module."""
    with run_redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(params=["sqlite", "redis"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> MakeStore:
    """Builds an unopened store of the parametrized backend; each test gets an empty one."""
    if request.param == "sqlite":
        return lambda **options: SQLiteStore(str(tmp_path / "store.sqlite3"), **options)
    url = request.getfixturevalue("redis_url")
    prefix = f"test-{uuid.uuid4().hex}:"  # one server for the module; keys never collide across tests
    return lambda **options: RedisStore(url, key_prefix=prefix, **options)


# The behaviour every backend shares.


def test_save_load_round_trip_keeps_bytes_exact(make_store: MakeStore) -> None:
    record = bytes(range(256)) * 64  # every byte value: NUL, invalid UTF-8, ...

    async def scenario(store: ResponseStore) -> None:
        await store.save("resp_1", record, ["msg_1"], ttl_seconds=60)
        await store.save("resp_empty", b"", [], ttl_seconds=60)
        assert await store.load("resp_1") == record
        assert await store.load("resp_empty") == b"", "an empty record is stored, not missing"
        assert await store.load("resp_unknown") is None

    drive(make_store(), scenario)


def test_find_item_names_the_response_holding_it(make_store: MakeStore) -> None:
    async def scenario(store: ResponseStore) -> None:
        await store.save("resp_1", b"one", ["msg_a", "fc_b"], ttl_seconds=60)
        await store.save("resp_2", b"two", ["msg_c"], ttl_seconds=60)
        assert [await store.find_item(item) for item in ("msg_a", "fc_b", "msg_c", "msg_unknown")] == [
            "resp_1",
            "resp_1",
            "resp_2",
            None,
        ]

    drive(make_store(), scenario)


def test_delete_removes_record_and_item_index(make_store: MakeStore) -> None:
    async def scenario(store: ResponseStore) -> None:
        await store.save("resp_1", b"one", ["msg_a", "msg_b"], ttl_seconds=60)
        await store.save("resp_2", b"two", ["msg_c"], ttl_seconds=60)
        assert await store.delete("resp_1") is True
        assert await store.load("resp_1") is None
        assert await store.find_item("msg_a") is None and await store.find_item("msg_b") is None
        assert await store.delete("resp_1") is False, "already gone"
        assert await store.delete("resp_unknown") is False
        assert await store.load("resp_2") == b"two" and await store.find_item("msg_c") == "resp_2"

    drive(make_store(), scenario)


def test_saving_again_replaces_record_and_item_index(make_store: MakeStore) -> None:
    async def scenario(store: ResponseStore) -> None:
        await store.save("resp_1", b"in progress", ["msg_a", "msg_b"], ttl_seconds=60)
        await store.save("resp_1", b"completed", ["msg_b", "msg_c"], ttl_seconds=60)
        assert await store.load("resp_1") == b"completed"
        assert [await store.find_item(item) for item in ("msg_a", "msg_b", "msg_c")] == [None, "resp_1", "resp_1"]

    drive(make_store(), scenario)


def test_an_item_saved_again_belongs_to_the_latest_response(make_store: MakeStore) -> None:
    async def scenario(store: ResponseStore) -> None:
        await store.save("resp_1", b"one", ["msg_a"], ttl_seconds=60)
        await store.save("resp_2", b"two", ["msg_a", "msg_b"], ttl_seconds=60)
        assert await store.find_item("msg_a") == "resp_2"
        await store.delete("resp_1")
        assert await store.find_item("msg_a") == "resp_2", "deleting the older response keeps the newer's index"
        await store.delete("resp_2")
        assert await store.find_item("msg_a") is None

    drive(make_store(), scenario)


def test_records_and_items_expire_after_their_ttl(make_store: MakeStore) -> None:
    async def scenario(store: ResponseStore) -> None:
        await store.save("resp_short", b"short", ["msg_short"], ttl_seconds=0.2)
        await store.save("resp_long", b"long", ["msg_long"], ttl_seconds=60)
        assert await store.load("resp_short") == b"short"
        await asyncio.sleep(0.4)
        assert await store.load("resp_short") is None
        assert await store.find_item("msg_short") is None
        assert await store.delete("resp_short") is False, "an expired record no longer counts as existing"
        assert await store.load("resp_long") == b"long" and await store.find_item("msg_long") == "resp_long"

    drive(make_store(), scenario)


def test_ttl_must_be_positive(make_store: MakeStore) -> None:
    async def scenario(store: ResponseStore) -> None:
        for ttl in (0, -1.0):
            with pytest.raises(ValueError, match="ttl_seconds must be positive"):
                await store.save("resp_1", b"x", ["msg_1"], ttl_seconds=ttl)
        assert await store.load("resp_1") is None

    drive(make_store(), scenario)


def test_record_larger_than_the_limit_is_refused(make_store: MakeStore) -> None:
    async def scenario(store: ResponseStore) -> None:
        await store.save("resp_fits", b"x" * 1024, ["msg_fits"], ttl_seconds=60)
        with pytest.raises(RecordTooLarge) as raised:
            await store.save("resp_big", b"x" * 1025, ["msg_big"], ttl_seconds=60)
        assert (raised.value.size, raised.value.limit) == (1025, 1024)
        assert await store.load("resp_fits") == b"x" * 1024
        assert await store.load("resp_big") is None and await store.find_item("msg_big") is None

    drive(make_store(max_record_bytes=1024), scenario)


def test_concurrent_calls_keep_the_event_loop_running(make_store: MakeStore) -> None:
    """While 200 calls are in flight a ticker keeps ticking. Were a backend blocking the loop, all 100 tasks
    would run to completion before the ticker ran at all. (With threads and group commits the loop wakes in
    batches, and a fast run may answer every call in one batch, so only ticks before the last call count.)"""

    async def scenario(store: ResponseStore) -> None:
        events: list[str] = []
        done = asyncio.Event()

        async def ticker() -> None:
            while not done.is_set():
                events.append("tick")
                await asyncio.sleep(0.0005)

        async def save_then_load(n: int) -> None:
            record = n.to_bytes(4, "big") * 4096
            await store.save(f"resp_{n}", record, [f"msg_{n}"], ttl_seconds=60)
            events.append("call")
            assert await store.load(f"resp_{n}") == record
            events.append("call")

        ticking = asyncio.create_task(ticker())
        await asyncio.gather(*(save_then_load(n) for n in range(100)))
        done.set()
        await ticking
        last = len(events) - events[::-1].index("call")
        assert events.count("call") == 200
        assert events[:last].count("tick") >= 1, "the loop stalled while the store worked"

    drive(make_store(), scenario)


def test_a_closed_store_refuses_calls(make_store: MakeStore) -> None:
    async def scenario() -> None:
        store = make_store()
        await store.open()
        await store.close()
        await store.close()  # idempotent
        with pytest.raises(RuntimeError, match="not open"):
            await store.load("resp_1")
        with pytest.raises(RuntimeError, match="not open"):
            await store.save("resp_1", b"x", [], ttl_seconds=60)

    asyncio.run(scenario())


# SQLite.


def sqlite_threads() -> list[threading.Thread]:
    """The SQLite stores' worker threads still alive."""
    return [thread for thread in threading.enumerate() if thread.name.startswith("gateway-store-sqlite")]


def test_sqlite_creates_file_and_folder_and_keeps_data_across_restart(tmp_path: Path) -> None:
    path = tmp_path / "var" / "gateway" / "store.sqlite3"

    async def write(store: ResponseStore) -> None:
        await store.save("resp_1", b"kept", ["msg_1"], ttl_seconds=60)

    async def read(store: ResponseStore) -> None:
        assert await store.load("resp_1") == b"kept"
        assert await store.find_item("msg_1") == "resp_1"

    drive(SQLiteStore(str(path)), write)
    assert path.is_file()
    assert query(path, "PRAGMA journal_mode") == [("wal",)]
    assert query(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert sqlite_threads() == [], "close() ends the worker thread"
    drive(SQLiteStore(str(path)), read)


def test_sqlite_purge_task_deletes_expired_rows_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"

    async def scenario(store: ResponseStore) -> None:
        await store.save("resp_short", b"short", ["msg_short"], ttl_seconds=0.2)
        await store.save("resp_long", b"long", ["msg_long"], ttl_seconds=60)
        assert query(path, "SELECT id FROM responses ORDER BY id") == [("resp_long",), ("resp_short",)]
        deadline = time.monotonic() + 5
        while query(path, "SELECT id FROM responses WHERE id = 'resp_short'"):
            assert time.monotonic() < deadline, "the purge task never removed the expired row"
            await asyncio.sleep(0.05)
        assert query(path, "SELECT id FROM responses") == [("resp_long",)]
        assert query(path, "SELECT item_id, response_id FROM items") == [("msg_long", "resp_long")]

    drive(SQLiteStore(str(path), purge_interval=0.05), scenario)


def test_sqlite_migrates_a_version_1_database_without_losing_rows(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    with closing(sqlite3.connect(path)) as conn:  # the version 1 layout, as such files exist on disk
        conn.executescript(
            """
            CREATE TABLE responses (id TEXT PRIMARY KEY, record BLOB NOT NULL, expires_at REAL NOT NULL);
            CREATE TABLE items (item_id TEXT PRIMARY KEY, response_id TEXT NOT NULL);
            PRAGMA user_version = 1;
            """
        )
        rows = [("resp_old", b"old record", time.time() + 3600), ("resp_gone", b"expired", time.time() - 1)]
        conn.executemany("INSERT INTO responses VALUES (?, ?, ?)", rows)
        conn.executemany("INSERT INTO items VALUES (?, ?)", [("msg_old", "resp_old"), ("msg_gone", "resp_gone")])
        conn.commit()

    async def scenario(store: ResponseStore) -> None:
        assert await store.load("resp_old") == b"old record"
        assert await store.find_item("msg_old") == "resp_old", "item rows took their response's expiry"
        assert await store.find_item("msg_gone") is None and await store.load("resp_gone") is None
        await store.save("resp_new", b"new", ["msg_new"], ttl_seconds=60)
        assert await store.find_item("msg_new") == "resp_new"

    drive(SQLiteStore(str(path)), scenario)
    assert query(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert query(path, "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'") != []


def test_sqlite_refuses_a_database_from_a_newer_version_and_leaves_it_alone(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(f"CREATE TABLE future (x); PRAGMA user_version = {SCHEMA_VERSION + 1};")

    async def scenario() -> None:
        with pytest.raises(SchemaTooNew, match=f"schema version {SCHEMA_VERSION + 1}"):
            await SQLiteStore(str(path)).open()

    asyncio.run(scenario())
    assert query(path, "PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]
    assert query(path, "SELECT name FROM sqlite_master") == [("future",)]
    assert sqlite_threads() == [], "a failed open() cleans up its worker thread"


# Redis.


def test_redis_keys_expire_by_redis_ttl(redis_url: str) -> None:
    import redis.asyncio

    prefix = f"ttl-{uuid.uuid4().hex}:"

    async def scenario(store: ResponseStore) -> None:
        await store.save("resp_1", b"one", ["msg_a", "msg_b"], ttl_seconds=60)
        client = redis.asyncio.from_url(redis_url)
        try:
            assert await client.smembers(f"{prefix}response-items:resp_1") == {b"msg_a", b"msg_b"}
            keys = ["response:resp_1", "response-items:resp_1", "item:msg_a", "item:msg_b"]
            ttls = [await client.pttl(prefix + key) for key in keys]
        finally:
            await client.aclose()
        assert all(55_000 < ttl <= 60_000 for ttl in ttls), ttls

    drive(RedisStore(redis_url, key_prefix=prefix), scenario)


def test_redis_open_fails_fast_without_a_server() -> None:
    import redis.exceptions

    with pytest.raises(redis.exceptions.ConnectionError):
        asyncio.run(RedisStore(f"redis://127.0.0.1:{free_port()}/0").open())


# Settings.


def test_store_settings_defaults_and_validation() -> None:
    settings = msgspec.convert({}, StoreSettings)
    assert (settings.backend, settings.path, settings.retention_days) == ("sqlite", "", 30.0)
    assert create_store(settings).path == default_store_path()  # type: ignore[attr-defined]
    assert default_store_path().endswith("/gateway/responses.sqlite3")
    for bad in ({"backend": "memcached"}, {"retention_days": 0}, {"max_record_bytes": 0}, {"ttl": 5}):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(bad, StoreSettings)


def test_create_store_builds_the_configured_backend(tmp_path: Path) -> None:
    sqlite_store = create_store(StoreSettings(path=str(tmp_path / "s.sqlite3"), max_record_bytes=10))
    assert isinstance(sqlite_store, SQLiteStore)
    assert (sqlite_store.path, sqlite_store.max_record_bytes) == (str(tmp_path / "s.sqlite3"), 10)
    redis_store = create_store(StoreSettings(backend="redis", url="redis://example:1/2", max_record_bytes=20))
    assert isinstance(redis_store, RedisStore)
    assert (redis_store.url, redis_store.max_record_bytes) == ("redis://example:1/2", 20)
    assert isinstance(create_store(StoreSettings(backend="none")), NullStore)


def test_null_store_keeps_nothing() -> None:
    async def scenario(store: ResponseStore) -> None:
        await store.save("resp_1", b"x" * 100, ["msg_1"], ttl_seconds=60)
        assert await store.load("resp_1") is None
        assert await store.find_item("msg_1") is None
        assert await store.delete("resp_1") is False

    drive(NullStore(), scenario)


def test_sqlite_quota_evicts_the_oldest_records(tmp_path: Path) -> None:
    path = tmp_path / "quota.sqlite3"

    async def scenario(store: Any) -> None:
        for number in range(20):
            await store.save(f"resp_{number}", b"x" * 1000, [f"msg_{number}"], 3600.0 + number)
        await store.save("resp_19", b"y" * 500, ["msg_19"], 3619.0)  # a replace is counted once
        assert await store.load("resp_0") is None and await store.find_item("msg_0") is None
        assert await store.load("resp_18") == b"x" * 1000 and await store.load("resp_19") == b"y" * 500

    drive(SQLiteStore(str(path), max_bytes=5000), scenario)
    (used,) = query(path, "SELECT bytes FROM usage")[0]
    assert used == query(path, "SELECT SUM(length(record)) FROM responses")[0][0]
    assert used <= 5000 and query(path, "SELECT COUNT(*) FROM responses")[0][0] == 5
