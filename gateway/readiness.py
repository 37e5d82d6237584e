"""Readiness (`/readyz`): the database answers and the register sequencer keeps up.

A load balancer or Kubernetes stops routing to an instance that is not ready. The sequencer's
health (`audit.sequencer.health`) is the register's: every instance reports the same, because the
sequencer runs wherever the advisory lock is free. A stalled sequencer makes every instance
unready on purpose: disclosures are still accepted and registered, but their entries wait for a
tree position and a signed head, and an operator must look (the body says what waits, and since
when).
"""

from __future__ import annotations

import time
from typing import Any

from sqlmodel import Session

from audit.sequencer import health
from gateway.db import database_reachable
from gateway.problems import Problem
from gateway.runtime import Runtime

#: Probes come every few seconds from every balancer; the sequencer's state is read at most this
#: often per process (three small queries).
HEALTH_CACHE_SECONDS = 2.0

_CACHE = "gateway.readiness.sequencer"  # runtime.extensions: (monotonic time, health)


def sequencer_health(runtime: Runtime) -> dict[str, Any]:
    cached = runtime.extensions.get(_CACHE)
    if cached is not None and time.monotonic() - cached[0] < HEALTH_CACHE_SECONDS:
        state: dict[str, Any] = cached[1]
        return state
    with Session(runtime.engine) as session:
        state = health(session, runtime)
        session.rollback()
    runtime.extensions[_CACHE] = (time.monotonic(), state)
    return state


def readiness(runtime: Runtime) -> dict[str, Any]:
    """`{"status": "ready", "sequencer": {...}}`, or a 503 problem saying what is wrong."""
    if not database_reachable(runtime.engine):
        raise Problem(
            "The database is not reachable.",
            status=503,
            slug="not-ready",
            title="Not ready",
            headers={"Retry-After": "5"},
        )
    sequencer = sequencer_health(runtime)
    if sequencer["stalled"]:
        age = sequencer["newest_checkpoint_age_seconds"]
        since = "no tree head has been signed yet" if age is None else f"the newest is {age:.0f} s old"
        raise Problem(
            f"The register sequencer is stalled: {sequencer['backlog']} entries await a tree "
            f"position and {sequencer['tree_size'] - sequencer['signed_tree_size']} a signed tree "
            f"head, and {since}. Its log and meerpunt_register_sequencer_failures_total say why.",
            status=503,
            slug="sequencer-stalled",
            title="Not ready",
            extra={"sequencer": sequencer},
            headers={"Retry-After": "5"},
        )
    return {"status": "ready", "sequencer": sequencer}
