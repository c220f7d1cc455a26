"""The hostile upstream and gateways pointed at it, one instance per provider plugin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gateway_core.testing import serve_asgi
from gateway_core.testing.hostile import create_app, recorder_app

KEY = "sk-proj-Zq8secretKEYmaterial0123456789wxyz"
HEADER_SECRET = "hdr-secret-value-5566778899"
PROVIDERS = ("openai", "anthropic", "google")
LIMIT = 256 * 1024


class Hostile:
    """The running hostile upstream and the redirect target it points at."""

    def __init__(self, app: Any, url: str, recorder: Any) -> None:
        self.app, self.url, self.recorder = app, url, recorder


@pytest.fixture(scope="module")
def hostile() -> Iterator[Hostile]:
    """The hostile upstream (echoing the secret header too) and the recorder its redirects point to."""
    app = create_app(huge_bytes=4 * LIMIT, echo_headers=("x-team-token",))
    recorder = recorder_app()
    with serve_asgi(recorder) as recorder_url, serve_asgi(app) as url:
        app.state.redirect_to = recorder_url
        yield Hostile(app, url, recorder)


def providers_config(url: str, **extra: Any) -> dict[str, Any]:
    """One instance of each plugin against ``url``, with the key and a secret configured header."""
    common = {"api_key": KEY, "headers": {"X-Team-Token": HEADER_SECRET}, "timeout": 20, **extra}
    return {"providers": {
        "openai": {"type": "openai", "base_url": url + "/v1", **common},
        "anthropic": {"type": "anthropic", "base_url": url, **common},
        "google": {"type": "google", "base_url": url, **common},
    }}


def assert_no_secret(text: str) -> None:
    """Neither the key, nor its last four characters after a mask, nor the secret header appear."""
    assert KEY not in text
    assert HEADER_SECRET not in text
    assert "wxyz" not in text
