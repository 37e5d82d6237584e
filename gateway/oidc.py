"""OpenID Connect relying party: discovery, the provider's keys by `kid`, and token verification.

One `OidcIssuer` per configured issuer (`gateway.settings.TokenIssuer`). Keys come either from a
static PEM file (the development path, no network) or from the provider's JWKS: fetched when first
needed, cached by `kid`, and fetched again when a token names a `kid` the cache does not know, so
the provider rotates its keys without a gateway restart. A re-fetch happens at most once per
`jwks_refresh_min_seconds`: forged kids cannot make the gateway hammer the provider.

Verification is strict on purpose: an explicit allow-list of asymmetric algorithms (python-jose
checks the algorithm only when given the list; a key object bound to its algorithm stops an
"HS256 signed with the public key" token), `iss`, `aud`, `exp`, `iat` required, `nbf` honoured,
all with a small leeway; ID tokens must also carry the `nonce` this sign-in sent.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jose import jwk, jwt
from jose.backends.base import Key
from jose.exceptions import JOSEError

from gateway.settings import TokenIssuer

log = logging.getLogger("meerpunt.gateway")

#: Discovery and JWKS requests must not hold a request (or sign-in) hostage for long.
HTTP_TIMEOUT_SECONDS = 5.0


class TokenInvalid(Exception):
    """A token that must not be trusted; the message says why (safe to show: no token content)."""


class ProviderUnavailable(Exception):
    """The provider's discovery document or keys could not be fetched."""


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of the discovery document (OpenID Connect Discovery 1.0 §3) the gateway uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    end_session_endpoint: str | None


def _family_fits(alg: str, public_key: Any) -> bool:
    """RS/PS need an RSA key, ES an EC key on the matching curve: a key is never used with an
    algorithm of another family."""
    if alg.startswith(("RS", "PS")):
        return isinstance(public_key, rsa.RSAPublicKey)
    curves = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}
    curve = curves.get(alg)
    return (
        curve is not None
        and isinstance(public_key, ec.EllipticCurvePublicKey)
        and (isinstance(public_key.curve, curve))
    )


class OidcIssuer:
    """One trusted issuer: its configuration, metadata and keys."""

    def __init__(
        self,
        config: TokenIssuer,
        *,
        http_client: httpx.Client | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._monotonic = monotonic
        self._lock = threading.Lock()  # the discovery document
        self._jwks_lock = threading.Lock()  # the keys (separate: a key refresh reads the metadata)
        self._metadata: ProviderMetadata | None = None
        self._jwks: dict[str, dict[str, Any]] = {}
        self._keys: dict[tuple[str, str], Key] = {}
        self._last_fetch: float | None = None
        self._static_key: Any = None
        if config.public_key_file is not None:
            self._static_key = load_pem_public_key(config.public_key_file.read_bytes())
        self._http = http_client

    # -- the provider --------------------------------------------------------------------------

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            verify: Any = str(self.config.tls_ca_file) if self.config.tls_ca_file else True
            self._http = httpx.Client(timeout=HTTP_TIMEOUT_SECONDS, verify=verify, follow_redirects=False)
        return self._http

    def metadata(self) -> ProviderMetadata:
        """The discovery document, fetched once and kept (its endpoints do not rotate)."""
        if self._metadata is None:
            with self._lock:
                if self._metadata is None:
                    self._metadata = self._discover()
        return self._metadata

    def _discover(self) -> ProviderMetadata:
        url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = self._get_json(url)
        # OIDC Discovery §4.3: the document's issuer must be exactly the configured one, or a
        # compromised document could redirect trust to another issuer.
        if document.get("issuer") != self.config.issuer:
            raise ProviderUnavailable(f"discovery at {url} names another issuer: {document.get('issuer')!r}")
        try:
            return ProviderMetadata(
                issuer=str(document["issuer"]),
                authorization_endpoint=str(document["authorization_endpoint"]),
                token_endpoint=str(document["token_endpoint"]),
                jwks_uri=str(document["jwks_uri"]),
                userinfo_endpoint=document.get("userinfo_endpoint"),
                end_session_endpoint=document.get("end_session_endpoint"),
            )
        except KeyError as missing:
            raise ProviderUnavailable(f"discovery at {url} lacks {missing}") from None

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = self.http.get(url, headers={"accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"{url}: {type(exc).__name__}") from exc
        if not isinstance(document, dict):
            raise ProviderUnavailable(f"{url}: not a JSON object")
        return document

    # -- keys ----------------------------------------------------------------------------------

    def _key(self, kid: str | None, alg: str) -> Key:
        if self._static_key is not None:
            static = self._keys.get(("", alg))
            if static is None:
                static = self._keys[("", alg)] = self._bind(self._static_key, alg)
            return static
        if kid is None:
            raise TokenInvalid("the token names no key (kid)")
        cached = self._keys.get((kid, alg))
        if cached is not None:
            return cached
        if kid not in self._jwks:
            self._refresh_jwks()
        jwk_dict = self._jwks.get(kid)
        if jwk_dict is None:
            raise TokenInvalid("the token is signed with a key the issuer does not publish")
        if jwk_dict.get("use", "sig") != "sig" or jwk_dict.get("alg", alg) != alg:
            raise TokenInvalid("the issuer's key is not for this algorithm")
        try:
            public_key = jwk.construct(jwk_dict, alg).public_key()
        except JOSEError as exc:
            raise TokenInvalid("the issuer's key cannot be used") from exc
        key = self._bind(public_key, alg)
        self._keys[(kid, alg)] = key
        return key

    def _bind(self, public_key: Any, alg: str) -> Key:
        """A python-jose key object bound to one algorithm of the key's own family."""
        inner = getattr(public_key, "prepared_key", public_key)
        if not _family_fits(alg, inner):
            raise TokenInvalid(f"the algorithm {alg} does not fit the issuer's key")
        return jwk.construct(_to_jwk(inner), alg)

    def _refresh_jwks(self) -> None:
        jwks_uri = self.metadata().jwks_uri
        with self._jwks_lock:
            now = self._monotonic()
            if self._last_fetch is not None and now - self._last_fetch < self.config.jwks_refresh_min_seconds:
                return
            self._last_fetch = now
            document = self._get_json(jwks_uri)
            keys = document.get("keys")
            if not isinstance(keys, list):
                raise ProviderUnavailable("the JWKS has no keys list")
            self._jwks = {str(k["kid"]): k for k in keys if isinstance(k, dict) and "kid" in k}
            # Keys the provider no longer publishes are no longer trusted.
            self._keys = {ident: key for ident, key in self._keys.items() if ident[0] in self._jwks}
            log.info("keys of issuer %s fetched: %d", self.config.issuer, len(self._jwks))

    # -- tokens --------------------------------------------------------------------------------

    def verify(
        self, token: str, *, audience: str, nonce: str | None = None, access_token: str | None = None
    ) -> dict[str, Any]:
        """The claims of a token this issuer signed for `audience`; `TokenInvalid` otherwise.

        For an ID token pass the `nonce` of the sign-in and the access token issued with it (its
        `at_hash` must match: the access token was not swapped in transit)."""
        try:
            header = jwt.get_unverified_header(token)
        except JOSEError as exc:
            raise TokenInvalid("the token is malformed") from exc
        alg = str(header.get("alg", ""))
        if alg not in self.config.algorithms:
            raise TokenInvalid(f"the algorithm {alg or 'none'!r} is not accepted")
        kid = header.get("kid")
        key = self._key(str(kid) if kid is not None else None, alg)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=audience,
                issuer=self.config.issuer,
                access_token=access_token,
                options={
                    "require_exp": True,
                    "require_iat": True,
                    "require_sub": True,
                    "require_aud": True,
                    "require_iss": True,
                    "leeway": self.config.leeway_seconds,
                },
            )
        except JOSEError as exc:
            raise TokenInvalid(str(exc)) from exc
        iat = claims.get("iat")
        if not isinstance(iat, int | float) or iat > time.time() + self.config.leeway_seconds:
            raise TokenInvalid("the token was issued in the future")
        # OIDC Core §3.1.3.7 step 11: an ID token answers this very sign-in (no replay).
        if nonce is not None and not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise TokenInvalid("the ID token does not answer this sign-in (nonce)")
        return claims


def _to_jwk(public_key: Any) -> dict[str, Any]:
    from jose.backends.cryptography_backend import CryptographyECKey, CryptographyRSAKey

    if isinstance(public_key, rsa.RSAPublicKey):
        return dict(CryptographyRSAKey(public_key, "RS256").to_dict())  # type: ignore[no-untyped-call]
    return dict(CryptographyECKey(public_key, "ES256").to_dict())  # type: ignore[no-untyped-call]
