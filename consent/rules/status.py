"""Where a consent statement stands at a moment (Bijlage VIII), as partners and the citizen see it.

Kept apart from `decide`: the status summarises one statement, the decision weighs all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from consent.rules.moments import _require_aware
from consent.rules.types import ConsentStatus


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
