"""The legal basis of a disclosure: consent (art. 6), override (art. 7) or a statutory ground.

Turns the API body into the pure override/statutory checks and into the record that is stored
with the message and its register entry — for an override the full decision: ground,
justification, the five conditions, consulted officials and the decision about informing the
subject (art. 7.7).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from exchange.override_rules import (
    CONDITIONS,
    Consulted,
    OverrideClaim,
    validate_override,
    validate_statutory,
)
from exchange.schemas import DisclosureIn, LegalBasisIn
from gateway.principals import PartnerPrincipal
from gateway.problems import RuleViolation
from gateway.runtime import Runtime


@dataclass(frozen=True)
class BasisCheck:
    kind: str
    violations: list[RuleViolation] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)


def override_claim(basis: LegalBasisIn) -> OverrideClaim:
    inform = basis.inform_subject
    return OverrideClaim(
        ground=basis.ground,
        justification=basis.justification,
        conditions=basis.conditions,
        consulted=[Consulted(c.name, c.role, c.consulted_at) for c in basis.consulted],
        inform_planned=bool(inform and inform.planned),
        inform_waived=bool(inform and inform.waived),
        waiver_ground=inform.waiver_ground if inform else None,
        waiver_explanation=inform.explanation if inform else None,
    )


def _as_violations(items: list[Any]) -> list[RuleViolation]:
    return [RuleViolation(v.code, v.article, v.message) for v in items]


def check_legal_basis(
    runtime: Runtime, caller: PartnerPrincipal, body: DisclosureIn, *, at: dt.datetime
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
    )
    inform = basis.inform_subject
    record: dict[str, Any] = {
        "type": "override",
        "ground": basis.ground,
        "justification": basis.justification,
        "conditions": {name: basis.conditions.get(name) is True for name in CONDITIONS},
        "consulted": [
            {
                "name": c.name,
                "role": c.role,
                "consulted_at": c.consulted_at.isoformat() if c.consulted_at else None,
            }
            for c in basis.consulted
        ],
        "inform_subject": inform.model_dump() if inform else None,
    }
    return BasisCheck("override", _as_violations(violations), record)
