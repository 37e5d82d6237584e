"""Defaults of `meerpunt-gateway serve` that depend on the machine and the database."""

from __future__ import annotations

import os

KEEP_ALIVE_SECONDS = 30
"""How long `serve` keeps an idle client connection open. Partners keep a pool of connections; a
short idle timeout makes the server close them often, and a request sent on a pooled connection
just as the server closes it fails ("Server disconnected without sending a response")."""

MAX_DEFAULT_WORKERS = 4
"""Beyond four processes the gateway is bound by PostgreSQL and the connection pools, not Python."""


def default_workers(database_url: str, cpu_count: int | None = None) -> int:
    """Worker processes when `serve` is not given `--workers`: min(CPU cores, 4) on PostgreSQL.

    One worker uses one core (the GIL), so a single default process left the machine's other
    cores idle (issue 16: 193 disclosures/s and p99 400 ms on two cores). SQLite stays at one
    process: its writers serialise on one file lock, and the register's sequencer relies on a
    single process there (`audit.sequencer`).
    """
    if database_url.startswith("sqlite"):
        return 1
    cores = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    return max(1, min(cores, MAX_DEFAULT_WORKERS))
