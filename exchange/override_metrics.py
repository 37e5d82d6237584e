"""Override metrics, computed from the database at scrape time (issue 6: per partner and ground).

Counting in the process (a Counter incremented per request) loses everything at a restart, counts
a held override that later expires, and counts a repeated action twice. The database knows the
truth, so each scrape asks it, with one GROUP BY over `exchange_override`:

- `meerpunt_override_states{partner, basis, ground, approval_status, review_status, verdict}`: every
  override by state (a hold past its deadline counts as `expired` at once);
- `meerpunt_overrides_total{partner, basis, ground}`: overrides actually disclosed
  (no vier-ogen needed, or approved); held and expired ones are not disclosures;
- `meerpunt_override_reviews_total{partner, basis, ground, verdict}`: reviews (one per override);
- `meerpunt_overrides_inform_overdue{partner}`: disclosed overrides whose subject was not informed
  within `override_inform_overdue_days` (art. 7.4), the same rule as `GET /v1/overrides?status=overdue`.

"Share reviewed" is then `sum by (partner, ground) (meerpunt_override_reviews_total) / sum by
(partner, ground) (meerpunt_overrides_total)`, and "share found not justified" the same with
`verdict="not_justified"`. A database error is logged and the scrape carries no override metrics
rather than failing the whole `/metrics` answer.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from exchange.models import Override
from exchange.override_rules import SENT
from exchange.overrides import hold_expired_clause, inform_overdue_clause
from gateway.runtime import Runtime

log = logging.getLogger("meerpunt.metrics")

_OVERRIDES: sa.Table = Override.__table__  # type: ignore[attr-defined]
_REGISTRY_KEY = "override_metrics_registry"


def _state_query(now: dt.datetime, overdue_days: int) -> sa.Select[Any]:
    table = _OVERRIDES
    approval = sa.case((hold_expired_clause(now), "expired"), else_=table.c.approval_status)
    overdue = sa.case((inform_overdue_clause(now, overdue_days), 1), else_=0)
    states = sa.select(
        table.c.partner.label("partner"),
        table.c.basis_type.label("basis"),
        table.c.ground.label("ground"),
        approval.label("approval"),
        table.c.review_status.label("review"),
        sa.func.coalesce(table.c.verdict, "").label("verdict"),
        overdue.label("overdue"),
    ).subquery()
    keys = [
        states.c[name] for name in ("partner", "basis", "ground", "approval", "review", "verdict", "overdue")
    ]
    return sa.select(*keys, sa.func.count().label("n")).group_by(*keys)


class OverrideCollector(Collector):
    """Gauges and counters of overrides, read from the database at each scrape."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def describe(self) -> Iterable[Metric]:
        return []  # no database query when the collector is registered

    def collect(self) -> Iterator[Metric]:
        try:
            rows = self._rows()
        except Exception:  # a scrape must not fail because the database hiccups
            log.exception("override metrics: database query failed")
            return
        yield from families(rows)

    def _rows(self) -> list[tuple[str, str, str, str, str, str, int, int]]:
        query = _state_query(self.runtime.clock(), self.runtime.settings.override_inform_overdue_days)
        with self.runtime.engine.connect() as connection:
            result = connection.execute(query)
            return [
                (str(p), str(b), str(g), str(a), str(r), str(v), int(o), int(n))
                for p, b, g, a, r, v, o, n in result
            ]


def families(rows: Iterable[tuple[str, str, str, str, str, str, int, int]]) -> list[Metric]:
    """The metric families for grouped rows: partner, basis, ground, approval, review, verdict,
    overdue (0/1) and count."""
    states: defaultdict[tuple[str, ...], int] = defaultdict(int)
    sent: defaultdict[tuple[str, ...], int] = defaultdict(int)
    reviews: defaultdict[tuple[str, ...], int] = defaultdict(int)
    overdue: defaultdict[str, int] = defaultdict(int)
    for partner, basis, ground, approval, review, verdict, is_overdue, count in rows:
        states[(partner, basis, ground, approval, review, verdict)] += count
        if approval in SENT:
            sent[(partner, basis, ground)] += count
        if review == "reviewed" and verdict:
            reviews[(partner, basis, ground, verdict)] += count
        overdue[partner] += count if is_overdue else 0
    by_state = GaugeMetricFamily(
        "meerpunt_override_states",
        "Overrides and statutory disclosures by partner, basis, ground and state",
        labels=["partner", "basis", "ground", "approval_status", "review_status", "verdict"],
    )
    for labels, count in sorted(states.items()):
        by_state.add_metric(list(labels), count)
    disclosed = CounterMetricFamily(
        "meerpunt_overrides",
        "Disclosures without consent (art. 7) or on a statutory ground that were sent, by partner and ground",
        labels=["partner", "basis", "ground"],
    )
    for labels, count in sorted(sent.items()):
        disclosed.add_metric(list(labels), count)
    reviewed = CounterMetricFamily(
        "meerpunt_override_reviews",
        "Officer reviews of overrides (art. 7.7) by partner, ground and verdict",
        labels=["partner", "basis", "ground", "verdict"],
    )
    for labels, count in sorted(reviews.items()):
        reviewed.add_metric(list(labels), count)
    late = GaugeMetricFamily(
        "meerpunt_overrides_inform_overdue",
        "Disclosed overrides whose subject was not informed in time (art. 7.4), by partner",
        labels=["partner"],
    )
    for partner, count in sorted(overdue.items()):
        late.add_metric([partner], count)
    return [by_state, disclosed, reviewed, late]


def registry_for(runtime: Runtime) -> CollectorRegistry:
    """The runtime's registry of database-derived metrics (made and registered once per runtime)."""
    registry = runtime.extensions.get(_REGISTRY_KEY)
    if not isinstance(registry, CollectorRegistry):
        registry = CollectorRegistry(auto_describe=False)
        registry.register(OverrideCollector(runtime))
        runtime.extensions[_REGISTRY_KEY] = registry
    return registry
