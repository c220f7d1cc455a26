"""The response store: private files, no implicit keyless provider, and item references that cannot be hijacked."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx

from gateway_core.testing.servers import run_gateway_process


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_sqlite_store_is_private_to_its_user(tmp_path: Path) -> None:
    store = tmp_path / "created" / "by-gateway" / "responses.sqlite3"
    with run_gateway_process(f"store: {{backend: sqlite, path: '{store}'}}\n") as gateway:
        answer = httpx.post(gateway.url + "/v1/responses", json={"model": "mock", "input": "keep me"})
        assert answer.status_code == 200
        assert httpx.get(f"{gateway.url}/v1/responses/{answer.json()['id']}").status_code == 200
        files = [path for path in store.parent.iterdir() if path.name.startswith(store.name)]
        assert {path.name for path in files} >= {store.name, store.name + "-wal"}
        assert {path.name: _mode(path) for path in files} == {path.name: 0o600 for path in files}
        assert _mode(store.parent) == 0o700


def test_an_existing_store_file_is_tightened(tmp_path: Path) -> None:
    store = tmp_path / "responses.sqlite3"
    store.touch(mode=0o644)
    store.chmod(0o644)
    with run_gateway_process(f"store: {{backend: sqlite, path: '{store}'}}\n"):
        assert _mode(store) == 0o600


def test_a_configured_gateway_does_not_serve_the_keyless_mock(tmp_path: Path) -> None:
    config = ("providers:\n  local: {type: openai, base_url: 'http://127.0.0.1:9/v1'}\n"
              f"store: {{backend: sqlite, path: '{tmp_path / 'r.sqlite3'}'}}\n")
    with run_gateway_process(config) as gateway:
        for model in ("mock", "mock/anything", "mock-1"):
            answer = httpx.post(gateway.url + "/v1/responses", json={"model": model, "input": "free tokens?"})
            assert answer.status_code == 404, answer.text
            assert answer.json()["error"]["code"] == "model_not_found"
        pinned = httpx.post(gateway.url + "/v1/responses", json={"model": "x", "provider": "mock", "input": "hi"})
        assert pinned.status_code == 404


def _input_ids(url: str, response_id: str) -> list[str]:
    page = httpx.get(f"{url}/v1/responses/{response_id}/input_items", params={"order": "asc"}).json()
    return [item["id"] for item in page["data"]]


def _echo(answer: httpx.Response) -> str:
    assert answer.status_code == 200, answer.text
    return "".join(part["text"] for item in answer.json()["output"] for part in item["content"])


def test_a_client_chosen_item_id_cannot_hijack_another_callers_reference(tmp_path: Path) -> None:
    with run_gateway_process(f"store: {{backend: sqlite, path: '{tmp_path / 'r.sqlite3'}'}}\n") as gateway:
        url = gateway.url
        victim = httpx.post(url + "/v1/responses", json={"model": "mock", "input": "the victim's question"}).json()
        [question_id] = _input_ids(url, victim["id"])
        answer_id = victim["output"][0]["id"]
        # the attacker learnt both ids and stores items of its own under them
        for stolen in (question_id, answer_id):
            forged = {"type": "message", "id": stolen, "role": "user", "content": "attacker's words"}
            assert httpx.post(url + "/v1/responses", json={"model": "mock", "input": [forged]}).status_code == 200
        later = httpx.post(url + "/v1/responses", json={"model": "mock", "input": [
            {"type": "item_reference", "id": question_id}, {"type": "item_reference", "id": answer_id},
            {"role": "user", "content": "history?"}]})
    text = _echo(later)
    assert "attacker" not in text
    assert text.startswith("user:the victim's question | assistant:the victim's question")


def test_a_client_chosen_id_resolves_only_within_its_own_chain(tmp_path: Path) -> None:
    with run_gateway_process(f"store: {{backend: sqlite, path: '{tmp_path / 'r.sqlite3'}'}}\n") as gateway:
        url = gateway.url
        mine = {"type": "message", "id": "msg_my_own", "role": "user", "content": "named by me"}
        first = httpx.post(url + "/v1/responses", json={"model": "mock", "input": [mine]}).json()
        chained = httpx.post(url + "/v1/responses", json={
            "model": "mock", "previous_response_id": first["id"],
            "input": [{"type": "item_reference", "id": "msg_my_own"}, {"role": "user", "content": "history?"}]})
        loose = httpx.post(url + "/v1/responses", json={
            "model": "mock", "input": [{"type": "item_reference", "id": "msg_my_own"}]})
    assert "user:named by me | assistant:named by me | user:named by me" in _echo(chained)
    assert loose.status_code == 400
    assert loose.json()["error"]["param"] == "input[0].id"


def test_the_store_quota_evicts_the_oldest_responses(tmp_path: Path) -> None:
    import sqlite3
    from contextlib import closing

    store = tmp_path / "r.sqlite3"
    config = f"store: {{backend: sqlite, path: '{store}', max_bytes: 300000}}\n"
    with run_gateway_process(config) as gateway, httpx.Client(base_url=gateway.url) as client:
        ids = [client.post("/v1/responses", json={"model": "mock", "input": "z" * 20_000}).json()["id"]
               for _ in range(60)]
        assert client.get(f"/v1/responses/{ids[0]}").status_code == 404
        assert client.get(f"/v1/responses/{ids[-1]}").status_code == 200
    with closing(sqlite3.connect(store)) as conn:
        (stored,) = conn.execute("SELECT COALESCE(SUM(length(record)), 0) FROM responses").fetchone()
    assert 0 < stored <= 300_000  # 60 responses of ~40 kB each would be ~2.4 MB
