"""Every 4xx the gateway answers itself is logged at info level with the request id and the reason, on every
endpoint and dialect (the real ``gateway serve``, its log read from its output)."""

from __future__ import annotations

import re

import httpx

from gateway_core.testing.servers import run_gateway_process

REFUSALS = [  # (request id, method, path, body, content type, status, what the line must name)
    ("rid-bad-json", "POST", "/v1/responses", b'{"model": "mock", "input": ', "application/json", 400, "invalid_json"),
    ("rid-form", "POST", "/v1/responses", b"model=mock", "application/x-www-form-urlencoded", 415, "415"),
    ("rid-params", "POST", "/v1/responses", b'{"model": "mock", "input": "hi", "temperature": 9, "top_p": 7}',
     "application/json", 400, "temperature"),
    ("rid-model", "POST", "/v1/responses", b'{"model": "no-such-model", "input": "hi"}', "application/json", 404,
     "no-such-model"),
    ("rid-chat", "POST", "/v1/chat/completions", b'{"model": "mock", "messages": "x"}', "application/json", 400,
     "messages"),
    ("rid-messages", "POST", "/v1/messages", b'{"model": "mock", "max_tokens": -1, "messages": []}',
     "application/json", 400, "max_tokens"),
    ("rid-stored", "GET", "/v1/responses/resp_doesnotexist", b"", "application/json", 404, "resp_doesnotexist"),
    ("rid-compact", "POST", "/v1/responses/compact", b"[]", "application/json", 400, "400"),
]


def test_every_refusal_is_logged_with_request_id_and_reason() -> None:
    with run_gateway_process() as gateway:
        for request_id, method, path, body, content_type, status, _ in REFUSALS:
            answer = httpx.request(method, gateway.url + path, content=body or None,
                                   headers={"content-type": content_type, "x-request-id": request_id})
            assert answer.status_code == status, (path, answer.text)
            assert "error" in answer.json()
        output = gateway.stop()
    lines = output.splitlines()
    for request_id, _, path, _, _, status, reason in REFUSALS:
        found = [line for line in lines if f"[{request_id}]" in line and "refused with" in line]
        assert len(found) == 1, (request_id, path, output[-3000:])
        line = found[0]
        assert " INFO " in line and f"refused with {status} " in line and reason in line, line
    assert not any(re.search(r"Traceback|ERROR", line) for line in lines), output[-3000:]
