"""TLS terminated at a trusted proxy (an ingress): the partner's certificate arrives in a header.

Opt-in (`trusted_proxies`). Behind a Kubernetes ingress the handshake with the partner happens at
the proxy, which passes the client certificate on in a header: RFC 9440 `Client-Cert` (a byte
sequence structured field, `:base64(DER):`) or nginx's `$ssl_client_escaped_cert` (URL-encoded
PEM, ingress-nginx's `ssl-client-cert`). A header is believed only when the TCP peer is one of the
configured proxy addresses; from anywhere else it is ignored and logged, because any client can
send it (the attack: naming another partner's certificate without holding its key).

The proxy is trusted to have done the handshake (proof of possession of the key), not to have
judged the certificate: ingress-nginx is often run with `optional_no_ca`. So the gateway checks
the forwarded certificate itself, as the handshake would for a direct connection — the chain to
the trust anchors (cryptography's X.509 verification API, RFC 5280 path validation), the validity
period — and then exactly what `PartnerAuthenticator` checks for every connection: CRL and OIN.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)
from prometheus_client import Counter

from gateway.auth import PartnerAuthenticator, parse_peer_certificate
from gateway.principals import PartnerPrincipal
from gateway.problems import Forbidden, NotAuthenticated

log = logging.getLogger("meerpunt.gateway.proxy")

HeaderFormat = Literal["rfc9440", "nginx-escaped-pem"]

#: A verified chain is re-checked after this long (the CA's validity, a changed anchor file on
#: restart); the leaf's own validity, the CRL and the OIN are checked on every request.
CHAIN_CACHE_SECONDS = 300.0


IGNORED_HEADERS = Counter(
    "meerpunt_proxy_header_ignored_total",
    "Forwarded-certificate headers ignored because they came from an address that is no trusted proxy",
)

#: One warning per address per this many seconds about ignored headers: a client repeating the
#: header (by mistake or to probe) must not flood the log; the counter above counts them all.
IGNORED_WARNING_INTERVAL_SECONDS = 60.0
_MAX_TRACKED_ADDRESSES = 10_000


class WarningThrottle:
    """At most one warning per key per interval; tells how many were held back since the last."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._last: dict[str, tuple[float, int]] = {}  # key -> (when last logged, held back since)
        self._lock = threading.Lock()

    def admit(self, key: str) -> int | None:
        """None when this warning is held back; else how many were held back before it."""
        now = self._clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last[0] < self._interval:
                self._last[key] = (last[0], last[1] + 1)
                return None
            if len(self._last) >= _MAX_TRACKED_ADDRESSES:
                self._last.clear()  # a scan from many addresses: start over rather than grow
            self._last[key] = (now, 0)
            return last[1] if last is not None else 0


class ForwardedCertificateInvalid(NotAuthenticated):
    slug = "forwarded-certificate-invalid"


def parse_client_cert_header(value: str, header_format: HeaderFormat) -> bytes:
    """The DER bytes of the certificate in a proxy's header; ValueError when it is not one.

    RFC 9440 §2.2: `Client-Cert` is an RFC 8941 byte sequence, `:` base64 `:`. nginx's
    `$ssl_client_escaped_cert` is the PEM text, URL-encoded.
    """
    value = value.strip()
    if header_format == "rfc9440":
        if len(value) < 3 or value[0] != ":" or value[-1] != ":":
            raise ValueError("not an RFC 8941 byte sequence (:base64:)")
        try:
            der = base64.b64decode(value[1:-1], validate=True)
        except ValueError as exc:
            raise ValueError("the byte sequence is not base64") from exc
        cert = x509.load_der_x509_certificate(der)
    else:
        cert = x509.load_pem_x509_certificate(unquote(value).encode("ascii"))
    return cert.public_bytes(serialization.Encoding.DER)


def _client_verifier_policy() -> ExtensionPolicy:
    # PKIoverheid organisation certificates need not carry a subjectAltName: the partner is named
    # by the OIN in the subject, which `PartnerAuthenticator` reads. Everything else is the Web PKI
    # profile's end-entity policy (basicConstraints, EKU clientAuth, key usage).
    return ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
    )


@dataclass(frozen=True)
class ProxyDecision:
    """What the gateway made of a request's forwarded-certificate header."""

    trusted: bool
    der: bytes | None


class TrustedProxy:
    """Authenticates partners from a certificate forwarded by a trusted proxy (see module doc)."""

    def __init__(
        self,
        networks: Sequence[str],
        header: str,
        header_format: HeaderFormat,
        anchors: Sequence[x509.Certificate],
        authenticator: PartnerAuthenticator,
    ) -> None:
        self.networks = tuple(ipaddress.ip_network(cidr, strict=False) for cidr in networks)
        self.header = header.lower()
        self.header_format: HeaderFormat = header_format
        self._store = Store(list(anchors))
        self._authenticator = authenticator
        self._verified: dict[bytes, float] = {}
        self._lock = threading.Lock()
        self.ignored_warnings = WarningThrottle(IGNORED_WARNING_INTERVAL_SECONDS)

    def is_trusted(self, address: str | None) -> bool:
        if not address:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def forwarded(self, address: str | None, headers: Mapping[str, str]) -> ProxyDecision:
        """From a trusted address: the header's certificate (None when absent). From any other
        address: not trusted, and a header present is logged and ignored."""
        value = headers.get(self.header)
        if not self.is_trusted(address):
            if value is not None:
                IGNORED_HEADERS.inc()
                held_back = self.ignored_warnings.admit(str(address))
                if held_back is not None:
                    # The address and the header's name only: never the header's content.
                    log.warning(
                        "ignored %s header from %s: not a trusted proxy address%s",
                        self.header,
                        address,
                        f" ({held_back} more since the last warning)" if held_back else "",
                    )
            return ProxyDecision(trusted=False, der=None)
        if value is None or value.strip() in ("", "::"):
            # No certificate presented: an empty value, or HAProxy's `:%[ssl_c_der,base64]:` of none.
            return ProxyDecision(trusted=True, der=None)
        try:
            return ProxyDecision(trusted=True, der=parse_client_cert_header(value, self.header_format))
        except ValueError:
            log.warning("refused a malformed %s header from proxy %s", self.header, address)
            raise ForwardedCertificateInvalid(
                f"The proxy's {self.header} header does not hold a certificate ({self.header_format}).",
            ) from None

    def authenticate(self, der: bytes | None, now: dt.datetime) -> PartnerPrincipal:
        """The partner behind a forwarded certificate: validity, chain, then CRL and OIN."""
        if not der:
            raise NotAuthenticated(
                "A client certificate issued to a Meerpunt partner is required (art. 19); the proxy "
                "forwarded none.",
                slug="client-certificate-required",
            )
        cert = parse_peer_certificate(der)
        # Checked first, so that an expired certificate is named as such and not as "untrusted".
        if not cert.not_before <= now <= cert.not_after:
            raise Forbidden("The client certificate is not valid at this time.", slug="certificate-expired")
        self._verify_chain(der, now)
        return self._authenticator.authenticate(der, now)

    def _verify_chain(self, der: bytes, now: dt.datetime) -> None:
        checked = time.monotonic()
        with self._lock:
            verified_at = self._verified.get(der)
        if verified_at is not None and checked - verified_at < CHAIN_CACHE_SECONDS:
            return
        verifier = (
            PolicyBuilder()
            .store(self._store)
            .time(now)
            .extension_policies(
                ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=_client_verifier_policy()
            )
            .build_client_verifier()
        )
        try:
            verifier.verify(x509.load_der_x509_certificate(der), [])
        except VerificationError as exc:
            log.warning("refused a forwarded certificate: %s", exc)
            raise Forbidden(
                "The client certificate does not chain to a Meerpunt trust anchor (art. 19).",
                slug="certificate-untrusted",
            ) from None
        with self._lock:
            if len(self._verified) > 4096:
                self._verified.clear()
            self._verified[der] = checked
