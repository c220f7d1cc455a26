"""One benchmark run: start the fake upstream, the gateway and the peers (pinned), measure every path on every
target, the concurrent streams and the soak, then assemble the results and write the report."""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvloop

from . import layers, peers, procstat, report
from .measure import Bench, Plan
from .processes import CLIENT_CORE, Server, free_port, pin_self, start, wait_ready
from .targets import PATHS, BenchPath, Target, direct_target, gateway_target, installed_kinds, start_gateway

STREAMS_PATHS = ("openai-responses/stream", "mock/stream")
"""The path of the concurrent-streams runs: the first one the gateway can serve."""


@dataclass
class Options:
    """What to run (see ``run.py --help``)."""

    command: str
    mode: str
    plan: Plan
    out: Path
    results_md: Path | None
    peers: list[str] = field(default_factory=list)
    peers_dir: Path = Path.home() / ".cache" / "gateway-bench"
    baseline: str = ""
    only: list[str] = field(default_factory=list)
    note: str = ""
    store: str = "sqlite"
    layers: list[str] = field(default_factory=list)


def start_upstream(log_dir: Path) -> Server:
    """The fake upstream on the client core."""
    port = free_port()
    server = start("upstream", [sys.executable, "-m", "tests.bench.upstream", "--port", str(port)],
                   core=CLIENT_CORE, port=port, log_dir=log_dir)
    wait_ready(server, "/_bench/stats", timeout=30)
    return server


def _progress(path: BenchPath, target: Target, entry: dict[str, Any]) -> None:
    phases = entry.get("phases")
    if not phases:
        print(f"  {path.key:<26} {target.name:<13} {entry['status']}: {entry['reason'][:150]}", flush=True)
        return
    c1, sat = phases["c1"], phases["saturation"]
    c64 = f"{phases['c64']['latency_ms']['p99']:8.2f} ms" if "c64" in phases else "       —   "
    errors = sum(phase["errors"] for phase in phases.values())
    print(f"  {path.key:<26} {target.name:<13} c1 p50 {c1['latency_ms']['p50']:8.3f} ms  c64 p99 {c64}  "
          f"sat {sat['rps']:7.0f} req/s  {sat.get('cpu_ms_per_request', 0):6.3f} CPU-ms/req  errors {errors}",
          flush=True)


async def measure_paths(bench: Bench, targets: list[Target], paths: list[BenchPath]) -> dict[str, Any]:
    """Every path on every target: target after target within a path, so each comparison is close in time."""
    results: dict[str, Any] = {}
    for path in paths:
        for target in targets:
            request = target.requests[path.key]
            if isinstance(request, str):
                entry: dict[str, Any] = {"status": "unsupported", "reason": request}
            elif problem := await bench.check(target, request):
                entry = {"status": "failed", "reason": problem}
            else:
                phases = await bench.phases(target, request, stream=path.stream, upstream=path.api is not None)
                entry = {"status": "ok", "phases": phases}
            results.setdefault(path.key, {})[target.name] = entry
            _progress(path, target, entry)
        await _more_rounds(bench, targets, path, results[path.key])
    return results


async def _more_rounds(bench: Bench, targets: list[Target], path: BenchPath, entries: dict[str, Any]) -> None:
    """``plan.rounds - 1`` more saturation windows of ``path`` on each target that served it, in turns; its
    CPU/request becomes the median of all its windows (each kept in ``cpu_ms_rounds``)."""
    measured = [target for target in targets if entries[target.name]["status"] == "ok"]
    for _ in range(bench.plan.rounds - 1):
        for target in measured:
            request = target.requests[path.key]
            assert isinstance(request, bytes)
            window = await bench.closed(target, request, stream=path.stream,
                                        concurrency=bench.plan.saturation_concurrency)
            saturation = entries[target.name]["phases"]["saturation"]
            saturation.setdefault("cpu_ms_rounds", [saturation.get("cpu_ms_per_request", 0.0)]).append(
                window.get("cpu_ms_per_request", 0.0))
    for target in measured:
        saturation = entries[target.name]["phases"]["saturation"]
        if "cpu_ms_rounds" in saturation:
            saturation["cpu_ms_per_request"] = round(statistics.median(saturation["cpu_ms_rounds"]), 4)
            print(f"  {path.key:<26} {target.name:<13} CPU-ms/req over {len(saturation['cpu_ms_rounds'])} rounds "
                  f"{saturation['cpu_ms_rounds']} -> median {saturation['cpu_ms_per_request']}", flush=True)


async def measure_streams(bench: Bench, targets: list[Target], key: str) -> dict[str, Any]:
    """Concurrent streams on ``key``: ramped (all open at once at the peak) and as one burst."""
    plan = bench.plan
    results: dict[str, Any] = {}
    for target in targets:
        request = target.requests.get(key)
        if not isinstance(request, bytes):
            continue
        if problem := await bench.check(target, request):
            results[target.name] = {"ramped": f"not run: {problem[:100]}"}
            continue
        results[target.name] = {
            "ramped": await bench.streams(target, request, ramp=plan.streams_ramp, gap_ms=plan.streams_gap_ms),
            "burst": await bench.streams(target, request, ramp=0.0, gap_ms=0.0),
        }
        for name, run in results[target.name].items():
            print(f"  {plan.streams} streams {name:<6} {target.name:<13} ok {run['ok']:4d} errors {run['errors']:3d} "
                  f"p99 {run['latency_ms']['p99']:8.1f} ms  peak in flight {run['peak_in_flight']}", flush=True)
    return results


def conditions(plan: Plan, store: str) -> list[str]:
    """How each phase ran, in words."""
    return [
        f"the gateway's response store: {store} (its default backend is sqlite: every response is saved, as with "
        "store: true)",
        f"every window: {plan.warmup:g} s warm-up, then {plan.duration:g} s measured; closed loop (each connection "
        "sends its next request when the last answer ended), keep-alive HTTP/1.1",
        "c1: 1 connection, no model latency; c64 (paths through an upstream): "
        f"{plan.c64} connections started over the latency, {plan.c64_latency_ms:g} ms +- {plan.c64_jitter_pct:g}% "
        f"model latency at the upstream (offered about {1000 * plan.c64 / plan.c64_latency_ms:.0f} req/s); "
        f"saturation: {plan.saturation_concurrency} connections, no latency"
        + (f"; {plan.rounds} windows per path and target in turns, CPU/request their median"
           if plan.rounds > 1 else ""),
        f"gaps: {plan.gap_concurrency} connections, {plan.gap_ms:g} ms between upstream stream events; the gap "
        "between deltas at the client shows whether events are forwarded as they arrive",
        f"streams: {plan.streams} streams, {plan.streams_latency_ms:g} ms model latency; 'ramped' starts them evenly "
        f"over {plan.streams_ramp:g} s with {plan.streams_gap_ms:g} ms between events (all open at the peak), "
        "'burst' starts all at once",
        "added (+) = the target's percentile minus the direct path's (same path, same run); TTFB = first body "
        "byte, TTFT = first text delta",
        "CPU ms/req = (utime + stime of the server's process tree over the saturation window) / requests that "
        "succeeded; busy % = CPU time / wall time of one core (core0 = everything on core 0, other processes "
        "of the machine included)",
        "a request counts only if it answered 200 and its body carried all 20 deltas in order",
    ]


def run(options: Options) -> dict[str, Any]:
    """The whole run; returns the results (also written to ``options.out`` and printed)."""
    plan = options.plan
    pin_self(CLIENT_CORE)
    log_dir = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    print(f"logs and configs: {log_dir}", flush=True)
    kinds = installed_kinds()
    paths = [path for path in PATHS if not options.only or path.name in options.only]
    skipped = {kind: reason for kind, reason in kinds.items() if reason and any(p.kind == kind for p in paths)}
    paths = [path for path in paths if path.kind not in skipped]
    for kind, reason in skipped.items():
        print(f"skipping the {kind} paths: {reason}", flush=True)
    machine = report.machine()
    running: list[Server] = []
    loop = uvloop.new_event_loop()
    results: dict[str, Any] = {}
    try:
        upstream = start_upstream(log_dir)
        running.append(upstream)
        gateway = start_gateway(upstream, kinds, log_dir, store=options.store)
        running.append(gateway)
        targets = [direct_target(upstream), gateway_target(gateway, kinds)]
        for name in options.layers:
            targets.append(layers.start_layer(name, upstream, kinds, log_dir, options.store))
            running.append(targets[-1].server)
        peer_versions = {}
        if options.baseline:
            targets.append(peers.start_baseline(options.baseline, options.peers_dir, upstream, kinds, log_dir,
                                                options.store))
            running.append(targets[-1].server)
            peer_versions["baseline"] = targets[-1].description
        for name in options.peers:
            started = (peers.start_litellm(options.peers_dir, upstream, log_dir) if name == "litellm"
                       else peers.start_portkey(options.peers_dir, upstream, log_dir))
            targets.extend([started] if isinstance(started, Target) else started)
            running.append(targets[-1].server)
            peer_versions[name] = peers.version_of(name, options.peers_dir)
        bench = Bench(upstream, plan)
        bench.servers = [server for server in running if server is not upstream]
        pinning = [server.describe() for server in running]
        pinning.append(f"loadgen: this process, pid {os.getpid()}, CPUs {procstat.affinity(os.getpid())} "
                       "(os.sched_setaffinity)")
        print("\n".join(pinning), flush=True)
        print("paths:", flush=True)
        results["paths"] = loop.run_until_complete(measure_paths(bench, targets, paths))
        results["peak_rss_before_streams_kb"] = {server.name: procstat.tree_kb(server.pid, "VmHWM")
                                                  for server in running}
        streams_key = next((key for key in STREAMS_PATHS if any(path.key == key for path in paths)), None)
        if streams_key and plan.streams:
            print(f"concurrent streams on {streams_key}:", flush=True)
            results["streams"] = loop.run_until_complete(measure_streams(bench, targets, streams_key))
            results["streams_path"] = streams_key
        results["peak_rss_kb"] = {server.name: procstat.tree_kb(server.pid, "VmHWM") for server in running}
        for server in running[1:]:
            server.stop()
        del running[1:]
        if plan.soak:
            print(f"soak: {plan.soak} requests through a fresh gateway ...", flush=True)
            soak_gateway = start_gateway(upstream, kinds, log_dir, store=options.store, name="gateway-soak")
            running.append(soak_gateway)
            bench.servers = []
            soak_target = gateway_target(soak_gateway, kinds)
            requests = [request for path in paths if isinstance(request := soak_target.requests[path.key], bytes)]
            results["soak"] = loop.run_until_complete(bench.soak(soak_target, requests))
            soak = results["soak"]
            print(f"  RSS start {soak['rss_start_kb'] / 1024:.1f} MB, peak {soak['rss_peak_kb'] / 1024:.1f} MB, "
                  f"end {soak['rss_end_kb'] / 1024:.1f} MB ({soak['growth_pct']}%), errors {soak['errors']}",
                  flush=True)
    finally:
        for server in running:
            server.stop()
        loop.close()
        for database in log_dir.glob("*.sqlite3*"):  # the stored responses of the run: large, never needed
            database.unlink()
    results.update(
        meta={"command": options.command, "mode": options.mode, "note": options.note, "log_dir": str(log_dir),
              "store": options.store,
              "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "loadavg_end": os.getloadavg(),
              "plan": plan.__dict__},
        machine=machine, pinning=pinning, conditions=conditions(plan, options.store), skipped=skipped,
        loaded_kinds=[kind for kind, reason in kinds.items() if not reason], peer_versions=peer_versions,
        targets={target.name: target.description for target in targets},
    )
    results["added"] = report.added(results["paths"])
    results["goals"] = report.goals(results)
    report.write(results, options.out, options.results_md)
    print()
    print(report.markdown(results))
    print(f"results: {options.out}" + (f", {options.results_md}" if options.results_md else ""))
    if options.mode == "quick":
        shutil.rmtree(log_dir, ignore_errors=True)  # kept after a failure, and after full runs
    return results

