"""A real SMTP server for the tests (aiosmtpd over STARTTLS with AUTH) and S/MIME identities."""

from __future__ import annotations

import datetime as dt
import email
import hmac
import ssl
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def make_smime_identity(directory: Path, name: str, address: str) -> tuple[Path, Path]:
    """A self-signed S/MIME certificate (RSA 2048, emailProtection) and its key, as PEM files."""
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(address)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / f"{name}.pem", directory / f"{name}.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    login: str | None

    @property
    def message(self) -> Message:
        return email.message_from_bytes(self.content)


@dataclass
class SmtpSink:
    """What the relay did: accepted mails; RCPT answers can be scripted per address."""

    received: list[Received] = field(default_factory=list)
    #: address -> SMTP reply to RCPT TO (e.g. "550 5.1.1 Mailbox unavailable"), always.
    refuse: dict[str, str] = field(default_factory=dict)
    #: address -> how many more RCPTs to answer "451 4.3.0 Try again later".
    tempfail: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    attempts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if address in r.rcpt_tos]


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        with self.sink.lock:
            self.sink.attempts[address] += 1
            if address in self.sink.refuse:
                return self.sink.refuse[address]
            if self.sink.tempfail[address] > 0:
                self.sink.tempfail[address] -= 1
                return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        with self.sink.lock:
            self.sink.received.append(
                Received(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=list(envelope.rcpt_tos),
                    content=bytes(envelope.original_content or envelope.content or b""),
                    tls=session.ssl is not None,
                    login=login,
                )
            )
        return "250 Message accepted for delivery"


class _Authenticator:
    def __init__(self, username: str, password: str) -> None:
        self.username, self.password = username.encode(), password.encode()

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and hmac.compare_digest(data.login, self.username)
            and hmac.compare_digest(data.password, self.password)
        )
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)


class SmtpServer:
    """aiosmtpd on 127.0.0.1 requiring STARTTLS (certificate of the dev PKI) and AUTH."""

    def __init__(self, port: int, cert_file: Path, key_file: Path, username: str, password: str) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert_file), str(key_file))
        self.sink = SmtpSink()
        self.controller = Controller(
            _Handler(self.sink),
            hostname="127.0.0.1",
            port=port,
            server_hostname="localhost",
            tls_context=context,
            require_starttls=True,
            authenticator=_Authenticator(username, password),
            auth_required=True,
        )

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self.sink

    def __exit__(self, *_exc: object) -> None:
        self.controller.stop()
