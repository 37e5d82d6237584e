"""The mTLS rejection matrix, over real TLS connections to a running server (issue 2, art. 19)."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

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
from gateway.runtime import Runtime
from gateway.settings import load_settings
from gateway.tls import PeerCertH11Protocol
from tests.support import MUNICIPALITY, DevEnv, ServerThread, client_context


def _make_client_cert(
    directory: Path,
    name: str,
    *,
    oin: str | None,
    ca: tuple[object, ec.EllipticCurvePrivateKey] | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    env: DevEnv,
) -> tuple[str, str]:
    if ca is None:
        ca_cert = load_certificate(env.directory / "pki" / "ca.pem")
        ca_key = load_private_key(env.directory / "pki" / "ca.key")
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    else:
        ca_cert, ca_key = ca  # type: ignore[assignment]
    key = ec.generate_private_key(ec.SECP256R1())
    cert = issue_client_certificate(
        ca_cert,
        ca_key,
        key,
        oin=oin,
        name=name,
        not_before=not_before,
        not_after=not_after,  # type: ignore[arg-type]
    )
    cert_file, key_file = directory / f"{name}.pem", directory / f"{name}.key"
    write_certificate(cert_file, cert)
    write_private_key(key_file, key)
    return str(cert_file), str(key_file)


def _get(env: DevEnv, base_url: str, cert: tuple[str, str] | None) -> httpx.Response:
    with httpx.Client(base_url=base_url, verify=client_context(env, cert=cert), timeout=10) as client:
        return client.get("/v1/partners")


def test_registered_partner_is_admitted(dev_env: DevEnv, server: ServerThread) -> None:
    response = _get(dev_env, server.base_url, dev_env.partner_cert(MUNICIPALITY))
    assert response.status_code == 200
    oins = {p["oin"] for p in response.json()["items"]}
    assert MUNICIPALITY in oins


def test_no_certificate_is_refused_with_401(dev_env: DevEnv, server: ServerThread) -> None:
    response = _get(dev_env, server.base_url, None)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "art. 19" in response.json()["detail"]


def test_foreign_ca_fails_the_handshake(dev_env: DevEnv, server: ServerThread, tmp_path: Path) -> None:
    foreign_key = ec.generate_private_key(ec.SECP256R1())
    foreign_ca = make_ca(foreign_key, name="Not Meerpunt CA")
    cert = _make_client_cert(tmp_path, "foreign", oin=MUNICIPALITY, ca=(foreign_ca, foreign_key), env=dev_env)
    with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
        _get(dev_env, server.base_url, cert)


def test_expired_certificate_fails_the_handshake(
    dev_env: DevEnv, server: ServerThread, tmp_path: Path
) -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    cert = _make_client_cert(
        tmp_path,
        "expired",
        oin=MUNICIPALITY,
        not_before=past,
        not_after=past + dt.timedelta(days=30),
        env=dev_env,
    )
    with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
        _get(dev_env, server.base_url, cert)


def test_revoked_certificate_is_refused_with_403(
    dev_env: DevEnv, server: ServerThread, tmp_path: Path
) -> None:
    cert = _make_client_cert(tmp_path, "to-revoke", oin=MUNICIPALITY, env=dev_env)
    assert _get(dev_env, server.base_url, cert).status_code == 200
    revoke_certificate(dev_env.directory, Path(cert[0]))
    response = _get(dev_env, server.base_url, cert)
    assert response.status_code == 403
    assert response.json()["type"].endswith("certificate-revoked")
    # The partner's own (unrevoked) certificate still works.
    assert _get(dev_env, server.base_url, dev_env.partner_cert(MUNICIPALITY)).status_code == 200


def test_unknown_oin_is_refused_with_403(dev_env: DevEnv, server: ServerThread, tmp_path: Path) -> None:
    cert = _make_client_cert(tmp_path, "stranger", oin="12345678901234567890", env=dev_env)
    response = _get(dev_env, server.base_url, cert)
    assert response.status_code == 403
    assert response.json()["type"].endswith("unknown-partner")
    assert "12345678901234567890" in response.json()["detail"]


def test_certificate_without_oin_is_refused_with_403(
    dev_env: DevEnv, server: ServerThread, tmp_path: Path
) -> None:
    cert = _make_client_cert(tmp_path, "no-oin", oin=None, env=dev_env)
    response = _get(dev_env, server.base_url, cert)
    assert response.status_code == 403


def _old_tls_client(env: DevEnv) -> ssl.SSLContext:
    """A client that offers only TLS 1.0-1.1, with the cipher floor lowered so that it really does."""
    context = client_context(env, MUNICIPALITY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


def _handshake(context: ssl.SSLContext, port: int) -> str | None:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        return tls.version()


@contextmanager
def _permissive_server(env: DevEnv) -> Iterator[int]:
    """A TLS server that still speaks TLS 1.0/1.1: the control that shows the client above can."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.load_cert_chain(
        str(env.directory / "pki" / "server.pem"), str(env.directory / "pki" / "server.key")
    )
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve_once() -> None:
        connection, _ = listener.accept()
        with contextlib.suppress(OSError), context.wrap_socket(connection, server_side=True) as tls:
            tls.recv(1)

    thread = threading.Thread(target=serve_once, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        listener.close()
        thread.join(timeout=5)


def test_tls_below_1_2_is_refused_by_the_server(dev_env: DevEnv, server: ServerThread) -> None:
    client = _old_tls_client(dev_env)
    with _permissive_server(dev_env) as port:
        assert _handshake(client, port) in ("TLSv1", "TLSv1.1")
    with pytest.raises(ssl.SSLError) as refused:
        _handshake(client, server.port)
    # The gateway ended the handshake (an alert or a close); the control above shows the client
    # would have negotiated, so this is not the client giving up on its own.
    reason = str(refused.value).upper()
    assert "PROTOCOL_VERSION" in reason or "EOF" in reason, reason
    assert "NO_CIPHERS" not in reason and "NO_PROTOCOLS" not in reason


def test_tls_1_2_and_1_3_are_accepted(dev_env: DevEnv, server: ServerThread) -> None:
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        context = client_context(dev_env, MUNICIPALITY)
        context.minimum_version = context.maximum_version = version
        assert _handshake(context, server.port) == {"TLSv1_2": "TLSv1.2", "TLSv1_3": "TLSv1.3"}[version.name]


def test_required_mode_refuses_clients_without_certificate_in_the_handshake(
    dev_env: DevEnv, runtime: Runtime
) -> None:
    settings = load_settings(
        dev_env.directory / "gateway.toml",
        database_url=dev_env.settings.database_url,
        tls_client_auth="required",
        background_workers=False,
    )
    with ServerThread(create_app(settings, runtime), settings) as strict:
        with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
            _get(dev_env, strict.base_url, None)
        assert _get(dev_env, strict.base_url, dev_env.partner_cert(MUNICIPALITY)).status_code == 200


def test_the_pure_python_protocol_exposes_the_certificate_too(dev_env: DevEnv, runtime: Runtime) -> None:
    settings = load_settings(
        dev_env.directory / "gateway.toml",
        database_url=dev_env.settings.database_url,
        background_workers=False,
    )
    with ServerThread(create_app(settings, runtime), settings, protocol=PeerCertH11Protocol) as h11:
        assert _get(dev_env, h11.base_url, dev_env.partner_cert(MUNICIPALITY)).status_code == 200
        assert _get(dev_env, h11.base_url, None).status_code == 401


def test_a_request_the_server_cannot_parse_gets_problem_json(dev_env: DevEnv, server: ServerThread) -> None:
    """uvicorn answers an unparsable request itself; it still gets the API's error format."""
    import json as json_module
    import socket

    context = client_context(dev_env, MUNICIPALITY)
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(b"DELETE /v1/subjects/1#2\x01/restriction HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"content-type: application/problem+json" in head.lower()
    assert json_module.loads(body)["status"] == 400
