"""Who is calling: a partner system (mTLS), a privacy officer or a citizen (OIDC bearer token)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.registry import Partner

CENTRAL_ORG = "meerpunt"


@dataclass(frozen=True)
class PartnerPrincipal:
    """A partner system, authenticated by its client certificate (SPEC §5)."""

    partner: Partner
    certificate_serial: int

    @property
    def oin(self) -> str:
        return self.partner.oin


@dataclass(frozen=True)
class OfficerPrincipal:
    """Functionaris gegevensbescherming of one partner, or the central Meerpunt officer (art. 18.3)."""

    subject: str
    org: str
    name: str | None = None

    @property
    def is_central(self) -> bool:
        return self.org == CENTRAL_ORG


@dataclass(frozen=True)
class CitizenPrincipal:
    """A parent or youth logged in through DigiD (via the municipality's OIDC broker)."""

    subject: str
    bsn: str


@dataclass(frozen=True)
class ProfessionalPrincipal:
    """A professional of a partner, signed in with their organisation's account (no officer role):
    picks up a message sent to the organisation by e-mail notification (art. 19.2)."""

    subject: str
    org: str
    name: str | None = None


Principal = PartnerPrincipal | OfficerPrincipal | CitizenPrincipal
