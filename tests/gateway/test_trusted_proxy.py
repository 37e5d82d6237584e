"""TLS terminated at a trusted proxy (gateway/proxy.py): a real nginx in front, configured from
deploy/ingress/nginx.conf.template as ingress-nginx would be, and direct requests that play a proxy
(RFC 9440 `Client-Cert`) or a client pretending to be one."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.engine import Engine

from bench.cluster import Nginx
from gateway.app import create_app
from gateway.pki import (
    issue_client_certificate,
    load_certificate,
    load_private_key,
    make_ca,
    revoke_certificate,
    write_certificate,
    write_private_key,
)
from gateway.proxy import IGNORED_HEADERS, WarningThrottle, parse_client_cert_header
from gateway.runtime import build_runtime
from tests.support import MUNICIPALITY, DevEnv, ServerThread, client_context

pytestmark = pytest.mark.skipif(
    shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(), reason="nginx not installed"
)


@pytest.fixture(scope="module")
def certs(dev_env: DevEnv, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    """Client certificates for the bad paths: another CA's, an expired one, a revoked one."""
    directory = tmp_path_factory.mktemp("proxy-certs")
    ca_cert = load_certificate(dev_env.directory / "pki" / "ca.pem")
    ca_key = load_private_key(dev_env.directory / "pki" / "ca.key")
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_ca = make_ca(other_key, name="Not The Meerpunt CA")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)

    def make(name: str, ca: x509.Certificate, key: ec.EllipticCurvePrivateKey, **dates: dt.datetime) -> None:
        own = ec.generate_private_key(ec.SECP256R1())
        cert = issue_client_certificate(ca, key, own, oin=MUNICIPALITY, name=name, **dates)  # type: ignore[arg-type]
        write_certificate(directory / f"{name}.pem", cert)
        write_private_key(directory / f"{name}.key", own)

    make("other-ca", other_ca, other_key)
    make("expired", ca_cert, ca_key, not_before=past, not_after=past + dt.timedelta(days=30))
    make("revoked", ca_cert, ca_key)
    revoke_certificate(dev_env.directory, directory / "revoked.pem")
    return {
        name: (str(directory / f"{name}.pem"), str(directory / f"{name}.key"))
        for name in ("other-ca", "expired", "revoked")
    }


def _gateway(dev_env: DevEnv, engine: Engine, **proxy: object) -> Iterator[ServerThread]:
    settings = dev_env.settings.model_copy(update={"background_workers": False, **proxy})
    runtime = build_runtime(settings, engine)
    with ServerThread(create_app(settings, runtime), settings) as running:
        yield running


@pytest.fixture(scope="module")
def behind_nginx(dev_env: DevEnv, engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """nginx (TLS, optional_no_ca, escaped PEM header) → the gateway over HTTPS on loopback."""
    for gateway in _gateway(
        dev_env,
        engine,
        trusted_proxies=["127.0.0.1/32"],
        trusted_proxy_cert_header="ssl-client-cert",
        trusted_proxy_cert_format="nginx-escaped-pem",
    ):
        nginx = Nginx(tmp_path_factory.mktemp("nginx"), dev_env.directory / "pki", gateway.port).start()
        try:
            yield nginx.base_url
        finally:
            nginx.stop()


@pytest.fixture(scope="module")
def rfc9440_gateway(dev_env: DevEnv, engine: Engine) -> Iterator[ServerThread]:
    """Trusts loopback, reading RFC 9440 `Client-Cert` (the test plays the proxy)."""
    yield from _gateway(dev_env, engine, trusted_proxies=["127.0.0.0/8"])


@pytest.fixture(scope="module")
def untrusting_gateway(dev_env: DevEnv, engine: Engine) -> Iterator[ServerThread]:
    """Proxy mode on, but loopback is not a proxy address: every header here is a client's."""
    yield from _gateway(dev_env, engine, trusted_proxies=["10.99.0.0/16"])


def _get(env: DevEnv, base_url: str, cert: tuple[str, str] | None = None, **headers: str) -> httpx.Response:
    with httpx.Client(base_url=base_url, verify=client_context(env, cert=cert), timeout=10) as client:
        return client.get("/v1/inbox", headers=headers)


def _slug(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/problem+json")
    return str(response.json()["type"]).rsplit("/", 1)[-1]


def _rfc9440(cert_file: str) -> str:
    der = x509.load_pem_x509_certificate(Path(cert_file).read_bytes()).public_bytes(
        serialization.Encoding.DER
    )
    return ":" + base64.b64encode(der).decode() + ":"


# --- through nginx -------------------------------------------------------------------------------


def test_partner_is_authenticated_through_nginx(dev_env: DevEnv, behind_nginx: str) -> None:
    response = _get(dev_env, behind_nginx, dev_env.partner_cert(MUNICIPALITY))
    assert response.status_code == 200, response.text
    assert "items" in response.json()


def test_no_certificate_through_nginx_is_401(dev_env: DevEnv, behind_nginx: str) -> None:
    response = _get(dev_env, behind_nginx)
    assert response.status_code == 401
    assert _slug(response) == "client-certificate-required"


def test_a_clients_own_header_does_not_pass_nginx(dev_env: DevEnv, behind_nginx: str) -> None:
    """nginx overwrites `ssl-client-cert`: a client cannot name a certificate it does not hold."""
    pem = Path(dev_env.partner_cert(MUNICIPALITY)[0]).read_text()
    response = _get(dev_env, behind_nginx, **{"ssl-client-cert": quote(pem), "Client-Cert": "x"})
    assert response.status_code == 401


def test_another_cas_certificate_through_nginx_is_403(
    dev_env: DevEnv, behind_nginx: str, certs: dict[str, tuple[str, str]]
) -> None:
    # optional_no_ca: nginx passes it on, the gateway's own chain check refuses it.
    response = _get(dev_env, behind_nginx, certs["other-ca"])
    assert response.status_code == 403
    assert _slug(response) == "certificate-untrusted"


def test_revoked_certificate_through_nginx_is_403(
    dev_env: DevEnv, behind_nginx: str, certs: dict[str, tuple[str, str]]
) -> None:
    response = _get(dev_env, behind_nginx, certs["revoked"])
    assert response.status_code == 403
    assert _slug(response) == "certificate-revoked"


def test_expired_certificate_through_nginx_is_refused(
    dev_env: DevEnv, behind_nginx: str, certs: dict[str, tuple[str, str]]
) -> None:
    # nginx itself answers 400 for an expired certificate; the gateway's check is tested below.
    assert _get(dev_env, behind_nginx, certs["expired"]).status_code in (400, 403)


# --- a proxy speaking RFC 9440 ----------------------------------------------------------------------


def test_rfc9440_header_from_a_trusted_address_authenticates(
    dev_env: DevEnv, rfc9440_gateway: ServerThread
) -> None:
    header = _rfc9440(dev_env.partner_cert(MUNICIPALITY)[0])
    response = _get(dev_env, rfc9440_gateway.base_url, **{"Client-Cert": header})
    assert response.status_code == 200, response.text


def test_expired_forwarded_certificate_is_403(
    dev_env: DevEnv, rfc9440_gateway: ServerThread, certs: dict[str, tuple[str, str]]
) -> None:
    response = _get(dev_env, rfc9440_gateway.base_url, **{"Client-Cert": _rfc9440(certs["expired"][0])})
    assert response.status_code == 403
    assert _slug(response) == "certificate-expired"


def test_other_ca_forwarded_certificate_is_403(
    dev_env: DevEnv, rfc9440_gateway: ServerThread, certs: dict[str, tuple[str, str]]
) -> None:
    response = _get(dev_env, rfc9440_gateway.base_url, **{"Client-Cert": _rfc9440(certs["other-ca"][0])})
    assert response.status_code == 403
    assert _slug(response) == "certificate-untrusted"


@pytest.mark.parametrize("garbage", ["not-a-cert", ":bm90IGEgY2VydA==:", ":%%%:", ":AAAA"])
def test_garbage_header_from_a_trusted_address_is_401(
    dev_env: DevEnv, rfc9440_gateway: ServerThread, garbage: str
) -> None:
    response = _get(dev_env, rfc9440_gateway.base_url, **{"Client-Cert": garbage})
    assert response.status_code == 401
    assert _slug(response) == "forwarded-certificate-invalid"


@pytest.mark.parametrize("empty", ["", "::"])
def test_an_empty_header_means_no_certificate(
    dev_env: DevEnv, rfc9440_gateway: ServerThread, empty: str
) -> None:
    response = _get(dev_env, rfc9440_gateway.base_url, **{"Client-Cert": empty})
    assert response.status_code == 401
    assert _slug(response) == "client-certificate-required"


def test_a_trusted_proxy_without_header_does_not_lend_its_own_certificate(
    dev_env: DevEnv, rfc9440_gateway: ServerThread
) -> None:
    """From a proxy address only the header counts: the connection's certificate (here a
    partner's) is the proxy's, not a partner's."""
    response = _get(dev_env, rfc9440_gateway.base_url, dev_env.partner_cert(MUNICIPALITY))
    assert response.status_code == 401


# --- a client that is not a proxy -----------------------------------------------------------------


def test_header_from_an_untrusted_address_is_ignored_and_logged(
    dev_env: DevEnv, untrusting_gateway: ServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    header = _rfc9440(dev_env.partner_cert(MUNICIPALITY)[0])
    ignored_before = IGNORED_HEADERS._value.get()
    with caplog.at_level(logging.WARNING, logger="meerpunt.gateway.proxy"):
        response = _get(dev_env, untrusting_gateway.base_url, **{"Client-Cert": header})
        for _ in range(4):  # a client repeating it: counted, but warned about once a minute
            assert _get(dev_env, untrusting_gateway.base_url, **{"Client-Cert": header}).status_code == 401
    assert response.status_code == 401  # the header did not authenticate anybody
    logged = [r.getMessage() for r in caplog.records if r.name == "meerpunt.gateway.proxy"]
    assert [m for m in logged if "ignored client-cert header from 127.0.0.1" in m] == [
        "ignored client-cert header from 127.0.0.1: not a trusted proxy address"
    ], logged
    assert IGNORED_HEADERS._value.get() - ignored_before == 5
    assert not any(header[1:20] in m for m in logged)  # the header's content is not logged
    # A direct connection with its own certificate still works as always.
    assert _get(dev_env, untrusting_gateway.base_url, dev_env.partner_cert(MUNICIPALITY)).status_code == 200


def test_ignored_header_warnings_are_throttled_per_address() -> None:
    now = [0.0]
    throttle = WarningThrottle(60.0, clock=lambda: now[0])
    assert throttle.admit("192.0.2.1") == 0
    assert throttle.admit("192.0.2.1") is None
    assert throttle.admit("192.0.2.2") == 0  # another address has its own allowance
    now[0] = 59.9
    assert throttle.admit("192.0.2.1") is None
    now[0] = 60.0
    assert throttle.admit("192.0.2.1") == 2  # the two held back are reported with the next warning
    assert throttle.admit("192.0.2.1") is None


def test_header_parsing_accepts_both_formats(dev_env: DevEnv) -> None:
    pem = Path(dev_env.partner_cert(MUNICIPALITY)[0]).read_text()
    der = parse_client_cert_header(quote(pem), "nginx-escaped-pem")
    assert parse_client_cert_header(":" + base64.b64encode(der).decode() + ":", "rfc9440") == der
    with pytest.raises(ValueError):
        parse_client_cert_header(base64.b64encode(der).decode(), "rfc9440")  # no colons
