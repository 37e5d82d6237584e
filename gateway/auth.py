"""Authentication: partner identity from the verified client certificate; bearer tokens for people.

The TLS handshake has already checked the chain against the trust anchors and the validity period.
Here the gateway reads the OIN from the certificate subject's `serialNumber`, refuses revoked
certificates (CRL, reloaded when the file changes) and unknown OINs. The sender of anything is
always this certificate's partner, never a body field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from jose import jwt
from jose.backends.cryptography_backend import CryptographyECKey
from jose.exceptions import JOSEError

from consent.bsn import is_valid_bsn
from gateway.oidc import OidcIssuer, ProviderUnavailable, TokenInvalid
from gateway.principals import CitizenPrincipal, OfficerPrincipal, PartnerPrincipal, ProfessionalPrincipal
from gateway.problems import BearerTokenRefused, Forbidden, NotAuthenticated, Problem
from gateway.registry import PartnerRegistry
from gateway.sealed_tokens import SealedTokenError, is_sealed, open_sealed
from gateway.settings import EIDAS_SUBSTANTIAL, TokenIssuer

log = logging.getLogger("meerpunt.gateway")


@dataclass(frozen=True)
class PeerCertificate:
    serial: int
    oin: str | None
    not_before: dt.datetime
    not_after: dt.datetime
    issuer: str


@lru_cache(maxsize=4096)
def parse_peer_certificate(der: bytes) -> PeerCertificate:
    """Parse once per distinct certificate; connections are long-lived, requests many."""
    cert = x509.load_der_x509_certificate(der)
    serials = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    oin = str(serials[0].value) if serials else None
    return PeerCertificate(
        serial=cert.serial_number,
        oin=oin,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        issuer=cert.issuer.rfc4514_string(),
    )


class RevocationList:
    """Revoked certificates from a CRL file, re-read when the file's mtime changes.

    The file may hold several PEM CRLs (one per issuing CA, as with PKIoverheid). Each must be
    signed by one of the trust anchors: an unsigned or forged CRL could otherwise "un-revoke" a
    certificate. Any CRL that cannot be read or verified fails closed: partner calls are refused
    (403 `crl-unavailable`) until the file is fixed, because serving on an unknown revocation state
    would let a revoked certificate through. A CRL past its nextUpdate is logged, not refused: the
    revocations it lists are still true, and refusing would stop every exchange, safety
    disclosures included, over an operational delay.
    """

    def __init__(self, path: Path | None, anchors: Sequence[x509.Certificate] = ()) -> None:
        self._path = path
        self._anchors = {anchor.subject.rfc4514_string(): anchor for anchor in anchors}
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._revoked: frozenset[tuple[str, int]] = frozenset()
        self._error: str | None = None

    def is_revoked(self, issuer: str, serial: int) -> bool:
        self._refresh()
        return (issuer, serial) in self._revoked

    def _refresh(self) -> None:
        if self._path is None:
            return
        try:
            mtime = self._path.stat().st_mtime
        except FileNotFoundError:
            # A configured CRL that disappeared must not silently turn revocation off.
            raise _crl_unavailable() from None
        if mtime != self._mtime:
            with self._lock:
                if mtime != self._mtime:
                    self._load(mtime)
        if self._error is not None:
            raise _crl_unavailable()

    def _load(self, mtime: float) -> None:
        assert self._path is not None
        try:
            revoked = self._read(self._path.read_bytes())
        except (OSError, ValueError) as exc:
            self._error = str(exc)
            log.error("revocation list %s refused: %s; partner calls are refused", self._path, exc)
        else:
            self._revoked, self._error = revoked, None
        self._mtime = mtime

    def _read(self, data: bytes) -> frozenset[tuple[str, int]]:
        blocks = _PEM_CRL.findall(data)
        if not blocks:
            raise ValueError("no PEM X509 CRL in the file")
        revoked: set[tuple[str, int]] = set()
        for block in blocks:
            crl = x509.load_pem_x509_crl(block)
            issuer = crl.issuer.rfc4514_string()
            anchor = self._anchors.get(issuer)
            if anchor is None and self._anchors:
                raise ValueError(f"CRL issuer {issuer} is not a configured trust anchor")
            if anchor is not None and not crl.is_signature_valid(anchor.public_key()):  # type: ignore[arg-type]
                raise ValueError(f"the CRL of {issuer} is not signed by that CA")
            next_update = crl.next_update_utc
            if next_update is not None and next_update < dt.datetime.now(dt.UTC):
                log.warning("the CRL of %s is past its nextUpdate (%s)", issuer, next_update.isoformat())
            revoked.update((issuer, entry.serial_number) for entry in crl)
        return frozenset(revoked)


_PEM_CRL = re.compile(rb"-----BEGIN X509 CRL-----.+?-----END X509 CRL-----", re.DOTALL)


def _crl_unavailable() -> Forbidden:
    return Forbidden(
        "The revocation list is unavailable or invalid; partner calls are refused until it is restored.",
        slug="crl-unavailable",
    )


def load_trust_anchors(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


class PartnerAuthenticator:
    def __init__(self, registry: PartnerRegistry, revocations: RevocationList) -> None:
        self._registry = registry
        self._revocations = revocations

    def authenticate(self, peer_der: bytes | None, now: dt.datetime) -> PartnerPrincipal:
        if not peer_der:
            raise NotAuthenticated(
                "A client certificate issued to a Meerpunt partner is required (art. 19).",
                slug="client-certificate-required",
            )
        cert = parse_peer_certificate(peer_der)
        # Belt and braces: the handshake checks validity too, but a long-lived keep-alive
        # connection must not outlive its certificate.
        if not cert.not_before <= now <= cert.not_after:
            raise Forbidden("The client certificate is not valid at this time.", slug="certificate-expired")
        if self._revocations.is_revoked(cert.issuer, cert.serial):
            raise Forbidden("The client certificate has been revoked.", slug="certificate-revoked")
        if cert.oin is None:
            raise Forbidden(
                "The client certificate carries no OIN in its subject serialNumber.", slug="unknown-partner"
            )
        partner = self._registry.get(cert.oin)
        if partner is None:
            raise Forbidden(f"OIN {cert.oin} is not a registered Meerpunt partner.", slug="unknown-partner")
        return PartnerPrincipal(partner=partner, certificate_serial=cert.serial)


class TokenVerifier:
    """Verifies OIDC bearer tokens against the configured issuers (gateway.oidc), and maps their
    claims to officers and citizens with each issuer's claim names (SPEC §5, §9)."""

    def __init__(
        self,
        issuers: Sequence[TokenIssuer],
        *,
        http_client: httpx.Client | None = None,
        sealing_key: bytes | None = None,
    ) -> None:
        """`sealing_key`: development only; opens dev-token's sealed citizen tokens (sealed_tokens)."""
        self.issuers: dict[str, OidcIssuer] = {
            config.issuer: OidcIssuer(config, http_client=http_client) for config in issuers
        }
        self._sealing_key = sealing_key

    def issuer_of(self, token: str) -> OidcIssuer:
        try:
            unverified = jwt.get_unverified_claims(token)
        except JOSEError as exc:
            raise BearerTokenRefused(
                "The bearer token is malformed.", slug="invalid-token", invalid=True
            ) from exc
        found = self.issuers.get(str(unverified.get("iss", "")))
        if found is None:
            raise BearerTokenRefused(
                "The bearer token comes from an unknown issuer.", slug="invalid-token", invalid=True
            )
        return found

    def claims(self, token: str) -> dict[str, Any]:
        return self._verified(token)[1]

    def _opened(self, token: str) -> str:
        """The inner JWS of a sealed development token; any other token as it is."""
        if self._sealing_key is None or not is_sealed(token):
            return token
        try:
            return open_sealed(token, self._sealing_key)
        except SealedTokenError as exc:
            raise BearerTokenRefused(
                "The bearer token is malformed.", slug="invalid-token", invalid=True
            ) from exc

    def _verified(self, token: str) -> tuple[OidcIssuer, dict[str, Any]]:
        token = self._opened(token)
        issuer = self.issuer_of(token)
        try:
            return issuer, issuer.verify(token, audience=issuer.config.audience)
        except TokenInvalid as exc:
            raise BearerTokenRefused(
                f"The bearer token was refused: {exc}", slug="invalid-token", invalid=True
            ) from exc
        except ProviderUnavailable as exc:
            log.warning("issuer %s unavailable: %s", issuer.config.issuer, exc)
            raise Problem(
                "The sign-in provider cannot be reached to check the token; try again shortly.",
                status=503,
                slug="identity-provider-unavailable",
                title="Identity provider unavailable",
                headers={"Retry-After": "5"},
            ) from exc

    def officer(self, token: str) -> OfficerPrincipal:
        issuer, claims = self._verified(token)
        return officer_from_claims(issuer.config, claims)

    def citizen(self, token: str) -> CitizenPrincipal:
        issuer, claims = self._verified(token)
        return citizen_from_claims(issuer.config, claims)

    def person(self, token: str) -> OfficerPrincipal | CitizenPrincipal:
        """A citizen's or an officer's token, whichever it is (verified once)."""
        issuer, claims = self._verified(token)
        return person_from_claims(issuer.config, claims)


def _claim_values(claims: dict[str, Any], name: str) -> list[str]:
    """A claim as a list of strings: providers send roles as one string or as an array."""
    value = claims.get(name)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int)]
    return []


def is_citizen_claims(config: TokenIssuer, claims: dict[str, Any]) -> bool:
    if config.users == "citizens":
        return True
    if config.users == "officers":
        return False
    return "citizen" in _claim_values(claims, config.role_claim)


def person_from_claims(config: TokenIssuer, claims: dict[str, Any]) -> OfficerPrincipal | CitizenPrincipal:
    if is_citizen_claims(config, claims):
        return citizen_from_claims(config, claims)
    return officer_from_claims(config, claims)


def officer_from_claims(config: TokenIssuer, claims: dict[str, Any]) -> OfficerPrincipal:
    """A privacy officer needs the officer role and an organisation (art. 18.3: an officer sees
    what their own organisation sent or received; `meerpunt` is the central officer)."""
    orgs = _claim_values(claims, config.org_claim)
    if (
        not config.serves("officers")
        or "privacy_officer" not in _claim_values(claims, config.role_claim)
        or len(orgs) != 1
    ):
        raise Forbidden("This action is reserved for privacy officers.", slug="officer-required")
    name = claims.get(config.name_claim)
    return OfficerPrincipal(
        subject=str(claims["sub"]), org=orgs[0], name=str(name) if isinstance(name, str) else None
    )


def professional_from_claims(config: TokenIssuer, claims: dict[str, Any]) -> ProfessionalPrincipal:
    """Any employee of a partner with exactly one organisation (the pickup page checks that it is
    the recipient); citizens' issuers never sign professionals in."""
    orgs = _claim_values(claims, config.org_claim)
    if not config.serves("professionals") or len(orgs) != 1 or is_citizen_claims(config, claims):
        raise Forbidden("This page is for professionals of a Meerpunt partner.", slug="professional-required")
    name = claims.get(config.name_claim)
    return ProfessionalPrincipal(
        subject=str(claims["sub"]), org=orgs[0], name=str(name) if isinstance(name, str) else None
    )


def citizen_from_claims(config: TokenIssuer, claims: dict[str, Any]) -> CitizenPrincipal:
    """A citizen needs a valid BSN and a sign-in of at least the configured assurance level."""
    bsns = _claim_values(claims, config.bsn_claim)
    if not config.serves("citizens") or len(bsns) != 1 or not is_valid_bsn(bsns[0]):
        raise Forbidden("This action is reserved for citizens logged in with DigiD.", slug="citizen-required")
    if not acr_satisfies(claims.get("acr"), config.min_acr, config.acr_levels):
        raise Forbidden(
            "The sign-in's assurance level (acr) is below what this issuer requires for citizens.",
            slug="insufficient-assurance",
        )
    return CitizenPrincipal(subject=str(claims["sub"]), bsn=bsns[0])


def acr_satisfies(acr: object, minimum: str | None, levels: Sequence[str]) -> bool:
    """Is the sign-in's assurance level at least `minimum` in the ordered `levels`? An unknown or
    missing `acr` satisfies only "no minimum" (fail closed)."""
    if minimum is None:
        return True
    if not isinstance(acr, str) or acr not in levels:
        return False
    return levels.index(acr) >= levels.index(minimum)


def mint_dev_token(
    key: ec.EllipticCurvePrivateKey,
    *,
    issuer: str,
    audience: str,
    role: str,
    org: str | None = None,
    bsn: str | None = None,
    name: str | None = None,
    lifetime: dt.timedelta = dt.timedelta(hours=8),
    now: dt.datetime | None = None,
) -> str:
    """Development stand-in for the OIDC broker: an ES256 token with the claims SPEC §5 names."""
    issued = now or dt.datetime.now(dt.UTC)
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "iat": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
        "role": role,
    }
    if role == "privacy_officer":
        claims["sub"] = f"officer:{org}:{name or 'dev'}"
        claims["org"] = org
    else:
        # The subject id must not reveal the BSN: tokens end up in logs and access records.
        claims["sub"] = "citizen:" + hashlib.sha256(f"dev:{bsn}".encode()).hexdigest()[:16]
        claims["bsn"] = bsn
        claims["acr"] = EIDAS_SUBSTANTIAL
    if name:
        claims["name"] = name
    return str(jwt.encode(claims, CryptographyECKey(key, "ES256"), algorithm="ES256"))
