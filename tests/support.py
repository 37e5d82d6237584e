"""Small builders and clients shared by the tests (each test module keeps its own data builders)."""

from __future__ import annotations

import random
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.auth import mint_dev_token
from gateway.pki import DEV_AUDIENCE, DEV_ISSUER, load_private_key
from gateway.settings import Settings
from gateway.tls import PeerCertH11Protocol, build_client_ssl_context, build_server_ssl_context

# Test partners: a small registry so the development PKI is made in well under a second.
MUNICIPALITY = "99990000000000000001"
JGZ = "99990000000000000004"
SCHOOL = "99990000000000000027"
YOUTH_CARE = "99990000000000000014"
FOUR_EYES = "99990000000000000019"
PUSH_PARTNER = "99990000000000000031"

TEST_PARTNERS_TOML = f"""
[[partners]]
oin = "{MUNICIPALITY}"
name = "Gemeente Zoetermeer Jeugd- en Gezinshulp (JGH)"
sector = "municipality"
delivery = "pull"

[[partners]]
oin = "{JGZ}"
name = "Stichting Jeugdgezondheidszorg Zuid-Holland West"
sector = "health_care"
delivery = "pull"

[[partners]]
oin = "{SCHOOL}"
name = "OPOZ"
sector = "primary_education"
delivery = "pull"

[[partners]]
oin = "{YOUTH_CARE}"
name = "Jeugdbescherming West"
sector = "youth_care"
delivery = "pull"

[[partners]]
oin = "{FOUR_EYES}"
name = "Kinderpraktijk Zoetermeer"
sector = "youth_care"
delivery = "pull"
four_eyes = true

[[partners]]
oin = "{PUSH_PARTNER}"
name = "De Drie Ballonnen"
sector = "childcare"
delivery = "push"
webhook_url = "https://127.0.0.1:1/webhook"
"""


def new_bsn(rng: random.Random | None = None) -> str:
    """A random BSN that passes the 11-check (so tests never share a subject by accident)."""
    r = rng or random
    while True:
        digits = [r.randint(0, 9) for _ in range(8)]
        digits[0] = r.randint(1, 9)
        total = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True))
        last = total % 11
        if last <= 9:
            candidate = "".join(map(str, digits)) + str(last)
            if _eleven_check(candidate):
                return candidate


def _eleven_check(bsn: str) -> bool:
    weights = (9, 8, 7, 6, 5, 4, 3, 2, -1)
    return sum(int(d) * w for d, w in zip(bsn, weights, strict=True)) % 11 == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class DevEnv:
    directory: Path
    settings: Settings

    @property
    def ca_file(self) -> Path:
        return self.directory / "pki" / "ca.pem"

    def partner_cert(self, oin: str) -> tuple[str, str]:
        base = self.directory / "pki" / "partners" / oin
        return str(base.with_suffix(".pem")), str(base.with_suffix(".key"))

    def encryption_key_file(self, oin: str) -> Path:
        return self.directory / "pki" / "partners" / f"{oin}.enc.key"

    def token(
        self, role: str, *, org: str | None = None, bsn: str | None = None, name: str | None = None
    ) -> str:
        key = load_private_key(self.directory / "pki" / "token-signing.key")
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return mint_dev_token(
            key, issuer=DEV_ISSUER, audience=DEV_AUDIENCE, role=role, org=org, bsn=bsn, name=name
        )

    def officer_headers(self, org: str, name: str = "officer") -> dict[str, str]:
        return {"Authorization": "Bearer " + self.token("privacy_officer", org=org, name=name)}

    def citizen_headers(self, bsn: str) -> dict[str, str]:
        return {"Authorization": "Bearer " + self.token("citizen", bsn=bsn)}


class ServerThread:
    """A real uvicorn HTTPS server with client-certificate verification, in a background thread."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.port = free_port()
        context = build_server_ssl_context(settings)
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            http=PeerCertH11Protocol,
            ssl_certfile=str(settings.tls_cert_file),
            ssl_keyfile=str(settings.tls_key_file),
            ssl_context_factory=lambda _config, _default: context,
            log_level="warning",
            access_log=False,
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def client_context(
    env: DevEnv, oin: str | None = None, cert: tuple[str, str] | None = None
) -> ssl.SSLContext:
    if oin is not None:
        cert = env.partner_cert(oin)
    return build_client_ssl_context(str(env.ca_file), *(cert or (None, None)))


@contextmanager
def partner_client(env: DevEnv, base_url: str, oin: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, verify=client_context(env, oin), timeout=30) as client:
        yield client


def idempotency_key() -> str:
    return str(uuid.uuid4())
