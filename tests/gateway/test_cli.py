"""The operator CLI of SPEC §7, run as a real process."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from jose import jwt

from gateway.auth import TokenVerifier
from gateway.sealed_tokens import sealing_key
from gateway.settings import load_settings
from tests.support import free_port

CLI = [sys.executable, "-m", "gateway"]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, env=env, check=False)


def test_init_is_idempotent_and_complete(tmp_path: Path) -> None:
    assert _run("init", "--dir", str(tmp_path)).returncode == 0
    pki = tmp_path / "pki"
    for name in ("ca.pem", "server.pem", "crl.pem", "token-signing.key", "gateway-signing.key"):
        assert (pki / name).exists(), name
    partner_certs = sorted((pki / "partners").glob("*[0-9].pem"))
    assert len(partner_certs) >= 40
    before = {p.name: p.read_bytes() for p in pki.rglob("*") if p.is_file()}
    config_before = (tmp_path / "gateway.toml").read_text()
    assert _run("init", "--dir", str(tmp_path)).returncode == 0
    after = {p.name: p.read_bytes() for p in pki.rglob("*") if p.is_file()}
    assert before == after
    assert (tmp_path / "gateway.toml").read_text() == config_before
    assert oct((pki / "ca.key").stat().st_mode & 0o777) == "0o600"


def test_dev_token_prints_a_verifiable_officer_token(tmp_path: Path) -> None:
    _run("init", "--dir", str(tmp_path))
    result = _run(
        "dev-token",
        "--config",
        str(tmp_path / "gateway.toml"),
        "--role",
        "privacy_officer",
        "--org",
        "meerpunt",
    )
    assert result.returncode == 0, result.stderr
    claims = jwt.get_unverified_claims(result.stdout.strip())
    assert claims["role"] == "privacy_officer"
    assert claims["org"] == "meerpunt"
    config = str(tmp_path / "gateway.toml")
    assert _run("dev-token", "--config", config, "--role", "citizen").returncode != 0
    # A BSN that fails the 11-check, or an organisation that is not a partner, is refused.
    assert _run("dev-token", "--config", config, "--role", "citizen", "--bsn", "123").returncode != 0
    citizen = _run("dev-token", "--config", config, "--role", "citizen", "--bsn", "111222333")
    assert citizen.returncode == 0, citizen.stderr
    _assert_no_bsn_readable(citizen.stdout, "111222333")
    # Sealed, yet a bearer token the same environment's gateway accepts.
    settings = load_settings(tmp_path / "gateway.toml")
    verifier = TokenVerifier(settings.token_issuers, sealing_key=sealing_key(settings.bsn_hash_key_bytes()))
    assert verifier.citizen(citizen.stdout.strip()).bsn == "111222333"
    refused = _run("dev-token", "--config", config, "--role", "privacy_officer", "--org", "acme")
    assert refused.returncode != 0 and "--org" in refused.stderr


def _assert_no_bsn_readable(output: str, bsn: str) -> None:
    """Not in the text, nor in any base64url part of a JOSE token in it (a JWS payload decodes)."""
    assert bsn not in output
    for part in output.strip().split("."):
        decoded = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        assert bsn.encode() not in decoded


def test_serve_answers_over_mutual_tls(tmp_path: Path) -> None:
    _run("init", "--dir", str(tmp_path))
    port = free_port()
    env = {
        **os.environ,
        "MEERPUNT_DATABASE_URL": os.environ.get("MEERPUNT_TEST_SERVE_DB", f"sqlite:///{tmp_path}/s.db"),
        # The strict mode: the container health check must get through it too.
        "MEERPUNT_TLS_CLIENT_AUTH": "required",
    }
    process = subprocess.Popen(
        [*CLI, "serve", "--config", str(tmp_path / "gateway.toml"), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        oin = "99990000000000000001"
        partners = tmp_path / "pki" / "partners"
        cert = (str(partners / f"{oin}.pem"), str(partners / f"{oin}.key"))
        import ssl

        context = ssl.create_default_context(cafile=str(tmp_path / "pki" / "ca.pem"))
        context.load_cert_chain(*cert)
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"https://localhost:{port}/v1/partners", verify=context, timeout=5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        assert response.status_code == 200
        assert any(p["oin"] == oin for p in response.json()["items"])
        config = str(tmp_path / "gateway.toml")
        healthy = _run("healthcheck", "--config", config, "--port", str(port), env=env)
        assert healthy.returncode == 0, healthy.stderr
        ready = _run("healthcheck", "--config", config, "--port", str(port), "--path", "/readyz", env=env)
        assert ready.returncode == 0, ready.stderr
        assert _run("healthcheck", "--config", config, "--port", str(free_port()), env=env).returncode == 1
    finally:
        process.terminate()
        process.wait(timeout=20)
