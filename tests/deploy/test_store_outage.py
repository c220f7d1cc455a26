"""A Redis outage under one gateway: answers go on, reads say 503 ``store_unavailable`` (retryable) instead
of 500, and a response answered while Redis was down is stored once it is back."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from gateway_core.testing.servers import run_gateway_process

from .cluster import Redis, missing_programs


def _wait_until_stored(url: str, response_id: str, timeout: float = 10.0) -> None:
    """Until Redis holds the response (the gateway's default key prefix), asked of Redis itself."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + timeout
        while not client.exists(f"gateway:response:{response_id}"):
            assert time.monotonic() < deadline, "the response was never stored"
            time.sleep(0.02)
    finally:
        client.close()


def test_a_response_answered_during_a_redis_outage_is_stored_when_redis_is_back(tmp_path: Path) -> None:
    if "redis-server" in missing_programs():
        pytest.skip("redis-server is not installed (Debian: apt-get install -y redis-server)")
    redis = Redis(tmp_path)
    redis.start()
    try:
        config = f"store: {{backend: redis, url: '{redis.url}'}}\nserver: {{log_level: warning}}\n"
        with run_gateway_process(config) as gateway, httpx.Client(base_url=gateway.url, timeout=10) as http:
            before = http.post("/v1/responses", json={"model": "mock", "input": "before"}).json()
            _wait_until_stored(redis.url, before["id"])  # answered first, stored right after: not yet, maybe
            redis.stop()
            during = http.post("/v1/responses", json={"model": "mock", "input": "during the outage"})
            assert during.status_code == 200
            missing = http.get(f"/v1/responses/{before['id']}")
            assert missing.status_code == 503, missing.text
            assert missing.json()["error"]["code"] == "store_unavailable"
            assert missing.headers["retry-after"] == "1"
            continued = http.post("/v1/responses", json={"model": "mock", "input": "history?",
                                                         "previous_response_id": before["id"]})
            assert continued.status_code == 503 and continued.json()["error"]["code"] == "store_unavailable"
            redis.start()
            deadline = time.monotonic() + 10
            while http.get(f"/v1/responses/{during.json()['id']}").status_code != 200:
                assert time.monotonic() < deadline, "the response answered during the outage was never stored"
                time.sleep(0.1)
            output = gateway.stop()
        assert "trying again" in output
    finally:
        redis.stop()


def test_readyz_fails_after_the_grace_period_of_a_redis_outage_and_recovers(tmp_path: Path) -> None:
    if "redis-server" in missing_programs():
        pytest.skip("redis-server is not installed (Debian: apt-get install -y redis-server)")
    redis = Redis(tmp_path)
    redis.start()
    try:
        config = (f"store: {{backend: redis, url: '{redis.url}'}}\n"
                  "server: {log_level: warning, ready_check_seconds: 0.2, ready_grace_seconds: 1.5}\n")
        with run_gateway_process(config) as gateway, httpx.Client(base_url=gateway.url, timeout=5) as http:
            assert http.get("/readyz").status_code == 200
            redis.stop()
            stopped = time.monotonic()
            time.sleep(0.6)
            assert http.get("/readyz").status_code == 200  # within the grace period
            assert http.get("/healthz").status_code == 200
            while http.get("/readyz").status_code == 200:
                assert time.monotonic() - stopped < 5, "/readyz never noticed the outage"
                time.sleep(0.1)
            assert time.monotonic() - stopped >= 1.5
            assert http.get("/readyz").json() == {"status": "unavailable", "reason": "the response store unreachable"}
            assert http.get("/healthz").status_code == 200  # liveness does not depend on the store
            redis.start()
            deadline = time.monotonic() + 5
            while http.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, "/readyz did not recover"
                time.sleep(0.1)
    finally:
        redis.stop()
