"""A request that needs a capability the target instance lacks gets a 400 naming the parameter."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway_core import Capabilities, hookimpl
from gateway_core.app import create_app
from gateway_core.config import config_from_data
from gateway_core.plugins import create_plugins
from gateway_core.testing import serve_asgi

from .mock_based import mock_plugin


@hookimpl
def gateway_capabilities() -> Capabilities:
    return Capabilities(reasoning=False)


@pytest.fixture(scope="module")
def plain_gateway() -> Iterator[str]:
    """A gateway whose only instance, ``plain``, is the mock claiming no reasoning."""
    config = config_from_data({"providers": {"plain": {}}, "store": {"backend": "none"}})
    plugins = create_plugins(autoload=False, extra={"plain": mock_plugin(gateway_capabilities=gateway_capabilities)})
    with serve_asgi(create_app(config, plugins=plugins)) as url:
        yield url


@pytest.mark.parametrize("reasoning", [{"effort": "high"}, {"summary": "auto"}])
def test_reasoning_to_an_instance_without_it_is_a_400_naming_reasoning(plain_gateway: str, reasoning: dict) -> None:
    body = {"model": "plain/m", "input": "hi", "reasoning": reasoning}
    answer = httpx.post(f"{plain_gateway}/v1/responses", json=body)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["type"], error["code"], error["param"]) == ("invalid_request", "unsupported_parameter", "reasoning")
    assert "plain" in error["message"]


@pytest.mark.parametrize("reasoning", [None, {"effort": "none"}, {"effort": None, "summary": None}])
def test_no_reasoning_asked_passes(plain_gateway: str, reasoning: dict | None) -> None:
    body = {"model": "plain/m", "input": "hi", **({"reasoning": reasoning} if reasoning else {})}
    answer = httpx.post(f"{plain_gateway}/v1/responses", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "completed"
