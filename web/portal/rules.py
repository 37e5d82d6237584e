"""Pure decisions of the portal: what a status means in words, and how often one may ask.

No I/O, no clock: counts and moments are parameters. The rules of who may ask for whom stay in
`audit.access.rules` (art. 16); this module only words them for citizens (language level B1).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

#: At most this many requests (inzage and follow-ups together) per person per window. Generous
#: for a family (both children, a correction or two), tight enough that a stolen session cannot
#: flood the officers' worklist. The window is counted from the database, so it holds across
#: restarts and across gateway processes.
LODGING_LIMIT = 10
LODGING_WINDOW = dt.timedelta(hours=24)


def lodging_allowed(lodged_in_window: int, limit: int = LODGING_LIMIT) -> bool:
    """Rate limit per person (keyed BSN hash), so the art. 10.3 worklist stays workable."""
    return lodged_in_window < limit


def window_start(now: dt.datetime, window: dt.timedelta = LODGING_WINDOW) -> dt.datetime:
    return now - window


#: A status in a few words (the list), then what happens next (the request's page).
STATUS_WORDS: Mapping[str, str] = {
    "pending_verification": "Wacht op controle",
    "pending_co_requester": "Wacht op bevestiging",
    "pending_decision": "In behandeling",
    "released": "Klaar: u kunt het overzicht lezen",
    "refused": "Afgewezen",
    "rejected": "Kan niet worden behandeld",
}

FOLLOW_UP_STATUS_WORDS: Mapping[str, str] = {
    "received": "Ontvangen, nog niet behandeld",
    "handled": "Afgehandeld",
    "declined": "Afgewezen",
}


def status_words(status: str) -> str:
    return STATUS_WORDS.get(status, status)


@dataclass(frozen=True)
class Handler:
    """Who handles the request now, in words a citizen understands."""

    who: str
    what: str


def handled_by(status: str, lodged_with_name: str | None) -> Handler:
    """Art. 10.2: a professional verifies; art. 10.3: the privacy officer decides within a month."""
    officer = (
        f"De functionaris gegevensbescherming van {lodged_with_name}"
        if lodged_with_name
        else "De functionaris gegevensbescherming van Meerpunt"
    )
    if status == "pending_verification":
        return Handler(
            "Een medewerker van een Meerpuntpartner",
            "Die controleert wie u bent en of u het gezag heeft over het kind. Ga met uw identiteitsbewijs "
            "naar een organisatie die u of uw kind hulp geeft, bijvoorbeeld de jeugdgezondheidszorg of "
            "de school. Noem het kenmerk van dit verzoek. Daarna gaat uw verzoek naar de functionaris "
            "gegevensbescherming.",
        )
    if status == "pending_co_requester":
        return Handler(
            "U en uw kind (of de ouder) samen",
            "Een kind van 12 tot 16 jaar vraagt samen met een ouder met gezag of de voogd. De ander logt "
            "in met DigiD en bevestigt het verzoek. Daarna gaat het naar de functionaris "
            "gegevensbescherming.",
        )
    if status == "pending_decision":
        return Handler(officer, "Die beslist over uw verzoek en stelt het overzicht op.")
    return Handler(officer, "Die heeft over uw verzoek beslist.")


@dataclass(frozen=True)
class AgeRule:
    ages: str
    text: str


#: Art. 16 in plain words, shown before the citizen submits.
AGE_RULES: tuple[AgeRule, ...] = (
    AgeRule(
        "Jonger dan 12 jaar",
        "De ouder met gezag of de voogd vraagt het aan. Het kind hoeft niets te doen.",
    ),
    AgeRule(
        "12 tot 16 jaar",
        "Het kind en de ouder met gezag (of de voogd) vragen het samen aan. Eén van u vraagt het aan, "
        "de ander logt daarna zelf in en bevestigt het verzoek.",
    ),
    AgeRule(
        "16 jaar of ouder",
        "De jongere vraagt het zelf aan. Een ouder kan dat dan niet meer namens de jongere doen.",
    ),
)
