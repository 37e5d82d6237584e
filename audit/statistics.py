"""Figures for the officers' overview: disclosures per week by legal basis (art. 6-8).

Counted from the register itself, scoped exactly as a register read (`scoped_to`), and the
overview is a registered read like any other (art. 8, 18.3).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlmodel import Session, col, select

from audit.models import RegisterEntry
from audit.repository import scoped_to
from audit.service import EntryKind
from consent.rules import LOCAL_TZ
from gateway.principals import Principal

#: The legal bases a disclosure is registered with, in the order the overview shows them.
LEGAL_BASES = ("consent", "override", "statutory")


@dataclass(frozen=True)
class WeekCounts:
    """Disclosures sent in one ISO week (Monday, Europe/Amsterdam), per legal basis."""

    week_start: dt.date
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def week_start(moment: dt.datetime) -> dt.date:
    """The Monday of the local (Europe/Amsterdam) week a moment falls in."""
    local = moment.astimezone(LOCAL_TZ).date()
    return local - dt.timedelta(days=local.weekday())


def bucket_by_week(
    rows: list[tuple[dt.datetime, str | None]], first_week: dt.date, weeks: int
) -> list[WeekCounts]:
    """Pure: count (moment, legal basis) pairs per week, every week present (zeros included)."""
    counter: Counter[tuple[dt.date, str]] = Counter()
    for moment, basis in rows:
        counter[(week_start(moment), basis or "consent")] += 1
    result = []
    for offset in range(weeks):
        start = first_week + dt.timedelta(weeks=offset)
        result.append(WeekCounts(start, {basis: counter[(start, basis)] for basis in LEGAL_BASES}))
    return result


def disclosures_per_week(
    session: Session, viewer: Principal, now: dt.datetime, weeks: int = 12
) -> list[WeekCounts]:
    """The last `weeks` weeks (this one included) of disclosures the viewer may see."""
    first_week = week_start(now) - dt.timedelta(weeks=weeks - 1)
    since = dt.datetime.combine(first_week, dt.time(), tzinfo=LOCAL_TZ).astimezone(dt.UTC)
    rows = session.exec(
        select(RegisterEntry.occurred_at, RegisterEntry.legal_basis).where(
            RegisterEntry.kind == EntryKind.DISCLOSURE_SENT,
            col(RegisterEntry.occurred_at) >= since,
            scoped_to(viewer),
        )
    ).all()
    return bucket_by_week([(moment, basis) for moment, basis in rows], first_week, weeks)
