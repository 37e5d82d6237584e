"""Pure rules of the right of access (art. 10) exercised for minors by representatives (art. 16).

No I/O and no clock: dates, ages and moments are parameters.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from consent.rules import age_on
from gateway.problems import RuleViolation


class Relationship(StrEnum):
    SELF = "self"
    PARENT_WITH_AUTHORITY = "parent_with_authority"
    GUARDIAN = "guardian"


REPRESENTATIVE_ROLES = frozenset({Relationship.PARENT_WITH_AUTHORITY.value, Relationship.GUARDIAN.value})

REFUSAL_GROUNDS: dict[str, str] = {
    "art10_6_a": "de veiligheid van de Staat",
    "art10_6_b": "het voorkomen, opsporen en vervolgen van strafbare feiten",
    "art10_6_c": "gewichtige economische en financiële belangen van de Staat en andere openbare lichamen",
    "art10_6_d": "het toezicht op de naleving van wettelijke voorschriften ten behoeve van b en c",
    "art10_6_e": "de bescherming van de betrokkene of van de rechten en vrijheden van anderen",
}

#: Register entries that are the report's rows (art. 10.4): the disclosures and the corrections
#: passed on (art. 11.4). Only these can be withheld (art. 10.6).
REPORT_KINDS = ("disclosure_sent", "correction_sent")

Outcome = Literal["allowed", "needs_youth", "needs_representative", "forbidden", "age_unknown"]


@dataclass(frozen=True)
class Eligibility:
    outcome: Outcome
    article: str
    message: str


def eligibility(relationship: Relationship, age: int | None) -> Eligibility:
    """Who may exercise the rights for whom (art. 16 lid 1-2).

    Under 12 the legal representative acts alone; from 12 to 16 the youth and the representative act
    together; from 16 the youth acts alone.
    """
    if age is None:
        return Eligibility(
            "age_unknown", "16", "The subject's age is not known; a professional must verify it."
        )
    if relationship is Relationship.SELF:
        if age < 12:
            return Eligibility("forbidden", "16.1", "Under 12 the legal representative makes the request.")
        if age < 16:
            return Eligibility("needs_representative", "16.2", "From 12 to 16 the representative must join.")
        return Eligibility("allowed", "16.2", "From 16 the youth makes the request alone.")
    if age >= 16:
        return Eligibility("forbidden", "16.2", "From 16 the youth exercises the right alone.")
    if age >= 12:
        return Eligibility("needs_youth", "16.2", "From 12 to 16 the youth must join the request.")
    return Eligibility("allowed", "16.1", "Under 12 the legal representative acts alone.")


# --- The subject's age: from the record, never from the requester's claim -------------------------


BirthDateReason = Literal["record", "none_on_record", "records_disagree", "claim_disagrees", "verified"]


@dataclass(frozen=True)
class BirthDateBasis:
    """The birth date art. 16 is applied with, and where it came from (None: a professional verifies)."""

    birth_date: dt.date | None
    reason: BirthDateReason


def birth_date_basis(
    recorded: Collection[dt.date], claimed: dt.date | None, verified: dt.date | None = None
) -> BirthDateBasis:
    """Which birth date decides who may ask (art. 16), after a sound identification (art. 10.2).

    A birth date a professional verified on a document decides. Otherwise the one on record (the
    consents registered for the subject, each checked against its signatories when it was given,
    art. 6.5-6.8) decides, and the requester's own claim never does: a parent claiming a 14-year-old
    is 8 would skip the youth (art. 16.2), a 13-year-old claiming 17 would ask alone. No record,
    records that disagree, or a claim that disagrees with the record: a professional verifies.
    """
    if verified is not None:
        return BirthDateBasis(verified, "verified")
    dates = set(recorded)
    if not dates:
        return BirthDateBasis(None, "none_on_record")
    if len(dates) > 1:
        return BirthDateBasis(None, "records_disagree")
    [on_record] = dates
    if claimed is not None and claimed != on_record:
        return BirthDateBasis(None, "claim_disagrees")
    return BirthDateBasis(on_record, "record")


def age_at(birth_date: dt.date | None, today: dt.date) -> int | None:
    """Completed years on `today`; None when unknown or in the future (then a professional verifies)."""
    if birth_date is None or birth_date > today:
        return None
    return age_on(birth_date, today)


# --- Evidence of representation --------------------------------------------------------------------


#: How long a registered consent evidences the gezag of the parent or guardian who signed it.
EVIDENCE_PERIOD = dt.timedelta(days=366)


@dataclass(frozen=True)
class SignedConsent:
    """What a registered consent says about who signed it, for a representation check."""

    signatories: tuple[tuple[str, str], ...]  # (bsn_hash, role) of the signatories identified by BSN
    given_at: dt.datetime
    valid_until: dt.datetime
    withdrawn_at: dt.datetime | None  # whole statement withdrawn (received at)


def evidenced_role(
    consents: Iterable[SignedConsent], person_hash: str, roles: Collection[str], at: dt.datetime
) -> str | None:
    """The role in which a consent on record evidences that the person represents the subject now
    (art. 16, with art. 6.5-6.6: only a parent with gezag or a guardian signs for a minor), or None.

    The consent must name the person (by BSN) in one of `roles`, must not be withdrawn as a whole
    by `at`, and must have been given at most a year before `at`: while it is in force (Bijlage VIII:
    never longer than a year), and for the rest of that year if it was given for a shorter period,
    since gezag rarely changes within a year. An older consent proves only that the person had gezag
    then; a withdrawn one may have been withdrawn because gezag changed. Otherwise a professional
    verifies (art. 10.2).
    """
    for consent in consents:
        if consent.withdrawn_at is not None and consent.withdrawn_at <= at:
            continue
        if not consent.given_at <= at < consent.given_at + EVIDENCE_PERIOD:
            continue
        for signatory_hash, role in consent.signatories:
            if signatory_hash == person_hash and role in roles:
                return role
    return None


# --- Where a request stands ------------------------------------------------------------------------


class Status:
    PENDING_VERIFICATION = "pending_verification"
    PENDING_CO_REQUESTER = "pending_co_requester"
    PENDING_DECISION = "pending_decision"
    RELEASED = "released"
    REFUSED = "refused"
    REJECTED = "rejected"


OPEN_STATUSES = (Status.PENDING_VERIFICATION, Status.PENDING_CO_REQUESTER, Status.PENDING_DECISION)
STATUSES = (*OPEN_STATUSES, Status.RELEASED, Status.REFUSED, Status.REJECTED)


@dataclass(frozen=True)
class RequestFacts:
    """What is established about a request (art. 10.2, 16)."""

    relationship: Relationship
    age: int | None
    requester_evidenced: bool  # self (DigiD), a consent in force, or a professional's verification
    co_requester_joined: bool  # the second party (12-16) confirmed and is evidenced
    candidate_waiting: bool  # a representative confirmed, but their gezag awaits verification


@dataclass(frozen=True)
class Transition:
    status: str
    needs: str | None  # verification | youth | representative
    violation: RuleViolation | None = None


def next_status(facts: RequestFacts) -> Transition:
    """Where a request goes next (art. 10.2 identity and gezag, art. 16 who asks for whom).

    Unknown age or unevidenced gezag: a professional verifies. A request art. 16 forbids (a parent
    for a 16-year-old, an 11-year-old alone) is rejected with the article. From 12 to 16 it waits
    until the second party joined. Then the privacy officer decides.
    """
    verdict = eligibility(facts.relationship, facts.age)
    if verdict.outcome == "age_unknown":
        return Transition(Status.PENDING_VERIFICATION, "verification")
    if verdict.outcome == "forbidden":
        return Transition(
            Status.REJECTED, None, RuleViolation("not_entitled", verdict.article, verdict.message)
        )
    if not facts.requester_evidenced:
        return Transition(Status.PENDING_VERIFICATION, "verification")
    if verdict.outcome in ("needs_youth", "needs_representative") and not facts.co_requester_joined:
        if facts.candidate_waiting:
            return Transition(Status.PENDING_VERIFICATION, "verification")
        return Transition(
            Status.PENDING_CO_REQUESTER, "youth" if verdict.outcome == "needs_youth" else "representative"
        )
    return Transition(Status.PENDING_DECISION, None)


# --- Dates -----------------------------------------------------------------------------------------


def due_date(received: dt.date) -> dt.date:
    """One calendar month after receipt (art. 10 lid 3): 31 January → 28 (or 29) February.

    `received` is the calendar date in the Netherlands (Europe/Amsterdam), not the UTC date: a
    letter received on 1 February at 00:30 is due on 1 March.
    """
    year, month = (received.year + 1, 1) if received.month == 12 else (received.year, received.month + 1)
    day = min(received.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day)


def is_overdue(due: dt.date, today: dt.date, decided: bool) -> bool:
    """Undecided after the due date (art. 10 lid 3 and 7); `today` in Europe/Amsterdam."""
    return not decided and today > due


# --- Who may read and decide ----------------------------------------------------------------------


Reader = Literal["central_officer", "partner_officer", "partner_system", "citizen"]


def may_decide(reader: Reader, org: str | None, lodged_with: str | None) -> bool:
    """The central privacy officer, or the officer of the partner the request was lodged with
    (art. 10.3-10.7; a citizen's own DigiD request is lodged with no partner)."""
    if reader == "central_officer":
        return True
    return reader == "partner_officer" and lodged_with is not None and org == lodged_with


def may_read_report(
    reader: Reader,
    *,
    org: str | None,
    lodged_with: str | None,
    channel: str,
    is_requester: bool,
    status: str,
) -> bool:
    """Who reads the report (art. 10.4) or the written refusal (art. 10.7): the requester(s) and the
    officers who may decide (art. 18.3).

    Before the decision only those officers read it (they decide what to withhold, art. 10.6). A
    partner system never reads an undecided report, and a decided one only for a written request
    lodged at its own desk, to hand it to the requester on paper (art. 10.1, 10.3).
    """
    if reader in ("central_officer", "partner_officer"):
        return may_decide(reader, org, lodged_with)
    decided = status in (Status.RELEASED, Status.REFUSED, Status.REJECTED)
    if reader == "partner_system":
        return decided and channel == "partner_desk" and org is not None and org == lodged_with
    return decided and is_requester


# --- The decision ---------------------------------------------------------------------------------


def decision_violations(
    decision: str,
    ground: str | None,
    motivation: str | None,
    withheld_entries: Collection[str],
    known_entries: Collection[str],
    reportable_entries: Collection[str] | None = None,
) -> list[RuleViolation]:
    """A refusal needs an art. 10.6 ground and a motivation (art. 10 lid 6-7); so does withholding.

    A ground, when given, is one of art. 10.6 a-e whatever the decision: it is stored and shown as
    the ground of the decision. Only rows of the report (disclosures and corrections, art. 10.4)
    can be withheld: withholding anything else would be counted as withheld while nothing was left
    out.
    """
    violations: list[RuleViolation] = []
    motivated = bool(motivation and motivation.strip())
    if ground is not None and ground not in REFUSAL_GROUNDS:
        violations.append(
            RuleViolation("refusal_ground_unknown", "10.6", "The ground is one of art10_6_a … art10_6_e.")
        )
    if decision == "refuse" or withheld_entries:
        if ground is None:
            violations.append(
                RuleViolation("refusal_ground_missing", "10.6", "Name the ground: art10_6_a … art10_6_e.")
            )
        if not motivated:
            violations.append(
                RuleViolation(
                    "motivation_missing", "10.7", "A refusal or withholding must be motivated in writing."
                )
            )
    unknown = [entry for entry in withheld_entries if entry not in known_entries]
    if unknown:
        violations.append(
            RuleViolation(
                "withheld_entry_unknown", "10.6", f"Not entries about this subject: {', '.join(unknown[:5])}"
            )
        )
    reportable = known_entries if reportable_entries is None else reportable_entries
    not_reportable = [e for e in withheld_entries if e in known_entries and e not in reportable]
    if not_reportable:
        violations.append(
            RuleViolation(
                "withheld_entry_not_reportable",
                "10.6",
                "Only disclosures and corrections (rows of the report) can be withheld; not: "
                + ", ".join(not_reportable[:5]),
            )
        )
    return violations


@dataclass(frozen=True)
class EntryLink:
    """How a register entry hangs together with others (plain values from the register)."""

    entry_id: str
    kind: str
    disclosure_id: str | None  # the message the entry is about
    corrects: str | None  # for a correction: the disclosure it corrects (art. 11.4)


def withheld_closure(selected: Collection[str], entries: Iterable[EntryLink]) -> frozenset[str]:
    """Everything that must be left out when the officer withholds `selected` (art. 10.6).

    Withholding a disclosure also withholds the corrections passed on about it (art. 11.4: same
    parties and categories, plus the correction's text) and their acknowledgements; otherwise the
    report would show what the officer meant to withhold.
    """
    entries = list(entries)
    chosen = set(selected)
    messages = {e.disclosure_id for e in entries if e.entry_id in chosen and e.disclosure_id}
    corrections = {e.disclosure_id for e in entries if e.corrects in messages and e.disclosure_id}
    messages |= corrections
    return frozenset(
        e.entry_id
        for e in entries
        if e.entry_id in chosen or (e.disclosure_id is not None and e.disclosure_id in messages)
    )


def withholding_candidates(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Disclosures the deciding officer should consider withholding (art. 10.6 e, art. 7.5).

    An override whose informing of the subject was waived for safety or to keep contact (art. 7.5)
    was kept from the subject on purpose; the report would tell them now. The officer decides.
    `entries` are register entry contents (`RegisterEntry.content`).
    """
    candidates = []
    for content in entries:
        if content.get("kind") != "disclosure_sent":
            continue
        basis = content.get("legal_basis") or {}
        inform = basis.get("inform_subject") or {}
        if basis.get("type") == "override" and inform.get("waived"):
            candidates.append(
                {
                    "entry_id": str(content["id"]),
                    "reason": "override_inform_waived",
                    "waiver_ground": str(inform.get("waiver_ground") or ""),
                    "message": "Override without informing the subject (art. 7.5, "
                    f"waiver ground {inform.get('waiver_ground') or 'unknown'}): consider withholding "
                    "it on ground art10_6_e.",
                }
            )
    return candidates
