"""What a partner may see of a consent, and the API shapes built from the stored rows.

A partner takes part in a consent as its obtainer, as the party it was obtained for (art. 6.3) or
as a recipient; nobody else sees it. A recipient sees only its own lines of the form.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from consent.models import Consent, ConsentGrant, ConsentWithdrawal
from consent.rules import ConsentForm, consent_status
from consent.schemas import (
    ConsentOut,
    GrantOut,
    Professional,
    SignatoryOut,
    SubjectOut,
    WithdrawalOut,
)


def involves(consent: Consent, grants: Sequence[ConsentGrant], partner: str) -> bool:
    return partner in (consent.obtained_by, consent.obtained_on_behalf_of) or any(
        g.recipient == partner for g in grants
    )


def sees_whole_form(consent: Consent, partner: str) -> bool:
    """The obtainer keeps the form; the holder it was obtained for receives it (art. 6 lid 3)."""
    return partner in (consent.obtained_by, consent.obtained_on_behalf_of)


def visible_grants(consent: Consent, grants: Sequence[ConsentGrant], partner: str) -> list[ConsentGrant]:
    """A partner that is only a recipient sees only its own lines of the form.

    The other lines would tell it which other organisations care for the family, which it does
    not need to know (art. 5 lid 2).
    """
    if sees_whole_form(consent, partner):
        return list(grants)
    return [g for g in grants if g.recipient == partner]


def consent_view(
    consent: Consent,
    grants: Sequence[ConsentGrant],
    withdrawals: Sequence[ConsentWithdrawal],
    bsn: str,
    viewer: str,
    now: dt.datetime,
) -> ConsentOut:
    visible = visible_grants(consent, grants, viewer)
    visible_ids = {g.id for g in visible}
    shown = [w for w in withdrawals if w.grant_ids is None or visible_ids.intersection(w.grant_ids)]
    withdrawn_at = {g.id: _withdrawn_at(g, shown) for g in visible}
    return ConsentOut(
        id=consent.id,
        subject=SubjectOut(bsn=bsn, birth_date=consent.subject_birth_date),
        status=consent_status(
            given_at=consent.given_at,
            valid_until=consent.valid_until,
            withdrawn_at=min((w.received_at for w in shown if w.grant_ids is None), default=None),
            lines=[(g.granted, withdrawn_at[g.id]) for g in visible],
            at=now,
        ),
        obtained_by=consent.obtained_by,
        obtained_on_behalf_of=consent.obtained_on_behalf_of,
        form=ConsentForm(consent.form),
        evidence_sha256=consent.evidence_sha256,
        note=consent.note,
        explicit=consent.explicit,
        given_at=consent.given_at,
        valid_until=consent.valid_until,
        signatories=[SignatoryOut.model_validate(s) for s in consent.signatories],
        other_parent_statement=consent.other_parent_statement,
        subject_incapable=consent.subject_incapable,
        legal_representation=consent.legal_representation,
        sole_authority=consent.sole_authority,
        authorisation_evidence_sha256=consent.authorisation_evidence_sha256,
        grants=[
            GrantOut(
                id=g.id,
                recipient=g.recipient,
                categories=g.categories,
                purpose=g.purpose,
                granted=g.granted,
                withdrawn_at=withdrawn_at[g.id],
            )
            for g in visible
        ],
        withdrawals=[withdrawal_view(w, visible_ids) for w in shown],
        professional=Professional.model_validate(consent.professional) if consent.professional else None,
        created_at=consent.created_at,
    )


def _withdrawn_at(grant: ConsentGrant, withdrawals: Sequence[ConsentWithdrawal]) -> dt.datetime | None:
    moments = [w.received_at for w in withdrawals if w.grant_ids is None or grant.id in w.grant_ids]
    return min(moments, default=None)


def withdrawal_view(
    withdrawal: ConsentWithdrawal, visible_ids: Collection[str] | None = None
) -> WithdrawalOut:
    grant_ids = withdrawal.grant_ids
    if grant_ids is not None and visible_ids is not None:
        grant_ids = [g for g in grant_ids if g in visible_ids]
    return WithdrawalOut(
        id=withdrawal.id,
        consent_id=withdrawal.consent_id,
        received_at=withdrawal.received_at,
        grants=grant_ids,
        evidence_sha256=withdrawal.evidence_sha256,
        registered_by=withdrawal.registered_by,
        created_at=withdrawal.created_at,
    )
