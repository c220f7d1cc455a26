"""Shared fixtures: the fake upstream and gateways configured against it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gateway_core.testing import UpstreamRecorder, serve_asgi
from gateway_openai.testing.fake_upstream import create_app

API_KEY = "sk-test-secret-key-0123456789"


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[Any, str]]:
    """The fake OpenAI app and its base URL (``.../v1``)."""
    app = UpstreamRecorder(create_app())
    with serve_asgi(app) as url:
        yield app, url + "/v1"


def instance(base_url: str, mode: str = "responses", **extra: Any) -> dict[str, Any]:
    """One ``openai`` instance's config."""
    options = {"mode": mode, **extra.pop("options", {})}
    return {"type": "openai", "api_key": API_KEY, "base_url": base_url, "options": options, **extra}


@pytest.fixture(params=["responses", "chat_completions"])
def mode(request: pytest.FixtureRequest) -> str:
    """Both upstream modes."""
    return request.param


@pytest.fixture
def gateway(upstream: tuple[Any, str], mode: str, start_gateway: Callable[[dict[str, Any]], str]) -> str:
    """A gateway whose ``openai`` instance talks to the fake upstream in ``mode``."""
    return start_gateway({"providers": {"openai": instance(upstream[1], mode)}})
