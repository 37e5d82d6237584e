"""Sign-in with a real OpenID provider: the browser flow, bearer tokens, and the attacks on both.

The provider is `oidc-provider` in Node (tests/web/oidc.py): it signs every valid token here. The
only tokens a test builds itself are the forgeries (`alg: none`, HS256 keyed with the public key).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import ssl
import time
from typing import Any

import httpx
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient
from jose import jwk
from playwright.sync_api import expect

from gateway.app import create_app
from gateway.runtime import Runtime
from tests.support import DevEnv
from tests.web.browser import Browser
from tests.web.conftest import (
    API_TEST_CLIENT,
    API_TEST_REDIRECT,
    OFFICER_TOOL,
    OFFICER_USERS,
    SHORT_LIVED,
    WebGateway,
)
from tests.web.oidc import OpenIdProvider


def _client(gateway: WebGateway, dev_env: DevEnv) -> httpx.Client:
    return httpx.Client(
        base_url=gateway.base_url, verify=ssl.create_default_context(cafile=str(dev_env.ca_file)), timeout=30
    )


def _register(gateway: WebGateway, dev_env: DevEnv, token: str) -> httpx.Response:
    with _client(gateway, dev_env) as client:
        return client.get("/v1/register?limit=1", headers={"Authorization": f"Bearer {token}"})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segments(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _sig = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return json.loads(base64.urlsafe_b64decode(pad(header))), json.loads(
        base64.urlsafe_b64decode(pad(payload))
    )


# -- the browser ---------------------------------------------------------------------------------


def test_officer_signs_in_and_out_through_the_provider(web_gateway: WebGateway, browser: Browser) -> None:
    page = browser.page()
    page.goto(web_gateway.base_url + "/console")
    expect(page).to_have_url(f"{web_gateway.base_url}/auth/login?as=officers&next=%2Fconsole")
    expect(page.get_by_role("heading", level=1)).to_have_text("Inloggen")
    browser.audit(page, "console-sign-in")
    page.get_by_role("link", name="Inloggen met uw organisatie-account").click()
    # At the provider: its own sign-in form.
    expect(page).to_have_url(re.compile(re.escape(web_gateway.idp.issuer + "/interaction/")))
    page.get_by_label("Account").select_option("officer-central")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(web_gateway.base_url + "/console")
    expect(page.get_by_text(OFFICER_USERS["officer-central"]["name"])).to_be_visible()
    cookies = {c["name"]: c for c in page.context.cookies()}
    session_cookie = cookies["__Host-meerpunt_session"]
    assert session_cookie["secure"] and session_cookie["httpOnly"] and session_cookie["sameSite"] == "Lax"
    assert session_cookie["path"] == "/"
    # Sign out: the session ends here, then at the provider (RP-initiated logout).
    page.get_by_role("button", name="Uitloggen").click()
    expect(page).to_have_url(re.compile(re.escape(web_gateway.idp.issuer)))
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(page).to_have_url(web_gateway.base_url + "/auth/signed-out")
    expect(page.get_by_role("heading", level=1)).to_have_text("U bent uitgelogd")
    browser.audit(page, "console-signed-out")
    page.goto(web_gateway.base_url + "/console")
    expect(page).to_have_url(re.compile(".*/auth/login.*"))
    page.context.close()


def test_employee_without_role_gets_a_dutch_no_access_page(web_gateway: WebGateway, browser: Browser) -> None:
    page = browser.page()
    page.goto(web_gateway.base_url + "/auth/start?as=officers&next=/console")
    page.get_by_label("Account").select_option("employee-without-role")
    with page.expect_response(lambda r: "/auth/callback" in r.url) as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 403
    expect(page.get_by_text("U heeft geen toegang tot deze console.")).to_be_visible()
    browser.audit(page, "console-no-access")
    assert "__Host-meerpunt_session" not in {c["name"] for c in page.context.cookies()}
    page.context.close()


def test_a_replayed_callback_signs_nobody_in(web_gateway: WebGateway, browser: Browser) -> None:
    """The callback URL (code and state) used a second time, or in another browser, is refused."""
    page = browser.page()
    page.goto(web_gateway.base_url + "/auth/start?as=officers&next=/console")
    page.get_by_label("Account").select_option("officer-school")
    with page.expect_request(lambda r: "/auth/callback" in r.url) as callback:
        page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(web_gateway.base_url + "/console")
    other = browser.page()
    answer = other.goto(callback.value.url)
    assert answer is not None and answer.status == 400
    assert "__Host-meerpunt_session" not in {c["name"] for c in other.context.cookies()}
    page.context.close()
    other.context.close()


# -- bearer tokens from the same provider ---------------------------------------------------------


def test_provider_access_token_opens_the_api(web_gateway: WebGateway, dev_env: DevEnv) -> None:
    token = web_gateway.idp.client_credentials(OFFICER_TOOL, web_gateway.secrets[OFFICER_TOOL])
    assert _segments(token)[0]["alg"] == "ES256"
    assert _register(web_gateway, dev_env, token).status_code == 200


def test_user_access_token_from_the_code_flow_opens_the_api(web_gateway: WebGateway, dev_env: DevEnv) -> None:
    tokens = web_gateway.idp.code_flow(
        client_id=API_TEST_CLIENT,
        secret=web_gateway.secrets[API_TEST_CLIENT],
        redirect_uri=API_TEST_REDIRECT,
        login="officer-school",
        scope="openid meerpunt",
    )
    assert _register(web_gateway, dev_env, tokens["access_token"]).status_code == 200
    # The ID token is for the client, not for the API: wrong audience.
    refused = _register(web_gateway, dev_env, tokens["id_token"])
    assert refused.status_code == 401
    assert "audience" in refused.json()["detail"].lower()
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_key_rotation_at_the_provider_needs_no_gateway_restart(
    web_gateway: WebGateway, dev_env: DevEnv
) -> None:
    idp, secret = web_gateway.idp, web_gateway.secrets[OFFICER_TOOL]
    before = idp.client_credentials(OFFICER_TOOL, secret)
    assert _register(web_gateway, dev_env, before).status_code == 200
    kids = idp.rotate_keys()
    after = idp.client_credentials(OFFICER_TOOL, secret)
    assert _segments(after)[0]["kid"] == kids[0] != _segments(before)[0]["kid"]
    assert _register(web_gateway, dev_env, after).status_code == 200  # new kid: JWKS fetched again
    assert _register(web_gateway, dev_env, before).status_code == 200  # old key still published
    idp.rotate_keys(drop_old=True)
    newest = idp.client_credentials(OFFICER_TOOL, secret)
    assert _register(web_gateway, dev_env, newest).status_code == 200
    # The provider no longer publishes the first key: tokens signed with it are no longer trusted.
    assert _register(web_gateway, dev_env, before).status_code == 401


def test_expired_token_is_refused(web_gateway: WebGateway, dev_env: DevEnv) -> None:
    token = web_gateway.idp.client_credentials(SHORT_LIVED, web_gateway.secrets[SHORT_LIVED])
    time.sleep(2.2)  # the provider gave it one second; the test issuer allows no leeway
    refused = _register(web_gateway, dev_env, token)
    assert refused.status_code == 401
    assert "expired" in refused.json()["detail"].lower()


def test_token_from_an_untrusted_issuer_is_refused(web_gateway: WebGateway, dev_env: DevEnv) -> None:
    secret = "untrusted-secret-0123456789"
    client = {
        "client_id": "tool",
        "client_secret": secret,
        "grant_types": ["client_credentials"],
        "response_types": [],
        "id_token_signed_response_alg": "ES256",
    }
    claims = {"tool": {"meerpunt_role": "privacy_officer", "meerpunt_org": "meerpunt"}}
    with OpenIdProvider(dev_env, users={}, clients=[client], client_claims=claims) as untrusted:
        token = untrusted.client_credentials("tool", secret)
    refused = _register(web_gateway, dev_env, token)
    assert refused.status_code == 401
    assert "unknown issuer" in refused.json()["detail"]


def test_alg_none_and_hs256_keyed_with_the_public_key_are_refused(
    web_gateway: WebGateway, dev_env: DevEnv
) -> None:
    genuine = web_gateway.idp.client_credentials(OFFICER_TOOL, web_gateway.secrets[OFFICER_TOOL])
    header, claims = _segments(genuine)
    body = _b64(json.dumps(claims).encode())
    unsigned = f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{body}."
    assert _register(web_gateway, dev_env, unsigned).status_code == 401
    with httpx.Client(verify=ssl.create_default_context(cafile=str(dev_env.ca_file))) as http:
        jwks = http.get(web_gateway.idp.metadata()["jwks_uri"]).json()["keys"]
    public = next(k for k in jwks if k["kid"] == header["kid"])
    pem = (
        jwk.construct(public, "ES256")
        .public_key()
        .prepared_key.public_bytes(  # type: ignore[attr-defined]
            Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
        )
    )
    for key_material in (pem, json.dumps(public).encode()):
        signing_input = f"{_b64(json.dumps({'alg': 'HS256', 'kid': header['kid']}).encode())}.{body}"
        mac = hmac.new(key_material, signing_input.encode(), hashlib.sha256).digest()
        forged = f"{signing_input}.{_b64(mac)}"
        refused = _register(web_gateway, dev_env, forged)
        assert refused.status_code == 401
        assert "HS256" in refused.json()["detail"]
    assert _register(web_gateway, dev_env, genuine).status_code == 200  # the genuine one still works


# -- development sign-in, sessions, CSRF -----------------------------------------------------------


def test_development_sign_in_page_does_not_exist_in_production(dev_env: DevEnv, runtime: Runtime) -> None:
    production = runtime.settings.model_copy(update={"environment": "production"})
    prod_runtime = Runtime(**{**runtime.__dict__, "settings": production})
    with TestClient(create_app(production, prod_runtime), base_url="https://testserver") as client:
        assert client.get("/auth/dev").status_code == 404
        assert (
            client.post(
                "/auth/dev", data={"role": "citizen", "form_token": "x", "bsn": "111222333"}
            ).status_code
            == 404
        )
        login = client.get("/auth/login?as=officers")
        assert login.status_code == 200 and "/auth/dev" not in login.text
    with TestClient(create_app(runtime.settings, runtime), base_url="https://testserver") as client:
        assert client.get("/auth/dev").status_code == 200


def dev_sign_in(page: Any, base_url: str, *, org: str | None = None, bsn: str | None = None) -> None:
    """Sign in through the development page as an officer of `org`, or as a citizen with `bsn`."""
    page.goto(base_url + "/auth/dev")
    if bsn is not None:
        page.get_by_label("Burgerservicenummer").fill(bsn)
        page.get_by_role("button", name="Inloggen als burger").click()
    else:
        page.get_by_label("Organisatie", exact=True).select_option(org or "meerpunt")
        page.get_by_role("button", name="Inloggen als privacyfunctionaris").click()


def test_a_citizen_session_cannot_open_the_console(web_gateway: WebGateway, browser: Browser) -> None:
    page = browser.page()
    dev_sign_in(page, web_gateway.base_url, bsn="111222333")
    answer = page.goto(web_gateway.base_url + "/console")
    assert answer is not None and answer.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Geen toegang")
    browser.audit(page, "console-citizen-refused")
    page.context.close()


def test_sign_out_without_csrf_token_is_refused(web_gateway: WebGateway, browser: Browser) -> None:
    page = browser.page()
    dev_sign_in(page, web_gateway.base_url, org="meerpunt")
    expect(page).to_have_url(web_gateway.base_url + "/console")
    forged = page.request.post(web_gateway.base_url + "/auth/logout", form={"csrf_token": "guess"})
    assert forged.status == 403
    foreign = page.request.post(
        web_gateway.base_url + "/auth/logout",
        form={"csrf_token": "guess"},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status == 403
    # Still signed in: the forged forms changed nothing.
    assert page.goto(web_gateway.base_url + "/console").status == 200  # type: ignore[union-attr]
    page.context.close()


def test_pages_carry_a_strict_content_security_policy(web_gateway: WebGateway, dev_env: DevEnv) -> None:
    with _client(web_gateway, dev_env) as client:
        response = client.get("/auth/login?as=officers")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


def test_the_front_page_leads_citizens_and_officers_on(web_gateway: WebGateway, browser: Browser) -> None:
    page = browser.page()
    page.goto(web_gateway.base_url + "/")
    expect(page.get_by_role("link", name="Naar Mijn Meerpunt")).to_have_attribute("href", "/mijn")
    expect(page.get_by_role("link", name="Naar de console")).to_have_attribute("href", "/console")
    browser.audit(page, "home")
    page.context.close()


def test_the_development_sign_in_refuses_an_invalid_bsn(web_gateway: WebGateway, browser: Browser) -> None:
    page = browser.page()
    page.goto(web_gateway.base_url + "/auth/dev")
    page.get_by_label("Burgerservicenummer").fill("123456789")  # fails the 11-check
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Inloggen als burger").click()
    assert answer.value.status == 422
    expect(page.get_by_role("alert")).to_contain_text("elfproef")
    assert "__Host-meerpunt_session" not in {c["name"] for c in page.context.cookies()}
    page.context.close()
