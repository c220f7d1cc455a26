"""/v1/responses/compact through the official openai SDK: the gateway compacts and seals, then expands."""

from __future__ import annotations

import httpx
import openai
import pytest

from gateway_core.testing import default_validator, run_gateway

VALIDATOR = default_validator()
KEY = {"compaction": {"key": "test-compaction-secret-1"}}


def test_sdk_compact_then_continue_and_restart_with_the_same_key() -> None:
    with run_gateway(KEY) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
        first = client.responses.create(model="mock", input="remember the number 42")
        compacted = client.responses.compact(model="mock", previous_response_id=first.id)
        assert [item.type for item in compacted.output] == ["message", "compaction"]
        raw = httpx.post(url + "/v1/responses/compact", json={"model": "mock", "previous_response_id": first.id})
        VALIDATOR.validate("CompactResource", raw.json())
        window = [item.model_dump(exclude_none=True, warnings=False) for item in compacted.output]
    with run_gateway(KEY) as url:  # another process with the same key opens it
        client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
        follow = client.responses.create(model="mock", input=[*window, {"role": "assistant", "content": "ok"},
                                                              {"role": "user", "content": "history?"}])
        assert "user:Summary of the earlier conversation" in follow.output_text


@pytest.mark.parametrize("mangle", [lambda blob: blob[:-6] + "AAAAAA", lambda blob: "gAAAA" + blob[5:],
                                    lambda blob: blob.replace("gwc1.", "")])
def test_tampered_or_foreign_items_answer_400(mangle) -> None:  # type: ignore[no-untyped-def]
    with run_gateway(KEY) as url:
        compacted = httpx.post(url + "/v1/responses/compact", json={"model": "mock", "input": "hello"}).json()
        item = compacted["output"][-1]
        bad = {**item, "encrypted_content": mangle(item["encrypted_content"])}
        response = httpx.post(url + "/v1/responses", json={"model": "mock", "input": [bad]})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_compaction"
        assert httpx.post(url + "/v1/responses", json={"model": "mock", "input": "still fine"}).status_code == 200


def test_an_item_sealed_with_another_key_is_refused() -> None:
    with run_gateway(KEY) as url:
        item = httpx.post(url + "/v1/responses/compact", json={"model": "mock", "input": "hi"}).json()["output"][-1]
    with run_gateway({"compaction": {"key": "another-secret"}}) as url:
        response = httpx.post(url + "/v1/responses", json={"model": "mock", "input": [item]})
    assert response.status_code == 400 and response.json()["error"]["param"] == "input[0].encrypted_content"
