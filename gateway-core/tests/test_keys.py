"""Gateway keys, limits, budgets and the usage log, on their real backends (SQLite files, a redis-server)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway_core.auth.budgets import MemoryLedger, RedisLedger, period_start
from gateway_core.auth.keyring import AuthError, Keyring, credential_of
from gateway_core.auth.keys import GatewayKey, KeyLimits, generate_key, hash_key
from gateway_core.auth.keystore import KeyStore, RedisKeyStore, SQLiteKeyStore
from gateway_core.auth.limits import KeyLimiter, reset_text
from gateway_core.auth.settings import AuthSettings, DeclaredKey
from gateway_core.auth.usage import RedisUsageLog, SQLiteUsageLog, UsageRecord
from gateway_core.auth.windows import MemoryWindows
from gateway_core.errors import RateLimitError
from gateway_core.testing.servers import run_redis_server


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with run_redis_server(tmp_path) as url:
        yield url


def test_keys_are_random_prefixed_and_kept_as_hashes() -> None:
    first, second = generate_key(), generate_key()
    assert first.startswith("gw-") and len(first) >= 3 + 43 and first != second
    assert hash_key(first) != hash_key(second) and len(hash_key(first)) == 64


def test_credentials_from_each_clients_header() -> None:
    assert credential_of([(b"authorization", b"Bearer gw-abc")]) == "gw-abc"
    assert credential_of([(b"x-api-key", b"gw-abc")]) == "gw-abc"
    assert credential_of([(b"x-goog-api-key", b"gw-abc")]) == "gw-abc"
    assert credential_of([(b"authorization", b"Basic Zm9v")]) is None
    assert credential_of([]) is None


def test_a_keyring_with_no_key_is_open_and_with_keys_refuses_strangers() -> None:
    assert Keyring(AuthSettings(), None, {}).authenticate([]) is None
    ring = Keyring(AuthSettings(keys=[DeclaredKey(name="ci", key_env="CI_KEY")]), None,
                   {"CI_KEY": "gw-ci-secret", "GATEWAY_ADMIN_KEY": "gw-admin-secret"})
    assert ring.authenticate([(b"authorization", b"Bearer gw-ci-secret")]).name == "ci"
    assert ring.authenticate([(b"x-api-key", b"gw-admin-secret")]).admin
    for headers in ([], [(b"authorization", b"Bearer gw-wrong")]):
        with pytest.raises(AuthError) as refused:
            ring.authenticate(headers)
        assert refused.value.status == 401 and refused.value.code == "invalid_api_key"


async def _store_round_trip(store: KeyStore) -> None:
    await store.open()
    try:
        before = await store.version()
        key = GatewayKey(id="key_1", name="svc", sha256=hash_key("gw-x"), limits=KeyLimits(rpm=5))
        await store.put(key)
        assert await store.version() > before
        assert await store.get("key_1") == key
        assert await store.delete("key_1") and not await store.delete("key_1")
        assert await store.all() == []
    finally:
        await store.close()


def test_sqlite_key_store(tmp_path: Path) -> None:
    path = tmp_path / "private" / "keys.sqlite3"
    asyncio.run(_store_round_trip(SQLiteKeyStore(str(path))))
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700


def test_redis_key_store(redis_url: str) -> None:
    asyncio.run(_store_round_trip(RedisKeyStore(redis_url)))


def test_a_revocation_reaches_another_keyring_within_its_refresh(tmp_path: Path) -> None:
    async def scenario() -> float:
        path = str(tmp_path / "keys.sqlite3")
        writer, reader = SQLiteKeyStore(path), SQLiteKeyStore(path)
        await writer.open()
        key = GatewayKey(id="key_1", name="svc", sha256=hash_key("gw-live"))
        await writer.put(key)
        ring = Keyring(AuthSettings(refresh_seconds=0.2), reader, {})
        await ring.start()
        headers = [(b"authorization", b"Bearer gw-live")]
        assert ring.authenticate(headers) is not None
        revoked_at = time.monotonic()
        import msgspec

        await writer.put(msgspec.structs.replace(key, revoked=True))
        while True:
            try:
                ring.authenticate(headers)
            except AuthError:
                break
            await asyncio.sleep(0.02)
        await ring.close()
        await writer.close()
        return time.monotonic() - revoked_at

    assert asyncio.run(scenario()) < 1.0


def test_reset_durations_as_openai_writes_them() -> None:
    assert reset_text(0.45) == "450ms"
    assert reset_text(1.5) == "1.5s"
    assert reset_text(360) == "6m0s"


def _limiter(ledger: object = None) -> KeyLimiter:
    return KeyLimiter(MemoryWindows(), ledger or MemoryLedger())  # type: ignore[arg-type]


def test_requests_per_minute_with_headers_and_retry_after() -> None:
    async def scenario() -> None:
        limiter = _limiter()
        key = GatewayKey(id="key_1", name="svc", sha256="x", limits=KeyLimits(rpm=2))
        first = await limiter.admit(key, "mock", 10, None)
        headers = dict(first.headers)
        assert headers[b"x-ratelimit-limit-requests"] == b"2"
        assert headers[b"x-ratelimit-remaining-requests"] == b"1"
        await limiter.admit(key, "mock", 10, None)
        with pytest.raises(RateLimitError) as refused:
            await limiter.admit(key, "mock", 10, None)
        assert refused.value.code == "rate_limit_exceeded" and 1 <= refused.value.retry_after <= 60

    asyncio.run(scenario())


def test_tokens_per_minute_are_charged_when_the_answer_is_known() -> None:
    async def scenario() -> None:
        limiter = _limiter()
        key = GatewayKey(id="key_1", name="svc", sha256="x", limits=KeyLimits(tpm=1000))
        ticket = await limiter.admit(key, "mock", 100, None)
        await limiter.settle(ticket, 950, 0.0)
        with pytest.raises(RateLimitError):
            await limiter.admit(key, "mock", 100, None)  # 50 left: the estimate does not fit

    asyncio.run(scenario())


def test_in_flight_limit() -> None:
    async def scenario() -> None:
        limiter = _limiter()
        key = GatewayKey(id="key_1", name="svc", sha256="x", limits=KeyLimits(max_in_flight=1))
        ticket = await limiter.admit(key, "mock", 1, None)
        with pytest.raises(RateLimitError):
            await limiter.admit(key, "mock", 1, None)
        await limiter.settle(ticket, 0, 0.0)
        await limiter.admit(key, "mock", 1, None)

    asyncio.run(scenario())


async def _fifty_against_a_budget_for_ten(ledger: object) -> float:
    """50 concurrent requests, each reserving 0.15 and really costing 0.1, against a budget of 1.0."""
    limiter = _limiter(ledger)
    key = GatewayKey(id="key_b", name="svc", sha256="x", limits=KeyLimits(budget_usd=1.0, budget_period="day"))
    spent = 0.0

    async def one() -> None:
        nonlocal spent
        try:
            ticket = await limiter.admit(key, "m", 10, 0.15)
        except RateLimitError as refused:
            assert refused.code == "insufficient_quota"
            return
        await asyncio.sleep(0.01)
        await limiter.settle(ticket, 10, 0.1)
        spent += 0.1

    for _ in range(5):  # waves, so later ones meet what earlier ones spent
        await asyncio.gather(*(one() for _ in range(10)))
    return spent


def test_a_budget_holds_under_concurrency_in_memory() -> None:
    spent = asyncio.run(_fifty_against_a_budget_for_ten(MemoryLedger()))
    assert 0.5 <= spent <= 1.0 + 0.1 + 1e-9


def test_a_budget_holds_under_concurrency_in_redis(redis_url: str) -> None:
    async def scenario() -> tuple[float, float]:
        import redis.asyncio

        client = redis.asyncio.from_url(redis_url)
        try:
            ledger = RedisLedger(client)
            spent = await _fifty_against_a_budget_for_ten(ledger)
            return spent, await ledger.spent("key_b", period_start("day"))
        finally:
            await client.aclose()

    spent, recorded = asyncio.run(scenario())
    assert 0.5 <= spent <= 1.1 + 1e-9
    assert recorded == pytest.approx(spent)


async def _usage_round_trip(log: object) -> None:
    await log.start()  # type: ignore[attr-defined]
    now = time.time()
    for index in range(6):
        log.record(UsageRecord(time=now - index * 86400, request_id=f"r{index}",  # type: ignore[attr-defined]
                               key_id="key_a" if index % 2 else "key_b", model="mock", input_tokens=10,
                               output_tokens=5, cost_usd=0.01, status=200 if index else 429))
    by_key = await log.query(since=now - 10 * 86400, group_by="key")  # type: ignore[attr-defined]
    assert [(row["group"], row["requests"], row["output_tokens"]) for row in by_key] == [("key_a", 3, 15),
                                                                                         ("key_b", 3, 15)]
    recent = await log.query(since=now - 1.5 * 86400, key_id="key_b")  # type: ignore[attr-defined]
    assert recent[0]["requests"] == 1 and recent[0]["errors"] == 1
    assert len(await log.query(since=now - 10 * 86400, group_by="day")) == 6  # type: ignore[attr-defined]
    await log.close()  # type: ignore[attr-defined]


def test_sqlite_usage_log(tmp_path: Path) -> None:
    asyncio.run(_usage_round_trip(SQLiteUsageLog(str(tmp_path / "keys.sqlite3"))))


def test_redis_usage_log(redis_url: str) -> None:
    async def scenario() -> None:
        import redis.asyncio

        client = redis.asyncio.from_url(redis_url)
        try:
            await _usage_round_trip(RedisUsageLog(client))
        finally:
            await client.aclose()

    asyncio.run(scenario())


def test_a_redis_outage_lets_rate_limits_through_and_stops_budgets(tmp_path: Path) -> None:
    from gateway_core.auth.service import Callers
    from gateway_core.config import config_from_data
    from gateway_core.errors import GatewayError
    from gateway_core.prices import Pricing

    async def scenario() -> None:
        with contextlib.ExitStack() as redis:
            url = redis.enter_context(run_redis_server(tmp_path))
            config = config_from_data({"providers": {"mock": {"type": "mock"}},
                                       "store": {"backend": "redis", "url": url}}, "test")
            callers = Callers(config, Pricing(config.prices))
            await callers.start()
            rated = GatewayKey(id="key_r", name="rated", sha256="x", limits=KeyLimits(rpm=1, tpm=1000))
            budgeted = GatewayKey(id="key_b", name="budgeted", sha256="y", limits=KeyLimits(budget_usd=1.0))
            ticket = await callers.admit(rated, "mock", "mock", "mock", 10, 10)
            assert ticket is not None
            await callers.settle(ticket, 100, 0.0)  # tokens held back for the next batch
            with pytest.raises(RateLimitError):
                await callers.admit(rated, "mock", "mock", "mock", 10, 10)
        # redis-server is stopped
        assert await callers.admit(rated, "mock", "mock", "mock", 10, 10) is None  # limits fail open
        with pytest.raises(GatewayError) as refused:
            await callers.admit(budgeted, "mock", "mock", "mock", 10, 10)
        assert refused.value.status == 503 and refused.value.code == "store_unavailable"
        await asyncio.wait_for(callers.close(), 30)  # the batch that cannot be counted is dropped, logged

    asyncio.run(scenario())
