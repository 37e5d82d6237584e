"""The report's codes in plain Dutch: consent status, form, who asked, grondslag, weigeringsgrond.

One place for the words, so that the page, the letters and the JSON form (art. 10 lid 4, art. 15)
say the same thing for the same code. The grondslag is what art. 10 lid 4 asks for each
verstrekking; the weigeringsgrond of art. 10 lid 6 is the motivation art. 10 lid 7 requires.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from audit.access_report.dates_nl import format_date_nl
from consent.rules import ConsentStatus

CONSENT_STATUS_LABELS: Mapping[ConsentStatus, str] = {
    ConsentStatus.ACTIVE: "geldig",
    ConsentStatus.EXPIRED: "verlopen",
    ConsentStatus.WITHDRAWN: "ingetrokken",
    ConsentStatus.PARTIALLY_WITHDRAWN: "gedeeltelijk ingetrokken",
    ConsentStatus.NOT_YET_VALID: "nog niet ingegaan",
}

GRANT_STATUS_LABELS: Mapping[str, str] = {
    "granted": "Ja, toestemming gegeven",
    "refused": "Nee, geen toestemming",
    "withdrawn": "Toestemming ingetrokken",
}

CONSENT_FORM_LABELS: Mapping[str, str] = {"written": "schriftelijk", "oral": "mondeling"}

REQUESTED_BY_LABELS: Mapping[str, str] = {
    "self": "uzelf",
    "parent_with_authority": "een ouder met gezag",
    "guardian": "een voogd",
    "partner_desk": "een schriftelijk verzoek bij een Meerpuntpartner",
}


_OVERRIDE_LABELS: Mapping[str, str] = {
    "art7_3_refused_consent": (
        "Zonder toestemming, ondanks weigering, vanwege de veiligheid (artikel 7 lid 3)"
    ),
    "art7_5_not_asked_safety": "Zonder toestemming te vragen, vanwege de veiligheid (artikel 7 lid 5)",
    "art7_5_not_asked_contact_loss": (
        "Zonder toestemming te vragen, omdat anders het contact verloren dreigde te gaan (artikel 7 lid 5)"
    ),
}
_STATUTORY_LABELS: Mapping[str, str] = {
    "wet_verplichte_meldcode_veilig_thuis": (
        "Wettelijke plicht: melding bij Veilig Thuis (Wet verplichte meldcode)"
    ),
    "jeugdwet_7_1_4_raad_voor_de_kinderbescherming": (
        "Wettelijke plicht: verzoek van de Raad voor de Kinderbescherming (Jeugdwet)"
    ),
    "court_order": "Rechterlijke uitspraak",
}
_WITHHELD_GROUNDS: Mapping[str, str] = {
    "art10_6_a": "artikel 10 lid 6 onder a van het Privacyreglement Meerpunt (de veiligheid van de Staat)",
    "art10_6_b": (
        "artikel 10 lid 6 onder b van het Privacyreglement Meerpunt "
        "(het voorkomen, opsporen en vervolgen van strafbare feiten)"
    ),
    "art10_6_c": (
        "artikel 10 lid 6 onder c van het Privacyreglement Meerpunt "
        "(gewichtige economische en financiële belangen van de overheid)"
    ),
    "art10_6_d": (
        "artikel 10 lid 6 onder d van het Privacyreglement Meerpunt "
        "(het toezicht op de naleving van wettelijke voorschriften)"
    ),
    "art10_6_e": (
        "artikel 10 lid 6 onder e van het Privacyreglement Meerpunt "
        "(de bescherming van u of van de rechten en vrijheden van anderen)"
    ),
}


def legal_basis_label(legal_basis_type: str, ground: str | None, consent_given_at: datetime | None) -> str:
    """The grondslag of a verstrekking in plain Dutch: toestemming (art. 6), zonder toestemming
    (art. 7 lid 3 and 5) or a wettelijke plicht, as art. 10 lid 4 asks for the purpose of each."""
    if legal_basis_type == "consent":
        if consent_given_at is None:
            return "Toestemming"
        return f"Toestemming (gegeven op {format_date_nl(consent_given_at)})"
    if legal_basis_type == "override":
        return _OVERRIDE_LABELS.get(ground or "", "Zonder toestemming (artikel 7)")
    if legal_basis_type == "statutory":
        if not ground:
            return "Wettelijke grondslag"
        return _STATUTORY_LABELS.get(ground, f"Wettelijke grondslag: {ground}")
    if legal_basis_type == "correction":
        return "Correctie van eerder verstrekte gegevens (artikel 11 lid 4)"
    return f"Grondslag: {legal_basis_type}"


def withheld_ground_label(ground: str | None) -> str:
    """The weigeringsgrond of art. 10 lid 6 in Dutch, for the motivation art. 10 lid 7 requires."""
    if ground is None:
        return "artikel 10 lid 6 van het Privacyreglement Meerpunt"
    return _WITHHELD_GROUNDS.get(ground, f"artikel 10 lid 6 van het Privacyreglement Meerpunt ({ground})")
