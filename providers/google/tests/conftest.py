"""Shared fixtures: one fake Gemini upstream and one gateway in front of it, per module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway_core.testing import UpstreamRecorder, run_gateway, serve_asgi
from gateway_google.testing.fake_upstream import create_app

API_KEY = "gm-test-secret-key-0123456789"


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[Any, str]]:
    """(fake app, base URL)."""
    app = UpstreamRecorder(create_app())
    with serve_asgi(app) as url:
        yield app, url


@pytest.fixture(scope="module")
def gateway(upstream: tuple[Any, str]) -> Iterator[str]:
    """Base URL of a gateway whose ``google`` instance points at the fake upstream."""
    config = {"providers": {"google": {"type": "google", "api_key": API_KEY, "base_url": upstream[1]}}}
    with run_gateway(config) as url:
        yield url


@pytest.fixture(scope="module")
def http(gateway: str) -> Iterator[httpx.Client]:
    """An HTTP client of the gateway."""
    with httpx.Client(base_url=gateway, timeout=30) as client:
        yield client
