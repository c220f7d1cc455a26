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
