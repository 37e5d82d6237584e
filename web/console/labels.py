"""Dutch words for the codes the console shows (B1: plain words, the article in brackets)."""

from __future__ import annotations

from typing import Any

from audit.access.rules import REFUSAL_GROUNDS
from gateway.principals import CENTRAL_ORG
from gateway.runtime import Runtime

LEGAL_BASIS = {
    "consent": "Toestemming",
    "override": "Zonder toestemming (art. 7)",
    "statutory": "Wettelijke plicht",
}

ENTRY_KINDS = {
    "disclosure_sent": "Gegevens verstrekt",
    "disclosure_received": "Gegevens ontvangen",
    "disclosure_refused": "Verstrekking geweigerd",
    "disclosure_approved": "Verstrekking goedgekeurd (vier ogen)",
    "disclosure_expired": "Verstrekking verlopen",
    "override_held": "Verstrekking wacht op tweede beoordelaar",
    "delivery_failed": "Bezorging mislukt",
    "information_request_sent": "Informatieverzoek verstuurd",
    "information_request_declined": "Informatieverzoek afgewezen",
    "information_request_received": "Informatieverzoek ontvangen",
    "notice_received": "Bericht ontvangen",
    "correction_sent": "Correctie doorgegeven",
    "consent_registered": "Toestemming vastgelegd",
    "consent_withdrawn": "Toestemming ingetrokken",
    "override_reviewed": "Verstrekking zonder toestemming beoordeeld",
    "subject_informed": "Betrokkene geïnformeerd",
    "restriction_set": "Verwerking beperkt",
    "restriction_lifted": "Beperking opgeheven",
    "erasure": "Gegevens gewist",
    "access_request_received": "Inzageverzoek ontvangen",
    "access_request_decided": "Besluit op inzageverzoek",
    "access_request_confirmed": "Inzageverzoek bevestigd",
    "access_request_verified": "Identiteit of gezag gecontroleerd",
    "register_accessed": "Register ingezien",
    "coordination_designated": "Coördinator van hulp vastgesteld (1H-1P-1R)",
    "coordination_handed_over": "Coördinatie van hulp overgedragen",
    "coordination_ended": "Coördinatie van hulp beëindigd",
}

OVERRIDE_GROUNDS = {
    "art7_3_refused_consent": "Toestemming geweigerd, toch verstrekt (art. 7 lid 3)",
    "art7_5_not_asked_safety": "Niet gevraagd: gevaar voor de veiligheid (art. 7 lid 5)",
    "art7_5_not_asked_contact_loss": "Niet gevraagd: contact zou verloren gaan (art. 7 lid 5)",
}

OVERRIDE_CONDITIONS = {
    "urgent_safety_need": "Er is een dringende noodzaak voor de veiligheid",
    "own_care_insufficient": "De eigen hulp is niet genoeg",
    "other_party_needed": "Een andere partij is nodig",
    "disclosure_necessary": "Verstrekken is noodzakelijk",
    "law_permits": "De wet staat het toe",
}

OVERRIDE_QUEUES = {
    "pending_review": "Te beoordelen",
    "overdue": "Betrokkene te laat geïnformeerd",
    "awaiting_approval": "Wacht op tweede beoordelaar",
    "reviewed": "Beoordeeld",
    "expired": "Verlopen",
    "all": "Alle",
}

VERDICTS = {"justified": "Terecht", "not_justified": "Niet terecht"}

ACCESS_STATUS = {
    "pending_verification": "Wacht op controle",
    "pending_co_requester": "Wacht op tweede aanvrager",
    "pending_decision": "Wacht op besluit",
    "released": "Vrijgegeven",
    "refused": "Geweigerd",
    "rejected": "Niet in behandeling genomen",
}

RELATIONSHIPS = {
    "self": "Voor zichzelf",
    "parent_with_authority": "Ouder met gezag",
    "guardian": "Voogd",
}

GROUNDS_10_6 = dict(REFUSAL_GROUNDS)


def org_name(runtime: Runtime, oin: str | None) -> str:
    if not oin:
        return "—"
    if oin == CENTRAL_ORG:
        return "Meerpunt (centraal)"
    partner = runtime.partners.get(oin)
    return partner.name if partner is not None else oin


def basis_type(legal_basis: Any) -> str | None:
    """The register keeps the legal basis as an object with its `type` (or, older, as the code)."""
    if isinstance(legal_basis, dict):
        value = legal_basis.get("type")
        return str(value) if value is not None else None
    return str(legal_basis) if legal_basis else None


def label(mapping: dict[str, str], code: Any) -> str:
    return mapping.get(str(code), str(code)) if code is not None else "—"
