"""Authentication: partner identity from the verified client certificate; bearer tokens for people.

The TLS handshake has already checked the chain against the trust anchors and the validity period.
Here the gateway reads the OIN from the certificate subject's `serialNumber`, refuses revoked
certificates (CRL, reloaded when the file changes) and unknown OINs. The sender of anything is
always this certificate's partner, never a body field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from jose import jwt
from jose.backends.cryptography_backend import CryptographyECKey
from jose.exceptions import JOSEError

from gateway.principals import CitizenPrincipal, OfficerPrincipal, PartnerPrincipal
from gateway.problems import Forbidden, NotAuthenticated
from gateway.registry import PartnerRegistry
from gateway.settings import TokenIssuer


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
    """Revoked serial numbers from a CRL file, re-read when the file's mtime changes."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._revoked: frozenset[int] = frozenset()

    def is_revoked(self, serial: int) -> bool:
        self._refresh()
        return serial in self._revoked

    def _refresh(self) -> None:
        if self._path is None:
            return
        try:
            mtime = self._path.stat().st_mtime
        except FileNotFoundError:
            # A configured CRL that disappeared must not silently turn revocation off.
            raise Forbidden(
                "The revocation list is unavailable; partner calls are refused until it is restored.",
                slug="crl-unavailable",
            ) from None
        if mtime == self._mtime:
            return
        with self._lock:
            crl = x509.load_pem_x509_crl(self._path.read_bytes())
            self._revoked = frozenset(r.serial_number for r in crl)
            self._mtime = mtime


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
        if self._revocations.is_revoked(cert.serial):
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
    """Verifies OIDC bearer tokens against configured issuers, with pinned algorithms and audience."""

    def __init__(self, issuers: list[TokenIssuer]) -> None:
        self._issuers: dict[str, tuple[TokenIssuer, Any]] = {}
        for issuer in issuers:
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            key = load_pem_public_key(issuer.public_key_file.read_bytes())
            self._issuers[issuer.issuer] = (issuer, key)

    def claims(self, token: str) -> dict[str, Any]:
        try:
            unverified = jwt.get_unverified_claims(token)
        except JOSEError as exc:
            raise NotAuthenticated("The bearer token is malformed.", slug="invalid-token") from exc
        found = self._issuers.get(str(unverified.get("iss", "")))
        if found is None:
            raise NotAuthenticated("The bearer token comes from an unknown issuer.", slug="invalid-token")
        issuer, key = found
        try:
            # algorithms=[...] is explicit: python-jose only enforces the algorithm when given the list,
            # which is what stops "alg: none" and key-confusion attacks.
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=issuer.algorithms,
                audience=issuer.audience,
                issuer=issuer.issuer,
                options={"require_exp": True, "require_iat": True, "require_sub": True},
            )
        except JOSEError as exc:
            raise NotAuthenticated(f"The bearer token was refused: {exc}", slug="invalid-token") from exc
        return claims

    def officer(self, token: str) -> OfficerPrincipal:
        claims = self.claims(token)
        if claims.get("role") != "privacy_officer" or not claims.get("org"):
            raise Forbidden("This action is reserved for privacy officers.", slug="officer-required")
        return OfficerPrincipal(subject=str(claims["sub"]), org=str(claims["org"]), name=claims.get("name"))

    def citizen(self, token: str) -> CitizenPrincipal:
        claims = self.claims(token)
        if claims.get("role") != "citizen" or not claims.get("bsn"):
            raise Forbidden(
                "This action is reserved for citizens logged in with DigiD.", slug="citizen-required"
            )
        return CitizenPrincipal(subject=str(claims["sub"]), bsn=str(claims["bsn"]))


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
    if name:
        claims["name"] = name
    return str(jwt.encode(claims, CryptographyECKey(key, "ES256"), algorithm="ES256"))
