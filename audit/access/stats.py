"""Figures on the right of access for the officers' overview: answered within the legal period?

Art. 10.3: the request is answered within four weeks (the gateway computes the due date as
received + 1 month, SPEC §6). A request counts as on time when decided on or before its due date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col

from audit.access.models import SubjectAccessRequest
from audit.access.rules import OPEN_STATUSES
from consent.rules import LOCAL_TZ
from gateway.principals import OfficerPrincipal


@dataclass(frozen=True)
class AccessFigures:
    decided: int
    decided_on_time: int
    open: int
    open_overdue: int

    @property
    def share_on_time(self) -> float | None:
        return self.decided_on_time / self.decided if self.decided else None


def access_figures(session: Session, officer: OfficerPrincipal, today: dt.date) -> AccessFigures:
    query = sa.select(
        col(SubjectAccessRequest.status),
        col(SubjectAccessRequest.due_date),
        col(SubjectAccessRequest.decided_at),
    )
    if not officer.is_central:
        query = query.where(col(SubjectAccessRequest.lodged_with) == officer.org)
    decided = on_time = open_ = overdue = 0
    for status, due, decided_at in session.execute(query).all():
        if status in OPEN_STATUSES:
            open_ += 1
            overdue += int(due < today)
        elif decided_at is not None:
            decided += 1
            on_time += int(decided_at.astimezone(LOCAL_TZ).date() <= due)
    return AccessFigures(decided, on_time, open_, overdue)
