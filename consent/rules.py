"""Pure consent rules of the Privacyreglement Meerpunt (art. 2, 6, 7, 14, Bijlage VIII).

Functional core: no I/O, no clock, no database. Every moment is a parameter and
every datetime is timezone-aware (UTC by convention). Services gather the facts,
call these functions and apply the outcome.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

# A partner's clock may run a little ahead of ours; beyond this a "given at"
# in the future is a data error, not skew.
CLOCK_SKEW = timedelta(minutes=5)
#: No consent, withdrawal or validity end lies before this: earlier moments are data errors, and
#: keeping moments in range means date arithmetic (a year later, local dates) cannot overflow.
EARLIEST_MOMENT = datetime(1900, 1, 1, tzinfo=UTC)
PERMIT_REASON = "consent"
#: Ages and deadlines are counted on the calendar date in the Netherlands: consent signed at 00:30
#: local time on a twelfth birthday is that day, although it is still the day before in UTC.
LOCAL_TZ = ZoneInfo("Europe/Amsterdam")

#: Lowercase only: the API schemas lowercase hashes on input, so a stored hash
#: has one spelling and compares equal to the same document's hash given in capitals.
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class SignatoryRole(StrEnum):
    """Who signed a consent statement (art. 6 lid 5-9)."""

    PARENT_WITH_AUTHORITY = "parent_with_authority"
    GUARDIAN = "guardian"
    YOUTH = "youth"
    AUTHORISED_REPRESENTATIVE = "authorised_representative"
    CURATOR = "curator"
    MENTOR = "mentor"
    FOSTER_PARENT = "foster_parent"


class ConsentForm(StrEnum):
    """Schriftelijke or mondelinge toestemming (art. 6 lid 4)."""

    WRITTEN = "written"
    ORAL = "oral"


class DenyReason(StrEnum):
    """Why a category may not be disclosed."""

    NO_CONSENT = "no_consent"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    RECIPIENT_NOT_COVERED = "recipient_not_covered"
    CATEGORY_NOT_COVERED = "category_not_covered"
    NOT_EXPLICIT = "not_explicit"
    RESTRICTED = "restricted"
    NOT_YET_VALID = "not_yet_valid"


class ConsentStatus(StrEnum):
    """Where a statement stands at a moment (Bijlage VIII: one year, withdrawable at any time)."""

    ACTIVE = "active"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    PARTIALLY_WITHDRAWN = "partially_withdrawn"


@dataclass(frozen=True)
class Violation:
    """A broken rule: machine code, the article (e.g. "6.7", "Bijlage VIII") and what is missing."""

    code: str
    article: str
    message: str


@dataclass(frozen=True)
class Signatory:
    role: SignatoryRole
    name: str


@dataclass(frozen=True)
class GrantSpec:
    """One yes/no line of the consent form: recipient, data, purpose (Bijlage VIII)."""

    recipient: str
    categories: frozenset[str]
    purpose: str
    granted: bool


@dataclass(frozen=True)
class GrantFacts:
    grant_id: str
    recipient: str
    categories: frozenset[str]
    granted: bool


@dataclass(frozen=True)
class ConsentFacts:
    """A statement as the decision sees it; `obtained_by`/`obtained_on_behalf_of` decide who may use it."""

    consent_id: str
    form: ConsentForm
    explicit: bool
    given_at: datetime
    valid_until: datetime
    grants: tuple[GrantFacts, ...]
    obtained_by: str
    obtained_on_behalf_of: str | None


@dataclass(frozen=True)
class WithdrawalFacts:
    """Intrekking; ``grant_ids=None`` withdraws the whole consent."""

    consent_id: str
    received_at: datetime
    grant_ids: frozenset[str] | None


@dataclass(frozen=True)
class RestrictionFacts:
    starts_at: datetime
    ends_at: datetime | None


@dataclass(frozen=True)
class DecisionRequest:
    """May `sender` disclose these categories to `recipient`?

    `sender=None` asks about the registry as a whole, whoever obtained the consent; only tests and
    overviews do that. Every disclosure and dry run names its sender (art. 6 lid 1, 3).
    """

    recipient: str
    categories: tuple[str, ...]
    sender: str | None = None


@dataclass(frozen=True)
class CategoryDecision:
    """Outcome for one category; ``reason`` is "consent" or a DenyReason value."""

    category: str
    decision: Literal["permit", "deny"]
    consent_id: str | None
    reason: str


@dataclass(frozen=True)
class Decision:
    """Besluit over een verstrekking (art. 6 lid 1): one outcome per requested category."""

    per_category: tuple[CategoryDecision, ...]

    @property
    def permitted(self) -> bool:
        """True only if at least one category was asked and every one is permitted."""
        return bool(self.per_category) and all(c.decision == "permit" for c in self.per_category)

    @property
    def decision(self) -> Literal["permit", "deny"]:
        """Either "permit" (every category covered, art. 6 lid 1) or "deny"."""
        return "permit" if self.permitted else "deny"

    @property
    def consent_ids(self) -> tuple[str, ...]:
        """Distinct consent ids named by the per-category outcomes, in order."""
        ids = (c.consent_id for c in self.per_category if c.consent_id is not None)
        return tuple(dict.fromkeys(ids))


# --------------------------------------------------------------------------- time


def age_on(birth_date: date, on: date) -> int:
    """Leeftijd op de dag van toestemming (art. 6 lid 5, 6, 8): completed years.

    Someone born on 29 February turns a year older on 1 March in non-leap years.
    This is the conservative choice: the child is treated as younger until the
    full year has elapsed, so a stricter representation rule never lapses early.
    """
    if on < birth_date:
        raise ValueError("cannot compute an age before the birth date")
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - int(before_birthday)


def local_date(moment: datetime) -> date:
    """The calendar date in the Netherlands, on which ages (art. 6 lid 5-8, 16) and deadlines
    (art. 10 lid 3) are counted."""
    return moment.astimezone(LOCAL_TZ).date()


def effective_valid_until(given_at: datetime, requested: datetime | None) -> datetime:
    """Geldigheidsduur van een jaar (Bijlage VIII): default and maximum one year.

    One year after 29 February is 28 February: never longer than a year.
    Raises ValueError for a naive datetime or a requested end not after given_at
    (validate_consent_statement reports that case as a violation first).
    """
    _require_aware(given_at=given_at, requested=requested)
    limit = _one_year_after(given_at)
    if requested is None:
        return limit
    if requested <= given_at:
        raise ValueError("valid_until must be after given_at")
    # Compare before converting: a far-off requested end (year 9999 with a negative offset)
    # cannot be expressed in UTC, but it is past the limit anyway.
    return limit if requested >= limit else requested.astimezone(UTC)


def in_supported_range(moment: datetime, now: datetime) -> bool:
    """Whether `moment` lies between 1900 and a year after `now` (plus clock skew).

    Only moments in this range are converted or shifted (UTC, local date, one year later), so no
    input can make the date arithmetic overflow. Comparing aware datetimes never overflows.
    """
    return EARLIEST_MOMENT <= moment <= _one_year_after(now) + CLOCK_SKEW


def _one_year_after(moment: datetime) -> datetime:
    # Work in UTC: datetimes sharing one tzinfo compare by wall time, which
    # would make a DST zone's "one year" an hour longer than a year.
    utc = moment.astimezone(UTC)
    try:
        return utc.replace(year=utc.year + 1)
    except ValueError:  # 29 February in a year followed by a non-leap year
        return utc.replace(year=utc.year + 1, day=28)


def _require_aware(**moments: datetime | None) -> None:
    for name, moment in moments.items():
        if moment is not None and moment.utcoffset() is None:
            raise ValueError(f"{name} must be a timezone-aware datetime")


def _has_text(value: str | None) -> bool:
    return value is not None and bool(value.strip())


# ------------------------------------------------------------------ signatories


def validate_signatories(
    *,
    birth_date: date,
    given_on: date,
    signatories: Sequence[Signatory],
    other_parent_statement: str | None,
    subject_incapable: bool,
    legal_representation: bool,
    sole_authority: bool = False,
) -> list[Violation]:
    """Wie toestemming mag geven (art. 6 lid 5-9), by age on the day consent was given.

    - under 12: the parents with authority or the guardian (lid 5); both parents "als beide ouders
      het gezag hebben" (lid 7), so one parent suffices when `sole_authority` records that only
      this parent has authority, or when `other_parent_statement` records that the other parent
      knows and agrees;
    - 12 to 16: the same, and the youth takes part (lid 6);
    - 16 and older: the youth, or when `subject_incapable` the person the youth authorised in
      writing (lid 8); under curatele or mentorschap (`legal_representation`) the curator or
      mentor instead: lid 9 applies "in afwijking van het achtste lid", so from 16 only. Below 16
      lid 5-7 decide, whatever `legal_representation` says;
    - a foster parent never counts (lid 7).

    Returns every violation found; an empty list means the signatories suffice.
    """
    violations = _signatory_list_violations(signatories)
    if given_on < birth_date:
        return [*violations, _INVALID_BIRTH_DATE]
    missing = _representation_violations(
        age=age_on(birth_date, given_on),
        signers=_distinct_signers(signatories),
        other_parent_statement=other_parent_statement,
        subject_incapable=subject_incapable,
        legal_representation=legal_representation,
        sole_authority=sole_authority,
    )
    if missing and any(s.role is SignatoryRole.FOSTER_PARENT for s in signatories):
        missing.append(_FOSTER_PARENT_NOT_AUTHORISED)
    return violations + missing


_INVALID_BIRTH_DATE = Violation(
    "invalid_birth_date",
    "6.5",
    "The birth date is after the date consent was given, so the subject's age "
    "(which decides who must consent) cannot be determined.",
)
_FOSTER_PARENT_NOT_AUTHORISED = Violation(
    "foster_parent_not_authorised",
    "6.7",
    "A foster parent signed, but foster parents may not give consent; their signature was not counted.",
)


def _signatory_list_violations(signatories: Sequence[Signatory]) -> list[Violation]:
    violations = [
        Violation(
            "signatory_name_missing",
            "Bijlage VIII",
            f"signatories[{index}] ({signatory.role}) has no name; an unnamed signature is not counted.",
        )
        for index, signatory in enumerate(signatories)
        if not _has_text(signatory.name)
    ]
    if not signatories:
        violations.append(Violation("signatories_missing", "6.5", "Nobody signed the consent statement."))
    return violations


def _distinct_signers(signatories: Iterable[Signatory]) -> Counter[SignatoryRole]:
    """Count distinct named people per role.

    The same name twice in one role is one person: it must not pass for the
    two parent signatures art. 6 lid 7 requires. Unnamed signatures count for nothing.
    Foster parents stay under their own role, which no rule accepts (art. 6 lid 7).
    """
    people = {(s.role, " ".join(s.name.split()).casefold()) for s in signatories if _has_text(s.name)}
    return Counter(role for role, _ in people)


def _representation_violations(
    *,
    age: int,
    signers: Mapping[SignatoryRole, int],
    other_parent_statement: str | None,
    subject_incapable: bool,
    legal_representation: bool,
    sole_authority: bool,
) -> list[Violation]:
    if age < 12:
        return _parents_or_guardian_violations(signers, other_parent_statement, sole_authority, "under 12")
    if age < 16:
        return [
            *_parents_or_guardian_violations(
                signers, other_parent_statement, sole_authority, "aged 12 to 15"
            ),
            *_youth_involved_violations(signers),
        ]
    if legal_representation:
        return _legal_representative_violations(signers)
    return _sixteen_plus_violations(signers, subject_incapable)


def _legal_representative_violations(signers: Mapping[SignatoryRole, int]) -> list[Violation]:
    """Curatele of mentorschap: de wettelijk vertegenwoordiger (art. 6 lid 9), from 16 (lid 8)."""
    if signers.get(SignatoryRole.CURATOR, 0) or signers.get(SignatoryRole.MENTOR, 0):
        return []
    return [
        Violation(
            "legal_representative_missing",
            "6.9",
            "The subject is under curatele or mentorschap: the curator or mentor must sign.",
        )
    ]


def _parents_or_guardian_violations(
    signers: Mapping[SignatoryRole, int],
    other_parent_statement: str | None,
    sole_authority: bool,
    age_band: str,
) -> list[Violation]:
    """Ouders met gezag of voogd (art. 6 lid 5); beide ouders als beide het gezag hebben (lid 7)."""
    parents = signers.get(SignatoryRole.PARENT_WITH_AUTHORITY, 0)
    if sole_authority and parents >= 2:
        # The record would say both that one parent alone has authority and that two parents
        # with authority signed; one of the two is wrong, and the register must not keep both.
        return [
            Violation(
                "sole_authority_contradicted",
                "6.7",
                "sole_authority records that one parent alone has authority, but two parents "
                "with authority signed: correct the flag or the signatories.",
            )
        ]
    if signers.get(SignatoryRole.GUARDIAN, 0) or parents >= 2:
        return []
    if parents == 1:
        if sole_authority or _has_text(other_parent_statement):
            return []
        return [
            Violation(
                "second_parent_missing",
                "6.7",
                "Only one parent with authority signed: the second parent must sign too, "
                "or a statement must record that the other parent knows and agrees, "
                "or sole_authority must record that this parent alone has authority.",
            )
        ]
    return [
        Violation(
            "guardian_or_parents_missing",
            "6.5",
            f"For a subject {age_band} the parents with authority or the guardian must sign.",
        )
    ]


def _youth_involved_violations(signers: Mapping[SignatoryRole, int]) -> list[Violation]:
    """Toestemming in samenspraak met de jeugdige van 12 tot 16 (art. 6 lid 6)."""
    if signers.get(SignatoryRole.YOUTH, 0):
        return []
    return [
        Violation(
            "youth_not_involved",
            "6.6",
            "For a subject aged 12 to 15 the youth must be recorded as consulted/co-signing.",
        )
    ]


def _sixteen_plus_violations(
    signers: Mapping[SignatoryRole, int], subject_incapable: bool
) -> list[Violation]:
    """Vanaf 16 jaar de jeugdige zelf, of een schriftelijk gevolmachtigde (art. 6 lid 8)."""
    if subject_incapable:
        if signers.get(SignatoryRole.AUTHORISED_REPRESENTATIVE, 0):
            return []
        return [
            Violation(
                "authorised_representative_missing",
                "6.8",
                "The subject (16 or older) is recorded as unable to assess their interests: "
                "the person they authorised in writing must sign.",
            )
        ]
    if signers.get(SignatoryRole.YOUTH, 0):
        return []
    return [
        Violation(
            "youth_must_consent",
            "6.8",
            "The subject is 16 or older and must sign the consent themselves.",
        )
    ]


# -------------------------------------------------------------------- statement


def validate_consent_statement(
    *,
    form: ConsentForm,
    evidence_sha256: str | None,
    note: str | None,
    explicit: bool,
    given_at: datetime,
    valid_until: datetime | None,
    grants: Sequence[GrantSpec],
    known_categories: Collection[str],
    known_partners: Collection[str],
    now: datetime,
    obtained_by: str,
    obtained_on_behalf_of: str | None = None,
    authorisation_evidence_sha256: str | None = None,
) -> list[Violation]:
    """Toestemmingsverklaring (art. 6 lid 1, 3, 4, 8, art. 2, Bijlage VIII): returns all violations.

    `authorisation_evidence_sha256` references the written authorisation (schriftelijke
    volmacht, art. 6 lid 8) of an authorised representative. It is optional: SPEC §6 accepts an
    authorised representative with a recorded incapacity, and making the field mandatory would
    refuse requests the contract allows. When given, it must be a SHA-256 like any evidence.
    """
    _require_aware(given_at=given_at, valid_until=valid_until, now=now)
    return [
        *_evidence_violations(form, evidence_sha256, note, explicit),
        *_sha256_violations("authorisation_evidence_sha256", "6.8", authorisation_evidence_sha256),
        *_validity_violations(given_at, valid_until, now),
        *_grant_violations(grants, known_categories, known_partners, obtained_by, obtained_on_behalf_of),
    ]


def _sha256_violations(field: str, article: str, value: str | None) -> list[Violation]:
    if value is None or _SHA256_HEX.fullmatch(value):
        return []
    return [
        Violation(
            f"{field}_invalid",
            article,
            f"{field} must be 64 hexadecimal characters (the SHA-256 of the filed document).",
        )
    ]


def _evidence_violations(
    form: ConsentForm, evidence_sha256: str | None, note: str | None, explicit: bool
) -> list[Violation]:
    """Schriftelijk: bij het dossier gevoegd; mondeling: een aantekening (art. 6 lid 4)."""
    violations = []
    if evidence_sha256 and not _SHA256_HEX.fullmatch(evidence_sha256):
        violations.append(
            Violation(
                "evidence_sha256_invalid",
                "6.4",
                "evidence_sha256 must be 64 hexadecimal characters (the SHA-256 of the filed document).",
            )
        )
    if form is ConsentForm.WRITTEN and not evidence_sha256:
        violations.append(
            Violation(
                "written_evidence_missing",
                "6.4",
                "Written consent must reference the filed document by its SHA-256.",
            )
        )
    if form is ConsentForm.ORAL and not _has_text(note):
        message = "Oral consent needs a note saying who consented, when, and what was explained."
        if explicit:
            message += " Explicit oral consent (art. 2) is documented only by this note."
        violations.append(Violation("oral_note_missing", "6.4", message))
    return violations


def _validity_violations(given_at: datetime, valid_until: datetime | None, now: datetime) -> list[Violation]:
    """Toestemming is een jaar geldig (Bijlage VIII) and cannot be given in the future.

    A given_at before 1900 is refused, and no arithmetic is done on a given_at out of range.
    """
    violations = []
    if given_at < EARLIEST_MOMENT:
        violations.append(
            Violation("given_at_out_of_range", "Bijlage VIII", "given_at lies before 1900: not a real date.")
        )
    elif given_at > now + CLOCK_SKEW:
        violations.append(Violation("given_at_in_future", "Bijlage VIII", "given_at lies in the future."))
    if valid_until is None:
        return violations
    # Comparisons of aware datetimes cannot overflow; only `_one_year_after` needs a sane given_at.
    if valid_until <= given_at:
        violations.append(
            Violation("valid_until_not_after_given_at", "Bijlage VIII", "valid_until must be after given_at.")
        )
    elif in_supported_range(given_at, now) and valid_until > _one_year_after(given_at):
        violations.append(
            Violation(
                "validity_exceeds_one_year",
                "Bijlage VIII",
                "Consent is valid for at most one year after it was given.",
            )
        )
    return violations


def _grant_violations(
    grants: Sequence[GrantSpec],
    known_categories: Collection[str],
    known_partners: Collection[str],
    obtained_by: str,
    obtained_on_behalf_of: str | None,
) -> list[Violation]:
    """Specifiek per ontvanger, per gegeven en met doel (Bijlage VIII), aan een andere partij (6.1).

    A line to the obtaining partner itself is a disclosure to nobody, so it is refused (art. 6
    lid 1: consent for disclosure "aan een partij die eveneens ... zorg biedt", i.e. another one;
    art. 2: toestemmingsverklaring "aan een andere partner"). The exception is a consent obtained
    on behalf of the holder (art. 6 lid 3): there the line to the obtainer is the very disclosure
    the holder is asked to make.
    """
    if not grants:
        return [
            Violation(
                "grants_missing",
                "Bijlage VIII",
                "The statement names no recipient and data to say yes or no to.",
            )
        ]
    violations = [
        violation
        for index, grant in enumerate(grants)
        for violation in _one_grant_violations(index, grant, known_categories, known_partners)
    ]
    if obtained_on_behalf_of is None:
        violations += [
            Violation(
                "recipient_is_obtainer",
                "6.1",
                f"grants[{index}]: the recipient is the partner that obtained the consent; consent is "
                "for disclosure to another partner (or, with obtained_on_behalf_of, from the "
                "holder to you, art. 6.3).",
            )
            for index, grant in enumerate(grants)
            if grant.recipient == obtained_by
        ]
    return violations + _conflicting_grant_violations(grants)


def _one_grant_violations(
    index: int, grant: GrantSpec, known_categories: Collection[str], known_partners: Collection[str]
) -> list[Violation]:
    where = f"grants[{index}]"
    violations = []
    if grant.recipient not in known_partners:
        violations.append(
            Violation(
                "unknown_recipient",
                "Bijlage VIII",
                f"{where}: recipient {grant.recipient!r} is not a known Meerpunt partner.",
            )
        )
    if not grant.categories:
        violations.append(
            Violation("grant_categories_missing", "Bijlage VIII", f"{where}: no data categories named.")
        )
    unknown = sorted(c for c in grant.categories if c not in known_categories)
    if unknown:
        violations.append(
            Violation(
                "unknown_category",
                "Bijlage VIII",
                f"{where}: unknown data categories {', '.join(unknown)}.",
            )
        )
    if not _has_text(grant.purpose):
        violations.append(
            Violation(
                "purpose_missing",
                "Bijlage VIII",
                f"{where}: the purpose ('Deze gegevens zijn nodig omdat ...') is missing.",
            )
        )
    return violations


def _conflicting_grant_violations(grants: Sequence[GrantSpec]) -> list[Violation]:
    """One statement cannot say both yes and no to the same recipient and data."""
    answers: defaultdict[tuple[str, str], set[bool]] = defaultdict(set)
    for grant in grants:
        for category in grant.categories:
            answers[(grant.recipient, category)].add(grant.granted)
    return [
        Violation(
            "conflicting_grants",
            "Bijlage VIII",
            f"Both yes and no given for recipient {recipient!r} and category {category!r}.",
        )
        for (recipient, category), given in sorted(answers.items())
        if len(given) > 1
    ]


# --------------------------------------------------------------------- decision


@dataclass(frozen=True)
class _Statement:
    """One grant to the requested recipient, as it stands at the decision moment."""

    consent: ConsentFacts
    grant: GrantFacts
    withdrawn: bool


# Fail closed on ties between equally recent statements: any deny beats a permit.
_SEVERITY = {
    PERMIT_REASON: 0,
    DenyReason.NOT_EXPLICIT: 1,
    DenyReason.WITHDRAWN: 2,
    DenyReason.REFUSED: 3,
}
# Most specific explanation first when nothing standing covers a category.
_LAPSE_RANK = {DenyReason.NOT_YET_VALID: 0, DenyReason.EXPIRED: 1}


def decide(
    consents: Sequence[ConsentFacts],
    withdrawals: Sequence[WithdrawalFacts],
    restrictions: Sequence[RestrictionFacts],
    request: DecisionRequest,
    at: datetime,
    special_categories: Collection[str],
) -> Decision:
    """Voorafgaande toestemming per ontvanger en per gegeven (art. 6 lid 1-3, art. 7 lid 1-2, Bijlage VIII).

    Only statements the sender may rely on count (`may_rely_on`, art. 6 lid 1 and 3). Then, per
    requested category (request order, duplicates dropped):
    - an active restriction (beperking, art. 14) denies everything;
    - of the grants to exactly this recipient covering the category that stand at `at`, the most
      recently given decides; on equal given_at the strictest outcome wins. A yes stands while
      its consent is in its validity window (given_at <= at < valid_until). A refusal or a
      withdrawn grant stands from its given_at on, also after its own consent expired;
    - that grant permits only if granted, not withdrawn (intrekking, effective from received_at,
      no effect before it), and for a special category the consent is written or explicitly oral
      (uitdrukkelijke toestemming, art. 2); a refusal denies (weigering, art. 7 lid 1-2).

    So a later "Nee" or withdrawal keeps its place as the latest word for that recipient and
    category: neither withdrawing it nor letting it expire revives an earlier "Ja" (art. 7 lid 2:
    if the person stays with the refusal, the partner does not disclose). Only a newer "Ja"
    replaces it. Adding a withdrawal or a refusal can therefore never permit more.

    Judgement calls, on purpose:
    - A refusal binds the disclosures it was about. Consent is asked by the partner that wants to
      disclose, for its disclosure (art. 6 lid 1, 7 lid 1: "de partij die de persoonsgegevens aan
      een andere partij wil verstrekken"), and the form lists that partner's recipients and data
      (Bijlage VIII). A "Nee" on the school's form to JGZ therefore does not block the
      municipality's own "Ja" to JGZ. It could not without telling the municipality about a form
      it may not see (art. 5 lid 2).
    - A restricted subject gets `restricted` for every consent-based disclosure, although art. 14
      lid 2 would allow processing with the subject's consent during a restriction: SPEC §2 (rows
      13-14) requires that restricted data is not disclosed until the restriction is lifted,
      overrides excepted, and the contract's external tests rely on that.
    - `not_yet_valid` (a consent whose given_at lies after `at`) is a ninth reason besides the
      eight of the issue; docs/consent.md lists it. Clients must treat any unknown reason as a deny.
    """
    _require_aware(at=at)
    categories = tuple(dict.fromkeys(request.categories))
    if any(restriction_active(r.starts_at, r.ends_at, at) for r in restrictions):
        return Decision(tuple(_deny(c, DenyReason.RESTRICTED, None) for c in categories))
    usable = [(c, g) for c in consents for g in c.grants if may_rely_on(request.sender, c, g)]
    statements = _statements_for(usable, withdrawals, request.recipient, at)
    return Decision(
        tuple(_decide_category(c, statements, at, special_categories, bool(usable)) for c in categories)
    )


def may_rely_on(sender: str | None, consent: ConsentFacts, grant: GrantFacts) -> bool:
    """Wie zich op een regel van de toestemmingsverklaring mag beroepen (art. 6 lid 1 en 3).

    - The partner that obtained the consent may use every line of it: the form is its own
      (art. 6 lid 1; Bijlage VIII: "Meerpuntpartner <naam organisatie>").
    - The partner it was obtained on behalf of (the holder, art. 6 lid 3) may use only the line
      to the obtainer: the requester asked consent "voor deze verstrekking", the holder's
      disclosure to the requester, not for the holder to share with every partner on the form.
    - Nobody else may use it.
    `sender=None` applies no sender scope (see DecisionRequest).
    """
    if sender is None or sender == consent.obtained_by:
        return True
    return sender == consent.obtained_on_behalf_of and grant.recipient == consent.obtained_by


def restriction_active(starts_at: datetime, ends_at: datetime | None, at: datetime) -> bool:
    """Beperking van de verwerking (art. 14) from starts_at until ends_at (exclusive)."""
    return starts_at <= at and (ends_at is None or at < ends_at)


def may_lift_restriction(set_by_org: str | None, actor_org: str | None) -> bool:
    """Who may lift a beperking (art. 14, 18.3): the central officer (`actor_org` None), or an officer
    of the organisation that set it. A restriction the central officer set (`set_by_org` None) is
    lifted only centrally."""
    return actor_org is None or (set_by_org is not None and set_by_org == actor_org)


def _statements_for(
    usable: Sequence[tuple[ConsentFacts, GrantFacts]],
    withdrawals: Sequence[WithdrawalFacts],
    recipient: str,
    at: datetime,
) -> list[_Statement]:
    received: defaultdict[str, list[WithdrawalFacts]] = defaultdict(list)
    for withdrawal in withdrawals:
        # A withdrawal received after `at` leaves processing at `at` lawful.
        if withdrawal.received_at <= at:
            received[withdrawal.consent_id].append(withdrawal)
    return [
        _Statement(consent, grant, _is_withdrawn(grant, received[consent.consent_id]))
        for consent, grant in usable
        # Exact match: a grant to one partner never covers another.
        if grant.recipient == recipient
    ]


def _is_withdrawn(grant: GrantFacts, withdrawals: Iterable[WithdrawalFacts]) -> bool:
    return any(w.grant_ids is None or grant.grant_id in w.grant_ids for w in withdrawals)


def _decide_category(
    category: str,
    statements: Sequence[_Statement],
    at: datetime,
    special_categories: Collection[str],
    has_consents: bool,
) -> CategoryDecision:
    covering = [s for s in statements if category in s.grant.categories]
    standing = [s for s in covering if _stands(s, at)]
    if standing:
        return _latest_word(category, standing, category in special_categories)
    if covering:
        return _explain_lapse(category, covering, at)
    if not has_consents:
        return _deny(category, DenyReason.NO_CONSENT, None)
    if not statements:
        return _deny(category, DenyReason.RECIPIENT_NOT_COVERED, None)
    return _deny(category, DenyReason.CATEGORY_NOT_COVERED, None)


def _stands(statement: _Statement, at: datetime) -> bool:
    """Whether a statement takes part in the latest-word comparison at `at` (see `decide`)."""
    consent = statement.consent
    if at < consent.given_at:
        return False
    # A "Nee" or a withdrawal is the person's word until a newer "Ja": its consent's expiry
    # does not end it (art. 7 lid 2). A "Ja" lapses with its consent (Bijlage VIII: one year).
    return at < consent.valid_until or statement.withdrawn or not statement.grant.granted


def _latest_word(category: str, standing: Sequence[_Statement], special: bool) -> CategoryDecision:
    outcomes = [(s, _outcome(s, special)) for s in standing]
    statement, reason = max(
        outcomes, key=lambda o: (o[0].consent.given_at, _SEVERITY[o[1]], o[0].consent.consent_id)
    )
    if reason == PERMIT_REASON:
        return CategoryDecision(category, "permit", statement.consent.consent_id, PERMIT_REASON)
    return _deny(category, reason, statement.consent.consent_id)


def _outcome(statement: _Statement, special: bool) -> str:
    if statement.withdrawn:
        return DenyReason.WITHDRAWN
    if not statement.grant.granted:
        return DenyReason.REFUSED
    consent = statement.consent
    if special and not (consent.form is ConsentForm.WRITTEN or consent.explicit):
        return DenyReason.NOT_EXPLICIT
    return PERMIT_REASON


def _explain_lapse(category: str, covering: Sequence[_Statement], at: datetime) -> CategoryDecision:
    """Nothing stands: every covering "Ja" has expired or is not yet given."""
    lapses = [(s, _lapse(s, at)) for s in covering]
    statement, reason = max(
        lapses, key=lambda o: (_LAPSE_RANK[o[1]], o[0].consent.given_at, o[0].consent.consent_id)
    )
    return _deny(category, reason, statement.consent.consent_id)


def _lapse(statement: _Statement, at: datetime) -> DenyReason:
    if at >= statement.consent.valid_until:
        return DenyReason.EXPIRED
    return DenyReason.NOT_YET_VALID


def _deny(category: str, reason: str, consent_id: str | None) -> CategoryDecision:
    return CategoryDecision(category, "deny", consent_id, str(reason))


# ----------------------------------------------------------------------- status


def consent_status(
    *,
    given_at: datetime,
    valid_until: datetime,
    withdrawn_at: datetime | None,
    lines: Iterable[tuple[bool, datetime | None]],
    at: datetime,
) -> ConsentStatus:
    """Status van een toestemmingsverklaring op `at` (Bijlage VIII), for partners and the citizen.

    `withdrawn_at`: when a withdrawal of the whole statement was received; `lines`: its yes/no
    lines as (granted, when a withdrawal of that line was received). Same boundaries as `decide`:
    in force for given_at <= at < valid_until, a withdrawal counts from the moment it was received
    and outranks expiry (the person sees that they withdrew). Withdrawing every "Ja" line withdraws
    the statement: a "Nee" line cannot be withdrawn (`validate_withdrawal`) and permits nothing.
    Withdrawing some leaves it partially withdrawn while it is otherwise in force.
    """
    _require_aware(given_at=given_at, valid_until=valid_until, withdrawn_at=withdrawn_at, at=at)
    if withdrawn_at is not None and withdrawn_at <= at:
        return ConsentStatus.WITHDRAWN
    yes = [line_withdrawn_at for granted, line_withdrawn_at in lines if granted]
    _require_aware(**{f"lines[{i}]": moment for i, moment in enumerate(yes)})
    withdrawn = [moment is not None and moment <= at for moment in yes]
    if withdrawn and all(withdrawn):
        return ConsentStatus.WITHDRAWN
    if at < given_at:
        return ConsentStatus.NOT_YET_VALID
    if at >= valid_until:
        return ConsentStatus.EXPIRED
    return ConsentStatus.PARTIALLY_WITHDRAWN if any(withdrawn) else ConsentStatus.ACTIVE


# ------------------------------------------------------------------- withdrawal


def withdrawal_scope(
    *, requested: Sequence[str] | None, visible: Sequence[GrantFacts], sees_whole_form: bool
) -> frozenset[str] | None:
    """Which lines a withdrawal covers (Bijlage VIII; art. 5 lid 2); None is the whole statement.

    The obtainer and the on-behalf party hold the whole form (art. 6 lid 3-4), so leaving out
    `grants` withdraws all of it. A partner that is only a recipient sees only its own lines: for
    it, leaving out `grants` means its own "Ja" lines, never lines it cannot see.
    """
    if requested is not None:
        return frozenset(requested)
    if sees_whole_form:
        return None
    return frozenset(g.grant_id for g in visible if g.granted)


def validate_withdrawal(
    *,
    received_at: datetime,
    given_at: datetime,
    grant_ids: Sequence[str] | None,
    visible: Sequence[GrantFacts],
    sees_whole_form: bool,
    evidence_sha256: str,
    now: datetime,
) -> list[Violation]:
    """Intrekking, schriftelijk en op ieder moment (Bijlage VIII): returns all violations.

    A withdrawal is effective from `received_at`, the moment the partner could reasonably know
    of it; so that moment must be known (not in the future), lie after the consent was given,
    and the written withdrawal must be referenced by its SHA-256. `grant_ids=None` withdraws what
    `withdrawal_scope` says; an empty list would withdraw nothing and is refused.

    Who registers what: the person withdraws in writing at the partner that obtained the consent
    (the "Meerpuntpartner" of the form) or at the holder it was obtained for, who both hold the
    whole form. A partner that is only a recipient may register the withdrawal of its own lines
    only: it cannot see the other lines (art. 5 lid 2), so it cannot know what it would withdraw.
    Naming a line it cannot see gets the same `unknown_grant` as a line that does not exist, so
    the answer reveals nothing about other partners.

    Withdrawing a "Nee" (granted=false) is refused: there is no consent to withdraw, and the
    refusal keeps blocking either way (`decide`). To say yes now, register a new consent.
    """
    _require_aware(received_at=received_at, given_at=given_at, now=now)
    violations = []
    if not _SHA256_HEX.fullmatch(evidence_sha256):
        violations.append(
            Violation(
                "withdrawal_evidence_invalid",
                "Bijlage VIII",
                "A withdrawal is made in writing: evidence_sha256 must be the SHA-256 "
                "(64 hexadecimal characters) of the written withdrawal.",
            )
        )
    if received_at > now + CLOCK_SKEW:
        violations.append(
            Violation("received_at_in_future", "Bijlage VIII", "received_at lies in the future.")
        )
    if received_at < given_at:
        violations.append(
            Violation(
                "received_before_given",
                "Bijlage VIII",
                "received_at lies before the consent was given; a withdrawal cannot precede its consent.",
            )
        )
    if grant_ids is not None and not grant_ids:
        violations.append(
            Violation(
                "withdrawal_grants_empty",
                "Bijlage VIII",
                "grants is empty: list the grants to withdraw, "
                "or leave it out to withdraw the whole consent.",
            )
        )
    by_id = {g.grant_id: g for g in visible}
    unknown = sorted({g for g in grant_ids or () if g not in by_id})
    if unknown:
        message = f"These grants are not part of this consent: {', '.join(unknown)}."
        if not sees_whole_form:
            message += (
                " A partner that is only a recipient registers the withdrawal of its own lines only;"
                " the partner that obtained the consent registers the rest."
            )
        violations.append(Violation("unknown_grant", "Bijlage VIII", message))
    refused = sorted({g for g in grant_ids or () if g in by_id and not by_id[g].granted})
    if refused:
        violations.append(
            Violation(
                "refusal_not_withdrawable",
                "Bijlage VIII",
                f"These grants record a refusal (Nee), so there is no consent to withdraw: "
                f"{', '.join(refused)}. To give consent now, register a new consent statement.",
            )
        )
    if grant_ids is None and not sees_whole_form and not any(g.granted for g in visible):
        violations.append(
            Violation(
                "nothing_to_withdraw",
                "Bijlage VIII",
                "Your lines of this consent record only refusals (Nee): there is no consent to withdraw.",
            )
        )
    return violations
