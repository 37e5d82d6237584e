"""Fixtures of the people's pages: a real OpenID provider, a gateway that trusts it, a real browser.

The gateway here is a second server on the session's database, configured with the provider as
an officers' issuer (browser sign-in and bearer tokens) next to the development key. Chromium is
Debian's (`/usr/bin/chromium`), driven by Playwright; axe-core comes from tests/node.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from gateway.app import create_app
from gateway.runtime import Runtime, build_runtime
from gateway.settings import Settings, TokenIssuer
from tests.support import EMAIL_NOTIFY, SCHOOL, DevEnv, ServerThread, free_port, new_bsn
from tests.web.browser import Browser
from tests.web.oidc import API_AUDIENCE, LOW, SUBSTANTIAL, OpenIdProvider

CONSOLE_CLIENT = "meerpunt-console"
API_TEST_CLIENT = "api-test-client"
API_TEST_REDIRECT = "https://127.0.0.1/api-test-callback"
OFFICER_TOOL = "officer-tool"
SHORT_LIVED = "short-lived-tool"
PORTAL_CLIENT = "meerpunt-mijn"

#: The provider's accounts, by login name.
OFFICER_USERS: dict[str, dict[str, Any]] = {
    "officer-central": {
        "name": "Pieter Privacy",
        "meerpunt_role": "privacy_officer",
        "meerpunt_org": "meerpunt",
    },
    "officer-school": {"name": "Sanne School", "meerpunt_role": "privacy_officer", "meerpunt_org": SCHOOL},
    "employee-without-role": {"name": "Mila Medewerker", "meerpunt_org": SCHOOL},
    "professional-practice": {"name": "Pim Praktijk", "meerpunt_org": EMAIL_NOTIFY},
}


@dataclass
class WebGateway:
    """The gateway under test, its provider, and the client secrets the provider knows."""

    base_url: str
    runtime: Runtime
    settings: Settings
    idp: OpenIdProvider
    secrets: dict[str, str]
    #: The citizens' issuer (a DigiD broker): accounts by login name, each with `bsn` and `acr`.
    citizen_idp: OpenIdProvider | None = None
    citizen_users: dict[str, dict[str, Any]] | None = None


def _client(client_id: str, secret: str, **extra: Any) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "client_secret": secret,
        "token_endpoint_auth_method": "client_secret_basic",
        "id_token_signed_response_alg": "ES256",
        **extra,
    }


@pytest.fixture(scope="session")
def web_gateway(dev_env: DevEnv, runtime: Runtime) -> Iterator[WebGateway]:
    port = free_port()
    base_url = f"https://127.0.0.1:{port}"
    client_secrets = {
        name: secrets.token_urlsafe(24)
        for name in (CONSOLE_CLIENT, API_TEST_CLIENT, OFFICER_TOOL, SHORT_LIVED)
    }
    clients = [
        _client(
            CONSOLE_CLIENT,
            client_secrets[CONSOLE_CLIENT],
            redirect_uris=[base_url + "/auth/callback"],
            post_logout_redirect_uris=[base_url + "/auth/signed-out"],
            grant_types=["authorization_code"],
            response_types=["code"],
        ),
        _client(
            API_TEST_CLIENT,
            client_secrets[API_TEST_CLIENT],
            redirect_uris=[API_TEST_REDIRECT],
            grant_types=["authorization_code"],
            response_types=["code"],
        ),
        _client(
            OFFICER_TOOL, client_secrets[OFFICER_TOOL], grant_types=["client_credentials"], response_types=[]
        ),
        _client(
            SHORT_LIVED, client_secrets[SHORT_LIVED], grant_types=["client_credentials"], response_types=[]
        ),
    ]
    tool_claims = {"meerpunt_role": "privacy_officer", "meerpunt_org": "meerpunt"}
    portal_secret = secrets.token_urlsafe(24)
    citizen_users: dict[str, dict[str, Any]] = {
        "citizen-substantial": {"name": "Bo Burger", "bsn": new_bsn(), "acr": SUBSTANTIAL},
        "citizen-low": {"name": "Lou Laag", "bsn": new_bsn(), "acr": LOW},
    }
    portal_client = _client(
        PORTAL_CLIENT,
        portal_secret,
        redirect_uris=[base_url + "/auth/callback"],
        post_logout_redirect_uris=[base_url + "/auth/signed-out"],
        grant_types=["authorization_code"],
        response_types=["code"],
    )
    with (
        OpenIdProvider(
            dev_env,
            users=OFFICER_USERS,
            clients=clients,
            client_claims={OFFICER_TOOL: tool_claims, SHORT_LIVED: tool_claims},
            short_lived_clients=[SHORT_LIVED],
        ) as idp,
        OpenIdProvider(dev_env, users=citizen_users, clients=[portal_client]) as digid,
    ):
        officers = TokenIssuer(
            issuer=idp.issuer,
            audience=API_AUDIENCE,
            users="officers",
            client_id=CONSOLE_CLIENT,
            client_secret=client_secrets[CONSOLE_CLIENT],  # type: ignore[arg-type]
            scopes=["openid", "profile", "meerpunt"],
            role_claim="meerpunt_role",
            org_claim="meerpunt_org",
            tls_ca_file=dev_env.ca_file,
            leeway_seconds=0,
            jwks_refresh_min_seconds=0,
        )
        # The citizens' issuer: BSN from the `bsn` claim, at least eIDAS "substantial" (the default).
        citizens = TokenIssuer(
            issuer=digid.issuer,
            audience=API_AUDIENCE,
            users="citizens",
            client_id=PORTAL_CLIENT,
            client_secret=portal_secret,  # type: ignore[arg-type]
            scopes=["openid", "profile", "bsn"],
            bsn_claim="bsn",
            tls_ca_file=dev_env.ca_file,
            leeway_seconds=0,
            jwks_refresh_min_seconds=0,
        )
        settings = dev_env.settings.model_copy(
            update={
                "token_issuers": [*dev_env.settings.token_issuers, officers, citizens],
                "public_url": base_url,
            }
        )
        web_runtime = build_runtime(settings, runtime.engine)
        with ServerThread(create_app(settings, web_runtime), settings, port=port):
            yield WebGateway(base_url, web_runtime, settings, idp, client_secrets, digid, citizen_users)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with Browser() as running:
        yield running
