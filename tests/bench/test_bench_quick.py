"""The benchmark itself works: ``run.py --quick`` (a few seconds, no peers) measures every path whose plugin
is installed, on the fake upstream and through the gateway, and writes results with every row present.

Timings are never asserted (the machine may be busy); the structure is: every path has its rows or a
skip reason, every request succeeded, every figure is positive.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

RUN = Path(__file__).with_name("run.py")
ROUTES = {"openai-responses": "openai", "openai-chat": "openai", "anthropic": "anthropic", "gemini": "google",
          "mock": "mock"}
PHASES = {"c1", "saturation"}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One quick run, as ``python tests/bench/run.py --quick --out FILE``."""
    out = tmp_path_factory.mktemp("bench") / "bench-results.json"
    done = subprocess.run([sys.executable, str(RUN), "--quick", "--out", str(out)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def _provider_keys(results: dict[str, Any]) -> list[str]:
    return [f"{route}/{kind}" for route, plugin in ROUTES.items() if plugin not in results["skipped"]
            for kind in ("json", "stream")]


def test_every_path_is_measured_or_skipped_with_a_reason(results: dict[str, Any]) -> None:
    assert "mock" not in results["skipped"]
    for route, plugin in ROUTES.items():
        for kind in ("json", "stream"):
            key = f"{route}/{kind}"
            if plugin in results["skipped"]:
                assert results["skipped"][plugin], f"{key} skipped without a reason"
                assert key not in results["paths"]
            else:
                assert set(results["paths"][key]) == {"direct", "gateway"}, key


def test_every_request_succeeded(results: dict[str, Any]) -> None:
    for key in _provider_keys(results):
        for target, entry in results["paths"][key].items():
            if target == "direct" and key.startswith("mock/"):
                assert entry["status"] == "unsupported" and entry["reason"]
                continue
            assert entry["status"] == "ok", (key, target, entry.get("reason"))
            expected = set(PHASES)
            if not key.startswith("mock/"):  # through an upstream: its latency and event gaps apply
                expected |= {"c64", "gaps"} if key.endswith("/stream") else {"c64"}
            assert set(entry["phases"]) == expected
            for name, phase in entry["phases"].items():
                assert phase["ok"] > 0 and phase["errors"] == 0, (key, target, name, phase["first_error"])


def test_figures_are_positive(results: dict[str, Any]) -> None:
    for key in _provider_keys(results):
        phases = results["paths"][key]["gateway"]["phases"]
        for phase in phases.values():
            assert phase["rps"] > 0 and phase["latency_ms"]["p50"] > 0 and phase["latency_ms"]["p99"] > 0
            assert phase["cpu"]["server"]["cpu_s"] >= 0 and phase["cpu"]["loadgen"]["busy_pct"] >= 0
        assert phases["saturation"]["cpu_ms_per_request"] > 0
        if key.endswith("/stream"):
            assert phases["c1"]["ttfb_ms"]["p50"] > 0 and phases["c1"]["ttft_ms"]["p50"] > 0
        added = results["added"][key]["gateway"]
        assert added["c1_p50"] is not None and (added["c64_p99"] is not None or key.startswith("mock/"))
    assert results["peak_rss_kb"]["gateway"] > 0


def test_streams_soak_and_goals_are_reported(results: dict[str, Any]) -> None:
    for target in ("direct", "gateway") if results["streams_path"].startswith("openai") else ("gateway",):
        for run in results["streams"][target].values():
            assert run["ok"] == run["streams"] and run["errors"] == 0 and run["peak_in_flight"] > 0
    soak = results["soak"]
    assert soak["ok"] == soak["requests"] and soak["errors"] == 0
    assert 0 < soak["rss_start_kb"] <= soak["rss_peak_kb"] and soak["rss_end_kb"] > 0
    assert all({"goal", "measured", "met"} <= set(goal) for goal in results["goals"]) and results["goals"]
    assert any(line.startswith("gateway:") and "taskset -c 0" in line for line in results["pinning"])



def test_layers_run_side_by_side(tmp_path: Path) -> None:
    """``--layers``: the gateway again with each layer on over a bare one, every request answered (the keys
    layer sends its key, the traced one exports to the fake upstream), and each layer's cost reported."""
    out = tmp_path / "layers.json"
    done = subprocess.run([sys.executable, str(RUN), "--quick", "--paths", "mock", "--layers",
                           "bare,observed,traced,keys", "--soak", "0", "--streams", "0", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    data = json.loads(out.read_text())
    for key in ("mock/json", "mock/stream"):
        for layer in ("bare", "observed", "traced", "keys"):
            entry = data["paths"][key][f"gw-{layer}"]
            assert entry["status"] == "ok", (key, layer, entry.get("reason"))
            assert all(phase["errors"] == 0 for phase in entry["phases"].values())
    reported = {goal["goal"].split(":")[0] for goal in data["goals"] if goal["goal"].startswith("layer ")}
    assert reported == {"layer observed", "layer keys", "layer traced"}
