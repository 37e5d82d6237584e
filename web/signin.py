"""Browser sign-in with OpenID Connect: authorization code flow with PKCE (S256), `state`, `nonce`.

`begin` stores the sign-in under way (hash of `state`, the PKCE verifier, the nonce, a hash of a
cookie value binding it to this browser) and returns the provider's authorization URL. `complete`
consumes that row exactly once, exchanges the code at the token endpoint, verifies the ID token
(gateway.oidc: signature by `kid`, `iss`, `aud` = client id, times, `nonce`), adds the userinfo
claims when the provider has that endpoint, and maps the claims to an officer or a citizen with
the issuer's claim names. RP-initiated logout sends the browser to `end_session_endpoint`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlencode

import httpx
import sqlalchemy as sa
from sqlmodel import Session

from gateway.auth import citizen_from_claims, officer_from_claims, professional_from_claims
from gateway.oidc import OidcIssuer, ProviderUnavailable, TokenInvalid
from gateway.principals import CitizenPrincipal, OfficerPrincipal, ProfessionalPrincipal
from gateway.problems import Forbidden
from gateway.runtime import Runtime
from web.models import WebSignIn
from web.sessions import token_hash

UserGroup = Literal["officers", "citizens", "professionals"]
SIGN_IN_COOKIE = "__Host-meerpunt_signin"
#: How long a person may take at the provider before the sign-in under way is forgotten.
SIGN_IN_MAX_AGE = dt.timedelta(minutes=10)


class SignInFailed(Exception):
    """Why a sign-in did not succeed, as a code the pages turn into Dutch text."""

    def __init__(self, reason: Literal["expired", "no_access", "assurance", "provider", "refused"]) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AuthorizationRedirect:
    url: str
    browser_token: str


@dataclass(frozen=True)
class SignedIn:
    person: OfficerPrincipal | CitizenPrincipal | ProfessionalPrincipal
    issuer: str
    acr: str | None


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def safe_return_to(value: str | None, default: str) -> str:
    """Only a path on this gateway: an open redirect would let a phishing link pass through here."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value[:500]


def browser_issuer(runtime: Runtime, group: UserGroup) -> OidcIssuer | None:
    """The first configured issuer that signs this group in through the browser."""
    for issuer in runtime.tokens.issuers.values():
        if issuer.config.browser_sign_in and issuer.config.serves(group):
            return issuer
    return None


def begin(
    db: Session,
    runtime: Runtime,
    issuer: OidcIssuer,
    *,
    group: UserGroup,
    return_to: str,
    redirect_uri: str,
) -> AuthorizationRedirect:
    config = issuer.config
    assert config.client_id is not None
    try:
        endpoint = issuer.metadata().authorization_endpoint
    except ProviderUnavailable as exc:
        raise SignInFailed("provider") from exc
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters, within RFC 7636's 43-128
    browser_token = secrets.token_urlsafe(32)
    now = runtime.clock()
    # Sign-ins abandoned at the provider are forgotten here, so the table stays small.
    db.execute(sa.delete(WebSignIn).where(WebSignIn.created_at < now - SIGN_IN_MAX_AGE))  # type: ignore[arg-type]
    db.add(
        WebSignIn(
            state_hash=token_hash(state),
            browser_hash=token_hash(browser_token),
            issuer=config.issuer,
            user_group=group,
            code_verifier=verifier,
            nonce=nonce,
            return_to=return_to,
            created_at=now,
        )
    )
    db.flush()
    params = {
        "response_type": "code",
        "client_id": config.client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(config.scopes),
        "state": state,
        "nonce": nonce,
        "code_challenge": _s256(verifier),
        "code_challenge_method": "S256",
    }
    if group == "citizens" and config.min_acr:
        params["acr_values"] = config.min_acr
    separator = "&" if "?" in endpoint else "?"
    return AuthorizationRedirect(url=endpoint + separator + urlencode(params), browser_token=browser_token)


def complete(
    db: Session,
    runtime: Runtime,
    *,
    state: str,
    code: str,
    browser_token: str | None,
    redirect_uri: str,
) -> tuple[SignedIn, str]:
    """The signed-in person and where to send them next; `SignInFailed` otherwise."""
    pending = _consume(db, runtime, state)
    if pending is None or browser_token is None:
        raise SignInFailed("expired")
    if not hmac.compare_digest(token_hash(browser_token), pending.browser_hash):
        raise SignInFailed("expired")
    issuer = runtime.tokens.issuers.get(pending.issuer)
    if issuer is None or issuer.config.client_id is None:
        raise SignInFailed("expired")
    tokens = _exchange_code(issuer, code, pending.code_verifier, redirect_uri)
    try:
        claims = issuer.verify(
            str(tokens.get("id_token", "")),
            audience=issuer.config.client_id,
            nonce=pending.nonce,
            access_token=tokens.get("access_token") if isinstance(tokens.get("access_token"), str) else None,
        )
    except TokenInvalid as exc:
        raise SignInFailed("refused") from exc
    except ProviderUnavailable as exc:
        raise SignInFailed("provider") from exc
    # OIDC Core §3.1.3.7 step 4-5: with several audiences, the token must be meant for us.
    if isinstance(claims.get("aud"), list) and claims.get("azp") != issuer.config.client_id:
        raise SignInFailed("refused")
    claims = {**_userinfo(issuer, tokens, str(claims["sub"])), **claims}
    try:
        person: OfficerPrincipal | CitizenPrincipal | ProfessionalPrincipal
        if pending.user_group == "citizens":
            person = citizen_from_claims(issuer.config, claims)
        elif pending.user_group == "professionals":
            person = professional_from_claims(issuer.config, claims)
        else:
            person = officer_from_claims(issuer.config, claims)
    except Forbidden as refused:
        raise SignInFailed("assurance" if refused.slug == "insufficient-assurance" else "no_access") from None
    acr = claims.get("acr")
    return SignedIn(person, issuer.config.issuer, acr if isinstance(acr, str) else None), pending.return_to


def _consume(db: Session, runtime: Runtime, state: str) -> WebSignIn | None:
    """The sign-in under way for `state`, removed in the same step: a code can be redeemed once."""
    if not state or len(state) > 200:
        return None
    row = db.get(WebSignIn, token_hash(state))
    if row is None:
        return None
    deleted = db.execute(sa.delete(WebSignIn).where(WebSignIn.state_hash == row.state_hash))  # type: ignore[arg-type]
    if getattr(deleted, "rowcount", 0) != 1 or runtime.clock() - row.created_at > SIGN_IN_MAX_AGE:
        return None
    return row


def _exchange_code(issuer: OidcIssuer, code: str, verifier: str, redirect_uri: str) -> dict[str, Any]:
    config = issuer.config
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    headers: dict[str, str] = {}
    if config.client_secret is not None:
        # client_secret_basic (RFC 6749 §2.3.1): id and secret form-encoded, then Basic.
        secret = quote(config.client_secret.get_secret_value(), safe="")
        pair = f"{quote(str(config.client_id), safe='')}:{secret}"
        headers["authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    else:
        form["client_id"] = str(config.client_id)
    try:
        response = issuer.http.post(issuer.metadata().token_endpoint, data=form, headers=headers)
    except (httpx.HTTPError, ProviderUnavailable) as exc:
        raise SignInFailed("provider") from exc
    if response.status_code != 200:
        raise SignInFailed("refused")
    try:
        body = response.json()
    except ValueError as exc:
        raise SignInFailed("provider") from exc
    if not isinstance(body, dict) or "id_token" not in body:
        raise SignInFailed("refused")
    return body


def _userinfo(issuer: OidcIssuer, tokens: dict[str, Any], subject: str) -> dict[str, Any]:
    """Claims from the userinfo endpoint (providers that keep custom claims out of the ID token)."""
    endpoint = issuer.metadata().userinfo_endpoint
    access_token = tokens.get("access_token")
    if not endpoint or not isinstance(access_token, str):
        return {}
    try:
        response = issuer.http.get(endpoint, headers={"authorization": f"Bearer {access_token}"})
        info = response.json() if response.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        return {}
    # OIDC Core §5.3.2: userinfo about another subject must not be used.
    if not isinstance(info, dict) or info.get("sub") != subject:
        return {}
    # Identity and assurance come only from the signed ID token.
    return {k: v for k, v in info.items() if k not in ("iss", "aud", "acr", "nonce", "exp", "iat")}


def logout_url(issuer: OidcIssuer, post_logout_redirect_uri: str) -> str | None:
    """RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the provider's end-session URL."""
    try:
        endpoint = issuer.metadata().end_session_endpoint
    except ProviderUnavailable:
        return None
    if not endpoint:
        return None
    params = {"client_id": str(issuer.config.client_id), "post_logout_redirect_uri": post_logout_redirect_uri}
    separator = "&" if "?" in endpoint else "?"
    return endpoint + separator + urlencode(params)
