"""Prometheus metrics of the right of access, counted from the database at scrape time.

A gauge set by some request handler would be stale, or never set after a restart; counting the
requests by status (and the overdue ones, art. 10.3) when Prometheus scrapes costs one indexed
GROUP BY and always tells the truth. A database error yields `…_metrics_up 0` instead of failing the
whole scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from prometheus_client.core import REGISTRY, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlmodel import col

from audit.access import rules
from audit.access.models import SubjectAccessRequest
from consent.rules import local_date
from gateway.runtime import Runtime

log = logging.getLogger("meerpunt.access.metrics")

_TABLE: sa.Table = SubjectAccessRequest.__table__  # type: ignore[attr-defined]


def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
    return (
        GaugeMetricFamily(
            "meerpunt_access_requests", "Subject-access requests by status (art. 10)", labels=["status"]
        ),
        GaugeMetricFamily(
            "meerpunt_access_requests_overdue",
            "Subject-access requests still open after their due date (art. 10.3)",
        ),
        GaugeMetricFamily(
            "meerpunt_access_requests_metrics_up", "1 if the access-request counts could be read, else 0"
        ),
    )


def count_requests(runtime: Runtime) -> tuple[dict[str, int], int]:
    """Requests per status, and open requests whose due date (a Dutch date) has passed."""
    today = local_date(runtime.clock())
    status = col(SubjectAccessRequest.status)
    with runtime.engine.connect() as connection:
        per_status = {
            str(name): int(count)
            for name, count in connection.execute(
                sa.select(status, sa.func.count()).select_from(_TABLE).group_by(status)
            ).all()
        }
        overdue = connection.execute(
            sa.select(sa.func.count())
            .select_from(_TABLE)
            .where(status.in_(rules.OPEN_STATUSES), col(SubjectAccessRequest.due_date) < today)
        ).scalar_one()
    return per_status, int(overdue)


class AccessRequestCollector(Collector):
    def __init__(self) -> None:
        self._runtimes: list[Runtime] = []

    def bind(self, runtime: Runtime) -> None:
        self._runtimes.append(runtime)

    def unbind(self, runtime: Runtime) -> None:
        if runtime in self._runtimes:
            self._runtimes.remove(runtime)

    def describe(self) -> Iterable[Metric]:
        return list(_families())

    def collect(self) -> Iterable[Metric]:
        by_status, overdue, up = _families()
        if not self._runtimes:
            return [by_status, overdue, up]
        try:
            per_status, late = count_requests(self._runtimes[-1])
        except Exception:  # a scrape must not fail because the database is away
            log.warning("could not count access requests", exc_info=True)
            up.add_metric([], 0)
            return [by_status, overdue, up]
        for name in sorted(set(rules.STATUSES) | set(per_status)):
            by_status.add_metric([name], per_status.get(name, 0))
        overdue.add_metric([], late)
        up.add_metric([], 1)
        return [by_status, overdue, up]


COLLECTOR = AccessRequestCollector()
REGISTRY.register(COLLECTOR)


@contextmanager
def bound(runtime: Runtime) -> Iterator[None]:
    """Count from this runtime's database while the app runs (the app lifespan)."""
    COLLECTOR.bind(runtime)
    try:
        yield
    finally:
        COLLECTOR.unbind(runtime)
