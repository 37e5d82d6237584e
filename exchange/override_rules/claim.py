"""The override claim at decision time (art. 7.1, 7.3-7.7): ground, reasons, conditions, consultation.

`validate_override` returns every violation at once, each naming its article, so that a
professional under pressure can fix the request in one go.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from exchange.override_rules.types import (
    CONDITIONS,
    Consulted,
    OverrideClaim,
    OverrideGround,
    RefusalDiscussion,
    Violation,
    ViolationCode,
    WaiverGround,
)
from exchange.override_rules.values import CLOCK_SKEW, _has_text, _is_text, _norm_name, _utc, parse_moment

MIN_EXPLANATION_CHARS = 30
"""Minimum length of a waiver explanation or a summary of a refusal discussion (art. 7.7)."""


DEFAULT_CONSULTATION_MAX_AGE = timedelta(days=30)
"""How long before the decision a consultation may lie (configurable per deployment)."""


def validate_override(
    claim: OverrideClaim,
    *,
    acting_professional_id: str,
    acting_professional_name: str,
    at: datetime,
    min_justification_chars: int = 100,
    consultation_max_age: timedelta = DEFAULT_CONSULTATION_MAX_AGE,
) -> list[Violation]:
    """Check an override claim against art. 7.1 and 7.3-7.7; an empty list means it may proceed.

    - ground: one of :class:`OverrideGround` (art. 7.3, 7.5);
    - justification: substantive text of at least ``min_justification_chars``
      characters, because the reasons must be on record (art. 7.7);
    - conditions: each of the five art. 7.3 conditions affirmed with the boolean ``True``;
      a missing condition, one that is not ``True`` and an unknown key are told apart;
    - consulted: at least one official, each with name, role and a consultation time with
      an offset, not in the future (beyond :data:`CLOCK_SKEW`) and not older than
      ``consultation_max_age``, and never the acting professional (art. 7.6);
    - inform_subject: either planned (art. 7.4) or waived with an art. 7.5 ground and a
      substantive explanation on record (art. 7.7); the flags are JSON booleans;
    - refusal_discussion (optional): the art. 7.1 discussion of a refusal was held (with a
      summary) or skipped on an art. 7.5 ground (with an explanation); only with the
      ``art7_3_refused_consent`` ground, as without a refusal there is nothing to discuss.

    The ground and the waiver ground are deliberately not cross-checked: art. 7.5 lets each of
    its three steps (asking, discussing, informing) be skipped on either of its grounds, so
    not asking for fear of losing contact and not informing for safety can both be true.
    """
    violations: list[Violation] = []
    violations += _ground_violations(claim.ground)
    violations += _justification_violations(claim.justification, min_justification_chars)
    violations += _condition_violations(claim.conditions)
    violations += _consultation_violations(
        claim.consulted,
        acting_professional_id=acting_professional_id,
        acting_professional_name=acting_professional_name,
        at=at,
        max_age=consultation_max_age,
    )
    violations += _inform_violations(claim)
    violations += _refusal_discussion_violations(claim.refusal_discussion, claim.ground)
    return violations


def _ground_violations(ground: object) -> list[Violation]:
    if isinstance(ground, str) and ground in set(OverrideGround):
        return []
    allowed = ", ".join(OverrideGround)
    return [
        Violation(
            code=ViolationCode.OVERRIDE_GROUND_INVALID,
            article="7.3",
            message=f"ground {ground!r} is not an art. 7.3 or 7.5 ground; use one of: {allowed}",
        )
    ]


def _justification_violations(justification: object, min_chars: int) -> list[Violation]:
    if _is_text(justification, min_chars):
        return []
    return [
        Violation(
            code=ViolationCode.JUSTIFICATION_INSUFFICIENT,
            article="7.7",
            message=(
                f"justification must state the reasons for the decision in your own words: at least "
                f"{min_chars} characters of sentences, not padding or repetition"
            ),
        )
    ]


def _condition_violations(conditions: Mapping[str, object]) -> list[Violation]:
    # Only the boolean True affirms a condition: "yes", 1 or "true" may be a form
    # default or a mapping bug, and an override must rest on a deliberate statement.
    violations: list[Violation] = []
    for name in CONDITIONS:
        if name not in conditions:
            violations.append(
                Violation(
                    ViolationCode.CONDITION_MISSING,
                    "7.3",
                    f"condition {name!r} is missing: state it, with true only if it holds",
                )
            )
        elif conditions[name] is not True:
            value = conditions[name]
            detail = "is false" if value is False else f"is {value!r}, not the JSON boolean true"
            violations.append(
                Violation(
                    ViolationCode.CONDITION_NOT_AFFIRMED,
                    "7.3",
                    f"condition {name!r} {detail}; without it the override is not allowed",
                )
            )
    unknown = sorted(str(name) for name in conditions if name not in CONDITIONS)
    if unknown:
        violations.append(
            Violation(
                ViolationCode.CONDITION_UNKNOWN,
                "7.3",
                f"unknown condition(s) {', '.join(unknown)}; art. 7.3 has: {', '.join(CONDITIONS)}",
            )
        )
    return violations


def _consultation_violations(
    consulted: Sequence[Consulted],
    *,
    acting_professional_id: str,
    acting_professional_name: str,
    at: datetime,
    max_age: timedelta,
) -> list[Violation]:
    if not consulted:
        return [
            Violation(
                code=ViolationCode.CONSULTATION_MISSING,
                article="7.6",
                message="name at least one official consulted before the decision",
            )
        ]
    violations: list[Violation] = []
    latest_allowed = _utc(at) + CLOCK_SKEW
    earliest_allowed = _utc(at) - max_age
    # Consulting yourself is no consultation: the point of art. 7.6 is a second view.
    self_names = {_norm_name(acting_professional_name), _norm_name(acting_professional_id)} - {""}
    for index, person in enumerate(consulted):
        where = f"consulted[{index}]"
        missing = [
            label for label, value in (("name", person.name), ("role", person.role)) if not _has_text(value)
        ]
        moment, problem = parse_moment(person.consulted_at)
        if problem == "is missing":
            missing.append("consulted_at")
            problem = None
        violations += [
            Violation(ViolationCode.CONSULTATION_INCOMPLETE, "7.6", f"{where}: {label} is missing")
            for label in missing
        ]
        if moment is not None:
            if _utc(moment) > latest_allowed:
                problem = "lies in the future"
            elif _utc(moment) < earliest_allowed:
                problem = (
                    f"lies more than {max_age.days} days before the decision; "
                    "consult about this decision, now"
                )
        if problem is not None:
            violations.append(
                Violation(ViolationCode.CONSULTED_AT_INVALID, "7.6", f"{where}: consulted_at {problem}")
            )
        if isinstance(person.name, str) and _norm_name(person.name) in self_names:
            violations.append(
                Violation(
                    code=ViolationCode.CONSULTED_SELF,
                    article="7.6",
                    message=f"{where}: the acting professional cannot be their own consulted official",
                )
            )
    return violations


def _inform_violations(claim: OverrideClaim) -> list[Violation]:
    flags = {"planned": claim.inform_planned, "waived": claim.inform_waived}
    invalid = [name for name, value in flags.items() if value is not None and not isinstance(value, bool)]
    if invalid:
        return [
            Violation(
                ViolationCode.INFORM_SUBJECT_INVALID,
                "7.4",
                f"inform_subject.{name} must be the JSON boolean true or false, not {flags[name]!r}",
            )
            for name in invalid
        ]
    planned, waived = claim.inform_planned is True, claim.inform_waived is True
    if planned == waived:
        return [
            Violation(
                code=ViolationCode.INFORM_SUBJECT_MISSING,
                article="7.4",
                message="inform_subject must be either planned or waived, not both or neither",
            )
        ]
    if not waived:
        return []
    violations: list[Violation] = []
    if not (isinstance(claim.waiver_ground, str) and claim.waiver_ground in set(WaiverGround)):
        allowed = ", ".join(WaiverGround)
        violations.append(
            Violation(
                code=ViolationCode.WAIVER_GROUND_INVALID,
                article="7.5",
                message=f"waiver_ground {claim.waiver_ground!r} is not an art. 7.5 ground; use: {allowed}",
            )
        )
    if not _is_text(claim.waiver_explanation, MIN_EXPLANATION_CHARS):
        violations.append(
            Violation(
                code=ViolationCode.WAIVER_EXPLANATION_MISSING,
                article="7.7",
                message=(
                    "explanation: say in your own words why the person will not be informed "
                    f"(at least {MIN_EXPLANATION_CHARS} characters)"
                ),
            )
        )
    return violations


def _refusal_discussion_violations(discussion: RefusalDiscussion | None, ground: object) -> list[Violation]:
    """Art. 7.1: a refusal is first discussed, unless art. 7.5 allows skipping that."""
    if discussion is None:
        return []
    if ground in (OverrideGround.ART7_5_NOT_ASKED_SAFETY, OverrideGround.ART7_5_NOT_ASKED_CONTACT_LOSS):
        return [
            Violation(
                ViolationCode.REFUSAL_DISCUSSION_NOT_APPLICABLE,
                "7.1",
                "refusal_discussion belongs with ground art7_3_refused_consent: consent was not asked, "
                "so there is no refusal to discuss",
            )
        ]
    flags = {"held": discussion.held, "waived": discussion.waived}
    if any(value is not None and not isinstance(value, bool) for value in flags.values()) or (
        (discussion.held is True) == (discussion.waived is True)
    ):
        return [
            Violation(
                ViolationCode.REFUSAL_DISCUSSION_INVALID,
                "7.1",
                "refusal_discussion must be either {held: true, summary} or "
                "{waived: true, ground, explanation}, with JSON booleans",
            )
        ]
    if discussion.held is True:
        if _is_text(discussion.summary, MIN_EXPLANATION_CHARS):
            return []
        return [
            Violation(
                ViolationCode.REFUSAL_DISCUSSION_SUMMARY_MISSING,
                "7.1",
                "refusal_discussion.summary: what were the objections and what was tried to meet them "
                f"(at least {MIN_EXPLANATION_CHARS} characters)",
            )
        ]
    violations: list[Violation] = []
    if not (isinstance(discussion.ground, str) and discussion.ground in set(WaiverGround)):
        violations.append(
            Violation(
                ViolationCode.REFUSAL_DISCUSSION_GROUND_INVALID,
                "7.5",
                f"refusal_discussion.ground {discussion.ground!r} is not an art. 7.5 ground; "
                f"use: {', '.join(WaiverGround)}",
            )
        )
    if not _is_text(discussion.explanation, MIN_EXPLANATION_CHARS):
        violations.append(
            Violation(
                ViolationCode.REFUSAL_DISCUSSION_EXPLANATION_MISSING,
                "7.7",
                "refusal_discussion.explanation: why the refusal was not discussed "
                f"(at least {MIN_EXPLANATION_CHARS} characters)",
            )
        )
    return violations
