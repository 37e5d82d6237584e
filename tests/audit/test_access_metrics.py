"""The access-request metrics are counted from the database at scrape time (art. 10.3)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

from sqlalchemy import create_engine

from audit.access.metrics import AccessRequestCollector


def samples(collector: AccessRequestCollector) -> dict[str, float]:
    return {
        sample.name + (str(sorted(sample.labels.items())) if sample.labels else ""): sample.value
        for family in collector.collect()
        for sample in family.samples
    }


def test_a_database_error_does_not_fail_the_scrape() -> None:
    broken: Any = SimpleNamespace(
        engine=create_engine("sqlite:////nonexistent-directory/meerpunt.db"),
        clock=lambda: dt.datetime.now(dt.UTC),
    )
    collector = AccessRequestCollector()
    collector.bind(broken)
    assert samples(collector) == {"meerpunt_access_requests_metrics_up": 0}
    collector.unbind(broken)
    assert samples(collector) == {}
