"""Pure rules for disclosures without consent (art. 7 Privacyreglement Meerpunt).

Verstrekking zonder toestemming / veiligheidsdoorbraak (art. 7). A partner may disclose
without, or against a refused, consent only when all five conditions of art. 7.3 hold,
after internal consultation (art. 7.6), with the subject informed as soon as possible
unless that is validly waived (art. 7.4-7.5), and with the decision, its reasons and the
consulted officials on record (art. 7.7).

Everything here is a pure function over plain values: no I/O and no clock. The caller
passes the current time as ``at``. Naive datetimes (as SQLite returns them) are read as
UTC. Every check returns *all* violations, each naming its article, so a professional
under pressure can fix the request in one go instead of one error at a time.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum


class OverrideGround(StrEnum):
    """Ground for disclosing without consent (art. 7.3 and art. 7.5)."""

    ART7_3_REFUSED_CONSENT = "art7_3_refused_consent"
    """Consent was asked and refused; disclosed anyway (art. 7.3)."""
    ART7_5_NOT_ASKED_SAFETY = "art7_5_not_asked_safety"
    """Consent was not asked because of someone's safety (art. 7.5, first bullet)."""
    ART7_5_NOT_ASKED_CONTACT_LOSS = "art7_5_not_asked_contact_loss"
    """Consent was not asked for fear of losing contact with the family (art. 7.5, second bullet)."""


class WaiverGround(StrEnum):
    """Ground for not informing the subject (art. 7.5)."""

    SAFETY = "safety"
    """Informing would endanger the person, the professional or someone else."""
    CONTACT_LOSS = "contact_loss"
    """Informing would make the person break off contact that is needed to protect them."""


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

MIN_DISTINCT_WORDS = 5
"""A substantive text contains at least this many different words."""

STATUTORY_MIN_JUSTIFICATION_CHARS = 20
"""Minimum length of the justification accompanying a statutory ground."""

CONSULTATION_CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a consultation time may lie, to tolerate unsynchronised clocks."""

# A "word" is a run of at least two letters (any script, no digits or underscores), so
# "a b c d e" or numbered filler does not count as prose.
_WORD = re.compile(r"[^\W\d_]{2,}")


@dataclass(frozen=True)
class Violation:
    """One broken rule, naming the article it comes from."""

    code: str
    article: str
    message: str


@dataclass(frozen=True)
class Consulted:
    """A functionaris consulted before the decision (art. 7.6)."""

    name: str
    role: str
    consulted_at: datetime | None


@dataclass(frozen=True)
class OverrideClaim:
    """What the sender states when disclosing without consent (art. 7.3-7.7)."""

    ground: str | None
    justification: str | None
    conditions: Mapping[str, object]
    consulted: Sequence[Consulted]
    inform_planned: bool
    inform_waived: bool
    waiver_ground: str | None
    waiver_explanation: str | None


def validate_override(
    claim: OverrideClaim,
    *,
    acting_professional_id: str,
    acting_professional_name: str,
    at: datetime,
    min_justification_chars: int = 100,
) -> list[Violation]:
    """Check an override claim against art. 7.3-7.7; an empty list means it may proceed.

    - ground: one of :class:`OverrideGround` (art. 7.3, 7.5);
    - justification: substantive text of at least ``min_justification_chars``
      characters, because the reasons must be on record (art. 7.7);
    - conditions: each of the five art. 7.3 conditions affirmed with the boolean ``True``;
    - consulted: at least one official, each with name, role and a consultation time not
      in the future, and never the acting professional (art. 7.6);
    - inform_subject: either planned (art. 7.4) or waived with an art. 7.5 ground and an
      explanation on record (art. 7.7).

    ``at`` is the moment of the decision; consultation times may lie at most
    :data:`CONSULTATION_CLOCK_SKEW` after it.
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
    )
    violations += _inform_violations(claim)
    return violations


def is_substantive_text(text: str, min_chars: int) -> bool:
    """Whether ``text`` is real written reasoning of at least ``min_chars`` characters.

    The reasons for an override must be recorded (art. 7.7); a field filled with padding
    records nothing. Invisible format and control characters are ignored and runs of
    whitespace count once, so neither can pad a text to the minimum. The text must not
    be one short pattern repeated ("aaaa…", "abcabc…", a sentence pasted twice) and must
    contain at least :data:`MIN_DISTINCT_WORDS` different words of two or more letters.
    """
    visible = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) not in {"Cc", "Cf"})
    collapsed = " ".join(visible.split())
    if not collapsed or len(collapsed) < min_chars:
        return False
    if _is_repetition(collapsed) or _is_repetition(collapsed.casefold()):
        return False
    words = {word.casefold() for word in _WORD.findall(collapsed)}
    return len(words) >= MIN_DISTINCT_WORDS


def validate_statutory(
    ground: str | None, justification: str | None, allowed_grounds: Collection[str]
) -> list[Violation]:
    """Check a disclosure on a statutory ground instead of consent (art. 5.1).

    Art. 5.1: each partner processes in accordance with the law, and where the law and
    the regulation conflict, the law prevails. A statutory duty or power (e.g. the
    meldcode, a request of the Raad voor de Kinderbescherming, a court order) therefore
    replaces consent, provided the ground is one the deployment recognises and the
    reasons are written down.
    """
    violations: list[Violation] = []
    if ground is None or ground not in allowed_grounds:
        allowed = ", ".join(sorted(allowed_grounds)) or "(none configured)"
        violations.append(
            Violation(
                code="statutory_ground_invalid",
                article="5.1",
                message=f"statutory ground {ground!r} is not recognised; allowed: {allowed}",
            )
        )
    if justification is None or not is_substantive_text(justification, STATUTORY_MIN_JUSTIFICATION_CHARS):
        violations.append(
            Violation(
                code="justification_insufficient",
                article="5.1",
                message=(
                    "justification must explain which legal provision applies and why, in at least "
                    f"{STATUTORY_MIN_JUSTIFICATION_CHARS} characters and {MIN_DISTINCT_WORDS} different words"
                ),
            )
        )
    return violations


def approval_violations(
    requester_professional_id: str,
    approver_professional_id: str,
    requester_partner: str,
    approver_partner: str,
) -> list[Violation]:
    """Check a second approval (vier-ogen) of an override (art. 7.6).

    The decision is the partner's, taken after internal consultation (art. 7.6), so the
    second pair of eyes must be another professional of the *same* partner. Identifiers
    are compared ignoring case and surrounding whitespace, so "p-17" cannot approve the
    request of "P-17 ".
    """
    violations: list[Violation] = []
    if _norm_id(requester_professional_id) == _norm_id(approver_professional_id):
        violations.append(
            Violation(
                code="four_eyes_same_professional",
                article="7.6",
                message="the approver must be another professional than the one who requested the override",
            )
        )
    if requester_partner.strip() != approver_partner.strip():
        violations.append(
            Violation(
                code="four_eyes_other_partner",
                article="7.6",
                message="the approver must work for the same partner as the requesting professional",
            )
        )
    return violations


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


def is_hold_expired(held_since: datetime, at: datetime, hold_seconds: int) -> bool:
    """Whether an override held for a second approval (vier-ogen, art. 7.6) has expired.

    The hold lasts ``hold_seconds`` from ``held_since``; at that instant it has expired.
    """
    if hold_seconds < 0:
        raise ValueError("hold_seconds must not be negative")
    return _utc(at) >= _utc(held_since) + timedelta(seconds=hold_seconds)


def _ground_violations(ground: str | None) -> list[Violation]:
    if ground in set(OverrideGround):
        return []
    allowed = ", ".join(OverrideGround)
    return [
        Violation(
            code="override_ground_invalid",
            article="7.3",
            message=f"ground {ground!r} is not an art. 7.3 or 7.5 ground; use one of: {allowed}",
        )
    ]


def _justification_violations(justification: str | None, min_chars: int) -> list[Violation]:
    if justification is not None and is_substantive_text(justification, min_chars):
        return []
    return [
        Violation(
            code="justification_insufficient",
            article="7.7",
            message=(
                f"justification must state the reasons for the decision in at least {min_chars} "
                f"characters and {MIN_DISTINCT_WORDS} different words"
            ),
        )
    ]


def _condition_violations(conditions: Mapping[str, object]) -> list[Violation]:
    # Only the boolean True affirms a condition: "yes", 1 or "true" may be a form
    # default or a mapping bug, and an override must rest on a deliberate statement.
    return [
        Violation(
            code="condition_not_affirmed",
            article="7.3",
            message=f"condition {name!r} must be affirmed with true",
        )
        for name in CONDITIONS
        if conditions.get(name) is not True
    ]


def _consultation_violations(
    consulted: Sequence[Consulted],
    *,
    acting_professional_id: str,
    acting_professional_name: str,
    at: datetime,
) -> list[Violation]:
    if not consulted:
        return [
            Violation(
                code="consultation_missing",
                article="7.6",
                message="name at least one official consulted before the decision",
            )
        ]
    violations: list[Violation] = []
    latest_allowed = _utc(at) + CONSULTATION_CLOCK_SKEW
    # Consulting yourself is no consultation: the point of art. 7.6 is a second view.
    self_names = {_norm_name(acting_professional_name), _norm_name(acting_professional_id)} - {""}
    for index, person in enumerate(consulted):
        where = f"consulted[{index}]"
        problems: list[str] = []
        if not person.name.strip():
            problems.append("name is missing")
        if not person.role.strip():
            problems.append("role is missing")
        if person.consulted_at is None:
            problems.append("consulted_at is missing")
        elif _utc(person.consulted_at) > latest_allowed:
            problems.append("consulted_at lies in the future")
        violations += [
            Violation(code="consultation_incomplete", article="7.6", message=f"{where}: {problem}")
            for problem in problems
        ]
        if _norm_name(person.name) in self_names:
            violations.append(
                Violation(
                    code="consulted_self",
                    article="7.6",
                    message=f"{where}: the acting professional cannot be their own consulted official",
                )
            )
    return violations


def _inform_violations(claim: OverrideClaim) -> list[Violation]:
    if claim.inform_planned == claim.inform_waived:
        return [
            Violation(
                code="inform_subject_missing",
                article="7.4",
                message="inform_subject must be either planned or waived, not both or neither",
            )
        ]
    if not claim.inform_waived:
        return []
    violations: list[Violation] = []
    if claim.waiver_ground not in set(WaiverGround):
        allowed = ", ".join(WaiverGround)
        violations.append(
            Violation(
                code="waiver_ground_invalid",
                article="7.5",
                message=f"waiver_ground {claim.waiver_ground!r} is not an art. 7.5 ground; use: {allowed}",
            )
        )
    if claim.waiver_explanation is None or not claim.waiver_explanation.strip():
        violations.append(
            Violation(
                code="waiver_explanation_missing",
                article="7.7",
                message="explain why the subject will not be informed",
            )
        )
    return violations


def _is_repetition(text: str) -> bool:
    """Whether ``text`` is a shorter pattern repeated (the last repeat may be cut short)."""
    # Smallest period via the KMP failure function: text[i] == text[i + period] for all i.
    border = [0] * len(text)
    k = 0
    for i in range(1, len(text)):
        while k and text[i] != text[k]:
            k = border[k - 1]
        if text[i] == text[k]:
            k += 1
        border[i] = k
    period = len(text) - border[-1] if text else 0
    # At least two repeats, allowing the collapsed whitespace at the join to shorten the
    # text by one character.
    return 0 < period <= (len(text) + 1) // 2


def _norm_name(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value).split()).casefold()


def _norm_id(value: str) -> str:
    return value.strip().casefold()


def _utc(moment: datetime) -> datetime:
    # Naive values come back from SQLite; the API only accepts UTC, so read them as UTC
    # rather than letting a naive/aware comparison raise mid-request.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
