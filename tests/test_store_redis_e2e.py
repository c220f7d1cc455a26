"""Two gateway processes on one Redis: a conversation started on instance A continues on instance B."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from gateway_core.testing.servers import run_gateway_process, run_redis_server


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with run_redis_server(tmp_path) as url:
        yield url


def test_conversation_moves_between_instances(tmp_path: Path, redis_url: str) -> None:
    config = f"store: {{backend: redis, url: '{redis_url}'}}\n"
    with run_gateway_process(config) as first, run_gateway_process(config) as second:
        a = openai.OpenAI(base_url=first.url + "/v1", api_key="unused", max_retries=0)
        b = openai.OpenAI(base_url=second.url + "/v1", api_key="unused", max_retries=0)
        started = a.responses.create(model="mock", input="started on A")
        continued = b.responses.create(model="mock", input="history?", previous_response_id=started.id)
        assert continued.output_text == "user:started on A | assistant:started on A | user:history?"
        assert a.responses.retrieve(continued.id).output_text == continued.output_text
        b.responses.delete(started.id)
        with pytest.raises(openai.NotFoundError):
            a.responses.retrieve(started.id)
