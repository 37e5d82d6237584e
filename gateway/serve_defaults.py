"""Defaults of `meerpunt-gateway serve` that depend on the machine and the database."""

from __future__ import annotations

import math
import os
from pathlib import Path

KEEP_ALIVE_SECONDS = 30
"""How long `serve` keeps an idle client connection open. Partners keep a pool of connections; a
short idle timeout makes the server close them often, and a request sent on a pooled connection
just as the server closes it fails ("Server disconnected without sending a response")."""

MAX_DEFAULT_WORKERS = 4
"""Beyond four processes the gateway is bound by PostgreSQL and the connection pools, not Python."""


def default_workers(database_url: str, cpu_count: int | None = None) -> int:
    """Worker processes when `serve` is not given `--workers`: min(CPU cores, 4) on PostgreSQL.

    CPU cores are those the process may use (`available_cores`: affinity and container quota).

    One worker uses one core (the GIL), so a single default process left the machine's other
    cores idle (issue 16: 193 disclosures/s and p99 400 ms on two cores). SQLite stays at one
    process: its writers serialise on one file lock, and the register's sequencer relies on a
    single process there (`audit.sequencer`).
    """
    if database_url.startswith("sqlite"):
        return 1
    cores = cpu_count if cpu_count is not None else available_cores()
    return max(1, min(cores, MAX_DEFAULT_WORKERS))


CGROUP_ROOT = Path("/sys/fs/cgroup")


def available_cores(cgroup_root: Path = CGROUP_ROOT) -> int:
    """The cores this process may use: its CPU affinity, capped by a container's CPU quota.

    In a container `os.cpu_count()` is the node's count: a pod limited to 2 CPUs on a 64-core node
    would start four workers that share two cores, and hold four pools of database connections.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = cgroup_cpu_quota(cgroup_root)
    if quota is not None:
        cores = min(cores, max(1, math.ceil(quota)))
    return cores


def cgroup_cpu_quota(cgroup_root: Path = CGROUP_ROOT) -> float | None:
    """CPUs allowed by the cgroup's quota (v2 `cpu.max`, or v1 `cpu.cfs_quota_us`), None if unlimited."""
    try:
        quota, period = (cgroup_root / "cpu.max").read_text().split()[:2]
        if quota == "max":
            return None
        return int(quota) / int(period)
    except (OSError, ValueError, ZeroDivisionError):
        pass
    try:
        quota_us = int((cgroup_root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((cgroup_root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None
