"""The fake upstream speaks the real wire formats: each official SDK's typed path (pydantic models, its own SSE
parsing) reads every answer, JSON and streamed, as it reads the real service's. An SDK that is not installed
is skipped."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .processes import free_port

REPO = Path(__file__).resolve().parents[2]
TEXT = "".join(f"tok{index:02d} " for index in range(20))


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    """``python -m tests.bench.upstream`` on a free port; its base URL."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.bench.upstream", "--port", str(port)], cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/_bench/stats", timeout=1).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "the fake upstream did not start"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def test_openai_responses(upstream: str) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=upstream + "/v1", api_key="sk-test", max_retries=0)
    response = client.responses.create(model="gpt-4o-mini", input="hi")
    assert response.output_text == TEXT and response.usage is not None and response.status == "completed"
    with client.responses.stream(model="gpt-4o-mini", input="hi") as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        assert stream.get_final_response().output_text == TEXT
    assert len(deltas) == 20 and "".join(deltas) == TEXT


def test_openai_chat_completions(upstream: str) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=upstream + "/v1", api_key="sk-test", max_retries=0)
    messages = [{"role": "user", "content": "hi"}]
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert completion.choices[0].message.content == TEXT and completion.choices[0].finish_reason == "stop"
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=messages,
                                                 stream=True, stream_options={"include_usage": True}))
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices) == TEXT
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 20


def test_anthropic_messages(upstream: str) -> None:
    anthropic = pytest.importorskip("anthropic")
    client = anthropic.Anthropic(base_url=upstream, api_key="sk-test", max_retries=0)
    messages = [{"role": "user", "content": "hi"}]
    message = client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=messages)
    assert message.content[0].text == TEXT and message.stop_reason == "end_turn"
    with client.messages.stream(model="claude-sonnet-4-5", max_tokens=64, messages=messages) as stream:
        assert "".join(stream.text_stream) == TEXT
        assert stream.get_final_message().usage.output_tokens == 20


def test_gemini_generate_content(upstream: str) -> None:
    genai = pytest.importorskip("google.genai")
    types = pytest.importorskip("google.genai.types")
    client = genai.Client(api_key="test", http_options=types.HttpOptions(base_url=upstream, api_version="v1beta"))
    assert client.models.generate_content(model="gemini-2.5-flash", contents="hi").text == TEXT
    chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"))
    assert len(chunks) == 20 and "".join(chunk.text or "" for chunk in chunks) == TEXT
    assert chunks[-1].candidates[0].finish_reason == "STOP"
