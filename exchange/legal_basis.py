"""The legal basis of a disclosure: consent (art. 6), override (art. 7) or a statutory ground.

Turns the API body into the pure override/statutory checks and into the record that is stored
with the message and its register entry — for an override the full decision: ground,
justification, the five conditions, consulted officials, the decision about informing the
subject, the discussion of a refusal and whether a refusal is on record (art. 7.1, 7.7).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from consent import repository as consent_repository
from consent import rules as consent_rules
from exchange.override_rules import (
    CONDITIONS,
    Consulted,
    OverrideClaim,
    RefusalDiscussion,
    parse_moment,
    validate_override,
    validate_statutory,
)
from exchange.schemas import DisclosureIn, LegalBasisIn
from gateway.principals import PartnerPrincipal
from gateway.problems import RuleViolation
from gateway.runtime import Runtime

#: Consent decisions that mean "a refusal is on record": a `granted: false` grant, or a withdrawal.
REFUSAL_REASONS = frozenset({"refused", "withdrawn"})


@dataclass(frozen=True)
class BasisCheck:
    kind: str
    violations: list[RuleViolation] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)


def override_claim(basis: LegalBasisIn) -> OverrideClaim:
    inform = basis.inform_subject
    discussion = basis.refusal_discussion
    return OverrideClaim(
        ground=basis.ground,
        justification=basis.justification,
        conditions=basis.conditions,
        consulted=[Consulted(c.name, c.role, c.consulted_at) for c in basis.consulted],
        inform_planned=inform.planned if inform else None,
        inform_waived=inform.waived if inform else None,
        waiver_ground=inform.waiver_ground if inform else None,
        waiver_explanation=inform.explanation if inform else None,
        refusal_discussion=RefusalDiscussion(
            held=discussion.held,
            summary=discussion.summary,
            waived=discussion.waived,
            ground=discussion.ground,
            explanation=discussion.explanation,
        )
        if discussion
        else None,
    )


def _as_violations(items: list[Any]) -> list[RuleViolation]:
    return [RuleViolation(v.code, v.article, v.message) for v in items]


def check_legal_basis(
    session: Session,
    runtime: Runtime,
    caller: PartnerPrincipal,
    body: DisclosureIn,
    *,
    subject_hash: str,
    at: dt.datetime,
) -> BasisCheck:
    basis = body.legal_basis
    if basis.type == "consent":
        return BasisCheck("consent", record={"type": "consent"})
    if basis.type == "statutory":
        violations = validate_statutory(basis.ground, basis.justification, runtime.settings.statutory_grounds)
        return BasisCheck(
            "statutory",
            _as_violations(violations),
            {"type": "statutory", "ground": basis.ground, "justification": basis.justification},
        )
    violations = validate_override(
        override_claim(basis),
        acting_professional_id=body.professional.id,
        acting_professional_name=body.professional.name,
        at=at,
        consultation_max_age=dt.timedelta(days=runtime.settings.override_consultation_max_age_days),
    )
    if violations:
        return BasisCheck("override", _as_violations(violations))
    return BasisCheck(
        "override", [], _override_record(session, caller, body, subject_hash=subject_hash, at=at)
    )


def _override_record(
    session: Session, caller: PartnerPrincipal, body: DisclosureIn, *, subject_hash: str, at: dt.datetime
) -> dict[str, Any]:
    """The decision as the register keeps it (art. 7.7); only built for a valid override."""
    basis = body.legal_basis
    inform = basis.inform_subject
    discussion = basis.refusal_discussion
    record: dict[str, Any] = {
        "type": "override",
        "ground": basis.ground,
        "justification": basis.justification,
        "conditions": {name: basis.conditions.get(name) is True for name in CONDITIONS},
        "consulted": [
            {"name": c.name, "role": c.role, "consulted_at": _normalised_moment(c.consulted_at)}
            for c in basis.consulted
        ],
        "inform_subject": inform.model_dump(exclude_none=True) if inform else None,
        "refusal_on_record": refusal_on_record(session, caller, body, subject_hash=subject_hash, at=at),
    }
    if discussion is not None:
        record["refusal_discussion"] = discussion.model_dump(exclude_none=True)
    return record


def refusal_on_record(
    session: Session, caller: PartnerPrincipal, body: DisclosureIn, *, subject_hash: str, at: dt.datetime
) -> bool:
    """Whether the consent registry holds a refusal for this recipient and these data (art. 7.1-7.3).

    Not a condition: a refusal may have been oral and never registered, and an urgent override must
    not wait for paperwork. It is recorded so the officer can question a mismatch, e.g. ground
    `art7_3_refused_consent` with no refusal on record, or "not asked" with one. The same consents
    count as in the consent decision of this sender (those it obtained, or that were obtained on
    its behalf); a restriction is left out, as it would hide the refusal behind it.
    """
    facts = consent_repository.decision_facts(session, subject_hash)
    decision = consent_rules.decide(
        facts.consents,
        facts.withdrawals,
        (),
        consent_rules.DecisionRequest(body.recipient, tuple(body.categories), sender=caller.oin),
        at,
        (),
    )
    return any(category.reason in REFUSAL_REASONS for category in decision.per_category)


def _normalised_moment(value: str | None) -> str | None:
    moment, _ = parse_moment(value)
    return moment.astimezone(dt.UTC).isoformat() if moment else None
