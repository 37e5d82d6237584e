"""Figures on the safety override for the officers' overview (art. 7.7: officers review them)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlmodel import Session, select

from exchange.models import Override
from exchange.overrides import scoped_overrides
from gateway.principals import Principal


@dataclass(frozen=True)
class OverrideFigures:
    by_partner_and_ground: dict[tuple[str, str], int]
    total: int
    reviewed: int
    not_justified: int

    @property
    def share_reviewed(self) -> float | None:
        return self.reviewed / self.total if self.total else None

    @property
    def share_not_justified(self) -> float | None:
        """Of the reviewed overrides, the share an officer found not justified."""
        return self.not_justified / self.reviewed if self.reviewed else None


def override_figures(session: Session, viewer: Principal) -> OverrideFigures:
    """Overrides the viewer's organisation sent (central officer: all), excluding held ones that
    expired (they reached nobody)."""
    rows = session.exec(
        select(Override.partner, Override.ground, Override.review_status, Override.verdict).where(
            scoped_overrides(viewer), Override.approval_status != "expired"
        )
    ).all()
    counts: Counter[tuple[str, str]] = Counter((partner, ground) for partner, ground, _, _ in rows)
    reviewed = sum(1 for _, _, status, _ in rows if status == "reviewed")
    not_justified = sum(
        1 for _, _, status, verdict in rows if status == "reviewed" and verdict == "not_justified"
    )
    return OverrideFigures(dict(counts), len(rows), reviewed, not_justified)
