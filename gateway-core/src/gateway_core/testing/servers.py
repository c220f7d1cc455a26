"""Run ASGI apps (the gateway, fake upstreams) on 127.0.0.1 in a background thread, for tests."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import uvicorn

from ..app import create_app
from ..config import config_from_data


@contextmanager
def serve_asgi(app: Any, *, lifespan: Literal["auto", "on", "off"] = "on") -> Iterator[str]:
    """Serve ``app`` on a free port of 127.0.0.1 until the block ends; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan=lifespan, access_log=False, timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextmanager
def run_gateway(config: dict[str, Any] | None = None) -> Iterator[str]:
    """Run the gateway built from a config dict (as the YAML file would hold); yields its base URL.

    Without a ``store`` key, responses are stored in a SQLite file of a temporary folder."""
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(config_from_data(with_temporary_store(config or {}, folder), "<test config>"))
        with serve_asgi(app) as url:
            yield url


def with_temporary_store(config: dict[str, Any], folder: str) -> dict[str, Any]:
    """``config`` with the response store in ``folder`` unless it configures one."""
    if "store" in config:
        return config
    return {**config, "store": {"backend": "sqlite", "path": os.path.join(folder, "responses.sqlite3")}}
