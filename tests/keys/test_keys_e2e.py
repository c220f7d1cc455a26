"""Gateway keys, limits, budgets and cost, driven from outside: the real gateway process, the official
``openai`` SDK as the client (keys through its normal ``api_key``), real SQLite files and a real redis-server
shared by two gateway processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from gateway_core.testing.servers import free_port, run_gateway_process, run_redis_server

ADMIN = "gw-admin-0123456789abcdef0123456789abcdef01"
PRICES = "prices: {mock/mock: {input: 1000, output: 1000}}\n"  # $0.001 a token: a 20-token request costs $0.02


def _config(tmp_path: Path, extra: str = "") -> str:
    return (f"store: {{backend: sqlite, path: '{tmp_path}/responses.sqlite3'}}\n"
            "providers: {mock: {type: mock}}\nauth: {refresh_seconds: 0.2}\n" + extra)


def _admin(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10)


def _create(url: str, **body: object) -> dict:
    answer = _admin(url).post("/v1/admin/keys", json={"name": "svc", **body})
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[str]:
    with run_gateway_process(_config(tmp_path, PRICES), env={"GATEWAY_ADMIN_KEY": ADMIN}) as running:
        yield running.url


def test_a_created_key_works_with_the_openai_sdk_and_nothing_else_does(gateway: str) -> None:
    created = _create(gateway)
    assert created["key"].startswith("gw-") and len(created["key"]) >= 46 and "sha256" not in created
    client = openai.OpenAI(base_url=gateway + "/v1", api_key=created["key"], max_retries=0)
    assert client.responses.create(model="mock", input="hello").output_text == "hello"
    for wrong in ("gw-not-a-key", ""):
        stranger = openai.OpenAI(base_url=gateway + "/v1", api_key=wrong or "x", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as refused:
            stranger.responses.create(model="mock", input="hello")
        assert refused.value.status_code == 401 and refused.value.code == "invalid_api_key"
    # the key is never shown again
    listed = _admin(gateway).get("/v1/admin/keys").json()["data"]
    assert [item["id"] for item in listed] == [created["id"]]
    assert all("key" not in item and "sha256" not in item for item in listed)
    # the same key through the other clients' headers, and on the stored-response routes
    for header in ("x-api-key", "x-goog-api-key"):
        answer = httpx.post(gateway + "/v1/responses", headers={header: created["key"]},
                            json={"model": "mock", "input": "hi"})
        assert answer.status_code == 200
    assert httpx.get(gateway + f"/v1/responses/{answer.json()['id']}").status_code == 401
    assert httpx.get(gateway + "/metrics").status_code == 401


def test_revoked_and_expired_keys_are_refused(gateway: str) -> None:
    created = _create(gateway)
    client = openai.OpenAI(base_url=gateway + "/v1", api_key=created["key"], max_retries=0)
    client.responses.create(model="mock", input="hi")
    assert _admin(gateway).patch(f"/v1/admin/keys/{created['id']}", json={"revoked": True}).status_code == 200
    with pytest.raises(openai.AuthenticationError):
        client.responses.create(model="mock", input="hi")
    short = _create(gateway, expires_at=time.time() + 1)
    other = openai.OpenAI(base_url=gateway + "/v1", api_key=short["key"], max_retries=0)
    other.responses.create(model="mock", input="hi")
    time.sleep(1.2)
    with pytest.raises(openai.AuthenticationError):
        other.responses.create(model="mock", input="hi")


def test_admin_api_refuses_bad_input_with_clear_errors(gateway: str) -> None:
    admin = _admin(gateway)
    cases = [
        ({"name": "x", "colour": "red"}, 400, None),
        ({"name": "x", "limits": {"rpm": -5}}, 400, "limits.rpm"),
        ({"name": "x", "models": ["nonsense-*"]}, 400, "models[0]"),
        ({"name": ""}, 400, "name"),
    ]
    for body, status, param in cases:
        answer = admin.post("/v1/admin/keys", json=body)
        assert answer.status_code == status, (body, answer.text)
        error = answer.json()["error"]
        assert error["message"] and (param is None or error["param"] == param), error
    assert admin.get("/v1/admin/keys/key_nope").status_code == 404
    user = _create(gateway)
    as_user = httpx.get(gateway + "/v1/admin/keys", headers={"Authorization": f"Bearer {user['key']}"})
    assert as_user.status_code == 403 and as_user.json()["error"]["code"] == "permission_denied"
    assert httpx.get(gateway + "/v1/admin/keys").status_code == 401
    allowed = admin.post("/v1/admin/keys", json={"name": "ok", "models": ["mock*", "mock/*"]})
    assert allowed.status_code == 201


def test_model_patterns_limit_what_a_key_may_use(tmp_path: Path) -> None:
    config = _config(tmp_path, "providers: {mock: {type: mock}, other: {type: mock}}\n")
    with run_gateway_process(config, env={"GATEWAY_ADMIN_KEY": ADMIN}) as running:
        key = _create(running.url, models=["mock/*"])["key"]
        client = openai.OpenAI(base_url=running.url + "/v1", api_key=key, max_retries=0)
        assert client.responses.create(model="mock/anything", input="hi").output_text == "hi"
        with pytest.raises(openai.PermissionDeniedError):
            client.responses.create(model="other/anything", input="hi")


def test_rate_limit_headers_and_429_with_retry_after(gateway: str) -> None:
    key = _create(gateway, limits={"rpm": 3, "tpm": 100000})["key"]
    headers = {"Authorization": f"Bearer {key}"}
    answers = [httpx.post(gateway + "/v1/responses", headers=headers, json={"model": "mock", "input": "hi"})
               for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    first = answers[0].headers
    assert first["x-ratelimit-limit-requests"] == "3" and first["x-ratelimit-remaining-requests"] == "2"
    assert first["x-ratelimit-limit-tokens"] == "100000" and first["x-ratelimit-reset-requests"].endswith("s")
    refused = answers[3]
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert 1 <= int(refused.headers["retry-after"]) <= 60


def test_cost_in_the_header_the_body_and_the_terminal_event(gateway: str, openresponses) -> None:  # type: ignore[no-untyped-def]
    key = _create(gateway)["key"]
    headers = {"Authorization": f"Bearer {key}"}
    answer = httpx.post(gateway + "/v1/responses", headers=headers, json={"model": "mock", "input": "two words"})
    body = answer.json()
    openresponses.validate_response(body)
    tokens = body["usage"]["input_tokens"] + body["usage"]["output_tokens"]
    assert float(answer.headers["x-gateway-cost-usd"]) == pytest.approx(tokens * 0.001)
    assert body["usage"]["cost_usd"] == pytest.approx(tokens * 0.001)
    with httpx.stream("POST", gateway + "/v1/responses", headers=headers,
                      json={"model": "mock", "input": "two words", "stream": True}) as stream:
        lines = [line for line in stream.iter_lines() if line.startswith("data: {")]
    import json

    final = json.loads(lines[-1][6:])
    openresponses.validate_event(final)
    assert final["type"] == "response.completed" and final["response"]["usage"]["cost_usd"] == pytest.approx(
        tokens * 0.001)


def test_stored_responses_belong_to_the_key_that_made_them(gateway: str) -> None:
    alice, bob = _create(gateway)["key"], _create(gateway)["key"]
    a = openai.OpenAI(base_url=gateway + "/v1", api_key=alice, max_retries=0)
    b = openai.OpenAI(base_url=gateway + "/v1", api_key=bob, max_retries=0)
    mine = a.responses.create(model="mock", input="secret of alice")
    assert a.responses.retrieve(mine.id).output_text == "secret of alice"
    with pytest.raises(openai.NotFoundError):
        b.responses.retrieve(mine.id)
    with pytest.raises(openai.NotFoundError):
        b.responses.input_items.list(mine.id)
    with pytest.raises(openai.NotFoundError):
        b.responses.create(model="mock", input="history?", previous_response_id=mine.id)
    with pytest.raises(openai.NotFoundError):
        b.responses.delete(mine.id)
    admin = openai.OpenAI(base_url=gateway + "/v1", api_key=ADMIN, max_retries=0)
    assert admin.responses.retrieve(mine.id).output_text == "secret of alice"


def test_usage_api_and_cli(tmp_path: Path, gateway: str) -> None:
    created = _create(gateway)
    client = openai.OpenAI(base_url=gateway + "/v1", api_key=created["key"], max_retries=0)
    for _ in range(3):
        client.responses.create(model="mock", input="count me")
    deadline = time.monotonic() + 5
    while True:
        rows = _admin(gateway).get("/v1/admin/usage", params={"key": created["id"], "group_by": "model"}).json()
        if (rows["data"] and rows["data"][0]["requests"] == 3) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    row = rows["data"][0]
    assert row["group"] == "mock" and row["requests"] == 3 and row["cost_usd"] > 0
    config = tmp_path / "gateway.yaml"
    config.write_text(_config(tmp_path))
    shown = subprocess.run([sys.executable, "-m", "gateway_core", "usage", "--config", str(config), "--key",
                            created["id"]], capture_output=True, text=True, check=True)
    assert '"requests": 3' in shown.stdout
    made = subprocess.run([sys.executable, "-m", "gateway_core", "keys", "create", "--name", "cli", "--rpm", "5",
                           "--config", str(config)], capture_output=True, text=True, check=True)
    import json

    key = json.loads(made.stdout)["key"]
    deadline = time.monotonic() + 3
    while httpx.post(gateway + "/v1/responses", headers={"Authorization": f"Bearer {key}"},
                     json={"model": "mock", "input": "hi"}).status_code != 200:
        assert time.monotonic() < deadline, "a key made by the CLI never reached the running gateway"
        time.sleep(0.1)


def test_binding_beyond_loopback_without_keys_refuses_to_start(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(_config(tmp_path))
    refused = subprocess.run([sys.executable, "-m", "gateway_core", "serve", "--config", str(config), "--host",
                              "0.0.0.0", "--port", str(free_port())], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "no gateway key is configured" in refused.stderr


# ---------------------------------------------------------------------------------------------------------
# two gateways on one Redis


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[str, str]]:
    with run_redis_server(tmp_path) as redis_url:
        config = (f"store: {{backend: redis, url: '{redis_url}'}}\nproviders: {{mock: {{type: mock}}}}\n"
                  "auth: {refresh_seconds: 0.5}\n" + PRICES)
        env = {"GATEWAY_ADMIN_KEY": ADMIN}
        with run_gateway_process(config, env=env) as first, run_gateway_process(config, env=env) as second:
            yield first.url, second.url


def test_a_revocation_on_one_instance_reaches_the_other_within_two_seconds(pair: tuple[str, str]) -> None:
    one, two = pair
    created = _create(one)
    headers = {"Authorization": f"Bearer {created['key']}"}
    deadline = time.monotonic() + 3
    while httpx.post(two + "/v1/responses", headers=headers, json={"model": "mock", "input": "hi"}).status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert _admin(one).delete(f"/v1/admin/keys/{created['id']}").status_code == 200
    revoked = time.monotonic()
    while httpx.post(two + "/v1/responses", headers=headers, json={"model": "mock", "input": "hi"}).status_code != 401:
        assert time.monotonic() - revoked < 2.0, "the other instance still accepts a deleted key"
        time.sleep(0.05)


def test_requests_per_minute_are_shared_by_both_instances(pair: tuple[str, str]) -> None:
    one, two = pair
    created = _create(one, limits={"rpm": 6})
    headers = {"Authorization": f"Bearer {created['key']}"}
    time.sleep(1.2)  # both have the key
    statuses = [httpx.post(url + "/v1/responses", headers=headers, json={"model": "mock", "input": "hi"}).status_code
                for url in (one, two) * 5]
    assert statuses.count(200) == 6 and statuses.count(429) == 4


def test_a_budget_holds_under_concurrency_across_instances(pair: tuple[str, str]) -> None:
    """50 concurrent requests from two instances against a budget that covers about 10."""
    one, two = pair
    # each request: ~4 input tokens + max_output_tokens 16 reserved; ~8 tokens really used = $0.008
    created = _create(one, limits={"budget_usd": 0.08, "budget_period": "day"})
    time.sleep(1.2)

    async def scenario() -> list[httpx.Response]:
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {created['key']}"}, timeout=30) as http:
            return list(await asyncio.gather(*(
                http.post((one, two)[index % 2] + "/v1/responses",
                          json={"model": "mock", "input": "spend a little", "max_output_tokens": 16})
                for index in range(50))))

    answers = asyncio.run(scenario())
    spent = sum(answer.json()["usage"]["cost_usd"] for answer in answers if answer.status_code == 200)
    largest = max(answer.json()["usage"]["cost_usd"] for answer in answers if answer.status_code == 200)
    refused = [answer for answer in answers if answer.status_code == 429]
    assert refused and all(answer.json()["error"]["code"] == "insufficient_quota" for answer in refused)
    assert spent <= 0.08 + largest + 1e-9


def test_the_anthropic_sdk_carries_its_key_as_x_api_key(gateway: str) -> None:
    import anthropic

    key = _create(gateway, limits={"rpm": 100})["key"]
    client = anthropic.Anthropic(base_url=gateway, api_key=key, max_retries=0)
    message = client.messages.create(model="mock", max_tokens=32, messages=[{"role": "user", "content": "hi"}])
    assert message.content[0].text == "hi"
    stranger = anthropic.Anthropic(base_url=gateway, api_key="gw-nobody", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as refused:
        stranger.messages.create(model="mock", max_tokens=32, messages=[{"role": "user", "content": "hi"}])
    assert refused.value.status_code == 401
