"""Who may sign a consent statement (art. 6 lid 5-9): the representation rules by age.

Separate from the statement's other checks because these rules depend only on the signatories,
the birth date and the recorded circumstances (authority, incapacity, curatele or mentorschap).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from consent.rules.moments import age_on
from consent.rules.text import _has_text
from consent.rules.types import Signatory, SignatoryRole, Violation


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
