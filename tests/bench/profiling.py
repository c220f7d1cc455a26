"""Where the gateway's CPU goes on one path: py-spy samples the pinned gateway worker at saturation.

``python tests/bench/profiling.py --path openai-responses/json [--seconds 15] [--native]`` starts the fake
upstream and one gateway worker as the benchmark does, drives the path at saturation, records with
``py-spy record --format raw --nonblocking --gil`` (py-spy pinned to the client core; only the thread
holding the GIL is sampled, so waiting threads are not counted) and prints the share of samples per
package (self time), then the functions with the most inclusive and self time. The raw collapsed stacks
are kept for flame graphs (``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def package_of(frame: str) -> str:
    """``function (pkg/module.py:12)`` (py-spy shortens paths to the import root) -> ``pkg``."""
    location = frame[frame.rfind("(") + 1 : frame.rfind(":")] if "(" in frame else frame
    return location.split("/", 1)[0].removesuffix(".py")


def summarize(raw: str, top: int) -> str:
    """Per-package self time, then the top functions by inclusive and by self samples, from collapsed stacks."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame for frame in stack.split(";") if frame]
        if frames and frames[0].startswith("process "):
            frames = frames[1:]
        if frames and frames[0].startswith("thread "):
            frames = frames[1:]
        if not frames:
            continue
        total += count
        self_time[frames[-1]] += count
        packages[package_of(frames[-1])] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return "no samples"

    def table(title: str, counter: Counter[str]) -> list[str]:
        rows = [f"{100 * count / total:6.1f}%  {name}" for name, count in counter.most_common(top)]
        return ["", title, *rows]

    lines = [f"{total} samples"]
    lines += table("self time by package", packages)
    lines += table("inclusive time by function", inclusive)
    lines += table("self time by function", self_time)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Profile one path of the gateway at saturation."""
    parser = argparse.ArgumentParser(prog="tests/bench/profiling.py", description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="openai-responses/json", help="route/json or route/stream")
    parser.add_argument("--seconds", type=float, default=15.0, help="seconds recorded")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--gap-ms", type=float, default=0.0,
                        help="delay between upstream stream events (each event then arrives in its own read)")
    parser.add_argument("--rate", type=int, default=997, help="py-spy samples per second")
    parser.add_argument("--native", action="store_true", help="include C frames (py-spy --native)")
    parser.add_argument("--blocking", action="store_true",
                        help="pause the worker for each sample: whole stacks, but it runs several times slower")
    parser.add_argument("--all-threads", action="store_true",
                        help="sample every thread (default: only the one holding the GIL, i.e. running Python)")
    parser.add_argument("--store", choices=("sqlite", "none"), default="sqlite", help="the gateway's response store")
    parser.add_argument("--layer", help="profile this layer's gateway (tests/bench/layers.py: bare, keys, ...)")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--out", type=Path, help="keep the collapsed stacks here (default: a temp dir)")
    args = parser.parse_args(argv)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    if sys.path[1:] and Path(sys.path[1]).resolve() == HERE:
        del sys.path[1]
    import uvloop

    from tests.bench import processes
    from tests.bench.layers import start_layer
    from tests.bench.loadgen import closed_loop
    from tests.bench.procstat import Meter
    from tests.bench.suite import start_upstream
    from tests.bench.targets import gateway_target, installed_kinds, start_gateway

    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    processes.pin_self(processes.CLIENT_CORE)
    log_dir = Path(tempfile.mkdtemp(prefix="gateway-profile-"))
    out = args.out or log_dir / (args.path.replace("/", "-") + ".txt")
    kinds = installed_kinds()
    upstream = start_upstream(log_dir)
    gateway = None
    try:
        if args.layer:
            target = start_layer(args.layer, upstream, kinds, log_dir, args.store)
            gateway = target.server
        else:
            gateway = start_gateway(upstream, kinds, log_dir, store=args.store)
            target = gateway_target(gateway, kinds)
        request = target.requests[args.path]
        if isinstance(request, str):
            print(f"cannot profile {args.path}: {request}", file=sys.stderr)
            return 2
        processes.http(upstream.port, "POST", f"/_bench/settings?event_delay_ms={args.gap_ms}")
        command = ["taskset", "-c", str(processes.CLIENT_CORE), spy, "record", "--pid", str(gateway.pid),
                   "--rate", str(args.rate), "--duration", str(int(args.seconds)), "--format", "raw",
                   "--output", str(out), *(["--native"] if args.native else []),
                   *([] if args.blocking else ["--nonblocking"]), *([] if args.all_threads else ["--gil"])]

        async def drive() -> float:
            run_spy = asyncio.create_task(asyncio.to_thread(subprocess.run, command, check=True,
                                                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
            run = await closed_loop("127.0.0.1", gateway.port, [request], concurrency=args.concurrency, warmup=0.5,
                                    duration=args.seconds + 1.0, meter=Meter({"server": gateway.pid}))
            await run_spy
            ok = sum(1 for sample in run.samples if sample.ok)
            return 1000 * run.cpu["server"].cpu_seconds / max(ok, 1)

        cpu_ms = uvloop.run(drive())
    finally:
        if gateway is not None:
            gateway.stop()
        upstream.stop()
    print(f"{args.path}: {cpu_ms:.3f} CPU-ms/request while profiled (py-spy adds a little); stacks: {out}")
    print(summarize(out.read_text(), args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
