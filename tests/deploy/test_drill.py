"""The multi-instance drill: three gateway processes behind HAProxy sharing one redis-server, under a steady
load of JSON, streamed and continued (``previous_response_id``) requests from the official ``openai`` SDK.

- One instance gets SIGTERM mid-load: the streams it was serving finish, it exits cleanly, and new requests go
  to the others (no request fails). It is started again (a rolling restart).
- One instance gets SIGKILL: only requests it had in flight fail, and the clients' retries succeed elsewhere.
- redis-server is restarted: responses finished meanwhile are stored once it is back.
- Nothing is lost: every completed response can be retrieved from every instance, and a conversation goes on
  from any instance.
- Every client request carries one gateway key (made through one instance's admin API, kept in Redis, with
  limits and a budget): it works on every instance throughout, the usage log counts every request, its spend
  stays within its budget, and another key cannot read its responses.

The figures (requests, failures, retries, time to recover) are printed and, when ``GATEWAY_DRILL_REPORT``
names a file, written there as JSON. Marked ``drill``: ``pytest -m "not drill"`` skips it.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from .cluster import Gateway, HAProxy, Redis, missing_programs

pytestmark = pytest.mark.drill

WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "while", "the", "gateway",
         "keeps", "streaming", "every", "word"]
CHUNK_DELAY = 0.06  # seconds between streamed words: a stream takes about a second
CONCURRENCY = 12
ADMIN = "gw-drill-admin-0123456789abcdef0123456789abcdef"


@dataclass
class Outcome:
    """One request as the client saw it (after the SDK's own retries)."""

    kind: str
    started: float
    ended: float = 0.0
    ok: bool = False
    error: str = ""
    backend: str = ""
    attempts: int = 0


@dataclass
class Load:
    """Closed-loop clients through the load balancer; what they saw."""

    url: str
    key: str
    outcomes: list[Outcome] = field(default_factory=list)
    completed: dict[str, str] = field(default_factory=dict)  # response id -> its output text
    attempts: int = 0
    retried: int = 0
    running: bool = True

    def client(self) -> openai.AsyncOpenAI:
        async def on_request(request: httpx.Request) -> None:
            self.attempts += 1
            if request.headers.get("x-stainless-retry-count", "0") != "0":
                self.retried += 1

        async def on_response(response: httpx.Response) -> None:
            task = asyncio.current_task()
            if task is not None:
                _BACKEND[task] = response.headers.get("x-served-by", "")

        http = httpx.AsyncClient(event_hooks={"request": [on_request], "response": [on_response]},
                                 timeout=httpx.Timeout(30, connect=2))
        return openai.AsyncOpenAI(base_url=self.url + "/v1", api_key=self.key, max_retries=4,
                                  http_client=http)

    async def worker(self, index: int) -> None:
        client = self.client()
        rng = random.Random(index)
        step = 0
        try:
            while self.running:
                kind = ("stream", "json", "continue")[step % 3]
                step += 1
                outcome = Outcome(kind, time.monotonic())
                for attempt in range(3):  # a stream cut by a dead instance is sent again from the start
                    outcome.attempts = attempt + 1
                    try:
                        await self._one(client, kind, rng, outcome)
                        outcome.ok, outcome.error = True, ""
                        break
                    except (openai.APIError, AssertionError) as exc:
                        outcome.error = f"{type(exc).__name__}: {exc}"[:200]
                outcome.ended = time.monotonic()
                self.outcomes.append(outcome)
        finally:
            await client.close()

    async def _one(self, client: openai.AsyncOpenAI, kind: str, rng: random.Random, outcome: Outcome) -> None:
        text = " ".join(rng.sample(WORDS, 8))
        task = asyncio.current_task()
        if kind == "json":
            response = await client.responses.create(model="mock", input=text)
            assert response.output_text == text, response.output_text
        elif kind == "stream":
            stream = await client.responses.create(model="mock", input=text, stream=True)
            final = None
            async for event in stream:
                if event.type == "response.completed":
                    final = event.response
            assert final is not None, "the stream ended without response.completed"
            assert final.output_text == text
            response = final
        else:
            if not self.completed:
                response = await client.responses.create(model="mock", input=text)
            else:
                previous = rng.choice(list(self.completed))
                response = await client.responses.create(model="mock", input="history?",
                                                         previous_response_id=previous)
                assert response.output_text.startswith("user:"), response.output_text
                assert response.output_text.endswith(f"assistant:{self.completed[previous]} | user:history?")
        outcome.backend = _BACKEND.pop(task, "") if task is not None else ""
        self.completed[response.id] = response.output_text


_BACKEND: dict[asyncio.Task[Any], str] = {}


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Redis, list[Gateway], HAProxy, str]]:
    if missing := missing_programs():
        pytest.skip(f"the drill needs {' and '.join(missing)} (Debian: apt-get install -y {' '.join(missing)})")
    redis = Redis(tmp_path)
    redis.start()
    config = tmp_path / "gateway.yaml"
    config.write_text(
        "server: {shutdown_grace: 20, log_level: warning}\n"
        f"providers: {{mock: {{type: mock, options: {{delay: {CHUNK_DELAY}}}}}}}\n"
        f"store: {{backend: redis, url: '{redis.url}'}}\n"
        "prices: {mock/mock: {input: 1, output: 1}}\n"  # $1 per million tokens
        "auth: {refresh_seconds: 0.5}\n"
    )
    gateways = [Gateway(f"g{n}", config, tmp_path / f"g{n}.log", env={"GATEWAY_ADMIN_KEY": ADMIN})
                for n in (1, 2, 3)]
    balancer = HAProxy(tmp_path, gateways)
    try:
        for gateway in gateways:
            gateway.start()
        balancer.start()
        made = httpx.post(gateways[0].url + "/v1/admin/keys", headers={"Authorization": f"Bearer {ADMIN}"},
                          json={"name": "drill", "limits": {"rpm": 100000, "budget_usd": 1.0,
                                                            "budget_period": "total"}})
        assert made.status_code == 201, made.text
        time.sleep(1.0)  # every instance has read the new key
        yield redis, gateways, balancer, made.json()["key"]
    finally:
        balancer.stop()
        for gateway in gateways:
            gateway.stop()
        redis.stop()


def _wait_for_a_stream(url: str, timeout: float = 10.0) -> None:
    """Until the instance at ``url`` has a stream open to a client (``gateway_streams_in_flight``), at most
    ``timeout`` seconds: a SIGTERM then has a stream to drain, whatever the balancer's luck."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        scrape = httpx.get(url + "/metrics", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=5).text
        if any(line.startswith("gateway_streams_in_flight{") and float(line.rsplit(" ", 1)[1]) >= 1
               for line in scrape.splitlines()):
            return
        time.sleep(0.02)


def _during(outcomes: list[Outcome], start: float, end: float) -> list[Outcome]:
    return [o for o in outcomes if o.started < end and o.ended > start]


async def _drill(redis: Redis, gateways: list[Gateway], balancer: HAProxy, key: str) -> dict[str, Any]:
    load = Load(balancer.url, key)
    workers = [asyncio.ensure_future(load.worker(index)) for index in range(CONCURRENCY)]
    figures: dict[str, Any] = {}
    await asyncio.sleep(3)

    # 1. SIGTERM mid-load (once it serves a stream, as its own metrics say), then a rolling restart of it
    first = gateways[0]
    await asyncio.to_thread(_wait_for_a_stream, first.url)
    term_at = time.monotonic()
    first.signal(signal.SIGTERM)
    exit_code = await asyncio.to_thread(first.wait, 30)
    term_done = time.monotonic()
    drained = [o for o in load.outcomes if o.backend == first.name and o.kind == "stream" and o.started < term_at
               and o.ended > term_at]
    figures["sigterm"] = {"exit_code": exit_code, "drain_seconds": round(term_done - term_at, 2),
                          "streams_drained": len(drained)}
    await asyncio.to_thread(first.start)
    await asyncio.sleep(2)
    figures["sigterm"]["failed"] = sum(not o.ok for o in _during(load.outcomes, term_at, time.monotonic()))

    # 2. SIGKILL mid-load, then start it again
    second = gateways[1]
    in_flight_before = len(load.outcomes)
    kill_at = time.monotonic()
    second.signal(signal.SIGKILL)
    await asyncio.to_thread(second.wait, 10)
    await asyncio.sleep(3)
    around = [o for o in load.outcomes[in_flight_before:] if o.started < kill_at]
    retried_outcomes = [o for o in load.outcomes if o.attempts > 1 and o.ended > kill_at]
    last_retry_end = max((o.ended for o in retried_outcomes), default=kill_at)
    figures["sigkill"] = {"in_flight_then": len(around), "resent_by_client": len(retried_outcomes),
                          "failed": sum(not o.ok for o in _during(load.outcomes, kill_at, time.monotonic())),
                          "recovered_seconds": round(last_retry_end - kill_at, 2)}
    await asyncio.to_thread(second.start)
    await asyncio.sleep(2)

    # 3. redis-server restarted under load
    redis_at = time.monotonic()
    await asyncio.to_thread(redis.stop)
    await asyncio.sleep(1.0)
    await asyncio.to_thread(redis.start)
    back_at = time.monotonic()
    await asyncio.sleep(4)
    after = [o for o in load.outcomes if o.kind == "continue" and o.started > back_at and o.ok]
    figures["redis_restart"] = {
        "down_seconds": round(back_at - redis_at, 2),
        "failed": sum(not o.ok for o in _during(load.outcomes, redis_at, time.monotonic())),
        "first_continue_after_restart_seconds": round(min((o.ended for o in after), default=back_at) - back_at, 2),
    }

    load.running = False
    await asyncio.gather(*workers)
    figures["totals"] = {"requests": len(load.outcomes), "failed": sum(not o.ok for o in load.outcomes),
                         "http_attempts": load.attempts, "sdk_retries": load.retried,
                         "resent_streams": sum(o.attempts > 1 for o in load.outcomes),
                         "completed_responses": len(load.completed)}
    figures["failures"] = sorted({o.error for o in load.outcomes if not o.ok})[:10]
    figures["completed"] = load.completed
    return figures


def test_three_gateways_behind_haproxy_survive_sigterm_sigkill_and_a_redis_restart(cluster) -> None:  # type: ignore[no-untyped-def]
    redis, gateways, balancer, key = cluster
    figures = asyncio.run(_drill(redis, gateways, balancer, key))
    completed: dict[str, str] = figures.pop("completed")
    report = json.dumps(figures, indent=2)
    print(report)
    if os.environ.get("GATEWAY_DRILL_REPORT"):
        Path(os.environ["GATEWAY_DRILL_REPORT"]).write_text(report + "\n")

    assert figures["totals"]["requests"] > 100, report
    assert figures["totals"]["failed"] == 0, report
    term = figures["sigterm"]
    # uvicorn re-raises the signal once it has drained, so a clean exit is -SIGTERM (143 in a container)
    assert term["exit_code"] == -signal.SIGTERM and term["streams_drained"] > 0 and term["failed"] == 0, report
    assert figures["sigkill"]["failed"] == 0, report

    # nothing lost: every completed response is stored and served by every instance
    time.sleep(1)  # the last writes (each instance answers first, then stores)
    for gateway in gateways:
        with httpx.Client(base_url=gateway.url, timeout=10, headers={"Authorization": f"Bearer {key}"}) as http:
            missing = [rid for rid in completed if http.get(f"/v1/responses/{rid}").status_code != 200]
            assert not missing, f"{gateway.name} lacks {len(missing)} of {len(completed)} responses: {missing[:5]}"
    some = random.Random(0).sample(sorted(completed), 3)
    for gateway, previous in zip(gateways, some, strict=True):
        client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0)
        continued = client.responses.create(model="mock", input="history?", previous_response_id=previous)
        assert continued.output_text.endswith(f"assistant:{completed[previous]} | user:history?")

    # the key's usage was counted on every instance, within its budget; another key sees nothing of it
    admin = {"Authorization": f"Bearer {ADMIN}"}
    deadline = time.monotonic() + 10
    while True:
        rows = httpx.get(gateways[2].url + "/v1/admin/usage", headers=admin, params={"group_by": "key"}).json()
        mine = [row for row in rows["data"] if row["group"].startswith("key_")]
        if (mine and mine[0]["requests"] >= len(completed)) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert mine and mine[0]["requests"] >= len(completed), rows
    assert 0 < mine[0]["cost_usd"] <= 1.0, rows
    other = httpx.post(gateways[1].url + "/v1/admin/keys", headers=admin, json={"name": "other"}).json()["key"]
    time.sleep(1.0)
    stranger = httpx.get(f"{gateways[2].url}/v1/responses/{some[0]}", headers={"Authorization": f"Bearer {other}"})
    assert stranger.status_code == 404
