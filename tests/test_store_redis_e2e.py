"""Two gateway processes on one Redis: a conversation started on instance A continues on instance B."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from gateway_core.testing.servers import free_port, run_redis_server


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with run_redis_server(tmp_path) as url:
        yield url


def start_gateway(tmp_path: Path, name: str, redis_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = tmp_path / f"{name}.yaml"
    config.write_text(f"server: {{host: 127.0.0.1, port: {port}}}\nstore: {{backend: redis, url: '{redis_url}'}}\n")
    env = {key: value for key, value in os.environ.items() if not key.endswith("_API_KEY")}
    process = subprocess.Popen([sys.executable, "-m", "gateway_core", "serve", "--config", str(config)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(url + "/readyz").status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        assert process.poll() is None, process.stdout.read().decode()  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_conversation_moves_between_instances(tmp_path: Path, redis_url: str) -> None:
    first, url_a = start_gateway(tmp_path, "a", redis_url)
    second, url_b = start_gateway(tmp_path, "b", redis_url)
    try:
        a = openai.OpenAI(base_url=url_a + "/v1", api_key="unused", max_retries=0)
        b = openai.OpenAI(base_url=url_b + "/v1", api_key="unused", max_retries=0)
        started = a.responses.create(model="mock", input="started on A")
        continued = b.responses.create(model="mock", input="history?", previous_response_id=started.id)
        assert continued.output_text == "user:started on A | assistant:started on A | user:history?"
        assert a.responses.retrieve(continued.id).output_text == continued.output_text
        b.responses.delete(started.id)
        with pytest.raises(openai.NotFoundError):
            a.responses.retrieve(started.id)
    finally:
        for process in (first, second):
            process.terminate()
            process.wait(10)
