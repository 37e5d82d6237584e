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
from gateway.serve_defaults import KEEP_ALIVE_SECONDS
from gateway.settings import Settings
from gateway.tls import PeerCertProtocol, build_client_ssl_context, build_server_ssl_context

# Test partners: a small registry so the development PKI is made in well under a second.
MUNICIPALITY = "99990000000000000001"
JGZ = "99990000000000000004"
SCHOOL = "99990000000000000027"
YOUTH_CARE = "99990000000000000014"
FOUR_EYES = "99990000000000000019"
PUSH_PARTNER = "99990000000000000031"
#: Partners reached by e-mail (art. 19.2): S/MIME, notification + pickup, and one whose server refuses.
EMAIL_SMIME = "99990000000000000041"
EMAIL_NOTIFY = "99990000000000000042"
EMAIL_REFUSED = "99990000000000000043"
SMIME_ADDRESS = "administratie@school.example"
NOTIFY_ADDRESS = "post@praktijk.example"
REFUSED_ADDRESS = "nobody@gone.example"


TEST_PARTNERS_TEMPLATE = f"""
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
webhook_url = "https://localhost:{{webhook_port}}/webhook"

[[partners]]
oin = "{EMAIL_SMIME}"
name = "Basisschool De Regenboog"
sector = "primary_education"
delivery = "email"
email = "{SMIME_ADDRESS}"
email_mode = "smime"
smime_certificate = "smime/{EMAIL_SMIME}.pem"

[[partners]]
oin = "{EMAIL_NOTIFY}"
name = "Kinderpraktijk Het Anker"
sector = "youth_care"
delivery = "email"
email = "{NOTIFY_ADDRESS}"
email_mode = "notify"

[[partners]]
oin = "{EMAIL_REFUSED}"
name = "Opgeheven praktijk"
sector = "welfare"
delivery = "email"
email = "{REFUSED_ADDRESS}"
email_mode = "notify"
"""


def partners_toml_for_tests(webhook_port: int) -> str:
    return TEST_PARTNERS_TEMPLATE.replace("{webhook_port}", str(webhook_port))


def new_bsn(rng: random.Random | None = None) -> str:
    """A random BSN that passes the 11-check (so tests never share a subject by accident)."""
    r = rng or random
    while True:
        digits = [r.randint(0, 9) for _ in range(8)]
        digits[0] = r.randint(1, 9)
        total = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True))
        last = total % 11  # the last digit weighs -1: then the whole sum is a multiple of 11
        if last <= 9:
            return "".join(map(str, digits)) + str(last)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class DevEnv:
    directory: Path
    settings: Settings
    webhook_port: int = 0

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

    def __init__(
        self,
        app: Any,
        settings: Settings,
        protocol: type[Any] = PeerCertProtocol,
        port: int | None = None,
        graceful_timeout: int | None = None,
    ) -> None:
        self.port = port or free_port()
        context = build_server_ssl_context(settings)
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            http=protocol,
            loop="uvloop",
            ssl_certfile=str(settings.tls_cert_file),
            ssl_keyfile=str(settings.tls_key_file),
            ssl_context_factory=lambda _config, _default: context,
            log_level="warning",
            access_log=False,
            proxy_headers=False,
            server_header=False,
            lifespan="on",
            timeout_graceful_shutdown=graceful_timeout,
            # As `serve` does: with uvicorn's default of 5 s, a client idle in a test's slower steps
            # (a browser flow) could send on a connection the server was closing at that moment.
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
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


class WebhookReceiver:
    """A partner system's real HTTPS webhook: requires the gateway's client certificate (mTLS).

    `fail_first[message_id] = n` makes the first n deliveries of that message answer 503;
    `fail_first_about[bsn] = n` the first n deliveries of each message about that subject (a test
    knows its own random BSN before it sends, and no other test's message is touched).
    """

    def __init__(self, env: DevEnv, port: int) -> None:
        import http.server
        import json as _json

        self.port = port
        self.received: list[dict[str, Any]] = []
        self.attempts: dict[str, int] = {}
        self.headers: dict[str, dict[str, str]] = {}
        self.fail_first: dict[str, int] = {}
        self.fail_first_about: dict[str, int] = {}
        self.fail_next = 0
        self.peer_subjects: list[str] = []
        receiver = self
        lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = _json.loads(self.rfile.read(length))
                message_id = self.headers.get("Meerpunt-Message-Id", "")
                with lock:
                    receiver.attempts[message_id] = receiver.attempts.get(message_id, 0) + 1
                    receiver.headers[message_id] = dict(self.headers.items())
                    limit = receiver.fail_first.get(message_id, 0)
                    limit = max(limit, receiver.fail_first_about.get(str(body["subject"]["bsn"]), 0))
                    failing = receiver.attempts[message_id] <= limit
                    if receiver.fail_next > 0:
                        receiver.fail_next -= 1
                        failing = True
                    if not failing:
                        receiver.received.append(body)
                    peer = self.connection.getpeercert()  # type: ignore[attr-defined]
                    receiver.peer_subjects.append(str(peer.get("subject")) if peer else "")
                self.send_response(503 if failing else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        pki = env.directory / "pki"
        context.load_cert_chain(str(pki / "server.pem"), str(pki / "server.key"))
        context.load_verify_locations(cafile=str(pki / "ca.pem"))
        context.verify_mode = ssl.CERT_REQUIRED
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def ids(self) -> list[str]:
        return [str(item["id"]) for item in self.received]

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
