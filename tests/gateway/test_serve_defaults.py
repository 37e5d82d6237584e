"""`serve` picks a worker count that fits the machine when `--workers` is not given (issue 16)."""

from __future__ import annotations

import os
from pathlib import Path

from typer.testing import CliRunner

from gateway.cli import app
from gateway.serve_defaults import available_cores, cgroup_cpu_quota, default_workers


def test_postgresql_uses_the_cores_up_to_four() -> None:
    url = "postgresql+psycopg://gateway@db/gateway"
    assert default_workers(url, cpu_count=1) == 1
    assert default_workers(url, cpu_count=2) == 2
    assert default_workers(url, cpu_count=64) == 4
    assert default_workers(url, cpu_count=0) == 1


def test_a_container_quota_caps_the_cores(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("150000 100000\n")  # cgroup v2: 1.5 CPUs
    assert cgroup_cpu_quota(tmp_path) == 1.5
    assert available_cores(tmp_path) == min(2, len(os.sched_getaffinity(0)))


def test_no_quota_leaves_the_cores_the_process_may_use(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_quota(tmp_path) is None
    assert available_cores(tmp_path) == len(os.sched_getaffinity(0))
    assert cgroup_cpu_quota(tmp_path / "absent") is None  # no cgroup files at all


def test_a_cgroup_v1_quota_is_read_too(tmp_path: Path) -> None:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("50000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_quota(tmp_path) == 0.5
    assert available_cores(tmp_path) == 1  # half a CPU still gets one worker
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")  # v1's "unlimited"
    assert cgroup_cpu_quota(tmp_path) is None


def test_sqlite_stays_one_process() -> None:
    assert default_workers("sqlite:///meerpunt.db", cpu_count=8) == 1


def test_help_says_the_default() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200", "TERM": "dumb"})
    assert result.exit_code == 0
    assert "min(CPU cores, 4) on PostgreSQL" in result.output
