"""A small cluster on 127.0.0.1 for the multi-instance drill: one persistent ``redis-server``, several real
``gateway serve`` processes sharing it, and HAProxy (Debian's package) in front of them, health-checking
``/readyz``. Every part is the real program; the test only starts, signals and restarts them."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from gateway_core.testing.servers import free_port


def missing_programs() -> list[str]:
    """The programs of the cluster that this machine lacks (Debian packages of the same names)."""
    missing = [] if shutil.which("redis-server") else ["redis-server"]
    if not (shutil.which("haproxy") or Path("/usr/sbin/haproxy").exists()):
        missing.append("haproxy")
    return missing


def _wait(check: object, what: str, timeout: float, process: subprocess.Popen[bytes] | None = None,
          log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if (process is not None and process.poll() is not None) or time.monotonic() > deadline:
            detail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
            raise RuntimeError(f"{what} did not come up within {timeout:g} s\n{detail}")
        time.sleep(0.05)


def _pings(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/readyz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@dataclass
class Redis:
    """``redis-server`` with an fsync-always append-only file, so a restart keeps every acknowledged write."""

    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it (again, on the same port and data) and wait until it answers PING."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (Debian: apt-get install -y redis-server)")
        log = self.folder / "redis.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
                 "--appendfsync", "always", "--dir", str(self.folder)], stdout=out, stderr=subprocess.STDOUT)
        _wait(lambda: _pings(self.port), "redis-server", 15, self.process, log)

    def stop(self) -> None:
        """Stop it (SIGTERM: it flushes and exits) and wait."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)


@dataclass
class Gateway:
    """One ``gateway serve`` process of the cluster."""

    name: str
    config: Path
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its own URL (bypassing the load balancer)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start it (again, on the same port) and wait until ``/readyz`` answers 200."""
        env = {key: value for key, value in os.environ.items() if not key.endswith("_API_KEY")}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway_core", "serve", "--config", str(self.config), "--host", "127.0.0.1",
                 "--port", str(self.port)], env=env, stdout=out, stderr=subprocess.STDOUT)
        _wait(lambda: _ready(self.url), f"gateway {self.name}", 60, self.process, self.log)

    def signal(self, number: signal.Signals) -> None:
        """Send it a signal."""
        assert self.process is not None
        self.process.send_signal(number)

    def wait(self, timeout: float) -> int:
        """Wait for it to exit; its exit code."""
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> None:
        """Terminate it if it still runs."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


HAPROXY_CONFIG = """\
global
    maxconn 4096

defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout
    option http-buffer-request

frontend gateway
    bind 127.0.0.1:{port}
    default_backend gateways

backend gateways
    balance roundrobin
    option httpchk
    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    default-server inter 250ms fall 2 rise 2
    http-response set-header x-served-by %s
{servers}
"""


@dataclass
class HAProxy:
    """HAProxy in front of the gateways: round robin, ``/readyz`` health checks, connection-failure retries
    redispatched to another server."""

    folder: Path
    gateways: list[Gateway]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The cluster's URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Write the config, start HAProxy in the foreground and wait until it routes to a ready gateway."""
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not Path(binary).exists():
            raise RuntimeError("haproxy is not installed (Debian: apt-get install -y haproxy)")
        servers = "\n".join(f"    server {gateway.name} 127.0.0.1:{gateway.port} check" for gateway in self.gateways)
        config = self.folder / "haproxy.cfg"
        config.write_text(HAPROXY_CONFIG.format(port=self.port, servers=servers))
        log = self.folder / "haproxy.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=out, stderr=subprocess.STDOUT)
        _wait(lambda: _ready(self.url), "haproxy", 15, self.process, log)

    def stop(self) -> None:
        """Stop it."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
