"""Streams that survive proxies, over real HTTP: ``: keepalive`` comments while the upstream is quiet (before
the first event, while retries and fallback run unseen, and between events), in every streaming dialect, and
WebSocket pings.

The targets are instances of the real openai plugin (Chat Completions mode) in front of the scriptable fake
upstreams of ``fault_upstream``. Timing assertions are tolerant: comments must not come much sooner than
``keepalive_seconds`` apart, and must come well before a proxy's idle cut would.
"""

from __future__ import annotations

import itertools
import json
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx
import openai
import pytest
from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.uri import parse_uri

from gateway_core.testing import default_validator, parse_sse, run_gateway, serve_asgi

from .fault_upstream import create_app

VALIDATOR = default_validator()
COMMENT = b": keepalive\n\n"


class Gateway:
    """Two fault-injecting upstreams, A and B, behind a gateway with a fallback group ``group`` over them."""

    def __init__(self, stack: ExitStack, keepalive: float, **routing: Any) -> None:
        self.a, self.b = create_app("A"), create_app("B")
        urls = {"a": stack.enter_context(serve_asgi(self.a)), "b": stack.enter_context(serve_asgi(self.b))}
        providers = {
            name: {"type": "openai", "api_key": "sk-keepalive-test-key-0001", "base_url": url + "/v1", "timeout": 90,
                   "options": {"mode": "chat_completions"}}
            for name, url in urls.items()
        }
        group = {"policy": "fallback", "targets": [{"model": "a/model-a"}, {"model": "b/model-b"}]}
        settings = {"keepalive_seconds": keepalive, "max_retries": 0, "backoff_initial": 0.01, "backoff_max": 0.05,
                    "cooldown_failures": 100, **routing}
        self.url = stack.enter_context(run_gateway({"providers": providers, "aliases": {"group": group},
                                                    "routing": settings}))

    def calls(self) -> tuple[int, int]:
        return len(self.a.state.calls), len(self.b.state.calls)


@dataclass
class Received:
    """A streamed answer as the client saw it."""

    status: int
    headers: httpx.Headers
    body: bytes
    comments: list[float]
    """Seconds from the request to the arrival of each keepalive comment."""
    first_event: float | None
    """Seconds from the request to the first bytes that were not comments."""

    def events(self) -> list[dict[str, Any]]:
        """The Open Responses events, the whole stream validated against openapi.json."""
        events, done = parse_sse(self.body)
        VALIDATOR.check_stream(events, done)
        return events

    def comments_before_first_event(self) -> int:
        return sum(1 for at in self.comments if self.first_event is None or at <= self.first_event)


def stream(url: str, path: str, body: dict[str, Any]) -> Received:
    """POST ``body`` and read the streamed answer, timing each keepalive comment."""
    began = time.monotonic()
    chunks: list[bytes] = []
    comments: list[float] = []
    first_event = None
    with httpx.stream("POST", url + path, json=body, timeout=120) as response:
        for chunk in response.iter_raw():
            now = time.monotonic() - began
            count = chunk.count(COMMENT)
            comments.extend([now] * count)
            if first_event is None and chunk.replace(COMMENT, b"").strip():
                first_event = now
            chunks.append(chunk)
        return Received(response.status_code, response.headers, b"".join(chunks), comments, first_event)


def responses(url: str, **body: Any) -> Received:
    return stream(url, "/v1/responses", {"model": "group", "input": "hi", "stream": True, **body})


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def test_comments_every_keepalive_seconds_while_the_upstream_thinks_for_30_seconds(stack: ExitStack) -> None:
    gateway = Gateway(stack, keepalive=5)
    gateway.a.state.script.append(("slow_headers", 30))
    received = responses(gateway.url)
    assert received.status == 200
    assert received.headers["content-type"].startswith("text/event-stream")
    assert received.comments_before_first_event() >= 4, received.comments  # 30 s / 5 s, with slack
    assert received.comments[0] >= 4, "the first comment waits keepalive_seconds"
    assert all(4 <= gap <= 20 for gap in gaps(received.comments)), received.comments
    events = received.events()
    assert events[-1]["response"]["status"] == "completed"
    assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == "from A"
    assert received.body.startswith(COMMENT), "only comments until the first event"


def test_comments_between_events_while_the_upstream_pauses(stack: ExitStack) -> None:
    gateway = Gateway(stack, keepalive=1)
    gateway.a.state.script.append(("trickle", 3.5, 3))  # the first text after 3.5 s, then two more pauses
    received = responses(gateway.url)
    assert received.status == 200 and received.first_event is not None
    between = [at for at in received.comments if at > received.first_event]
    assert len(between) >= 3, received.comments
    events = received.events()
    assert events[-1]["response"]["status"] == "completed"
    assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == "0 1 2 "


def test_fallback_after_a_keepalive_still_answers_from_the_next_target(stack: ExitStack) -> None:
    gateway = Gateway(stack, keepalive=1)
    gateway.a.state.script.append(("late_status", 3, 500))
    received = responses(gateway.url)
    assert received.status == 200
    assert received.comments_before_first_event() >= 2, received.comments
    events = received.events()
    terminal = events[-1]["response"]
    assert terminal["status"] == "completed" and terminal["metadata"]["gateway_provider"] == "b"
    assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == "from B"
    assert gateway.calls() == (1, 1)


def test_every_target_failing_after_a_keepalive_ends_the_stream_failed(stack: ExitStack) -> None:
    gateway = Gateway(stack, keepalive=1)
    gateway.a.state.script.append(("late_status", 2, 500))
    gateway.b.state.script.append(("late_status", 2, 503))
    received = responses(gateway.url)
    assert received.status == 200, "the first comment committed the status"
    assert received.comments_before_first_event() >= 2, received.comments
    events = received.events()
    assert [event["type"] for event in events] == ["response.created", "response.in_progress", "error",
                                                   "response.failed"]
    failed = events[-1]["response"]
    assert failed["status"] == "failed" and failed["error"]["code"] == events[-2]["error"]["code"]
    assert "sk-keepalive-test-key" not in received.body.decode()
    assert gateway.calls() == (1, 1)


def test_a_client_leaving_during_the_wait_frees_the_target(stack: ExitStack) -> None:
    """The wait for the first event is watched for disconnects too: the attempt is cancelled and its
    target's in-flight slot freed, so the next request is not sent past a target that looks busy."""
    gateway = Gateway(stack, keepalive=1, max_in_flight_per_target=1)
    gateway.a.state.script.append(("slow_headers", 5))
    with httpx.stream("POST", gateway.url + "/v1/responses", timeout=30,
                      json={"model": "group", "input": "hi", "stream": True}) as response:
        assert next(response.iter_raw()) == COMMENT
    deadline = time.monotonic() + 15
    answered_by = None
    while answered_by != "a" and time.monotonic() < deadline:
        time.sleep(0.2)
        answered_by = responses(gateway.url).events()[-1]["response"]["metadata"]["gateway_provider"]
    assert answered_by == "a", "the slot of the abandoned attempt was released"


def test_a_failure_before_keepalive_seconds_is_a_plain_json_error(stack: ExitStack) -> None:
    gateway = Gateway(stack, keepalive=5)
    gateway.a.state.script.append(("status", 500))
    gateway.b.state.script.append(("status", 503))
    received = responses(gateway.url)
    assert received.status >= 500 and received.comments == []
    assert received.headers["content-type"] == "application/json"
    body = json.loads(received.body)
    VALIDATOR.validate_error(body)
    assert gateway.calls() == (1, 1)


def test_keepalive_zero_sends_no_comments(stack: ExitStack) -> None:
    gateway = Gateway(stack, keepalive=0)
    gateway.a.state.script.append(("slow_headers", 2.5))
    received = responses(gateway.url)
    assert received.status == 200 and received.comments == []
    assert received.events()[-1]["response"]["status"] == "completed"
    assert received.headers["x-gateway-provider"] == "a"


def test_the_openai_sdk_parses_a_stream_with_comments(stack: ExitStack) -> None:
    gateway = Gateway(stack, keepalive=1)
    gateway.a.state.script.append(("slow_headers", 2.5))
    gateway.a.state.script.append(("slow_headers", 2.5))
    assert responses(gateway.url).comments_before_first_event() >= 1, "this stream has comments"
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0)
    events = list(client.responses.create(model="group", input="hi", stream=True))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "from A"
    assert [event.sequence_number for event in events] == list(range(len(events)))


def test_chat_completions_stream_gets_comments(stack: ExitStack) -> None:
    gateway = Gateway(stack, keepalive=1)
    gateway.a.state.script.extend([("slow_headers", 2.5), ("slow_headers", 2.5)])
    received = stream(gateway.url, "/v1/chat/completions",
                      {"model": "group", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
    assert received.status == 200 and received.comments_before_first_event() >= 1, received.comments
    frames = [block for block in received.body.decode().split("\n\n") if block and not block.startswith(":")]
    assert frames[-1] == "data: [DONE]"
    chunks = [json.loads(frame.removeprefix("data: ")) for frame in frames[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == "from A"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0)
    parts = list(client.chat.completions.create(model="group", messages=[{"role": "user", "content": "hi"}],
                                                stream=True))
    assert "".join(part.choices[0].delta.content or "" for part in parts if part.choices) == "from A"


def test_messages_stream_gets_comments(stack: ExitStack) -> None:
    gateway = Gateway(stack, keepalive=1)
    gateway.a.state.script.extend([("slow_headers", 2.5), ("slow_headers", 2.5)])
    received = stream(gateway.url, "/v1/messages", {"model": "group", "stream": True, "max_tokens": 64,
                                                    "messages": [{"role": "user", "content": "hi"}]})
    assert received.status == 200 and received.comments_before_first_event() >= 1, received.comments
    names = [line[7:] for line in received.body.decode().splitlines() if line.startswith("event: ")]
    assert names[0] == "message_start" and names[-1] == "message_stop"
    assert "from A" in received.body.decode()
    client = anthropic.Anthropic(base_url=gateway.url, api_key="unused", max_retries=0)
    with client.messages.stream(model="group", max_tokens=64, messages=[{"role": "user", "content": "hi"}]) as out:
        assert "".join(out.text_stream) == "from A"


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
def test_dialect_streams_failing_after_a_keepalive_end_with_their_own_error(stack: ExitStack, path: str) -> None:
    gateway = Gateway(stack, keepalive=1)
    gateway.a.state.script.append(("late_status", 2, 500))
    gateway.b.state.script.append(("late_status", 2, 500))
    received = stream(gateway.url, path, {"model": "group", "stream": True, "max_tokens": 64,
                                          "messages": [{"role": "user", "content": "hi"}]})
    assert received.status == 200 and received.comments_before_first_event() >= 2, received.comments
    text = received.body.decode()
    if path == "/v1/chat/completions":
        frames = [block for block in text.split("\n\n") if block and not block.startswith(":")]
        assert frames[-1] == "data: [DONE]" and len(frames) == 2
        assert set(json.loads(frames[0].removeprefix("data: "))["error"]) == {"message", "type", "param", "code"}
    else:
        names = [line[7:] for line in text.splitlines() if line.startswith("event: ")]
        assert names[0] == "message_start" and names[-1] == "error" and "message_stop" not in names
        error = json.loads(text.rsplit("data: ", 1)[1])
        assert error["type"] == "error" and error["error"]["type"] == "api_error"


def test_websocket_connections_are_pinged_while_the_upstream_is_slow(stack: ExitStack) -> None:
    gateway = Gateway(stack, keepalive=1)
    gateway.a.state.script.append(("slow_headers", 4))
    protocol = ClientProtocol(parse_uri(gateway.url.replace("http://", "ws://") + "/v1/responses"))
    host, port = gateway.url.removeprefix("http://").split(":")
    began = time.monotonic()
    pings: list[float] = []
    events: list[dict[str, Any]] = []
    first_event = 0.0
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        protocol.send_request(protocol.connect())
        sock.sendall(b"".join(protocol.data_to_send()))
        sent = False
        while not events or events[-1]["type"] not in ("response.completed", "response.failed", "error"):
            data = sock.recv(65536)
            assert data, "the gateway closed the connection"
            protocol.receive_data(data)
            for event in protocol.events_received():
                if getattr(event, "opcode", None) is Opcode.PING:
                    pings.append(time.monotonic() - began)
                elif getattr(event, "opcode", None) is Opcode.TEXT:
                    events.append(json.loads(event.data))
                    first_event = first_event or time.monotonic() - began
            if not sent and protocol.handshake_exc is None and protocol.state.name == "OPEN":
                protocol.send_text(json.dumps({"type": "response.create", "model": "group", "input": "hi"}).encode())
                sent = True
            sock.sendall(b"".join(protocol.data_to_send()))  # the text message, and pongs
    assert events[-1]["type"] == "response.completed", events[-1]
    assert len([at for at in pings if at < first_event]) >= 2, (pings, first_event)
