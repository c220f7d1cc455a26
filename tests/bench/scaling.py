"""How requests per second scale from one worker to two on this machine: ``python tests/bench/scaling.py``.

For each worker count the gateway (and, with ``--peers litellm``, LiteLLM's proxy with the same
``--num_workers``) is started fresh and driven at saturation on the chosen paths. One worker is pinned to
core 0 with the load generator and the fake upstream on core 1, as in the main benchmark; two workers get
both cores, which they then share with the load generator and the upstream, so the two-worker figure is
what this two-core machine can show, not what two dedicated cores would.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

SCALING_PATHS = ("mock/json", "openai-responses/json")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tests/bench/scaling.py", description=__doc__.splitlines()[0])
    parser.add_argument("--peers", default="", help="litellm: LiteLLM's proxy with the same worker counts")
    parser.add_argument("--peers-dir", type=Path, default=Path.home() / ".cache" / "gateway-bench")
    parser.add_argument("--workers", default="1,2", help="worker counts (default 1,2)")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds of each measured window")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=16, help="connections per window")
    parser.add_argument("--out", type=Path, default=REPO / "bench-scaling.json")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Measure and print the scaling table."""
    args = _parser().parse_args(argv)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    import uvloop

    from tests.bench import peers
    from tests.bench.measure import Bench, Plan
    from tests.bench.processes import CLIENT_CORE, SERVER_CORE, Server
    from tests.bench.suite import start_upstream
    from tests.bench.targets import PATHS, Target, gateway_target, installed_kinds, start_gateway

    kinds = installed_kinds()
    log_dir = Path(tempfile.mkdtemp(prefix="gateway-scaling-"))
    paths = [path for path in PATHS if path.key in SCALING_PATHS and not kinds.get(path.kind)]
    plan = Plan(warmup=args.warmup, duration=args.duration)
    loop = uvloop.new_event_loop()
    results: dict[str, Any] = {}
    upstream = start_upstream(log_dir)
    try:
        bench = Bench(upstream, plan)
        for workers in (int(n) for n in args.workers.split(",")):
            cores: int | str = SERVER_CORE if workers == 1 else ",".join(str(n) for n in range(os.cpu_count() or 2))
            os.sched_setaffinity(0, {CLIENT_CORE} if workers == 1 else set(range(os.cpu_count() or 2)))
            servers: list[tuple[str, Server, dict[str, bytes | str]]] = []
            gateway = start_gateway(upstream, kinds, log_dir, store="sqlite", name=f"gateway-w{workers}",
                                    workers=workers, cores=cores)
            servers.append(("gateway", gateway, gateway_target(gateway, kinds).requests))
            if "litellm" in args.peers:
                litellm = peers.start_litellm(args.peers_dir, upstream, log_dir, workers=workers, cores=cores)
                servers.append(("litellm", litellm.server, litellm.requests))
            try:
                for name, server, requests in servers:
                    target = Target(name, f"{name}, {workers} worker(s)", server, requests)
                    for path in paths:
                        raw = requests[path.key]
                        if not isinstance(raw, bytes):
                            continue
                        entry = loop.run_until_complete(bench.closed(target, raw, stream=path.stream,
                                                                     concurrency=args.concurrency))
                        results.setdefault(path.key, {}).setdefault(name, {})[workers] = {
                            "rps": entry["rps"], "cpu_ms_per_request": entry.get("cpu_ms_per_request"),
                            "errors": entry["errors"], "p50_ms": entry["latency_ms"]["p50"]}
                        print(f"  {path.key:<24} {name:<8} workers {workers}: {entry['rps']:8.0f} req/s "
                              f"(errors {entry['errors']})", flush=True)
            finally:
                for _, server, _ in servers:
                    server.stop()
    finally:
        upstream.stop()
        loop.close()
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(markdown(results))
    return 0


def markdown(results: dict[str, Any]) -> str:
    """The scaling table: requests per second per worker count, and the ratio."""
    lines = ["| path | server | 1 worker req/s | 2 workers req/s | 2 / 1 |", "|---|---|---:|---:|---:|"]
    for key, by_server in results.items():
        for name, by_workers in by_server.items():
            one, two = by_workers.get(1, {}).get("rps"), by_workers.get(2, {}).get("rps")
            ratio = f"{two / one:.2f}x" if one and two else "—"
            lines.append(f"| {key} | {name} | {one or '—'} | {two or '—'} | {ratio} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
