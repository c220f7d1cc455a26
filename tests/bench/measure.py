"""The measurements: each phase sets the fake upstream's timing, drives one target on one path with the load
generator, and summarises the window as plain data (milliseconds, requests per second, CPU).

Phases, per target and path: ``check`` (one request must carry the whole answer), ``c1`` (one connection,
no model latency: latency and time to first byte), ``c64`` (64 connections with a model latency that keeps
one worker below saturation: latency under concurrency), ``saturation`` (no model latency, many connections:
requests per second and CPU per request) and, for streams, ``gaps`` (a delay between upstream events: the
time between deltas at the client shows whether events are held back). Then, once: ``streams`` (hundreds of
concurrent streams) and ``soak`` (a long run through a fresh gateway, RSS sampled throughout).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import processes, procstat
from .loadgen import Connection, Run, Sample, closed_loop, staggered
from .procstat import Meter, RssSampler
from .targets import Target
from .wire import MARKERS


@dataclass(frozen=True)
class Plan:
    """How long and how hard each phase runs."""

    warmup: float = 1.0
    duration: float = 4.0
    c64: int = 64
    c64_latency_ms: float = 100.0
    c64_jitter_pct: float = 50.0
    saturation_concurrency: int = 32
    rounds: int = 1
    """Saturation windows per path and target, taken in turns (A B C, A B C, ...); CPU/request is their
    median, so a drift of the machine's speed during the run hits every target alike."""
    gap_ms: float = 10.0
    gap_concurrency: int = 16
    streams: int = 500
    streams_latency_ms: float = 200.0
    streams_ramp: float = 2.0
    streams_gap_ms: float = 100.0
    soak: int = 200_000
    soak_warmup: int = 4_000
    soak_concurrency: int = 16


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def _ms(values: Sequence[float]) -> dict[str, float]:
    return {"p50": round(1000 * percentile(values, 0.50), 3), "p90": round(1000 * percentile(values, 0.90), 3),
            "p99": round(1000 * percentile(values, 0.99), 3), "max": round(1000 * max(values, default=0.0), 3)}


def describe_failure(sample: Sample) -> str:
    """Why a request did not count: its error, or how much of the answer was missing."""
    if sample.error:
        return sample.error
    return f"HTTP {sample.status} with {len(sample.marks)} of {len(MARKERS)} deltas"


def summarize(run: Run, stream: bool) -> dict[str, Any]:
    """Latency percentiles, time to first byte / delta, throughput, CPU and busy % of one window."""
    ok = [sample for sample in run.samples if sample.ok]
    failed = [sample for sample in run.samples if not sample.ok]
    result: dict[str, Any] = {
        "requests": len(run.samples), "ok": len(ok), "errors": len(failed),
        "first_error": describe_failure(failed[0]) if failed else "",
        "seconds": round(run.seconds, 3), "rps": round(len(ok) / run.seconds, 1) if run.seconds else 0.0,
        "latency_ms": _ms([sample.latency for sample in ok]),
        "cpu": {name: {"cpu_s": round(usage.cpu_seconds, 3), "busy_pct": round(usage.busy_percent, 1)}
                for name, usage in run.cpu.items()},
    }
    if ok and "server" in run.cpu:
        result["cpu_ms_per_request"] = round(1000 * run.cpu["server"].cpu_seconds / len(ok), 3)
    if stream:
        result["ttfb_ms"] = _ms([sample.ttfb for sample in ok])
        result["ttft_ms"] = _ms([sample.ttft for sample in ok])
        gaps = [later - earlier for sample in ok for earlier, later in itertools.pairwise(sample.marks)]
        result["gap_ms"] = _ms(gaps) | {"p10": round(1000 * percentile(gaps, 0.10), 3)}
    if run.peak_in_flight:
        result["peak_in_flight"] = run.peak_in_flight
    return result


class Bench:
    """Runs phases against targets that share one fake upstream."""

    def __init__(self, upstream: processes.Server, plan: Plan) -> None:
        self.upstream = upstream
        self.plan = plan
        self.servers: list[processes.Server] = []
        """Every server running besides the upstream: those not under test are metered as ``idle <name>``."""

    def _timing(self, latency_ms: float, gap_ms: float, jitter_pct: float = 0.0) -> None:
        query = f"latency_ms={latency_ms}&event_delay_ms={gap_ms}&jitter_pct={jitter_pct}"
        processes.http(self.upstream.port, "POST", f"/_bench/settings?{query}")

    def _meter(self, target: Target) -> Meter:
        pids = {"server": target.server.pid}
        if target.server.pid != self.upstream.pid:
            pids["upstream"] = self.upstream.pid
        for server in self.servers:
            if server.pid not in pids.values():
                pids[f"idle {server.name}"] = server.pid
        return Meter(pids)

    async def check(self, target: Target, raw: bytes) -> str:
        """One request with no latency: ``""`` if it carried the whole answer, else what went wrong."""
        self._timing(0, 0)
        try:
            connection = await Connection.open("127.0.0.1", target.server.port)
        except OSError as exc:
            return f"connect failed: {exc}"
        try:
            sample = await connection.request(raw, timeout=30)
        finally:
            connection.close()
        return "" if sample.ok else describe_failure(sample)

    async def closed(self, target: Target, raw: bytes, *, stream: bool, concurrency: int, latency_ms: float = 0.0,
                     jitter_pct: float = 0.0, gap_ms: float = 0.0) -> dict[str, Any]:
        """A closed-loop window (warm-up first) with the upstream's timing set as given; with a latency, the
        connections start spread over it (and the jitter keeps them from falling back in step)."""
        self._timing(latency_ms, gap_ms, jitter_pct)
        run = await closed_loop("127.0.0.1", target.server.port, [raw], concurrency=concurrency,
                                warmup=self.plan.warmup, duration=self.plan.duration, meter=self._meter(target),
                                stagger=min(latency_ms / 1000, self.plan.warmup))
        return summarize(run, stream) | {"concurrency": concurrency, "latency_ms_upstream": latency_ms,
                                         "jitter_pct_upstream": jitter_pct, "gap_ms_upstream": gap_ms}

    async def phases(self, target: Target, raw: bytes, *, stream: bool, upstream: bool) -> dict[str, Any]:
        """``c1`` and ``saturation``; through an upstream (whose latency and event gaps apply) also ``c64``
        and, for streams, ``gaps``."""
        plan = self.plan
        results = {"c1": await self.closed(target, raw, stream=stream, concurrency=1)}
        if upstream:
            results["c64"] = await self.closed(target, raw, stream=stream, concurrency=plan.c64,
                                               latency_ms=plan.c64_latency_ms, jitter_pct=plan.c64_jitter_pct)
        results["saturation"] = await self.closed(target, raw, stream=stream, concurrency=plan.saturation_concurrency)
        if upstream and stream:
            results["gaps"] = await self.closed(target, raw, stream=True, concurrency=plan.gap_concurrency,
                                                gap_ms=plan.gap_ms)
        return results

    async def streams(self, target: Target, raw: bytes, *, ramp: float, gap_ms: float) -> dict[str, Any]:
        """``plan.streams`` concurrent streams with the model latency of the plan, started over ``ramp`` s."""
        plan = self.plan
        self._timing(plan.streams_latency_ms, gap_ms)
        run = await staggered("127.0.0.1", target.server.port, raw, count=plan.streams, ramp=ramp,
                              meter=self._meter(target))
        return summarize(run, stream=True) | {"streams": plan.streams, "ramp_s": ramp, "gap_ms_upstream": gap_ms,
                                              "latency_ms_upstream": plan.streams_latency_ms}

    async def soak(self, gateway: Target, requests: list[bytes]) -> dict[str, Any]:
        """``plan.soak`` requests, rotating over ``requests``, through one fresh gateway; RSS sampled throughout."""
        plan = self.plan
        self._timing(0, 0)
        pid = gateway.server.pid
        idle_kb = procstat.tree_kb(pid, "VmRSS")
        warmup = await closed_loop("127.0.0.1", gateway.server.port, requests, concurrency=plan.soak_concurrency,
                                   warmup=0.0, duration=600.0, max_requests=plan.soak_warmup,
                                   meter=Meter({}))
        stop = asyncio.Event()
        sampler = RssSampler(pid)
        sampling = asyncio.ensure_future(sampler.run(stop))
        started = time.perf_counter()
        run = await closed_loop("127.0.0.1", gateway.server.port, requests, concurrency=plan.soak_concurrency,
                                warmup=0.0, duration=3600.0, max_requests=plan.soak, meter=self._meter(gateway))
        stop.set()
        await sampling
        rss = [kb for _, kb in sampler.samples]
        start_kb, end_kb = rss[0], rss[-1]
        summary = summarize(run, stream=False)
        return {
            "requests": plan.soak, "ok": summary["ok"], "errors": summary["errors"] + warmup_errors(warmup),
            "first_error": summary["first_error"], "seconds": round(time.perf_counter() - started, 1),
            "rps": summary["rps"], "cpu_ms_per_request": summary.get("cpu_ms_per_request", 0.0),
            "warmup_requests": len(warmup.samples), "rss_idle_kb": idle_kb, "rss_start_kb": start_kb,
            "rss_peak_kb": max(rss), "rss_end_kb": end_kb, "vmhwm_kb": procstat.tree_kb(pid, "VmHWM"),
            "growth_pct": round(100.0 * (end_kb - start_kb) / start_kb, 2) if start_kb else 0.0,
            "rss_samples": len(rss), "paths_rotated": len(requests),
        }


def warmup_errors(run: Run) -> int:
    """Failed requests of an unmeasured run."""
    return sum(1 for sample in run.samples if not sample.ok)
