"""Conversation state as clients meet it: the official openai SDK's previous_response_id, retrieve,
input_items.list, delete and the WebSocket mode (responses.connect), plus what lands in the database.

Every provider runs the same chains against its own fake upstream in its conformance suite; these tests
add what needs the whole gateway: the SQLite file itself, a restart, expiry, and the WebSocket transport.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import websockets.sync.client as ws_client

from gateway_core.testing import default_validator, run_gateway

VALIDATOR = default_validator()
WEATHER = {"type": "function", "name": "get_weather", "description": "Weather",
           "parameters": {"type": "object", "properties": {"text": {"type": "string"}}}, "strict": False}


def config(path: Path, **store: Any) -> dict[str, Any]:
    return {"store": {"backend": "sqlite", "path": str(path), **store}}


def rows(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]


def settled_rows(path: Path, expected: int) -> int:
    """Rows once the expected ones were written (responses are stored right after they are answered)."""
    deadline = time.monotonic() + 5
    while rows(path) < expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return rows(path)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "responses.sqlite3"


@pytest.fixture
def gateway(store_path: Path) -> Iterator[str]:
    with run_gateway(config(store_path)) as url:
        yield url


def sdk(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)


def test_sdk_chain_retrieve_list_delete(gateway: str) -> None:
    client = sdk(gateway)
    first = client.responses.create(model="mock", input="one", instructions="Be brief.")
    second = client.responses.create(model="mock", input="two", previous_response_id=first.id)
    third = client.responses.create(model="mock", input="history?", previous_response_id=second.id)
    assert third.output_text == "user:one | assistant:one | user:two | assistant:two | user:history?"
    assert third.previous_response_id == second.id

    fetched = client.responses.retrieve(third.id)
    assert fetched.id == third.id and fetched.output_text == third.output_text
    VALIDATOR.validate_response(httpx.get(f"{gateway}/v1/responses/{third.id}").json())

    items = client.responses.input_items.list(third.id, order="asc")
    texts = [item.content[0].text for item in items.data]  # type: ignore[union-attr]
    assert texts == ["one", "one", "two", "two", "history?"]
    assert all(item.id for item in items.data)
    page = client.responses.input_items.list(third.id, order="asc", limit=2, after=items.data[1].id)
    assert [item.content[0].text for item in page.data] == ["two", "two"] and page.has_more  # type: ignore[union-attr]

    client.responses.delete(third.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(third.id)
    with pytest.raises(openai.NotFoundError) as gone:
        client.responses.create(model="mock", input="x", previous_response_id=third.id)
    assert gone.value.code == "previous_response_not_found"


def test_two_step_tool_loop_sends_only_the_tool_output(gateway: str) -> None:
    client = sdk(gateway)
    first = client.responses.create(model="mock", input="Paris", tools=[WEATHER])  # type: ignore[list-item]
    call = next(item for item in first.output if item.type == "function_call")
    second = client.responses.create(
        model="mock", previous_response_id=first.id, tools=[WEATHER],  # type: ignore[list-item]
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}])
    assert second.output_text == "tool said: sunny"
    third = client.responses.create(model="mock", input="history?", previous_response_id=second.id)
    assert third.output_text.startswith("user:Paris | assistant:call get_weather(")


def test_item_reference_as_the_ai_sdk_sends_it(gateway: str) -> None:
    first = httpx.post(gateway + "/v1/responses", json={"model": "mock", "input": "hello"}).json()
    body = {"model": "mock", "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "hello"}]},
        {"type": "item_reference", "id": first["output"][0]["id"]},
        {"role": "user", "content": [{"type": "input_text", "text": "history?"}]},
    ]}
    answer = httpx.post(gateway + "/v1/responses", json=body).json()
    assert answer["output"][0]["content"][0]["text"] == "user:hello | assistant:hello | user:history?"
    wrong_place = {"model": "mock", "input": [{"role": "user", "content": "a"}, {"type": "item_reference",
                                                                                  "id": first["id"]}]}
    error = httpx.post(gateway + "/v1/responses", json=wrong_place)
    assert error.status_code == 400 and error.json()["error"]["param"] == "input[1].id"


def test_store_false_writes_nothing(gateway: str, store_path: Path) -> None:
    client = sdk(gateway)
    client.responses.create(model="mock", input="kept")
    before = settled_rows(store_path, 1)
    unstored = client.responses.create(model="mock", input="secret", store=False)
    streamed = list(client.responses.create(model="mock", input="secret stream", store=False, stream=True))
    assert unstored.store is False and streamed[-1].response.store is False  # type: ignore[union-attr]
    assert rows(store_path) == before == 1
    with sqlite3.connect(store_path) as db:
        assert not db.execute("SELECT 1 FROM responses WHERE record LIKE '%secret%'").fetchall()


def test_a_stored_conversation_survives_a_restart(store_path: Path) -> None:
    with run_gateway(config(store_path)) as url:
        first = sdk(url).responses.create(model="mock", input="before restart")
    with run_gateway(config(store_path)) as url:
        after = sdk(url).responses.create(model="mock", input="history?", previous_response_id=first.id)
    assert after.output_text == "user:before restart | assistant:before restart | user:history?"


def test_expired_responses_are_gone(store_path: Path) -> None:
    with run_gateway(config(store_path, retention_days=0.3 / 86400)) as url:
        first = httpx.post(url + "/v1/responses", json={"model": "mock", "input": "short-lived"}).json()
        time.sleep(0.5)
        late = httpx.post(url + "/v1/responses", json={"model": "mock", "input": "x",
                                                       "previous_response_id": first["id"]})
    assert late.status_code == 404 and late.json()["error"]["code"] == "previous_response_not_found"


def test_store_default_false_and_backend_none(tmp_path: Path) -> None:
    with run_gateway({**config(tmp_path / "s.sqlite3"), "store_default": False}) as url:
        body = httpx.post(url + "/v1/responses", json={"model": "mock", "input": "x"}).json()
        assert body["store"] is False
        assert httpx.post(url + "/v1/responses", json={"model": "mock", "input": "x", "store": True}).json()["store"]
    with run_gateway({"store": {"backend": "none"}}) as url:
        assert httpx.post(url + "/v1/responses", json={"model": "mock", "input": "x"}).json()["store"] is False


# -- the WebSocket mode ---------------------------------------------------------------------------------

def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/v1/responses"


def turn(socket: Any, message: dict[str, Any]) -> list[dict[str, Any]]:
    socket.send(json.dumps({"type": "response.create", **message}))
    events = []
    while True:
        event = json.loads(socket.recv(timeout=10))
        events.append(event)
        if event["type"] in ("response.completed", "response.incomplete", "response.failed", "error"):
            return events


def test_websocket_store_false_chain_and_errors(gateway: str, store_path: Path) -> None:
    with ws_client.connect(ws_url(gateway)) as socket:
        first = turn(socket, {"model": "mock", "store": False, "input": "one"})
        VALIDATOR.check_stream(first, done=True)
        first_id = first[-1]["response"]["id"]
        second = turn(socket, {"model": "mock", "store": False, "previous_response_id": first_id,
                               "input": [{"role": "user", "content": "history?"}]})
        VALIDATOR.check_stream(second, done=True)
        assert second[-1]["response"]["output"][0]["content"][0]["text"] == "user:one | assistant:one | user:history?"
        second_id = second[-1]["response"]["id"]

        socket.send("not json")
        error = json.loads(socket.recv(timeout=10))
        VALIDATOR.validate("WebSocketErrorEvent", error)
        assert (error["status"], error["error"]["code"]) == (400, "invalid_json")
        socket.send(json.dumps({"type": "response.cancel"}))
        assert json.loads(socket.recv(timeout=10))["error"]["code"] == "invalid_event_type"
        socket.send(json.dumps({"type": "response.create", "model": "mock", "input": "x", "stream": True}))
        assert json.loads(socket.recv(timeout=10))["error"]["param"] == "stream"

        failed = turn(socket, {"model": "mock", "store": False, "previous_response_id": second_id,
                               "input": "error:400"})
        assert failed[-1]["type"] == "error" and failed[-1]["status"] == 400
        evicted = turn(socket, {"model": "mock", "store": False, "previous_response_id": second_id, "input": "x"})
        assert evicted[-1]["error"]["code"] == "previous_response_not_found", "evicted after a failed continuation"
        assert turn(socket, {"model": "mock", "input": "still serving"})[-1]["type"] == "response.completed"
    assert settled_rows(store_path, 1) == 1, "only the store: true turn reached the database"


def test_websocket_continues_a_stored_response_with_the_sdk(gateway: str) -> None:
    stored = sdk(gateway).responses.create(model="mock", input="from http")
    with sdk(gateway).responses.connect() as connection:
        connection.response.create(model="mock", input="history?", previous_response_id=stored.id)
        events = []
        for event in connection:
            events.append(event)
            if event.type == "response.completed":
                break
    assert events[-1].response.output_text == "user:from http | assistant:from http | user:history?"


def test_websocket_connection_limit() -> None:
    with run_gateway({"server": {"websocket_max_seconds": 0.3}}) as url, ws_client.connect(ws_url(url)) as socket:
        assert turn(socket, {"model": "mock", "input": "quick"})[-1]["type"] == "response.completed"
        error = json.loads(socket.recv(timeout=5))
        VALIDATOR.validate("WebSocketErrorEvent", error)
        assert error["error"]["code"] == "websocket_connection_limit_reached"
