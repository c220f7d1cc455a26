"""Traces of the real ``gateway serve`` process, sent by its real OTLP/HTTP exporter to a real receiver
(:mod:`gateway_core.testing.otlp`), in front of each provider's fake upstream and the mock: a server span per
request in the client's trace, a GenAI client span per upstream attempt with the attributes the conventions
name, ``traceparent`` on the upstream request, content only when asked for, and nothing at all with tracing
off. Every request sends its own ``traceparent``, so each test reads only the trace it made."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from gateway_anthropic.testing import fake_upstream as anthropic_fake
from gateway_core.echo import EchoRequest, echo_reply
from gateway_core.testing import (
    OtlpReceiver,
    ReceivedSpan,
    UpstreamRecorder,
    default_validator,
    free_port,
    parse_sse,
    run_otlp_receiver,
    serve_asgi,
)
from gateway_core.testing.servers import run_gateway_process
from gateway_google.testing import fake_upstream as google_fake
from gateway_openai.testing import fake_upstream as openai_fake

VALIDATOR = default_validator()


@dataclass(frozen=True)
class Provider:
    """One provider under test: the model a client names, and what its client spans must say."""

    kind: str
    model: str
    provider_name: str

    @property
    def upstream_model(self) -> str:
        """The model the upstream is asked for (the client's name without the instance)."""
        return self.model.split("/", 1)[1]


PROVIDERS = [Provider("openai", "openai/gpt-4o-mini", "openai"),
             Provider("anthropic", "anthropic/claude-sonnet-4-5", "anthropic"),
             Provider("google", "google/gemini-2.5-flash", "gcp.gemini"),
             Provider("mock", "mock/mock", "mock")]
IDS = [provider.kind for provider in PROVIDERS]
PROMPT = "one two three four say:done"


def _config(urls: dict[str, str], tracing: dict[str, Any]) -> str:
    providers = {
        "mock": {"type": "mock", "models": ["mock"]},
        "openai": {"type": "openai", "api_key": "sk-test-openai-0000", "base_url": urls["openai"] + "/v1"},
        "anthropic": {"api_key": "sk-ant-test-000000", "base_url": urls["anthropic"]},
        "google": {"api_key": "gm-test-0000000000", "base_url": urls["google"]},
        "dead": {"type": "openai", "api_key": "sk-test-openai-0001", "base_url": f"http://127.0.0.1:{free_port()}/v1"},
    }
    aliases = {"tolerant": {"targets": [{"model": "dead/gpt-4o-mini", "max_retries": 0},
                                        {"model": "anthropic/claude-sonnet-4-5"}]}}
    return json.dumps({"providers": providers, "aliases": aliases, "tracing": tracing,
                       "routing": {"max_retries": 1, "backoff_initial": 0.01, "explore": 0}})  # JSON is YAML


def _exporting_to(receiver: OtlpReceiver, **extra: str) -> dict[str, str]:
    """The environment pointing the gateway's exporter at ``receiver``, exporting every 50 ms."""
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "50",
            "OTEL_SERVICE_NAME": "gateway-under-test", **extra}


@dataclass
class Setup:
    """The fakes (recording what they received), the receiver and the gateways in front of them."""

    upstreams: dict[str, UpstreamRecorder]
    urls: dict[str, str]
    receiver: OtlpReceiver
    traced: str
    """A gateway with ``tracing.enabled``."""
    capturing: str
    """A gateway with ``tracing.capture_content`` too (its exporter gzips)."""


@pytest.fixture(scope="module")
def setup() -> Iterator[Setup]:
    upstreams = {"openai": UpstreamRecorder(openai_fake.create_app()),
                 "anthropic": UpstreamRecorder(anthropic_fake.create_app()),
                 "google": UpstreamRecorder(google_fake.create_app())}
    with ExitStack() as stack:
        urls = {name: stack.enter_context(serve_asgi(app)) for name, app in upstreams.items()}
        receiver = stack.enter_context(run_otlp_receiver())
        traced = stack.enter_context(run_gateway_process(_config(urls, {"enabled": True}),
                                                         env=_exporting_to(receiver)))
        capturing = stack.enter_context(run_gateway_process(
            _config(urls, {"enabled": True, "capture_content": True}),
            env=_exporting_to(receiver, OTEL_EXPORTER_OTLP_COMPRESSION="gzip")))
        yield Setup(upstreams, urls, receiver, traced.url, capturing.url)


@dataclass
class Traced:
    """A request sent in a client's trace, and the spans of that trace."""

    response: httpx.Response
    body: dict[str, Any]
    trace_id: str
    client_span_id: str
    spans: list[ReceivedSpan]

    @property
    def server(self) -> ReceivedSpan:
        """The one server span of the request."""
        servers = [span for span in self.spans if span.kind == "SERVER"]
        assert len(servers) == 1, servers
        return servers[0]

    @property
    def attempts(self) -> list[ReceivedSpan]:
        """The GenAI client spans (one per upstream attempt), oldest first."""
        return [span for span in self.spans if span.kind == "CLIENT" and "gen_ai.operation.name" in span.attributes]

    @property
    def transport(self) -> list[ReceivedSpan]:
        """The HTTP client spans of OpenTelemetry's aiohttp instrumentation (one per upstream request)."""
        return [span for span in self.spans if span.kind == "CLIENT" and "gen_ai.operation.name" not in span.attributes]


def _send(setup: Setup, gateway: str, provider: Provider, prompt: str, *, stream: bool = False,
          attempts: int = 1) -> Traced:
    """POST ``prompt`` to ``gateway`` in a new client trace; wait for the server span and ``attempts`` client
    spans (and, for an HTTP upstream, as many transport spans)."""
    trace_id, span_id = os.urandom(16).hex(), os.urandom(8).hex()
    response = httpx.post(gateway + "/v1/responses", json={"model": provider.model, "input": prompt, "stream": stream},
                          headers={"traceparent": f"00-{trace_id}-{span_id}-01"}, timeout=60)
    if stream and response.status_code == 200:
        events, done = parse_sse(response.content)
        body = VALIDATOR.check_stream(events, done)
    else:
        body = response.json()
    transports = attempts if provider.kind != "mock" else 0

    def complete(spans: list[ReceivedSpan]) -> bool:
        mine = [span for span in spans if span.trace_id == trace_id]
        servers = sum(span.kind == "SERVER" for span in mine)
        clients = sum(span.kind == "CLIENT" for span in mine)
        return servers >= 1 and clients >= attempts + transports

    spans = [span for span in setup.receiver.wait_for(complete) if span.trace_id == trace_id]
    return Traced(response, body, trace_id, span_id, spans)


def _upstream_requests(setup: Setup, provider: Provider, trace_id: str) -> list[dict[str, str]]:
    """The headers of the requests ``provider``'s fake received in trace ``trace_id``."""
    return [request.headers for request in setup.upstreams[provider.kind].requests
            if request.headers.get("traceparent", "").split("-")[1:2] == [trace_id]]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "streamed"])
@pytest.mark.parametrize("provider", PROVIDERS, ids=IDS)
def test_a_server_span_in_the_clients_trace_and_a_genai_client_span(setup: Setup, provider: Provider,
                                                                       stream: bool) -> None:
    traced = _send(setup, setup.traced, provider, PROMPT, stream=stream)
    assert traced.response.status_code == 200, traced.response.text
    server = traced.server
    assert server.parent_span_id == traced.client_span_id, "the server span is the child of the client's span"
    assert server.name == "POST /v1/responses"
    assert server.attributes["http.response.status_code"] == 200
    assert server.status == "UNSET"
    assert server.resource["service.name"] == "gateway-under-test", "OTEL_SERVICE_NAME names the service"
    [attempt] = traced.attempts
    assert attempt.parent_span_id == server.span_id
    assert attempt.name == f"chat {provider.upstream_model}"
    expected = echo_reply(EchoRequest(turns=[("user", PROMPT)]))
    assert (expected.input_tokens, expected.output_tokens) == (5, 1)
    attributes = attempt.attributes
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == provider.provider_name
    assert attributes["gen_ai.request.model"] == provider.upstream_model
    assert attributes["gen_ai.request.stream"] is stream
    assert attributes["gateway.instance"] == provider.kind
    if provider.kind != "mock":
        assert f"http://{attributes['server.address']}:{attributes['server.port']}" == setup.urls[provider.kind]
    else:
        assert "server.address" not in attributes, "an in-process provider has no server"
    assert attributes["gen_ai.response.model"] == provider.upstream_model
    assert attributes["gen_ai.response.id"] == traced.body["id"]
    assert attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert attributes["gen_ai.usage.input_tokens"] == expected.input_tokens == traced.body["usage"]["input_tokens"]
    assert attributes["gen_ai.usage.output_tokens"] == expected.output_tokens == traced.body["usage"]["output_tokens"]
    assert "error.type" not in attributes and attempt.status == "UNSET"
    assert "gen_ai.input.messages" not in attributes and "gen_ai.output.messages" not in attributes, (
        "no content without tracing.capture_content")


@pytest.mark.parametrize("provider", [p for p in PROVIDERS if p.kind != "mock"], ids=IDS[:-1])
def test_the_upstream_request_carries_traceparent_in_the_same_trace(setup: Setup, provider: Provider) -> None:
    traced = _send(setup, setup.traced, provider, PROMPT)
    assert traced.response.status_code == 200, traced.response.text
    [headers] = _upstream_requests(setup, provider, traced.trace_id)
    version, trace_id, parent_id, flags = headers["traceparent"].split("-")
    assert (version, trace_id) == ("00", traced.trace_id)
    assert int(flags, 16) & 1, "sampled, as the client's trace is"
    [http] = traced.transport
    [attempt] = traced.attempts
    assert parent_id == http.span_id, "the upstream's parent is the HTTP request's span"
    assert http.parent_span_id == attempt.span_id, "which is the child of the attempt's GenAI span"
    assert str(http.attributes.get("http.status_code", http.attributes.get("http.response.status_code"))) == "200"


@pytest.mark.parametrize("provider", PROVIDERS, ids=IDS)
def test_a_retried_request_has_a_client_span_per_attempt(setup: Setup, provider: Provider) -> None:
    traced = _send(setup, setup.traced, provider, "error:503", attempts=2)
    assert traced.response.status_code == 503, traced.response.text
    server = traced.server
    assert server.attributes["http.response.status_code"] == 503
    assert server.status == "ERROR"
    attempts = traced.attempts
    assert len(attempts) == 2, "routing.max_retries: 1 makes two attempts"
    for attempt in attempts:
        assert attempt.parent_span_id == server.span_id
        assert attempt.status == "ERROR"
        assert attempt.attributes["error.type"]
        assert attempt.attributes["gen_ai.provider.name"] == provider.provider_name
        assert "gen_ai.response.id" not in attempt.attributes
    if provider.kind != "mock":
        assert len(_upstream_requests(setup, provider, traced.trace_id)) == 2, "each attempt reached the upstream"


def test_a_fallback_is_one_more_client_span_for_the_next_target(setup: Setup) -> None:
    tolerant = Provider("anthropic", "tolerant", "anthropic")
    traced = _send(setup, setup.traced, tolerant, PROMPT, attempts=2)
    assert traced.response.status_code == 200, traced.response.text
    refused, answered = sorted(traced.attempts, key=lambda span: "gen_ai.response.id" in span.attributes)
    assert refused.attributes["gen_ai.provider.name"] == "openai" and refused.attributes["gateway.instance"] == "dead"
    assert refused.status == "ERROR" and refused.attributes["error.type"]
    assert answered.attributes["gen_ai.provider.name"] == "anthropic"
    assert answered.attributes["gen_ai.response.model"] == "claude-sonnet-4-5"
    assert answered.attributes["gen_ai.response.id"] == traced.body["id"]
    assert {refused.parent_span_id, answered.parent_span_id} == {traced.server.span_id}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "streamed"])
@pytest.mark.parametrize("provider", PROVIDERS, ids=IDS)
def test_content_is_recorded_only_with_capture_content(setup: Setup, provider: Provider, stream: bool) -> None:
    traced = _send(setup, setup.capturing, provider, PROMPT, stream=stream)
    assert traced.response.status_code == 200, traced.response.text
    [attempt] = traced.attempts
    assert PROMPT in attempt.attributes["gen_ai.input.messages"]
    output = json.loads(attempt.attributes["gen_ai.output.messages"])
    texts = [part["text"] for item in output if item["type"] == "message" for part in item["content"]]
    assert texts == ["done"]


@pytest.mark.parametrize("provider", [PROVIDERS[0], PROVIDERS[-1]], ids=["openai", "mock"])
def test_a_stream_the_client_left_still_ends_its_spans(setup: Setup, provider: Provider) -> None:
    trace_id, span_id = os.urandom(16).hex(), os.urandom(8).hex()
    host, port = setup.traced.removeprefix("http://").split(":")
    body = json.dumps({"model": provider.model, "input": "endless!", "stream": True}).encode()
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(b"POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"traceparent: 00-" + f"{trace_id}-{span_id}".encode() + b"-01\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        received = b""
        while b"response.output_text.delta" not in received:  # text is flowing: now hang up
            chunk = conn.recv(65536)
            assert chunk, f"the stream ended before any text: {received!r}"
            received += chunk
    spans = setup.receiver.trace(trace_id, 2)
    [server] = [span for span in spans if span.kind == "SERVER"]
    [attempt] = [span for span in spans if span.kind == "CLIENT" and "gen_ai.operation.name" in span.attributes]
    assert attempt.parent_span_id == server.span_id
    assert attempt.attributes["error.type"] == "client_disconnected"
    assert "gen_ai.response.id" not in attempt.attributes, "no response was finished"


def test_a_request_without_traceparent_starts_a_trace(setup: Setup) -> None:
    before = {span.trace_id for span in setup.receiver.spans}
    response = httpx.post(setup.traced + "/v1/responses", json={"model": "mock/mock", "input": "a new trace"},
                          timeout=60)
    assert response.status_code == 200

    def arrived(spans: list[ReceivedSpan]) -> bool:
        return any(span.kind == "SERVER" and span.trace_id not in before and span.parent_span_id is None
                   for span in spans)

    server = next(span for span in setup.receiver.wait_for(arrived)
                  if span.kind == "SERVER" and span.trace_id not in before)
    assert server.parent_span_id is None and int(server.trace_id, 16) != 0


def test_tracing_off_sends_nothing(setup: Setup) -> None:
    before = {kind: len(recorder.requests) for kind, recorder in setup.upstreams.items()}
    with run_otlp_receiver() as receiver:
        with run_gateway_process(_config(setup.urls, {"enabled": False}), env=_exporting_to(receiver)) as gateway:
            for provider in PROVIDERS:
                response = httpx.post(gateway.url + "/v1/responses", json={"model": provider.model, "input": PROMPT},
                                      headers={"traceparent": f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01"},
                                      timeout=60)
                assert response.status_code == 200, response.text
        # the process has stopped (an exporter would have flushed on shutdown)
        assert receiver.exports == 0 and receiver.spans == []
    for kind, recorder in setup.upstreams.items():
        [call] = [request for request in recorder.requests[before[kind]:] if request.method == "POST"]
        assert "traceparent" not in call.headers, f"{kind}: no trace context goes upstream with tracing off"
