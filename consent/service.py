"""Use cases of the consent registry: register, list, withdraw, decide (art. 6, Bijlage VIII, art. 14).

Services gather the facts (repository), ask the pure rules, and apply the outcome. They only
`flush()`: the request's unit of work commits, so a consent and its register entry are stored
together or not at all. Subjects are handled as keyed BSN hashes; a plain BSN is never stored,
logged or written to the register.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence

from sqlmodel import Session

from audit.service import EntryDraft, EntryKind, record, rfc3339
from consent import repository, rules, sealing, views
from consent.bsn import is_valid_bsn
from consent.models import Consent, ConsentGrant, ConsentWithdrawal
from consent.restrictions import is_restricted as is_restricted
from consent.restrictions import lift_restriction as lift_restriction
from consent.restrictions import set_restriction as set_restriction
from consent.rules import Decision, DecisionRequest, GrantFacts, Violation
from consent.schemas import (
    CategoryDecisionOut,
    ConsentIn,
    ConsentOut,
    ConsentPage,
    DecisionIn,
    DecisionOut,
    Professional,
    SignatoryIn,
    WithdrawalIn,
    WithdrawalOut,
)
from gateway.cursors import decode_keyset, encode_keyset
from gateway.problems import NotFound, Problem, RuleBroken
from gateway.runtime import Runtime

PAGE_SIZE = 50


class InvalidConsent(RuleBroken):
    """A consent statement or withdrawal that breaks art. 6 or Bijlage VIII (422, every violation)."""

    slug, title = "consent-invalid", "The consent breaks a rule of the Privacyreglement Meerpunt"


class InvalidDecisionRequest(RuleBroken):
    slug, title = "consent-decision-invalid", "The decision request names an unknown subject, partner or data"


# --------------------------------------------------------------------- decide


def decide_for_subject(
    session: Session,
    *,
    subject_hash: str,
    recipient: str,
    categories: Sequence[str],
    at: dt.datetime,
    special_categories: Collection[str],
    sender: str | None,
) -> Decision:
    """Voorafgaande toestemming (art. 6 lid 1-3): may `sender` send these categories to `recipient` at `at`?

    The call the exchange makes for every disclosure: one indexed query for everything known about
    the subject (consents, grants, withdrawals, restrictions), then the pure `rules.decide`, which
    counts only the statements `sender` may rely on. `sender` has no default, so no caller can
    forget it: `None` (no sender scope) must be asked for explicitly.
    """
    return decide_on_facts(
        repository.decision_facts(session, subject_hash),
        recipient=recipient,
        categories=categories,
        at=at,
        special_categories=special_categories,
        sender=sender,
    )


def decide_on_facts(
    facts: repository.SubjectFacts,
    *,
    recipient: str,
    categories: Sequence[str],
    at: dt.datetime,
    special_categories: Collection[str],
    sender: str | None,
) -> Decision:
    """`decide_for_subject` on facts already read (the send path reads them with its other lookup)."""
    return rules.decide(
        facts.consents,
        facts.withdrawals,
        facts.restrictions,
        DecisionRequest(recipient, tuple(categories), sender),
        at,
        special_categories,
    )


def dry_run_decision(session: Session, runtime: Runtime, body: DecisionIn, *, sender: str) -> DecisionOut:
    """`POST /v1/consent-decisions`: what the exchange would decide now, without sending anything."""
    violations = _bsn_violations(body.subject_bsn, "subject_bsn")
    if body.recipient not in runtime.partners:
        violations.append(
            Violation("unknown_recipient", "6.1", f"recipient {body.recipient!r} is not a Meerpunt partner.")
        )
    unknown = sorted({c for c in body.categories if c not in runtime.categories})
    if unknown:
        violations.append(
            Violation("unknown_category", "5.2", f"unknown data categories: {', '.join(unknown)}.")
        )
    if violations:
        raise InvalidDecisionRequest("The decision request cannot be answered.", violations=violations)
    at = runtime.clock()
    decision = decide_for_subject(
        session,
        subject_hash=runtime.bsn_hash(body.subject_bsn),
        recipient=body.recipient,
        categories=body.categories,
        at=at,
        special_categories=runtime.categories.special_codes,
        sender=sender,
    )
    return DecisionOut(
        decision=decision.decision,
        per_category=[
            CategoryDecisionOut(
                category=c.category, decision=c.decision, consent_id=c.consent_id, reason=c.reason
            )
            for c in decision.per_category
        ],
        at=at,
    )


# ------------------------------------------------------------------- register


def register_consent(session: Session, runtime: Runtime, caller: str, body: ConsentIn) -> ConsentOut:
    """Registreer een toestemmingsverklaring (art. 6 lid 3-9, Bijlage VIII) and its register entry.

    Every violation is reported at once, each naming its article; nothing is stored on any.
    """
    now = runtime.clock()
    violations = _registration_violations(runtime, caller, body, now)
    if violations:
        raise InvalidConsent(
            f"The consent statement breaks {len(violations)} rule(s); nothing was registered.",
            violations=violations,
        )
    subject_hash = runtime.bsn_hash(body.subject.bsn)
    consent = Consent(
        id=str(uuid.uuid4()),
        subject_hash=subject_hash,
        subject_birth_date=body.subject.birth_date,
        obtained_by=caller,
        obtained_on_behalf_of=body.obtained_on_behalf_of,
        form=str(body.form),
        evidence_sha256=body.evidence_sha256,
        note=body.note,
        explicit=body.explicit,
        given_at=body.given_at.astimezone(dt.UTC),
        valid_until=rules.effective_valid_until(body.given_at, body.valid_until),
        signatories=[_signatory_record(runtime, s) for s in body.signatories],
        other_parent_statement=body.other_parent_statement,
        subject_incapable=body.subject_incapable,
        legal_representation=body.legal_representation,
        sole_authority=body.sole_authority,
        authorisation_evidence_sha256=body.authorisation_evidence_sha256,
        professional=_professional(body.professional),
        created_at=now,
    )
    consent.subject_bsn_kek_id, consent.subject_bsn_sealed = sealing.seal_bsn(
        runtime.kek, consent.id, body.subject.bsn
    )
    grants = [
        ConsentGrant(
            id=str(uuid.uuid4()),
            consent_id=consent.id,
            position=position,
            recipient=grant.recipient,
            categories=list(dict.fromkeys(grant.categories)),
            purpose=grant.purpose,
            granted=grant.granted,
        )
        for position, grant in enumerate(body.grants)
    ]
    repository.add_consent(session, consent, grants)
    record(
        session,
        EntryDraft(
            kind=EntryKind.CONSENT_REGISTERED,
            occurred_at=now,
            actor=caller,
            actor_role="partner",
            actor_org=caller,
            subject_hash=subject_hash,
            categories=_categories_of(grants),
            description="Toestemmingsverklaring geregistreerd (art. 6, Bijlage VIII).",
            professional=consent.professional,
            details={
                "consent_id": consent.id,
                "form": consent.form,
                "explicit": consent.explicit,
                "given_at": rfc3339(consent.given_at),
                "valid_until": rfc3339(consent.valid_until),
                "obtained_on_behalf_of": consent.obtained_on_behalf_of,
                "sole_authority": consent.sole_authority,
                "grants": [
                    {"id": g.id, "recipient": g.recipient, "categories": g.categories, "granted": g.granted}
                    for g in grants
                ],
            },
        ),
    )
    return views.consent_view(consent, grants, [], body.subject.bsn, caller, now)


def _signatory_record(runtime: Runtime, signatory: SignatoryIn) -> dict[str, str]:
    record = {"role": str(signatory.role), "name": signatory.name}
    if signatory.bsn is not None:
        record["bsn_hash"] = runtime.bsn_hash(signatory.bsn)
    return record


def _registration_violations(
    runtime: Runtime, caller: str, body: ConsentIn, now: dt.datetime
) -> list[Violation]:
    violations = _bsn_violations(body.subject.bsn, "subject.bsn")
    for index, signatory in enumerate(body.signatories):
        if signatory.bsn is not None:
            violations += _bsn_violations(signatory.bsn, f"signatories[{index}].bsn")
    statement = rules.validate_consent_statement(
        form=body.form,
        evidence_sha256=body.evidence_sha256,
        note=body.note,
        explicit=body.explicit,
        given_at=body.given_at,
        valid_until=body.valid_until,
        grants=[
            rules.GrantSpec(g.recipient, frozenset(g.categories), g.purpose, g.granted) for g in body.grants
        ],
        known_categories=runtime.categories.categories,
        known_partners=runtime.partners.partners,
        now=now,
        obtained_by=caller,
        obtained_on_behalf_of=body.obtained_on_behalf_of,
        authorisation_evidence_sha256=body.authorisation_evidence_sha256,
    )
    if rules.in_supported_range(body.given_at, now):
        # The subject's age is not knowable for a given_at out of range (reported above).
        violations += rules.validate_signatories(
            birth_date=body.subject.birth_date,
            given_on=rules.local_date(body.given_at),
            signatories=[rules.Signatory(s.role, s.name) for s in body.signatories],
            other_parent_statement=body.other_parent_statement,
            subject_incapable=body.subject_incapable,
            legal_representation=body.legal_representation,
            sole_authority=body.sole_authority,
        )
    violations += statement
    on_behalf_of = body.obtained_on_behalf_of
    if on_behalf_of is not None and (on_behalf_of == caller or on_behalf_of not in runtime.partners):
        violations.append(
            Violation(
                "invalid_on_behalf_of",
                "6.3",
                "obtained_on_behalf_of must name another Meerpunt partner: "
                "the one the data is requested from.",
            )
        )
    return violations


def _bsn_violations(bsn: str, field: str) -> list[Violation]:
    if is_valid_bsn(bsn):
        return []
    # The message never echoes the value: it is (meant to be) a BSN.
    return [
        Violation(
            "invalid_bsn",
            "5.3",
            f"{field} is not a valid BSN (9 digits passing the 11-check); the subject cannot be "
            "identified correctly.",
        )
    ]


# ------------------------------------------------------------------- withdraw


def withdraw(
    session: Session, runtime: Runtime, caller: str, consent_id: str, body: WithdrawalIn
) -> WithdrawalOut:
    """Intrekking van toestemming (Bijlage VIII): a new record, effective from `received_at`.

    Every partner involved in the consent may register a withdrawal it received in writing, but
    only of lines it can see (`rules.validate_withdrawal`): the obtainer and the on-behalf party
    the whole form, a recipient its own lines. Earlier disclosures stay lawful: decisions before
    `received_at` are unaffected. The register entry names only the categories of the withdrawn
    lines the caller can see.
    """
    now = runtime.clock()
    consent = repository.get_consent(session, consent_id)
    grants = repository.grants_of(session, [consent_id]) if consent is not None else []
    if consent is None or not views.involves(consent, grants, caller):
        # The same answer for "does not exist" and "not yours": ids do not reveal other partners' consents.
        raise NotFound("No consent with this id involves you.", slug="consent-not-found")
    visible = views.visible_grants(consent, grants, caller)
    visible_facts = [GrantFacts(g.id, g.recipient, frozenset(g.categories), g.granted) for g in visible]
    sees_whole_form = views.sees_whole_form(consent, caller)
    violations = rules.validate_withdrawal(
        received_at=body.received_at,
        given_at=consent.given_at,
        grant_ids=body.grants,
        visible=visible_facts,
        sees_whole_form=sees_whole_form,
        evidence_sha256=body.evidence_sha256,
        now=now,
    )
    if violations:
        raise InvalidConsent("The withdrawal cannot be registered.", violations=violations)
    scope = rules.withdrawal_scope(
        requested=body.grants, visible=visible_facts, sees_whole_form=sees_whole_form
    )
    grant_ids = sorted(scope) if scope is not None else None
    withdrawal = ConsentWithdrawal(
        id=str(uuid.uuid4()),
        consent_id=consent.id,
        subject_hash=consent.subject_hash,
        received_at=body.received_at.astimezone(dt.UTC),
        grant_ids=grant_ids,
        evidence_sha256=body.evidence_sha256,
        registered_by=caller,
        professional=_professional(body.professional),
        created_at=now,
    )
    repository.add_withdrawal(session, withdrawal)
    withdrawn = visible if scope is None else [g for g in visible if g.id in scope]
    record(
        session,
        EntryDraft(
            kind=EntryKind.CONSENT_WITHDRAWN,
            occurred_at=now,
            actor=caller,
            actor_role="partner",
            actor_org=caller,
            subject_hash=consent.subject_hash,
            categories=_categories_of(withdrawn),
            description="Toestemming ingetrokken (Bijlage VIII).",
            professional=withdrawal.professional,
            details={
                "consent_id": consent.id,
                "withdrawal_id": withdrawal.id,
                "received_at": rfc3339(withdrawal.received_at),
                "grant_ids": grant_ids,
            },
        ),
    )
    return views.withdrawal_view(withdrawal)


# ----------------------------------------------------------------------- get


def get_consent(session: Session, runtime: Runtime, caller: str, consent_id: str) -> ConsentOut:
    """`GET /v1/consents/{id}`: one consent as the caller may see it (only partners involved in it)."""
    consent = repository.get_consent(session, consent_id)
    grants = repository.grants_of(session, [consent_id]) if consent is not None else []
    if consent is None or not views.involves(consent, grants, caller):
        # The same answer for "does not exist" and "not yours": ids do not reveal other partners' consents.
        raise NotFound("No consent with this id involves you.", slug="consent-not-found")
    if consent.subject_bsn_sealed is None:
        raise Problem(
            "This consent was registered before the gateway kept the subject's BSN sealed; "
            "read it with GET /v1/consents?subject_bsn=.",
            status=409,
            slug="consent-subject-unavailable",
        )
    bsn = sealing.open_bsn(runtime.kek, consent.id, consent.subject_bsn_kek_id, consent.subject_bsn_sealed)
    withdrawals = repository.withdrawals_of(session, [consent_id])
    return views.consent_view(consent, grants, withdrawals, bsn, caller, runtime.clock())


# ---------------------------------------------------------------------- list


def list_for_subject(
    session: Session,
    runtime: Runtime,
    caller: str,
    subject_bsn: str,
    *,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> ConsentPage:
    """Consents about a subject that involve the caller: as obtainer, on-behalf party or recipient."""
    violations = _bsn_violations(subject_bsn, "subject_bsn")
    if violations:
        raise RuleBroken("The subject cannot be identified.", violations=violations)
    now = runtime.clock()
    consents = repository.consents_involving(
        session,
        subject_hash=runtime.bsn_hash(subject_bsn),
        partner=caller,
        limit=limit + 1,
        before=decode_keyset(cursor) if cursor else None,
    )
    page, more = consents[:limit], len(consents) > limit
    ids = [c.id for c in page]
    grants = repository.grants_of(session, ids)
    withdrawals = repository.withdrawals_of(session, ids)
    items = [
        views.consent_view(
            consent,
            [g for g in grants if g.consent_id == consent.id],
            [w for w in withdrawals if w.consent_id == consent.id],
            subject_bsn,
            caller,
            now,
        )
        for consent in page
    ]
    next_cursor = encode_keyset(page[-1].created_at, page[-1].id) if more else None
    return ConsentPage(items=items, next_cursor=next_cursor)


# -------------------------------------------------------------------- helpers


def _professional(professional: Professional | None) -> dict[str, str] | None:
    return professional.model_dump() if professional is not None else None


def _categories_of(grants: Sequence[ConsentGrant]) -> list[str]:
    return sorted({c for g in grants for c in g.categories})
