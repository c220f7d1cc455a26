"""How many worker processes ``server.workers: auto`` means: the cores this process may use.

The count honours the CPU affinity mask (``taskset``, a cgroup cpuset) and, in a container, the cgroup v2
CPU quota (``cpu.max``, what ``docker run --cpus`` and a Kubernetes CPU limit set), rounded up, and is at
least 1.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def available_cores(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """The cores this process may run on: its affinity mask, capped by the cgroup's CPU quota if one is set."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = cgroup_quota(cpu_max)
    if quota is not None:
        cores = min(cores, quota)
    return max(1, cores)


def cgroup_quota(cpu_max: Path = CGROUP_CPU_MAX) -> int | None:
    """The cgroup v2 CPU quota in whole cores (rounded up), or None when there is none or it cannot be read."""
    try:
        quota, period = cpu_max.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return max(1, math.ceil(int(quota) / int(period)))
    except (ValueError, ZeroDivisionError):
        return None


def resolve_workers(workers: int | str) -> int:
    """``server.workers`` as a number: ``"auto"`` is :func:`available_cores`."""
    return available_cores() if workers == "auto" else int(workers)
