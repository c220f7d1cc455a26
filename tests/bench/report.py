"""The report: what each target adds over the direct path, the goals checked, the tables, the machine.

:func:`added` subtracts the direct path's figures from each target's (same path, same run); :func:`goals`
checks the project's targets against the gateway's figures; :func:`markdown` renders everything as the
table printed at the end of a run and written to ``tests/bench/RESULTS.md``; :func:`machine` describes
where it ran.
"""

from __future__ import annotations

import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("gateway-core", "gateway-openai", "gateway-anthropic", "gateway-google", "openai", "anthropic",
            "google-genai", "aiohttp", "starlette", "uvicorn", "uvloop", "httptools", "msgspec", "pluggy")
CPU_MS_OPENAI_JSON = 0.6
ADDED_P50_C1_MS = 0.6
ADDED_P99_C64_MS = 5.0
CPU_MS_STREAM = 1.5
ADDED_TTFB_MS = 1.0
PEAK_RSS_MB = 100.0
SOAK_GROWTH_PCT = 10.0
STREAMS_ADDED_P99_MS = 10.0
DIALECT_CPU_SHARE = 1.10
"""A dialect path's CPU per request at most this share of the Responses path to the same upstream."""
DIALECT_PAIRS = (("chat-ingress", "openai-chat"), ("messages-ingress", "anthropic"))
LAYER_BUDGETS_MS = {"observed": 0.03, "keys": 0.05, "traced": None, "usage": None, "no-keepalive": None}
"""CPU-ms per request a layer may add on the mock JSON path over ``gw-bare`` (``None``: reported only)."""
BASELINE_SHARE = 1.05
"""The gateway's CPU per request at most this share of the baseline's (mock and OpenAI JSON) to count as
no slower (within the run-to-run noise of one run)."""
GAP_KEPT = 0.8
"""A stream forwards events as they arrive when its median gap between deltas is at least this share of
the upstream's delay between events."""


def machine() -> dict[str, Any]:
    """CPU model, cores, memory, kernel, Python and package versions, load average."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "0")
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {"cpu": model, "cores": os.cpu_count(), "memory_gb": round(int(memory) / 1024 / 1024, 1),
            "kernel": platform.release(), "python": platform.python_version(), "packages": versions,
            "loadavg_start": os.getloadavg()}


def _get(data: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _minus(a: Any, b: Any) -> float | None:
    return round(a - b, 3) if isinstance(a, (int, float)) and isinstance(b, (int, float)) else None


def added(paths: dict[str, dict[str, Any]]) -> dict[str, dict[str, dict[str, float | None]]]:
    """Per path and target: latency, TTFB and time to first delta minus the direct path's (ms). Paths with
    no upstream (the mock) have no direct figure: their absolute figures are shown instead."""
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    for key, by_target in paths.items():
        direct = _get(by_target, "direct", "phases") or {}
        for name, entry in by_target.items():
            phases = entry.get("phases")
            if name == "direct" or not phases:
                continue

            def delta(*keys: str, phases: dict[str, Any] = phases, direct: dict[str, Any] = direct) -> float | None:
                mine = _get(phases, *keys)
                return mine if not direct else _minus(mine, _get(direct, *keys))

            out.setdefault(key, {})[name] = {
                "c1_p50": delta("c1", "latency_ms", "p50"), "c1_p99": delta("c1", "latency_ms", "p99"),
                "c64_p50": delta("c64", "latency_ms", "p50"), "c64_p99": delta("c64", "latency_ms", "p99"),
                "ttfb_p50": delta("c1", "ttfb_ms", "p50"), "ttft_p50": delta("c1", "ttft_ms", "p50"),
            }
    return out


def _goal(name: str, measured: str, ok: bool | None) -> dict[str, Any]:
    return {"goal": name, "measured": measured, "met": ok}


def _numbers(values: dict[str, Any]) -> dict[str, float]:
    return {key: float(value) for key, value in values.items() if isinstance(value, (int, float))}


def _worst(name: str, values: dict[str, float], limit: float, *, strict: bool = False) -> dict[str, Any]:
    """A goal on the largest of per-path values."""
    if not values:
        return _goal(name, "not measured", None)
    key, value = max(values.items(), key=lambda item: item[1])
    return _goal(name, f"{key}: {value} ms", value < limit if strict else value <= limit)


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The project's targets, each with what this run measured and whether it is met (``None``: not measured)."""
    paths, add = results["paths"], results["added"]
    gateway = {key: entry["gateway"]["phases"] for key, entry in paths.items() if _get(entry, "gateway", "phases")}
    providers = [key for key in gateway if not key.startswith("mock/")]
    streams = [key for key in providers if key.endswith("/stream")]

    def cpu(target: str, keys: list[str]) -> dict[str, float]:
        return _numbers({key: _get(paths, key, target, "phases", "saturation", "cpu_ms_per_request") for key in keys})

    def added_ms(field: str, keys: list[str]) -> dict[str, float]:
        return _numbers({key: _get(add, key, "gateway", field) for key in keys})

    out = []
    mine = cpu("gateway", list(gateway))
    for peer, label in (("portkey", "CPU/request at saturation below Portkey's on every path both serve"),
                        ("portkey-chat", "reference, another client API: CPU/request vs Portkey's "
                                         "/v1/chat/completions to the same upstream")):
        theirs = {key: value for key, value in cpu(peer, list(gateway)).items() if key in mine}
        out.append(_goal(label, "; ".join(f"{key}: {mine[key]} vs {value} ms" for key, value in theirs.items())
                         or "no path both serve", all(mine[key] < value for key, value in theirs.items())
                         if theirs else None))
    out.append(_worst(f"/v1/responses to OpenAI JSON: <= {CPU_MS_OPENAI_JSON} CPU-ms/request",
                      cpu("gateway", ["openai-responses/json"]), CPU_MS_OPENAI_JSON))
    out.append(_worst(f"added latency p50 at c=1 <= {ADDED_P50_C1_MS} ms (worst path)", added_ms("c1_p50", providers),
                      ADDED_P50_C1_MS))
    out.append(_worst(f"added p99 at c=64 < {ADDED_P99_C64_MS} ms (worst path)", added_ms("c64_p99", providers),
                      ADDED_P99_C64_MS, strict=True))
    out.append(_worst(f"streams (20 deltas): <= {CPU_MS_STREAM} CPU-ms/stream at saturation (worst path)",
                      cpu("gateway", streams), CPU_MS_STREAM))
    gaps = {key: (_get(gateway[key], "gaps", "gap_ms", "p50"), _get(gateway[key], "gaps", "gap_ms_upstream"))
            for key in streams if "gaps" in gateway[key]}
    out.append(_goal("stream events forwarded as they arrive (median gap between deltas at the client vs upstream)",
                     "; ".join(f"{key}: {gap} ms vs {upstream} ms" for key, (gap, upstream) in gaps.items())
                     or "not measured",
                     all(gap >= GAP_KEPT * upstream for gap, upstream in gaps.values()) if gaps else None))
    out.append(_worst(f"added TTFB p50 < {ADDED_TTFB_MS} ms (worst stream path)", added_ms("ttfb_p50", streams),
                      ADDED_TTFB_MS, strict=True))
    for dialect, responses in DIALECT_PAIRS:
        for kind in ("json", "stream"):
            ours, reference = (_get(paths, f"{name}/{kind}", "gateway", "phases", "saturation", "cpu_ms_per_request")
                               for name in (dialect, responses))
            if isinstance(ours, (int, float)) and isinstance(reference, (int, float)):
                out.append(_goal(f"{dialect}/{kind}: CPU/request <= {DIALECT_CPU_SHARE:g} x {responses}/{kind}",
                                 f"{ours} vs {reference} ms ({ours / reference:.2f} x)",
                                 ours <= DIALECT_CPU_SHARE * reference))
    out.extend(layer_goals(paths))
    for key in ("mock/json", "openai-responses/json"):
        ours, theirs = (_get(paths, key, name, "phases", "saturation", "cpu_ms_per_request")
                        for name in ("gateway", "baseline"))
        if isinstance(ours, (int, float)) and isinstance(theirs, (int, float)):
            out.append(_goal(f"{key}: no slower than the baseline (CPU/request <= {BASELINE_SHARE:g} x)",
                             f"{ours} vs {theirs} ms ({ours / theirs:.2f} x)", ours <= BASELINE_SHARE * theirs))
    rss = _get(results, "peak_rss_kb", "gateway")
    before = _get(results, "peak_rss_before_streams_kb", "gateway")
    loaded = ", ".join(sorted(results.get("loaded_kinds", [])))
    measured = (f"{rss / 1024:.1f} MB over the run" + (f" ({before / 1024:.1f} MB before the concurrent streams)"
                                                        if before else "") + f"; loaded: {loaded}") if rss else ""
    out.append(_goal(f"peak RSS (VmHWM) < {PEAK_RSS_MB:g} MB with every provider loaded",
                     measured or "not measured", rss / 1024 < PEAK_RSS_MB if rss else None))
    soak = results.get("soak")
    out.append(_goal(f"RSS growth over the soak < {SOAK_GROWTH_PCT:g}%",
                     f"{soak['growth_pct']}% over {soak['requests']} requests, {soak['errors']} errors" if soak
                     else "not run", soak["growth_pct"] < SOAK_GROWTH_PCT and not soak["errors"] if soak else None))
    ramped = _get(results, "streams", "gateway", "ramped")
    direct = _get(results, "streams", "direct", "ramped")
    if isinstance(ramped, dict) and isinstance(direct, dict):
        extra = _minus(ramped["latency_ms"]["p99"], direct["latency_ms"]["p99"])
        out.append(_goal(f"{ramped['streams']} concurrent streams at {ramped['latency_ms_upstream']:g} ms "
                         f"latency: no errors, added p99 < {STREAMS_ADDED_P99_MS:g} ms",
                         f"{ramped['errors']} errors, added p99 {extra} ms, peak {ramped['peak_in_flight']} in flight",
                         not ramped["errors"] and extra is not None and extra < STREAMS_ADDED_P99_MS))
    return out


def layer_goals(paths: dict[str, Any]) -> list[dict[str, Any]]:
    """What each layer adds on the mock JSON path over ``gw-bare`` (same run), against its budget."""
    out = []
    bare = _get(paths, "mock/json", "gw-bare", "phases", "saturation", "cpu_ms_per_request")
    for layer, budget in LAYER_BUDGETS_MS.items():
        mine = _get(paths, "mock/json", f"gw-{layer}", "phases", "saturation", "cpu_ms_per_request")
        if not isinstance(bare, (int, float)) or not isinstance(mine, (int, float)):
            continue
        extra = round(mine - bare, 3)
        label = f"layer {layer}: CPU-ms/request added on mock/json over gw-bare" + (
            f" <= {budget}" if budget is not None else " (reported)")
        out.append(_goal(label, f"{mine} - {bare} = {extra} ms", extra <= budget if budget is not None else None))
    return out


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _busy(phase: dict[str, Any], name: str) -> str:
    return _fmt(_get(phase, "cpu", name, "busy_pct"), 0)


def path_table(results: dict[str, Any]) -> list[str]:
    """One row per path and target."""
    lines = [
        "| path | target | result | c1 p50 ms | +c1 p50 | +c1 p99 | +c64 p50 | +c64 p99 | +TTFB p50 | +TTFT p50 "
        "| gap p50 / upstream ms | CPU ms/stream with gaps | sat. req/s | CPU ms/req | busy % server / upstream / "
        "loadgen / core0 |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, by_target in results["paths"].items():
        for name, entry in by_target.items():
            phases = entry.get("phases") or {}
            extra = _get(results["added"], key, name) or {}
            sat = phases.get("saturation") or {}
            gaps = phases.get("gaps") or {}
            result = "ok" if phases else entry["status"] + ": " + entry["reason"].replace("|", "/")[:120]
            if phases and any(phase.get("errors") for phase in phases.values()):
                first = next(phase["first_error"] for phase in phases.values() if phase.get("errors"))
                result = f"errors: {first.replace('|', '/')[:100]}"
            gap = (f"{_fmt(_get(gaps, 'gap_ms', 'p50'))} / {_fmt(gaps.get('gap_ms_upstream'), 0)}" if gaps else "—")
            busy = (f"{_busy(sat, 'server')} / {_busy(sat, 'upstream')} / {_busy(sat, 'loadgen')} / "
                    f"{_busy(sat, 'core0')}" if sat else "—")
            lines.append(
                f"| {key} | {name} | {result} | {_fmt(_get(phases, 'c1', 'latency_ms', 'p50'), 3)} "
                f"| {_fmt(extra.get('c1_p50'), 3)} | {_fmt(extra.get('c1_p99'), 3)} | {_fmt(extra.get('c64_p50'))} "
                f"| {_fmt(extra.get('c64_p99'))} | {_fmt(extra.get('ttfb_p50'), 3)} | {_fmt(extra.get('ttft_p50'), 3)} "
                f"| {gap} | {_fmt(gaps.get('cpu_ms_per_request'), 3)} | {_fmt(sat.get('rps'), 0)} "
                f"| {_fmt(sat.get('cpu_ms_per_request'), 3)} | {busy} |")
    return lines


def streams_table(results: dict[str, Any]) -> list[str]:
    """The concurrent-streams runs."""
    runs = results.get("streams") or {}
    if not runs:
        return []
    lines = ["| target | run | streams | peak in flight | ok | errors | p50 ms | p99 ms | +p99 ms | TTFT p99 ms "
             "| CPU ms/stream | server busy % |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, by_run in runs.items():
        if not isinstance(by_run, dict):
            continue
        for run_name, run in by_run.items():
            if isinstance(run, str):
                lines.append(f"| {name} | {run_name} | — | — | — | — | — | — | — | — | — | {run} |")
                continue
            direct = _get(runs, "direct", run_name, "latency_ms", "p99")
            plus = _minus(run["latency_ms"]["p99"], direct) if name != "direct" else None
            lines.append(
                f"| {name} | {run_name} (ramp {run['ramp_s']:g} s, gap {run['gap_ms_upstream']:g} ms) "
                f"| {run['streams']} | {run.get('peak_in_flight', '—')} | {run['ok']} | {run['errors']} "
                f"| {_fmt(run['latency_ms']['p50'], 1)} "
                f"| {_fmt(run['latency_ms']['p99'], 1)} | {_fmt(plus, 1)} | {_fmt(run['ttft_ms']['p99'], 1)} "
                f"| {_fmt(run.get('cpu_ms_per_request'), 3)} | {_busy(run, 'server')} |")
    return lines


def markdown(results: dict[str, Any]) -> str:
    """The whole report as Markdown."""
    meta, info = results["meta"], results["machine"]
    packages = ", ".join(f"{name} {version}" for name, version in info["packages"].items())
    lines = [
        "# Benchmark results", "",
        f"Latest `{meta['command']}` ({meta['mode']} run, {meta['finished']}).", "",
        "## Machine", "",
        f"- CPU: {info['cpu']}, {info['cores']} cores, {info['memory_gb']} GB; Linux {info['kernel']}; "
        f"Python {info['python']}",
        f"- packages: {packages}",
        *(f"- peer: {name} {version}" for name, version in results.get("peer_versions", {}).items()),
        f"- load average at start {tuple(round(x, 2) for x in info['loadavg_start'])}, at end "
        f"{tuple(round(x, 2) for x in meta['loadavg_end'])}" + (f"; {meta['note']}" if meta.get("note") else ""),
        "", "## Pinning", "", *(f"- {line}" for line in results["pinning"]), "",
        "## Conditions", "", *(f"- {line}" for line in results["conditions"]), "",
        "## Goals", "", "| goal | measured | met |", "|---|---|---|",
        *(f"| {goal['goal']} | {goal['measured']} | {_fmt({True: 'yes', False: 'NO'}.get(goal['met']))} |"
          for goal in results["goals"]),
        "", "## Paths", "", "Added figures (+) are the target's minus the direct path's, same run; ms.", "",
        *path_table(results),
    ]
    if results.get("skipped"):
        lines += ["", "Skipped: " + "; ".join(f"{kind}: {reason}" for kind, reason in results["skipped"].items())]
    streams = streams_table(results)
    if streams:
        lines += ["", "## Concurrent streams", "", *streams]
    soak = results.get("soak")
    if soak:
        lines += ["", "## Soak", "",
                  f"{soak['requests']} requests rotating over {soak['paths_rotated']} paths through one fresh gateway "
                  f"worker in {soak['seconds']} s ({soak['rps']} req/s, {soak['cpu_ms_per_request']} CPU-ms/request, "
                  f"{soak['errors']} errors). RSS: idle {soak['rss_idle_kb'] / 1024:.1f} MB, start (after "
                  f"{soak['warmup_requests']} warm-up requests) {soak['rss_start_kb'] / 1024:.1f} MB, peak "
                  f"{soak['rss_peak_kb'] / 1024:.1f} MB, end {soak['rss_end_kb'] / 1024:.1f} MB: growth "
                  f"{soak['growth_pct']}% ({soak['rss_samples']} samples)."]
    rss = results.get("peak_rss_kb") or {}
    before = results.get("peak_rss_before_streams_kb") or {}
    if rss:
        lines += ["", "## Peak RSS (VmHWM)", "", *(f"- {name}: {kb / 1024:.1f} MB over the run, "
                                                  f"{before.get(name, 0) / 1024:.1f} MB before the concurrent streams"
                                                  for name, kb in rss.items())]
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], out: Path, results_md: Path | None) -> None:
    """The JSON results at ``out``; the Markdown report at ``results_md`` (when given)."""
    out.write_text(json.dumps(results, indent=2) + "\n")
    if results_md is not None:
        results_md.write_text(markdown(results))
