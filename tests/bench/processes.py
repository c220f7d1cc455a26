"""Starting and stopping the servers under test, each pinned to one core with ``taskset -c``.

The gateway (and each peer) runs alone on core 0; the fake upstream runs on core 1 with the load generator
(this process, pinned with ``sched_setaffinity``). :func:`wait_ready` polls a URL until it answers 200.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from . import procstat

REPO = Path(__file__).resolve().parents[2]
SERVER_CORE = 0
CLIENT_CORE = 1


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pin_self(core: int) -> None:
    """Pin this process (the load generator) to ``core``."""
    os.sched_setaffinity(0, {core})


@dataclass
class Server:
    """A started server process."""

    name: str
    command: list[str]
    popen: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def pid(self) -> int:
        """The process id (``taskset`` execs the command, so it is the server's own)."""
        return self.popen.pid

    def describe(self) -> str:
        """How it was started and where it may run."""
        return f"{self.name}: pid {self.pid}, CPUs {procstat.affinity(self.pid)}: {' '.join(self.command)}"

    def stop(self) -> None:
        """Terminate it (and wait); kill it if it does not stop within 10 s."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)

    def tail(self, lines: int = 20) -> str:
        """The end of its log (for error messages)."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start(name: str, command: list[str], *, core: int | str, port: int, log_dir: Path,
          env: dict[str, str] | None = None, cwd: Path | None = None) -> Server:
    """Start ``command`` under ``taskset -c core`` (a core, or a CPU list such as ``"0,1"``), output to
    ``log_dir/name.log``."""
    log = log_dir / f"{name}.log"
    pinned = ["taskset", "-c", str(core), *command]
    with log.open("wb") as out:
        popen = subprocess.Popen(pinned, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 env=env, cwd=cwd or REPO)
    return Server(name, pinned, popen, port, log)


def wait_ready(server: Server, path: str, *, timeout: float, headers: dict[str, str] | None = None) -> None:
    """Poll ``GET path`` until it answers 200; raise with the server's log if it exits or times out."""
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{server.port}{path}"
    while True:
        if server.popen.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.popen.returncode}:\n{server.tail()}")
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"{server.name} was not ready at {url} within {timeout:g} s:\n{server.tail()}")
        time.sleep(0.2)


def http(port: int, method: str, path: str) -> bytes:
    """A small control request (upstream settings and stats)."""
    data = b"" if method == "POST" else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, data=data)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return bytes(answer.read())
