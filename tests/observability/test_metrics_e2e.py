"""``/metrics`` scraped from the real gateway process after JSON, streamed, failing, retried and cancelled
requests, parsed by prometheus-client's own parser; with one worker and with two (multiprocess mode); and
the access log as JSON lines."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway_core.testing.servers import run_gateway_process

CONFIG = """\
providers:
  mock: {type: mock, models: [mock]}
  slowmock: {type: mock, models: [mock], options: {delay: 0.2}}
routing: {max_retries: 1, backoff_initial: 0.01}
server: {log_format: json}
"""


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _value(samples: dict, name: str, **labels: str) -> float:
    """The sum of ``name`` over the samples whose labels include ``labels``."""
    return sum(value for (sample, sample_labels), value in samples.items()
               if sample == name and set(labels.items()) <= set(sample_labels))


def _cancel_a_stream(url: str) -> None:
    """Open a slow stream on a raw socket, read its first bytes, and hang up."""
    host, port = url.removeprefix("http://").split(":")
    body = json.dumps({"model": "slowmock/mock", "input": "one two three four five six", "stream": True}).encode()
    with socket.create_connection((host, int(port))) as conn:
        conn.sendall(b"POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        assert b"200 OK" in conn.recv(4096)


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[object]:
    with run_gateway_process(CONFIG) as running:
        yield running


def test_the_counts_and_sums_after_every_kind_of_request(gateway) -> None:  # type: ignore[no-untyped-def]
    url = gateway.url
    with httpx.Client(base_url=url, timeout=30) as http:
        for _ in range(3):
            assert http.post("/v1/responses", json={"model": "mock/mock", "input": "four words for you"}
                             ).status_code == 200
        streamed = http.post("/v1/responses", json={"model": "mock/mock", "input": "two words", "stream": True})
        assert streamed.status_code == 200
        assert http.post("/v1/responses", json={"model": "mock/mock", "input": "error:400"}).status_code == 400
        assert http.post("/v1/responses", json={"model": "mock/mock", "input": "error:503"}).status_code == 503
        assert http.post("/v1/responses", json={"model": "nobody/none", "input": "x"}).status_code == 404
        _cancel_a_stream(url)
        time.sleep(0.6)
        scraped = http.get("/metrics")
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    samples = _samples(scraped.text)
    ok_json = _value(samples, "gateway_requests_total", route="responses", instance="mock", model="mock",
                     status="200", stream="false")
    assert ok_json == 3
    assert _value(samples, "gateway_requests_total", instance="mock", status="200", stream="true") == 1
    assert _value(samples, "gateway_requests_total", status="400") == 1
    assert _value(samples, "gateway_requests_total", status="503") == 1
    assert _value(samples, "gateway_requests_total", status="404", code="model_not_found") == 1
    assert _value(samples, "gateway_upstream_retries_total", instance="mock") == 1
    assert _value(samples, "gateway_client_disconnects_total", route="responses") == 1
    # every answered request is in the duration and overhead histograms, each once
    assert _value(samples, "gateway_request_duration_seconds_count") == _value(samples, "gateway_requests_total")
    assert _value(samples, "gateway_overhead_seconds_count") == _value(samples, "gateway_requests_total")
    overhead = _value(samples, "gateway_overhead_seconds_sum") / _value(samples, "gateway_overhead_seconds_count")
    assert 0 < overhead < 0.5
    # tokens by type: the mock counts words
    assert _value(samples, "gateway_tokens_total", instance="mock", type="output") == 3 * 4 + 2
    assert _value(samples, "gateway_stream_first_event_seconds_count", instance="mock") >= 1
    assert _value(samples, "gateway_requests_in_flight") == 1  # the scrape itself
    assert _value(samples, "gateway_streams_in_flight") == 0
    # bounded labels: an unconfigured model name is "other", never the client's string
    assert all(dict(labels).get("model") in ("mock", "other", "none") for (name, labels) in samples
               if name == "gateway_requests_total")


def test_access_log_lines_are_json_with_the_fields(tmp_path: Path) -> None:
    with run_gateway_process(CONFIG) as running:
        with httpx.Client(base_url=running.url) as http:
            http.post("/v1/responses", headers={"x-claude-code-session-id": "sess-42", "x-request-id": "req-7"},
                      json={"model": "mock/mock", "input": "secret prompt words"})
            http.post("/v1/responses", json={"model": "mock/mock", "input": "error:503"})
            http.post("/v1/responses", headers={"x-request-id": "req-codex-header", "session-id": "codex-sess-1"},
                      json={"model": "mock/mock", "input": "hi"})
            http.post("/v1/responses", headers={"x-request-id": "req-codex-body"},
                      json={"model": "mock/mock", "input": "hi", "client_metadata": {"session_id": "codex-sess-2"}})
            http.post("/v1/chat/completions", headers={"x-request-id": "req-chat"},
                      json={"model": "mock/mock", "messages": [{"role": "user", "content": "hi"}]})
            http.post("/v1/messages", headers={"x-request-id": "req-messages"},
                      json={"model": "mock/mock", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]})
        output = running.stop()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    first = next(line for line in lines if line.get("request_id") == "req-7")
    for field in ("time", "route", "model", "instance", "upstream_model", "status", "stream", "input_tokens",
                  "output_tokens", "duration_ms", "retries", "fallback"):
        assert field in first, field
    assert first["session_id"] == "sess-42" and first["status"] == 200 and first["instance"] == "mock"
    assert "secret prompt" not in output  # no prompt content in any log line
    by_id = {line["request_id"]: line for line in lines if "request_id" in line}
    assert by_id["req-codex-header"]["session_id"] == "codex-sess-1"  # Codex CLI's header
    assert by_id["req-codex-body"]["session_id"] == "codex-sess-2"  # Codex CLI's client_metadata
    assert by_id["req-chat"]["route"] == "chat_completions" and by_id["req-chat"]["status"] == 200
    assert by_id["req-messages"]["route"] == "messages" and by_id["req-messages"]["status"] == 200
    failed = next(line for line in lines if line.get("status") == 503)
    assert failed["error_code"] and failed["retries"] == 1


def test_two_workers_report_the_sum_of_both() -> None:
    config = CONFIG.replace("server: {log_format: json}", "server: {log_format: json, workers: 2}") + (
        "compaction: {key: a-shared-secret-for-both-workers}\n")
    with run_gateway_process(config) as running, httpx.Client(base_url=running.url) as http:
        for _ in range(20):  # a new connection each time: the kernel spreads them over both workers
            answer = http.post("/v1/responses", json={"model": "mock/mock", "input": "hi"},
                               headers={"connection": "close"})
            assert answer.status_code == 200
        for _ in range(6):  # whichever worker answers the scrape, it reports both workers' counts
            samples = _samples(http.get("/metrics", headers={"connection": "close"}).text)
            assert _value(samples, "gateway_requests_total", route="responses", status="200") == 20


def test_log_stream_stdout_puts_every_line_on_stdout(tmp_path: Path) -> None:
    """What the container image runs (``--log-stream stdout``): access and server lines on stdout, none on stderr."""
    import subprocess
    import sys

    from gateway_core.testing.servers import free_port

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "gateway_core", "serve", "--host", "127.0.0.1", "--port",
                                str(port), "--log-stream", "stdout"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.post(f"http://127.0.0.1:{port}/v1/responses", json={"model": "mock", "input": "hi"},
                              headers={"x-request-id": "to-stdout"}).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert b"request_id=to-stdout" in out and b"Uvicorn running" in out
    assert err == b""
