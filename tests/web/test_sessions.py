"""Sessions, sign-in state and the OpenID Connect key cache, below the browser.

The key cache is tested against `httpx.MockTransport` for its edge cases (how often it fetches);
the real provider is exercised in test_signin.py.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from gateway.auth import acr_satisfies
from gateway.oidc import OidcIssuer, ProviderUnavailable, TokenInvalid
from gateway.principals import CitizenPrincipal, OfficerPrincipal
from gateway.runtime import Runtime
from gateway.settings import DEFAULT_ACR_LEVELS, EIDAS_SUBSTANTIAL, TokenIssuer
from web.models import WebSession
from web.sessions import find_session, start_session, token_hash
from web.signin import safe_return_to


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clocked(isolated_runtime: Runtime) -> Iterator[tuple[Runtime, Clock]]:
    clock = Clock()
    isolated_runtime.clock = clock
    yield isolated_runtime, clock


def _start(runtime: Runtime, person: OfficerPrincipal | CitizenPrincipal) -> str:
    with Session(runtime.engine) as db:
        token = start_session(db, runtime, person, issuer="test")
        db.commit()
    return token


def _find(runtime: Runtime, token: str) -> Any:
    with Session(runtime.engine) as db:
        found = find_session(db, runtime, token)
        db.commit()
    return found


def test_a_session_ends_after_the_idle_timeout(clocked: tuple[Runtime, Clock]) -> None:
    runtime, clock = clocked
    token = _start(runtime, OfficerPrincipal(subject="o-1", org="meerpunt", name="Olga"))
    clock.now += dt.timedelta(minutes=14)
    assert _find(runtime, token).officer.org == "meerpunt"
    clock.now += dt.timedelta(minutes=14)  # 14 minutes after the last use: still alive
    assert _find(runtime, token) is not None
    clock.now += dt.timedelta(minutes=15)
    assert _find(runtime, token) is None
    clock.now -= dt.timedelta(minutes=20)  # ended is ended, even if the clock goes back
    assert _find(runtime, token) is None


def test_a_session_ends_at_the_absolute_timeout_however_active(clocked: tuple[Runtime, Clock]) -> None:
    runtime, clock = clocked
    token = _start(runtime, OfficerPrincipal(subject="o-2", org="meerpunt"))
    for _ in range(47):  # every ten minutes for 7 h 50 min
        clock.now += dt.timedelta(minutes=10)
        assert _find(runtime, token) is not None
    clock.now += dt.timedelta(minutes=10)
    assert _find(runtime, token) is None


def test_the_table_holds_no_token_and_no_plain_bsn(clocked: tuple[Runtime, Clock]) -> None:
    runtime, _clock = clocked
    token = _start(runtime, CitizenPrincipal(subject="c-1", bsn="111222333"))
    with Session(runtime.engine) as db:
        row = db.get(WebSession, token_hash(token))
        assert row is not None
        stored = json.dumps(row.model_dump(mode="json"))
    assert token not in stored and "111222333" not in stored
    assert _find(runtime, token).citizen.bsn == "111222333"
    assert _find(runtime, token + "x") is None and _find(runtime, "") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/console/register", "/console/register"),
        ("//evil.example/x", "/console"),
        ("https://evil.example", "/console"),
        ("/\\evil.example", "/console"),
        (None, "/console"),
    ],
)
def test_only_local_paths_are_returned_to(value: str | None, expected: str) -> None:
    assert safe_return_to(value, "/console") == expected


def test_assurance_levels_are_ordered_and_unknown_fails_closed() -> None:
    levels = list(DEFAULT_ACR_LEVELS)
    assert acr_satisfies("http://eidas.europa.eu/LoA/high", EIDAS_SUBSTANTIAL, levels)
    assert acr_satisfies(EIDAS_SUBSTANTIAL, EIDAS_SUBSTANTIAL, levels)
    assert not acr_satisfies("http://eidas.europa.eu/LoA/low", EIDAS_SUBSTANTIAL, levels)
    assert not acr_satisfies("urn:made-up", EIDAS_SUBSTANTIAL, levels)
    assert not acr_satisfies(None, EIDAS_SUBSTANTIAL, levels)
    assert acr_satisfies(None, None, levels)


def test_settings_refuse_symmetric_and_none_algorithms() -> None:
    for algorithms in (["HS256"], ["none"], ["ES256", "HS512"], []):
        with pytest.raises(ValueError):
            TokenIssuer(issuer="https://idp.example", algorithms=algorithms)


ISSUER = "https://idp.example"


class FakeProvider:
    """Counts requests; serves a discovery document and an (empty or given) JWKS."""

    def __init__(self, issuer: str = ISSUER) -> None:
        self.issuer, self.jwks_fetches, self.keys = issuer, 0, []  # type: ignore[var-annotated]

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json={
                    "issuer": self.issuer,
                    "authorization_endpoint": ISSUER + "/auth",
                    "token_endpoint": ISSUER + "/token",
                    "jwks_uri": ISSUER + "/jwks",
                },
            )
        self.jwks_fetches += 1
        return httpx.Response(200, json={"keys": self.keys})


def _issuer(provider: FakeProvider, monotonic: Clock | None = None, **config: Any) -> OidcIssuer:
    client = httpx.Client(transport=httpx.MockTransport(provider.handler))
    settings = TokenIssuer(issuer=ISSUER, **config)
    if monotonic is None:
        return OidcIssuer(settings, http_client=client)
    return OidcIssuer(settings, http_client=client, monotonic=lambda: monotonic().timestamp())


def _token_with_kid(kid: str) -> str:
    import base64

    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'ES256', 'kid': kid})}.{b64({'iss': ISSUER})}.c2ln"


def test_unknown_kids_refetch_the_keys_at_most_once_per_interval() -> None:
    provider, clock = FakeProvider(), Clock()
    issuer = _issuer(provider, clock, jwks_refresh_min_seconds=30)
    for kid in ("a", "b", "c"):
        with pytest.raises(TokenInvalid):
            issuer.verify(_token_with_kid(kid), audience="x")
    assert provider.jwks_fetches == 1  # three forged kids, one fetch
    clock.now += dt.timedelta(seconds=31)
    with pytest.raises(TokenInvalid):
        issuer.verify(_token_with_kid("d"), audience="x")
    assert provider.jwks_fetches == 2


def test_a_discovery_document_naming_another_issuer_is_refused() -> None:
    issuer = _issuer(FakeProvider(issuer="https://other.example"))
    with pytest.raises(ProviderUnavailable):
        issuer.metadata()


def test_a_token_without_kid_or_with_a_disallowed_algorithm_is_refused() -> None:
    issuer = _issuer(FakeProvider())
    with pytest.raises(TokenInvalid, match="kid"):
        issuer.verify("eyJhbGciOiJFUzI1NiJ9.e30.c2ln", audience="x")  # {"alg": "ES256"}, no kid
    with pytest.raises(TokenInvalid, match="not accepted"):
        issuer.verify("eyJhbGciOiJub25lIn0.e30.", audience="x")


def test_old_sessions_are_purged_at_the_next_sign_in(clocked: tuple[Runtime, Clock]) -> None:
    runtime, clock = clocked
    old = _start(runtime, OfficerPrincipal(subject="o-old", org="meerpunt"))
    clock.now += dt.timedelta(hours=8, days=1, minutes=1)  # expired more than a day ago
    _start(runtime, OfficerPrincipal(subject="o-new", org="meerpunt"))
    with Session(runtime.engine) as db:
        assert db.get(WebSession, token_hash(old)) is None
