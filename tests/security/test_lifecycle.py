"""Items 11 and 12 of issue 14: one owner for a response's life (store decision before the terminal event,
a WebSocket client leaving is not an upstream failure), and log lines that cannot be forged."""

from __future__ import annotations

import json
import time

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway_core.testing import parse_sse, run_gateway, serve_asgi
from gateway_core.testing.servers import run_gateway_process


def test_a_stream_too_big_to_store_says_store_false_in_its_terminal_event() -> None:
    with run_gateway({"store": {"backend": "sqlite", "path": ":memory:", "max_record_bytes": 2000}}) as url:
        body = {"model": "mock", "input": "word " * 1000, "stream": True}
        with httpx.stream("POST", url + "/v1/responses", json=body, timeout=10) as response:
            events, _ = parse_sse(response.read().decode())
        terminal = events[-1]
        assert terminal["type"] == "response.completed"
        assert terminal["response"]["store"] is False
        assert httpx.get(f"{url}/v1/responses/{terminal['response']['id']}").status_code == 404


def test_a_websocket_turn_too_big_to_store_says_store_false() -> None:
    from websockets.sync.client import connect

    with run_gateway({"store": {"backend": "sqlite", "path": ":memory:", "max_record_bytes": 2000}}) as url, \
            connect(url.replace("http", "ws") + "/v1/responses") as socket:
        socket.send(json.dumps({"type": "response.create", "model": "mock", "input": "word " * 1000}))
        while (event := json.loads(socket.recv(timeout=10)))["type"] != "response.completed":
            pass
        assert event["response"]["store"] is False


CONFIG = """
providers:
  mock: {type: mock, options: {delay: 0.05}}
"""


def test_a_websocket_client_leaving_mid_stream_is_not_an_upstream_failure() -> None:
    from websockets.sync.client import connect

    with run_gateway_process(CONFIG) as gateway:
        with connect(gateway.url.replace("http", "ws") + "/v1/responses") as socket:
            socket.send(json.dumps({"type": "response.create", "model": "mock", "input": "word " * 200}))
            socket.recv(timeout=10)
        time.sleep(0.5)
        later = httpx.post(gateway.url + "/v1/responses", json={"model": "mock", "input": "hi"}, timeout=10)
        assert later.status_code == 200
        output = gateway.stop()
    assert "request failed" not in output, output
    assert "Exception in ASGI application" not in output and "Traceback" not in output, output
    assert "WebSocket client left mid-response" in output


FORGED = "2026-01-01 00:00:00,000 WARNING gateway [-] forged"


def hostile_upstream() -> Starlette:
    """An OpenAI-compatible upstream whose 404 echoes a newline, an ANSI escape and a C1 control."""

    async def completions(request: Request) -> JSONResponse:
        message = f"model 'gpt-x\n{FORGED}\x1b[31m\x85' does not exist"
        return JSONResponse({"error": {"message": message, "type": "invalid_request_error", "param": None,
                                       "code": "model_not_found"}}, status_code=404)

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


def test_control_characters_from_an_upstream_never_reach_a_log_line() -> None:
    with serve_asgi(hostile_upstream()) as upstream:
        config = f"""
providers:
  openai: {{type: openai, api_key: sk-test-1234567890, base_url: "{upstream}/v1", options: {{mode: chat_completions}}}}
"""
        with run_gateway_process(config) as gateway:
            response = httpx.post(gateway.url + "/v1/responses", json={"model": "openai/gpt-x", "input": "hi"},
                                  timeout=10)
            assert response.status_code == 404
            output = gateway.stop()
    assert "gpt-x\\n2026-01-01" in output, output
    assert not any(line.startswith("2026-01-01") for line in output.splitlines()), output
    assert "\x1b" not in output and "\x85" not in output


def test_a_websocket_client_leaving_closes_the_upstream_stream() -> None:
    """A regression guard rather than a reproduction: on main the abandoned stream was closed too, later, by
    the garbage collector finalising it; now ``Responder.stream`` closes it (``aclosing``) at once."""
    from websockets.sync.client import connect

    from ..fault_upstream import create_app

    upstream = create_app("A")
    upstream.state.script.append(("trickle", 0.1, 100))
    with serve_asgi(upstream) as upstream_url:
        config = {"providers": {"a": {"type": "openai", "api_key": "sk-test-0001", "base_url": upstream_url + "/v1",
                                      "options": {"mode": "chat_completions"}}}}
        with run_gateway(config) as url:
            with connect(url.replace("http", "ws") + "/v1/responses") as socket:
                socket.send(json.dumps({"type": "response.create", "model": "a/model-a", "input": "hi"}))
                while json.loads(socket.recv(timeout=10))["type"] != "response.output_text.delta":
                    pass
            assert upstream.state.closed.wait(5), "the upstream stream stayed open after the client left"
            # the target's in-flight slot was released: the next request is served
            assert httpx.post(url + "/v1/responses", json={"model": "a/model-a", "input": "hi"},
                              timeout=10).status_code == 200
