"""`serve` picks a worker count that fits the machine when `--workers` is not given (issue 16)."""

from __future__ import annotations

from typer.testing import CliRunner

from gateway.cli import app
from gateway.serve_defaults import default_workers


def test_postgresql_uses_the_cores_up_to_four() -> None:
    url = "postgresql+psycopg://gateway@db/gateway"
    assert default_workers(url, cpu_count=1) == 1
    assert default_workers(url, cpu_count=2) == 2
    assert default_workers(url, cpu_count=64) == 4
    assert default_workers(url, cpu_count=0) == 1


def test_sqlite_stays_one_process() -> None:
    assert default_workers("sqlite:///meerpunt.db", cpu_count=8) == 1


def test_help_says_the_default() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200", "TERM": "dumb"})
    assert result.exit_code == 0
    assert "min(CPU cores, 4) on PostgreSQL" in result.output
