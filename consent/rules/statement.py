"""The consent statement itself (art. 2, 6 lid 1, 3, 4, 8, Bijlage VIII): evidence, validity, grants.

Checked when a statement is registered; every violation is returned at once so that the partner
can correct the statement in one go. Who signed is checked in `consent.rules.signatories`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime

from consent.rules.moments import (
    CLOCK_SKEW,
    EARLIEST_MOMENT,
    _one_year_after,
    _require_aware,
    in_supported_range,
)
from consent.rules.text import _SHA256_HEX, _has_text
from consent.rules.types import ConsentForm, GrantSpec, Violation


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
