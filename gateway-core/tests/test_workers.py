"""``server.workers: auto``: one worker per core the process may use (affinity mask, cgroup CPU quota)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gateway_core.config import ConfigError, parse_config
from gateway_core.testing.servers import free_port
from gateway_core.workers import available_cores, cgroup_quota, resolve_workers


def test_cgroup_quota_rounds_up_to_whole_cores(tmp_path: Path) -> None:
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("150000 100000\n")
    assert cgroup_quota(cpu_max) == 2
    cpu_max.write_text("50000 100000\n")
    assert cgroup_quota(cpu_max) == 1
    cpu_max.write_text("max 100000\n")
    assert cgroup_quota(cpu_max) is None
    assert cgroup_quota(tmp_path / "missing") is None


def test_quota_caps_the_affinity_mask(tmp_path: Path) -> None:
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("100000 100000\n")
    assert available_cores(cpu_max) == 1
    assert available_cores(tmp_path / "missing") == len(os.sched_getaffinity(0))


def test_auto_and_numbers_in_the_config() -> None:
    assert parse_config("server: {workers: auto}", "t.yaml").server.workers == "auto"
    assert resolve_workers(parse_config("server: {workers: 3}", "t.yaml").server.workers) == 3
    with pytest.raises(ConfigError, match=r"server\.workers"):
        parse_config("server: {workers: many}", "t.yaml")
    with pytest.raises(ConfigError, match=r"server\.workers"):
        parse_config("server: {workers: 0}", "t.yaml")


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()]


@pytest.mark.skipif(shutil.which("taskset") is None or len(os.sched_getaffinity(0)) < 2,
                    reason="needs taskset and 2 cores")
@pytest.mark.parametrize(("cores", "expected"), [("0", 0), ("0,1", 2)])
def test_serve_with_workers_auto_starts_one_worker_per_core(cores: str, expected: int, tmp_path: Path) -> None:
    """With one core, auto is one worker in the server's own process (no children); with two, two workers
    (which need the shared compaction key)."""
    port = free_port()
    config = tmp_path / "gateway.yaml"
    config.write_text("providers: {mock: {type: mock}}\ncompaction: {key: test-workers-shared-secret-0123456789}\n")
    env = {key: value for key, value in os.environ.items() if not key.endswith("_API_KEY")}
    process = subprocess.Popen(["taskset", "-c", cores, sys.executable, "-m", "gateway_core", "serve", "--config",
                                str(config), "--host", "127.0.0.1", "--port", str(port), "--workers", "auto"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.1)
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/responses", json={"model": "mock", "input": "hi"})
        assert answer.status_code == 200
        workers = [child for child in _children(process.pid)
                   if "spawn_main" in Path(f"/proc/{child}/cmdline").read_text()]
        assert len(workers) == expected
    finally:
        process.terminate()
        process.wait(30)
