"""Instructions per request of the gateway's own request path, counted by valgrind's callgrind: the same on
every run, where CPU time on a shared machine drifts by up to 30% between minutes.

``python tests/bench/instructions.py [--baseline REF] [--requests N]`` runs
:mod:`tests.bench.inproc_worker` (mock answers fed through uvicorn's HTTP protocol in-process, no sockets,
no store) under callgrind with instrumentation on only while the requests run, for this checkout and, with
``--baseline``, for the gateway at ``REF`` (installed as the socket benchmark installs it). It reports
thousands of instructions per request for mock JSON and mock streams, bare (metrics and usage log off) and
observed (the default config), and their ratio to the baseline.

What it leaves out, by design: sockets and the kernel, cache misses, SDKs and upstreams (the socket
benchmark, ``tests/bench/run.py``, measures those). What it is for: telling whether a change to the core
made the request path cheaper or dearer by 1%, which the socket benchmark on this machine cannot.
Needs ``valgrind`` (Debian: ``apt-get install valgrind``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
WORKER = HERE / "inproc_worker.py"
VARIANTS = {"mock JSON": [], "mock stream": ["--stream"], "mock JSON, default config": ["--observed"],
            "mock stream, default config": ["--stream", "--observed"]}


def count(python: Path, flags_args: list[str], requests: int, folder: Path) -> float:
    """Instructions per request of one worker run (thousands)."""
    flags = Path(tempfile.mkdtemp(dir=folder))
    out = flags / "callgrind.out"
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    worker = subprocess.Popen(["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                               str(python), str(WORKER), str(requests), str(flags), *flags_args],
                              env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for(flags / "ready", worker)
        subprocess.run(["callgrind_control", "-i", "on", str(worker.pid)], capture_output=True, check=True)
        (flags / "go").touch()
        _wait_for(flags / "done", worker)
        subprocess.run(["callgrind_control", "-i", "off", str(worker.pid)], capture_output=True, check=True)
        (flags / "exit").touch()
        worker.wait(timeout=120)
    finally:
        if worker.poll() is None:
            worker.kill()
    total = 0
    for line in out.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            total = max(total, int(line.split()[1]))
    return total / requests / 1000


def _wait_for(flag: Path, worker: subprocess.Popen[bytes]) -> None:
    while not flag.exists():
        if worker.poll() is not None:
            raise SystemExit(f"the worker ended early:\n{worker.stderr.read().decode()[-3000:]}")  # type: ignore[union-attr]
        time.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    """Count and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", help="also count the gateway at this git revision (e.g. 4ae1881)")
    parser.add_argument("--requests", type=int, default=1000, help="requests counted per variant (default 1000)")
    parser.add_argument("--peers-dir", type=Path, default=Path.home() / ".cache" / "gateway-bench")
    args = parser.parse_args(argv)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.bench import peers

    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        targets = {"gateway": Path(sys.executable)}
        if args.baseline:
            python, sha = peers.install_baseline(args.baseline, args.peers_dir, Path(folder))
            targets[f"baseline {sha[:7]}"] = python
        print(f"| path | {' | '.join(targets)} |{' ratio |' if args.baseline else ''}")
        print(f"|---|{'---:|' * (len(targets) + (1 if args.baseline else 0))}")
        for name, flags in VARIANTS.items():
            counts = [count(python, flags, args.requests, Path(folder)) for python in targets.values()]
            ratio = f" {counts[0] / counts[1]:.3f} x |" if len(counts) == 2 else ""
            print(f"| {name} | {' | '.join(f'{value:.1f} k' for value in counts)} |{ratio}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
