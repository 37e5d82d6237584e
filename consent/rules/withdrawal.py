"""Intrekking (Bijlage VIII, art. 5 lid 2): which lines a withdrawal covers and whether it is valid.

A withdrawal is registered separately from its statement and may come from a partner that sees
only its own lines, so its scope and checks are rules of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from consent.rules.moments import CLOCK_SKEW, _require_aware
from consent.rules.text import _SHA256_HEX
from consent.rules.types import GrantFacts, Violation


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
