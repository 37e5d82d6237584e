"""Pure rules for disclosures without consent (art. 7 Privacyreglement Meerpunt).

Verstrekking zonder toestemming / veiligheidsdoorbraak (art. 7). A partner may disclose
without, or against a refused, consent only when all five conditions of art. 7.3 hold,
after internal consultation (art. 7.6), with the subject informed as soon as possible
unless that is validly waived (art. 7.4-7.5), and with the decision, its reasons and the
consulted officials on record (art. 7.7).

Everything here is a pure function over plain values: no I/O and no clock. The caller
passes the current time as ``at``. Inputs arrive loosely typed (as the client sent them:
a time is a string, a flag may be ``"yes"``) and are parsed here, so that one answer lists
*every* violation, each naming its article, and a professional under pressure can fix the
request in one go instead of one error at a time.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from exchange.substantive_text import MIN_DISTINCT_WORDS, is_substantive_text


class OverrideGround(StrEnum):
    """Ground for disclosing without consent (art. 7.3 and art. 7.5)."""

    ART7_3_REFUSED_CONSENT = "art7_3_refused_consent"
    """Consent was asked and refused; disclosed anyway (art. 7.3)."""
    ART7_5_NOT_ASKED_SAFETY = "art7_5_not_asked_safety"
    """Consent was not asked because of someone's safety (art. 7.5, first bullet)."""
    ART7_5_NOT_ASKED_CONTACT_LOSS = "art7_5_not_asked_contact_loss"
    """Consent was not asked for fear of losing contact with the family (art. 7.5, second bullet)."""


class WaiverGround(StrEnum):
    """Ground for not informing the subject, or for not discussing a refusal (art. 7.5)."""

    SAFETY = "safety"
    """Informing would endanger the person, the professional or someone else."""
    CONTACT_LOSS = "contact_loss"
    """Informing would make the person break off contact that is needed to protect them."""


class ViolationCode(StrEnum):
    """Every violation code the override path can answer with (the API and docs rely on them)."""

    OVERRIDE_GROUND_INVALID = "override_ground_invalid"
    JUSTIFICATION_INSUFFICIENT = "justification_insufficient"
    CONDITION_MISSING = "condition_missing"
    CONDITION_NOT_AFFIRMED = "condition_not_affirmed"
    CONDITION_UNKNOWN = "condition_unknown"
    CONSULTATION_MISSING = "consultation_missing"
    CONSULTATION_INCOMPLETE = "consultation_incomplete"
    CONSULTED_AT_INVALID = "consulted_at_invalid"
    CONSULTED_SELF = "consulted_self"
    INFORM_SUBJECT_MISSING = "inform_subject_missing"
    INFORM_SUBJECT_INVALID = "inform_subject_invalid"
    WAIVER_GROUND_INVALID = "waiver_ground_invalid"
    WAIVER_EXPLANATION_MISSING = "waiver_explanation_missing"
    REFUSAL_DISCUSSION_INVALID = "refusal_discussion_invalid"
    REFUSAL_DISCUSSION_NOT_APPLICABLE = "refusal_discussion_not_applicable"
    REFUSAL_DISCUSSION_SUMMARY_MISSING = "refusal_discussion_summary_missing"
    REFUSAL_DISCUSSION_GROUND_INVALID = "refusal_discussion_ground_invalid"
    REFUSAL_DISCUSSION_EXPLANATION_MISSING = "refusal_discussion_explanation_missing"
    STATUTORY_GROUND_INVALID = "statutory_ground_invalid"
    FOUR_EYES_SAME_PROFESSIONAL = "four_eyes_same_professional"
    FOUR_EYES_OTHER_PARTNER = "four_eyes_other_partner"
    INFORMED_AT_INVALID = "informed_at_invalid"
    INFORMED_HOW_MISSING = "informed_how_missing"
    INFORMED_BY_MISSING = "informed_by_missing"
    NOTE_MISSING = "note_missing"


class ConflictSlug(StrEnum):
    """Why a follow-up action does not fit the override's state: the 409 problem types."""

    NOT_AWAITING_APPROVAL = "override-not-awaiting-approval"
    """Approve: the override is not (or no longer) held for a second approval."""
    HOLD_EXPIRED = "override-hold-expired"
    """Approve: the hold expired before anyone approved; nothing was sent."""
    NOT_SENT = "override-not-sent"
    """Review or subject-informed: the override is still held or expired, so nothing was disclosed."""
    ALREADY_REVIEWED = "override-already-reviewed"
    """Review: a verdict is on record; it is final."""
    NOT_AN_OVERRIDE = "not-an-override"
    """Subject-informed: a statutory disclosure opens no duty to inform under art. 7.4."""
    INFORM_WAIVED = "override-inform-waived"
    """Subject-informed: informing was waived (art. 7.5) at the decision; there is nothing to close."""
    ALREADY_INFORMED = "already-informed"
    """Subject-informed: the subject was already recorded as informed."""


CONFLICT_DETAILS: dict[ConflictSlug, str] = {
    ConflictSlug.NOT_AWAITING_APPROVAL: "This override is not (or no longer) awaiting approval.",
    ConflictSlug.HOLD_EXPIRED: (
        "The hold expired before approval; nothing was sent. Send again if still needed."
    ),
    ConflictSlug.NOT_SENT: "The override is held for a second approval or expired; nothing was sent.",
    ConflictSlug.ALREADY_REVIEWED: "This override was already reviewed; a verdict is final.",
    ConflictSlug.NOT_AN_OVERRIDE: "Only overrides carry an obligation to inform (art. 7.4).",
    ConflictSlug.INFORM_WAIVED: (
        "Informing the subject was waived at the decision (art. 7.5); there is no obligation to close."
    ),
    ConflictSlug.ALREADY_INFORMED: "The subject was already recorded as informed.",
}
"""The `detail` of each 409 answer."""

SENT: tuple[str, ...] = ("not_required", "approved")
"""Approval states in which the override was disclosed: no vier-ogen needed, or approved (art. 7.6)."""


CONDITIONS: tuple[str, ...] = (
    "urgent_safety_need",
    "own_care_insufficient",
    "other_party_needed",
    "disclosure_necessary",
    "law_permits",
)
"""The five conditions of art. 7.3, in the order of the regulation's bullets."""

DEFAULT_STATUTORY_GROUNDS: tuple[str, ...] = (
    "wet_verplichte_meldcode_veilig_thuis",
    "jeugdwet_7_1_4_raad_voor_de_kinderbescherming",
    "court_order",
)
"""Statutory grounds accepted when configuration does not say otherwise (art. 5.1)."""

STATUTORY_MIN_JUSTIFICATION_CHARS = 20
"""Minimum length of the justification accompanying a statutory ground."""

MIN_EXPLANATION_CHARS = 30
"""Minimum length of a waiver explanation or a summary of a refusal discussion (art. 7.7)."""

CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a stated time may lie, to tolerate unsynchronised clocks."""

DEFAULT_CONSULTATION_MAX_AGE = timedelta(days=30)
"""How long before the decision a consultation may lie (configurable per deployment)."""


@dataclass(frozen=True)
class Violation:
    """One broken rule, naming the article it comes from."""

    code: str
    article: str
    message: str


@dataclass(frozen=True)
class Consulted:
    """A functionaris consulted before the decision (art. 7.6), as the client stated it.

    ``consulted_at`` is an RFC 3339 string with an offset (or an aware datetime).
    """

    name: object
    role: object
    consulted_at: object


@dataclass(frozen=True)
class RefusalDiscussion:
    """Art. 7.1: the refusal was discussed (``held``), or that was skipped (``waived``, art. 7.5)."""

    held: object = None
    summary: object = None
    waived: object = None
    ground: object = None
    explanation: object = None


@dataclass(frozen=True)
class OverrideClaim:
    """What the sender states when disclosing without consent (art. 7.3-7.7)."""

    ground: object
    justification: object
    conditions: Mapping[str, object]
    consulted: Sequence[Consulted]
    inform_planned: object
    inform_waived: object
    waiver_ground: object
    waiver_explanation: object
    refusal_discussion: RefusalDiscussion | None = None


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


def parse_moment(value: object) -> tuple[datetime | None, str | None]:
    """An RFC 3339 time with an offset, or why not: (moment, None) or (None, problem).

    Problems: ``"is missing"``, ``"is not an RFC 3339 time"``, ``"has no time zone offset"``.
    A time without offset is refused rather than guessed: "01:55" in Zoetermeer is not 01:55 UTC.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, "is missing"
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None, "is not an RFC 3339 time (e.g. 2025-03-14T01:55:00+01:00)"
    else:
        return None, "is not an RFC 3339 time (e.g. 2025-03-14T01:55:00+01:00)"
    if moment.utcoffset() is None:
        return None, "has no time zone offset (add Z or e.g. +01:00)"
    return moment, None


def validate_statutory(
    ground: object, justification: object, allowed_grounds: Collection[str]
) -> list[Violation]:
    """Check a disclosure on a statutory ground instead of consent (art. 5.1).

    Art. 5.1: each partner processes in accordance with the law, and where the law and
    the regulation conflict, the law prevails. A statutory duty or power (e.g. the
    meldcode, a request of the Raad voor de Kinderbescherming, a court order) therefore
    replaces consent, provided the ground is one the deployment recognises and the
    reasons are written down.
    """
    violations: list[Violation] = []
    if not isinstance(ground, str) or ground not in allowed_grounds:
        allowed = ", ".join(sorted(allowed_grounds)) or "(none configured)"
        violations.append(
            Violation(
                code=ViolationCode.STATUTORY_GROUND_INVALID,
                article="5.1",
                message=f"statutory ground {ground!r} is not recognised; allowed: {allowed}",
            )
        )
    if not _is_text(justification, STATUTORY_MIN_JUSTIFICATION_CHARS):
        violations.append(
            Violation(
                code=ViolationCode.JUSTIFICATION_INSUFFICIENT,
                article="5.1",
                message=(
                    "justification must explain which legal provision applies and why, in at least "
                    f"{STATUTORY_MIN_JUSTIFICATION_CHARS} characters and {MIN_DISTINCT_WORDS} different words"
                ),
            )
        )
    return violations


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


def _is_text(value: object, min_chars: int) -> bool:
    return isinstance(value, str) and is_substantive_text(value, min_chars)


def _has_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _norm_name(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value).split()).casefold()


def _norm_id(value: str) -> str:
    return value.strip().casefold()


def _utc(moment: dt.datetime) -> dt.datetime:
    # Naive values come back from SQLite (stored in UTC); read them as UTC rather than letting
    # a naive/aware comparison raise mid-request. Client input never reaches here naive.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
