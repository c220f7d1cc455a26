"""One gateway in-process, fed requests through uvicorn's HTTP protocol without sockets: the worker that
:mod:`tests.bench.instructions` runs under callgrind (with this checkout's gateway, or an earlier one's).

``python inproc_worker.py REQUESTS FLAG_FOLDER [--stream] [--observed]``: builds the app as ``gateway serve``
does (this revision's uvicorn options when it has ``gateway_core.server``, plain httptools before), warms
up, then writes ``FLAG_FOLDER/ready`` and waits for ``go``; sends REQUESTS mock requests (the benchmark's
20-token echo, JSON or streamed) one after another through the protocol; writes ``done`` and waits for
``exit``. The driver turns callgrind's instrumentation on and off between those flags, so only the
requests are counted. It imports nothing of the test suite: an earlier revision's virtualenv runs it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvicorn
import uvloop

TEXT = "".join(f"tok{index:02d} " for index in range(20))
WARMUP = 500


class MemoryTransport(asyncio.Transport):
    """A transport that keeps what is written and says when one whole answer has arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.answered: asyncio.Future[None] | None = None
        self.closing = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8080)}.get(name, default)

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.written.append(data)
        if self.answered is not None and _complete(b"".join(self.written)):
            self.answered.set_result(None)
            self.answered = None

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


def _complete(answer: bytes) -> bool:
    """Whether ``answer`` holds a whole HTTP response (by ``content-length``, or a chunked body's end)."""
    end = answer.find(b"\r\n\r\n")
    if end < 0:
        return False
    head = answer[:end].lower()
    at = head.find(b"content-length: ")
    if at >= 0:
        return len(answer) - end - 4 >= int(head[at + 16:].split(b"\r\n", 1)[0])
    return answer.endswith(b"0\r\n\r\n")


def _config(observed: bool) -> Any:
    """The gateway's config: the mock, no store; metrics and the usage log off unless ``observed`` (an
    earlier revision without those settings gets the config without them)."""
    from gateway_core.config import config_from_data

    data: dict[str, Any] = {"providers": {"mock": {"type": "mock"}}, "store": {"backend": "none"},
                            "server": {"access_log": False, "log_level": "warning"}}
    if not observed:
        data.update(metrics={"enabled": False}, usage={"enabled": False})
    try:
        return config_from_data(data, "bench")
    except Exception:  # a revision before metrics and usage
        data.pop("metrics", None)
        data.pop("usage", None)
        return config_from_data(data, "bench")


def _uvicorn_config(app: Any, settings: Any) -> uvicorn.Config:
    try:
        from gateway_core.server import server_config
    except ImportError:  # before the gateway had its own uvicorn options
        return uvicorn.Config(app, http="httptools", loop="uvloop", log_level="warning", access_log=False)
    return server_config(app, settings.server, keepalive_seconds=0, log_level="warning")


async def _main(requests: int, flags: Path, stream: bool, observed: bool) -> None:
    from uvicorn.lifespan.on import LifespanOn
    from uvicorn.server import ServerState

    from gateway_core.app import create_app

    settings = _config(observed)
    with tempfile.TemporaryDirectory() as data_home:
        os.environ["XDG_DATA_HOME"] = data_home  # the key store's default file, if the revision has one
        config = _uvicorn_config(create_app(settings), settings)
        config.load()
        lifespan = LifespanOn(config)
        await lifespan.startup()
        loop = asyncio.get_running_loop()
        protocol = config.http_protocol_class(config=config, server_state=ServerState(), app_state={}, _loop=loop)
        transport = MemoryTransport()
        protocol.connection_made(transport)
        body = json.dumps({"model": "mock", "max_output_tokens": 256, "input": TEXT, **({"stream": True} if stream
                                                                                       else {})}).encode()
        request = (b"POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/json\r\n"
                   b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

        async def one() -> None:
            transport.answered = loop.create_future()
            protocol.data_received(request)
            await asyncio.wait_for(transport.answered, 10)
            if b" 200 " not in transport.written[0][:16]:
                raise SystemExit(f"the gateway answered {transport.written[0][:200]!r}")
            transport.written.clear()

        for _ in range(WARMUP):
            await one()
        (flags / "ready").touch()
        while not (flags / "go").exists():
            time.sleep(0.005)
        for _ in range(requests):
            await one()
        (flags / "done").touch()
        while not (flags / "exit").exists():
            time.sleep(0.005)
        await lifespan.shutdown()


if __name__ == "__main__":
    uvloop.run(_main(int(sys.argv[1]), Path(sys.argv[2]), "--stream" in sys.argv, "--observed" in sys.argv))
