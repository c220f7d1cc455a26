"""``GET /v1/responses/{id}/input_items`` costs what the page holds, not what the record holds."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

import httpx

from gateway_core.testing.servers import run_gateway_process

ITEMS = 20_000


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks of 1/100 s


def _stored(path: Path, response_id: str) -> bool:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT 1 FROM responses WHERE id = ?", (response_id,)).fetchone() is not None


def test_a_small_page_of_a_large_record_does_not_decode_the_record(tmp_path: Path) -> None:
    config = (f"store: {{backend: sqlite, path: '{tmp_path / 'r.sqlite3'}'}}\n"
              "server: {max_body_bytes: 67108864, max_input_items: 30000}\n")
    with run_gateway_process(config) as gateway, httpx.Client(base_url=gateway.url, timeout=60) as client:
        conversation = [{"role": "user", "content": f"item {number}"} for number in range(ITEMS)]
        created = client.post("/v1/responses", json={"model": "mock", "input": conversation})
        assert created.status_code == 200, created.text
        response_id = created.json()["id"]
        path = f"/v1/responses/{response_id}"
        deadline = time.monotonic() + 30
        while not _stored(tmp_path / "r.sqlite3", response_id):  # measure reads from the store, not memory
            assert time.monotonic() < deadline
            time.sleep(0.05)

        def cost(url: str, **params: str) -> float:
            before = _cpu_seconds(gateway.process.pid)
            for _ in range(10):
                assert client.get(url, params=params).status_code == 200
            return _cpu_seconds(gateway.process.pid) - before

        page = client.get(path + "/input_items", params={"limit": "1", "order": "asc"}).json()
        assert [item["content"][0]["text"] for item in page["data"]] == ["item 0"] and page["has_more"]
        after = client.get(path + "/input_items", params={"limit": "2", "after": page["first_id"]}).json()
        assert after["data"] == []  # descending: nothing comes after the first item
        whole = cost(path)  # GET of the response decodes the whole record once
        one = cost(path + "/input_items", limit="1")
    # before the fix a page decoded and converted every item: more than the whole GET
    assert one < whole * 0.6, (one, whole)
