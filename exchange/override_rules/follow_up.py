"""After the decision (art. 7.4, 7.6, 7.7): vier-ogen approval, informing the subject, the review.

Each follow-up action on a recorded override is checked here: who may approve a held override,
which actions fit its state (the 409 types), and when the duty to inform is overdue.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from exchange.override_rules.types import ConflictSlug, Violation, ViolationCode
from exchange.override_rules.values import CLOCK_SKEW, _has_text, _norm_id, _norm_name, _utc, parse_moment

SENT: tuple[str, ...] = ("not_required", "approved")
"""Approval states in which the override was disclosed: no vier-ogen needed, or approved (art. 7.6)."""


def approval_violations(
    *,
    requester_id: str,
    requester_name: str,
    approver_id: str,
    approver_name: str,
    requester_partner: str,
    approver_partner: str,
) -> list[Violation]:
    """Check a second approval (vier-ogen) of an override (art. 7.6).

    The decision is the partner's, taken after internal consultation (art. 7.6), so the
    second pair of eyes must be another professional of the *same* partner. A second
    professional is another person: neither the identifier (ignoring case and surrounding
    whitespace, so "p-17" cannot approve the request of "P-17 ") nor the name (ignoring case,
    spacing and Unicode variants, as for consultation) may be the requester's.
    """
    violations: list[Violation] = []
    same_id = _norm_id(requester_id) == _norm_id(approver_id)
    same_name = bool(_norm_name(requester_name)) and _norm_name(requester_name) == _norm_name(approver_name)
    if same_id or same_name:
        violations.append(
            Violation(
                code=ViolationCode.FOUR_EYES_SAME_PROFESSIONAL,
                article="7.6",
                message="the approver must be another professional than the one who requested the override",
            )
        )
    if requester_partner.strip() != approver_partner.strip():
        violations.append(
            Violation(
                code=ViolationCode.FOUR_EYES_OTHER_PARTNER,
                article="7.6",
                message="the approver must work for the same partner as the requesting professional",
            )
        )
    return violations


def approval_status_at(status: str, deadline: datetime | None, at: datetime) -> str:
    """The vier-ogen status at ``at``: a hold past its deadline is ``expired`` at once (art. 7.6).

    The stored status changes only when the gateway records the expiry (register entry and notice
    to the sender); every read derives the true status from the deadline in the meantime.
    """
    if status == "awaiting" and deadline is not None and _utc(at) >= _utc(deadline):
        return "expired"
    return status


def approval_conflict(status: str) -> ConflictSlug | None:
    """Only a held override that has not expired can be approved (art. 7.6)."""
    if status == "awaiting":
        return None
    if status == "expired":
        return ConflictSlug.HOLD_EXPIRED
    return ConflictSlug.NOT_AWAITING_APPROVAL


def review_conflict(approval_status: str, review_status: str) -> ConflictSlug | None:
    """Art. 7.7: an officer reviews a decision that was carried out, once.

    A held or expired override disclosed nothing (yet); a verdict on record is final, so the
    register holds one judgement per override and a second one cannot quietly replace it.
    """
    if approval_status not in SENT:
        return ConflictSlug.NOT_SENT
    if review_status != "pending_review":
        return ConflictSlug.ALREADY_REVIEWED
    return None


def inform_conflict(basis_type: str, approval_status: str, inform_status: str) -> ConflictSlug | None:
    """Art. 7.4: only a disclosed override whose informing was planned can be closed as informed."""
    if basis_type != "override":
        return ConflictSlug.NOT_AN_OVERRIDE
    if approval_status not in SENT:
        return ConflictSlug.NOT_SENT
    if inform_status == "informed":
        return ConflictSlug.ALREADY_INFORMED
    if inform_status == "waived":
        return ConflictSlug.INFORM_WAIVED
    return None


def subject_informed_violations(
    informed_at: object, how: object, by: object, *, decided_at: datetime, at: datetime
) -> list[Violation]:
    """Check a record that the subject was informed about the decision (art. 7.4).

    ``informed_at`` is an RFC 3339 time with an offset, not before the decision was made
    (``decided_at``: one cannot be informed of a decision not yet taken) and not in the future
    (beyond :data:`CLOCK_SKEW`); ``how`` and ``by`` say how and by whom.
    """
    violations: list[Violation] = []
    moment, problem = parse_moment(informed_at)
    if moment is not None:
        if _utc(moment) < _utc(decided_at):
            problem = "lies before the override was decided"
        elif _utc(moment) > _utc(at) + CLOCK_SKEW:
            problem = "lies in the future"
    if problem is not None:
        violations.append(Violation(ViolationCode.INFORMED_AT_INVALID, "7.4", f"informed_at {problem}"))
    if not _has_text(how):
        violations.append(
            Violation(ViolationCode.INFORMED_HOW_MISSING, "7.4", "how: say how the person was informed")
        )
    if not _has_text(by):
        violations.append(
            Violation(ViolationCode.INFORMED_BY_MISSING, "7.4", "by: say who informed the person")
        )
    return violations


def review_violations(note: str) -> list[Violation]:
    """Art. 7.7: a verdict is recorded with its reasons."""
    if note.strip():
        return []
    return [Violation(ViolationCode.NOTE_MISSING, "7.7", "note: explain the verdict")]


def is_obligation_overdue(opened_at: datetime, closed_at: datetime | None, at: datetime, days: int) -> bool:
    """Whether the duty to inform the subject is still open past its deadline at ``at``.

    Art. 7.4 asks to inform the person "zo spoedig mogelijk"; the deployment turns that
    into ``days`` after the override. An obligation closed at or before ``at`` (informed,
    or validly waived) is never overdue; one closed only after ``at`` was still open then.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    if closed_at is not None and _utc(closed_at) <= _utc(at):
        return False
    return _utc(at) > _utc(opened_at) + timedelta(days=days)
