"""Run ASGI apps (the gateway, fake upstreams) on 127.0.0.1 in a background thread, for tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import uvicorn

from ..app import create_app
from ..config import ServerSettings, config_from_data
from ..server import server_config


@contextmanager
def serve_asgi(
    app: Any, *, lifespan: Literal["auto", "on", "off"] = "on", settings: ServerSettings | None = None,
    keepalive_seconds: float = 0.0,
) -> Iterator[str]:
    """Serve ``app`` on a free port of 127.0.0.1 until the block ends; yields its base URL. With
    ``settings``, uvicorn runs as ``gateway serve`` runs it (its protocol, limits and timeouts, WebSocket
    pings every ``keepalive_seconds``)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    quiet: dict[str, Any] = {"log_level": "warning", "lifespan": lifespan, "access_log": False,
                             "timeout_graceful_shutdown": 1}
    if settings is None:
        config = uvicorn.Config(app, **quiet)
    else:
        config = server_config(app, settings, keepalive_seconds=keepalive_seconds, **quiet, log_config=None)
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
    """Run the gateway built from a config dict (as the YAML file would hold), served as ``gateway serve``
    serves it; yields its base URL.

    Without a ``store`` key, responses are stored in a SQLite file of a temporary folder."""
    with tempfile.TemporaryDirectory() as folder:
        settings = config_from_data(with_temporary_store(config or {}, folder), "<test config>")
        with serve_asgi(create_app(settings), settings=settings.server,
                        keepalive_seconds=settings.routing.keepalive_seconds) as url:
            yield url


def with_temporary_store(config: dict[str, Any], folder: str) -> dict[str, Any]:
    """``config`` with the response store in ``folder`` unless it configures one."""
    if "store" in config:
        return config
    return {**config, "store": {"backend": "sqlite", "path": os.path.join(folder, "responses.sqlite3")}}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def run_redis_server(folder: str | os.PathLike[str]) -> Iterator[str]:
    """A throwaway ``redis-server`` (no persistence) on a free port of 127.0.0.1; yields its URL. Skips the
    calling test when the binary is not installed (Debian: ``apt-get install -y redis-server``)."""
    import pytest

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (Debian/Ubuntu: apt-get install -y redis-server)")
    port = free_port()
    log_path = os.path.join(folder, "redis.log")
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--dir", str(folder)]
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while not _answers_ping(port):
            if server.poll() is not None or time.monotonic() > deadline:
                with open(log_path) as log_file:
                    raise RuntimeError(f"redis-server did not start: {log_file.read()}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


@dataclass
class GatewayProcess:
    """A ``gateway serve`` process started by :func:`run_gateway_process`. Its output is read as it comes (a
    pipe nobody read would fill and stall the gateway's next log write)."""

    process: subprocess.Popen[bytes]
    url: str

    def __post_init__(self) -> None:
        self._output: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for chunk in iter(lambda: self.process.stdout.read1(65536), b""):  # type: ignore[union-attr]
            self._output.append(chunk)

    def stop(self) -> str:
        """Terminate (if still running) and return everything it printed."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=15)
        return b"".join(self._output).decode(errors="replace")


@contextmanager
def run_gateway_process(
    config: str | None = None, *, env: dict[str, str] | None = None, folder: str | os.PathLike[str] | None = None
) -> Iterator[GatewayProcess]:
    """The real ``gateway serve`` command on a free port of 127.0.0.1, with ``config`` (YAML text) if given,
    the environment without provider keys (plus ``env``), until it answers ``/readyz``."""
    import httpx

    port = free_port()
    command = [sys.executable, "-m", "gateway_core", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with tempfile.TemporaryDirectory() as scratch:
        if config is not None:
            path = os.path.join(folder or scratch, f"gateway-{port}.yaml")
            with open(path, "w", encoding="utf-8") as file:
                file.write(config)
            command += ["--config", path]
        environment = {key: value for key, value in os.environ.items() if not key.endswith("_API_KEY")}
        environment.update(env or {})
        process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        running = GatewayProcess(process, f"http://127.0.0.1:{port}")
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(running.url + "/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the gateway did not start:\n{running.stop()}")
                time.sleep(0.05)
            yield running
        finally:
            running.stop()
