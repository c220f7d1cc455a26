"""What the processes cost, read from ``/proc``: CPU time of a process tree, RSS, peak RSS, CPU affinity.

CPU time is ``utime + stime`` (``/proc/<pid>/stat``, in clock ticks) of a process and every descendant
alive at the reading, plus ``cutime + cstime`` of the root (children it already reaped). A :class:`Meter`
reads it at the start and the end of a measured window, for every watched process and for this process
(the load generator), and reports CPU seconds and how busy each was (CPU% of one core over the window).
"""

from __future__ import annotations

import asyncio
import os
import resource
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

TICK = 1.0 / os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command name (index 0 is the state)."""
    text = (PROC / str(pid) / "stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def descendants(root: int) -> list[int]:
    """``root`` and every live descendant."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int(_stat_fields(int(entry.name))[1])
        except (OSError, ValueError, IndexError):
            continue  # exited while we looked
        children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, ()))
    return found


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds (user + system) used so far by ``root``'s tree, reaped children included."""
    total = 0
    for pid in descendants(root):
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
        if pid == root:
            total += int(fields[13]) + int(fields[14])
    return total * TICK


def self_cpu_seconds() -> float:
    """CPU seconds of this process (the load generator)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def status_kb(pid: int, key: str) -> int:
    """A ``kB`` field of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``); 0 when absent."""
    for line in (PROC / str(pid) / "status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def tree_kb(root: int, key: str) -> int:
    """The sum of a ``kB`` status field over ``root``'s tree."""
    total = 0
    for pid in descendants(root):
        try:
            total += status_kb(pid, key)
        except OSError:
            continue
    return total


def affinity(pid: int) -> str:
    """The CPUs ``pid`` may run on (``Cpus_allowed_list``), e.g. ``"0"``."""
    for line in (PROC / str(pid) / "status").read_text().splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return line.split(":", 1)[1].strip()
    return "?"


def core_busy_seconds() -> dict[str, float]:
    """Busy seconds so far of each core (``/proc/stat``: everything but idle and iowait), as ``core0``, ..."""
    busy = {}
    for line in (PROC / "stat").read_text().splitlines():
        if line.startswith("cpu") and line[3:4].isdigit():
            name, *values = line.split()
            ticks = [int(value) for value in values]
            busy["core" + name[3:]] = (sum(ticks[:8]) - ticks[3] - ticks[4]) * TICK
    return busy


@dataclass(frozen=True)
class Usage:
    """CPU used by one process tree over a window."""

    cpu_seconds: float
    busy_percent: float


@dataclass
class Meter:
    """CPU over a window for named process trees, this process (``loadgen``) and each core (``core0``, ...:
    everything that ran there, other processes of the machine included)."""

    pids: Mapping[str, int]
    _start: dict[str, float] = field(default_factory=dict)
    _t0: float = 0.0

    def _read(self) -> dict[str, float]:
        readings = {name: tree_cpu_seconds(pid) for name, pid in self.pids.items()}
        readings["loadgen"] = self_cpu_seconds()
        readings.update(core_busy_seconds())
        return readings

    def start(self) -> None:
        """Open the window."""
        self._start = self._read()
        self._t0 = time.perf_counter()

    def stop(self) -> dict[str, Usage]:
        """Close the window: CPU seconds and busy % of each process tree over it."""
        elapsed = max(time.perf_counter() - self._t0, 1e-9)
        end = self._read()
        return {name: Usage(end[name] - self._start[name], 100.0 * (end[name] - self._start[name]) / elapsed)
                for name in end}


@dataclass
class RssSampler:
    """Samples a tree's RSS (kB) every ``interval`` seconds while running (for the soak)."""

    pid: int
    interval: float = 0.5
    samples: list[tuple[float, int]] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        """Sample until ``stop`` is set (one last sample then)."""
        t0 = time.perf_counter()
        while True:
            self.samples.append((time.perf_counter() - t0, tree_kb(self.pid, "VmRSS")))
            try:
                await asyncio.wait_for(stop.wait(), self.interval)
                self.samples.append((time.perf_counter() - t0, tree_kb(self.pid, "VmRSS")))
                return
            except asyncio.TimeoutError:
                continue
