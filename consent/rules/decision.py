"""The decision on a disclosure (art. 6 lid 1-3, 7 lid 1-2, 14, Bijlage VIII) and who may rely on what.

`decide` weighs the registered statements, withdrawals and restrictions for one request; the
restriction rules (art. 14) sit here because a restriction overrides every consent in `decide`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from consent.rules.moments import _require_aware
from consent.rules.types import (
    PERMIT_REASON,
    CategoryDecision,
    ConsentFacts,
    ConsentForm,
    Decision,
    DecisionRequest,
    DenyReason,
    GrantFacts,
    RestrictionFacts,
    WithdrawalFacts,
)


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
