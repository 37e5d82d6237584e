"""Bearer-token verification: pinned issuer, audience and algorithm (SPEC §5)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.auth import TokenVerifier, mint_dev_token
from gateway.jwk import b64url
from gateway.pki import DEV_AUDIENCE, DEV_ISSUER, load_private_key
from gateway.problems import Forbidden, NotAuthenticated
from gateway.runtime import Runtime
from gateway.sealed_tokens import seal, sealing_key
from tests.support import DevEnv


def _key(env: DevEnv) -> ec.EllipticCurvePrivateKey:
    key = load_private_key(env.directory / "pki" / "token-signing.key")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def test_officer_token_is_accepted(dev_env: DevEnv, runtime: Runtime) -> None:
    officer = runtime.tokens.officer(dev_env.token("privacy_officer", org="meerpunt"))
    assert officer.is_central


def test_citizen_token_does_not_reveal_bsn_in_subject(dev_env: DevEnv, runtime: Runtime) -> None:
    citizen = runtime.tokens.citizen(dev_env.token("citizen", bsn="111222333"))
    assert citizen.bsn == "111222333"
    assert "111222333" not in citizen.subject


def test_citizen_token_cannot_act_as_officer(dev_env: DevEnv, runtime: Runtime) -> None:
    with pytest.raises(Forbidden):
        runtime.tokens.officer(dev_env.token("citizen", bsn="111222333"))


@pytest.mark.parametrize(
    "change",
    [
        {"issuer": "https://evil.invalid"},
        {"audience": "someone-else"},
        {"now": dt.datetime.now(dt.UTC) - dt.timedelta(days=2)},
    ],
)
def test_wrong_issuer_audience_or_expired_is_refused(dev_env: DevEnv, runtime: Runtime, change: dict) -> None:
    args = {"issuer": DEV_ISSUER, "audience": DEV_AUDIENCE, "role": "privacy_officer", "org": "meerpunt"}
    args.update(change)
    with pytest.raises(NotAuthenticated):
        runtime.tokens.officer(mint_dev_token(_key(dev_env), **args))


def test_token_signed_by_another_key_is_refused(runtime: Runtime) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    token = mint_dev_token(
        other, issuer=DEV_ISSUER, audience=DEV_AUDIENCE, role="privacy_officer", org="meerpunt"
    )
    with pytest.raises(NotAuthenticated):
        runtime.tokens.officer(token)


def test_hs256_token_with_public_key_as_secret_is_refused(dev_env: DevEnv, runtime: Runtime) -> None:
    """Algorithm confusion: an attacker signs HS256 with the (public) verification key."""
    public_pem = (dev_env.directory / "pki" / "token-signing.pub.pem").read_text()
    claims = {
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        "sub": "x",
        "role": "privacy_officer",
        "org": "meerpunt",
        "iat": int(dt.datetime.now(dt.UTC).timestamp()),
        "exp": int(dt.datetime.now(dt.UTC).timestamp()) + 600,
    }
    # python-jose itself refuses to HMAC with a PEM key, so the attacker's token is built by hand.
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    signature = hmac.new(public_pem.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{header}.{payload}.{b64url(signature)}"
    with pytest.raises(NotAuthenticated):
        runtime.tokens.officer(token)


# --- Sealed development tokens (dev-token never prints a readable BSN) ---------------------------


def _citizen_token(dev_env: DevEnv) -> str:
    return dev_env.token("citizen", bsn="111222333")


def test_a_sealed_citizen_token_is_opened_then_verified(dev_env: DevEnv, runtime: Runtime) -> None:
    sealed = seal(_citizen_token(dev_env), sealing_key(runtime.settings.bsn_hash_key_bytes()))
    assert "111222333" not in sealed
    assert runtime.tokens.citizen(sealed).bsn == "111222333"


def test_a_token_sealed_for_another_environment_is_refused(dev_env: DevEnv, runtime: Runtime) -> None:
    sealed = seal(_citizen_token(dev_env), sealing_key(b"another environment's bsn hash key"))
    with pytest.raises(NotAuthenticated):
        runtime.tokens.citizen(sealed)


def test_sealing_adds_no_trust_to_a_token_signed_by_another_key(runtime: Runtime) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    forged = mint_dev_token(other, issuer=DEV_ISSUER, audience=DEV_AUDIENCE, role="citizen", bsn="111222333")
    with pytest.raises(NotAuthenticated):
        runtime.tokens.citizen(seal(forged, sealing_key(runtime.settings.bsn_hash_key_bytes())))


def test_a_gateway_without_a_sealing_key_refuses_sealed_tokens(dev_env: DevEnv, runtime: Runtime) -> None:
    production_like = TokenVerifier(runtime.settings.token_issuers)  # what runtime builds outside development
    sealed = seal(_citizen_token(dev_env), sealing_key(runtime.settings.bsn_hash_key_bytes()))
    with pytest.raises(NotAuthenticated):
        production_like.citizen(sealed)
