"""E-mail delivery (art. 19.2) through a real SMTP server (aiosmtpd, STARTTLS + AUTH).

S/MIME mails are decrypted with `openssl cms -decrypt`, as a partner's mail client would; the
pickup of `notify` mails goes through the service the pickup page calls.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import threading
import time
from collections.abc import Callable
from email import message_from_bytes
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from adapters import mail
from adapters.email import send_mail
from audit.models import RegisterEntry
from exchange.models import OutboxItem
from exchange.pickup import AlreadyPickedUp, pick_up
from gateway.db import unit_of_work
from gateway.problems import NotFound
from gateway.runtime import Runtime
from tests.exchange.test_disclosures import consent_body, disclosure_body, register_consent, send
from tests.mail_support import SmtpSink
from tests.support import (
    EMAIL_NOTIFY,
    EMAIL_REFUSED,
    EMAIL_SMIME,
    JGZ,
    NOTIFY_ADDRESS,
    REFUSED_ADDRESS,
    SCHOOL,
    SMIME_ADDRESS,
    DevEnv,
    new_bsn,
)

Client = Callable[[str], httpx.Client]
PROFESSIONAL = {"id": "hk-7", "name": "Henk Kramer", "role": "jeugdhulpverlener"}


def wait_for_status(
    client: httpx.Client, message_id: str, wanted: str, timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status: dict[str, Any] = client.get(f"/v1/disclosures/{message_id}").json()
        if status["status"] == wanted or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def kinds(engine: Engine, message_id: str) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(
            select(RegisterEntry).where(RegisterEntry.disclosure_id == message_id).order_by(RegisterEntry.seq)
        ).all()
    return [row.kind for row in rows]


def disclose(client_for: Client, recipient: str, bsn: str) -> tuple[httpx.Client, str]:
    sender = client_for(JGZ)
    register_consent(sender, consent_body(bsn, recipient, ["contact"]))
    response = send(sender, disclosure_body(bsn, recipient, ["contact"]))
    assert response.status_code == 202, response.text
    return sender, str(response.json()["id"])


def openssl_decrypt(p7m: bytes, dev_env: DevEnv, tmp_path: Path) -> bytes:
    smime = dev_env.directory / "smime"
    mail_file = tmp_path / "mail.eml"
    mail_file.write_bytes(p7m)
    result = subprocess.run(
        [
            "openssl", "cms", "-decrypt", "-in", str(mail_file),
            "-recip", str(smime / f"{EMAIL_SMIME}.pem"), "-inkey", str(smime / f"{EMAIL_SMIME}.key"),
        ],
        capture_output=True,
        check=False,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


# --------------------------------------------------------------------- S/MIME


def test_smime_disclosure_is_decrypted_by_openssl_and_acknowledged_once(
    client_for: Client, smtp: SmtpSink, engine: Engine, dev_env: DevEnv, tmp_path: Path
) -> None:
    bsn = new_bsn()
    sender, message_id = disclose(client_for, EMAIL_SMIME, bsn)

    status = wait_for_status(sender, message_id, "acknowledged")
    assert status["status"] == "acknowledged", status
    [received] = [r for r in smtp.to(SMIME_ADDRESS) if message_id in r.content.decode("ascii", "replace")]
    assert received.tls and received.login == "gateway"  # STARTTLS and AUTH with the relay
    outer = received.message
    assert outer.get_content_type() == "application/pkcs7-mime"
    assert outer.get_param("smime-type") == "enveloped-data"
    assert bsn not in received.content.decode("ascii", "replace")  # nothing personal outside the CMS
    assert message_id in str(outer["Subject"])

    inner = message_from_bytes(openssl_decrypt(received.content, dev_env, tmp_path))
    parts = {part.get_content_type(): part for part in inner.walk() if not part.is_multipart()}
    text = parts["text/plain"].get_payload(decode=True).decode("utf-8")
    assert f"Betrokkene (BSN): {bsn}" in text
    data = json.loads(parts["application/json"].get_payload(decode=True))
    assert data["id"] == message_id and data["subject"] == {"bsn": bsn}
    assert data["payload"] == disclosure_body(bsn, EMAIL_SMIME, ["contact"])["payload"]
    # The salted hash in the receipt can be checked by the recipient.
    import hashlib

    plain = json.dumps(data["payload"], separators=(",", ":"), sort_keys=False).encode()
    assert hashlib.sha256(bytes.fromhex(data["payload_salt"]) + plain).hexdigest() == status.get(
        "payload_sha256", data["payload_sha256"]
    )

    assert kinds(engine, message_id) == ["disclosure_sent", "disclosure_received"]
    with Session(engine) as session:
        received_entry = session.exec(
            select(RegisterEntry).where(
                RegisterEntry.disclosure_id == message_id, RegisterEntry.kind == "disclosure_received"
            )
        ).one()
    assert received_entry.content["details"]["channel"] == "email_smime"
    assert status["delivered_at"] is not None


def test_envelope_is_cms_enveloped_data_with_aes_256() -> None:
    import tempfile

    from tests.mail_support import make_smime_identity

    with tempfile.TemporaryDirectory() as directory:
        cert_file, key_file = make_smime_identity(Path(directory), "x", "x@example.org")
        from cryptography import x509

        der = mail.envelope(
            b"Content-Type: text/plain\r\n\r\nhallo\r\n",
            x509.load_pem_x509_certificate(cert_file.read_bytes()),
        )
        shown = subprocess.run(
            ["openssl", "cms", "-cmsout", "-print", "-inform", "DER"],
            input=der,
            capture_output=True,
            check=True,
        ).stdout.decode()
        assert "pkcs7-envelopedData" in shown
        assert "aes-256-cbc" in shown
        decrypted = subprocess.run(
            [
                "openssl",
                "cms",
                "-decrypt",
                "-inform",
                "DER",
                "-recip",
                str(cert_file),
                "-inkey",
                str(key_file),
            ],
            input=der,
            capture_output=True,
            check=True,
        ).stdout
        assert decrypted.endswith(b"hallo\r\n")


# --------------------------------------------------------------------- notify


def test_notify_mail_has_no_personal_data_and_pickup_reads_once(
    client_for: Client, smtp: SmtpSink, engine: Engine, runtime: Runtime
) -> None:
    bsn = new_bsn()
    sender, message_id = disclose(client_for, EMAIL_NOTIFY, bsn)

    status = wait_for_status(sender, message_id, "delivered")
    assert status["status"] == "delivered", status
    [received] = [r for r in smtp.to(NOTIFY_ADDRESS) if message_id in r.content.decode()]
    note = received.message
    assert note["Subject"] == "Er staat een bericht voor u klaar"
    body = note.get_payload(decode=True).decode("utf-8")
    assert f"https://127.0.0.1/ophalen/{message_id}" in body
    for personal in (
        bsn,
        "079-1234567",
        "Gezin met drie kinderen",
        "Afstemming gezinsplan",
        "Contactgegevens",
    ):
        assert personal not in received.content.decode("utf-8", "replace")
        assert personal not in body
    assert kinds(engine, message_id) == ["disclosure_sent", "delivery_notified"]

    # Another organisation, or a wrong id, finds nothing.
    with unit_of_work(runtime.engine) as session, pytest.raises(NotFound):
        pick_up(session, runtime, message_id=message_id, organisation=SCHOOL, professional=PROFESSIONAL)
    with unit_of_work(runtime.engine) as session, pytest.raises(NotFound):
        pick_up(session, runtime, message_id="nope", organisation=EMAIL_NOTIFY, professional=PROFESSIONAL)

    with unit_of_work(runtime.engine) as session:
        read = pick_up(
            session, runtime, message_id=message_id, organisation=EMAIL_NOTIFY, professional=PROFESSIONAL
        )
    assert read["subject"] == {"bsn": bsn}
    assert read["payload"] == disclosure_body(bsn, EMAIL_NOTIFY, ["contact"])["payload"]
    assert read["categories"][0]["code"] == "contact"

    with unit_of_work(runtime.engine) as session, pytest.raises(AlreadyPickedUp):
        pick_up(session, runtime, message_id=message_id, organisation=EMAIL_NOTIFY, professional=PROFESSIONAL)

    assert wait_for_status(sender, message_id, "acknowledged")["status"] == "acknowledged"
    assert kinds(engine, message_id) == ["disclosure_sent", "delivery_notified", "disclosure_received"]
    with Session(engine) as session:
        entry = session.exec(
            select(RegisterEntry).where(
                RegisterEntry.disclosure_id == message_id, RegisterEntry.kind == "disclosure_received"
            )
        ).one()
    assert entry.content["professional"] == PROFESSIONAL
    assert entry.content["details"]["channel"] == "email_pickup"


def test_concurrent_pickups_hand_out_the_payload_exactly_once(
    client_for: Client, smtp: SmtpSink, engine: Engine, runtime: Runtime
) -> None:
    if runtime.settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite has a single writer: concurrent pickups serialise trivially")
    sender, message_id = disclose(client_for, EMAIL_NOTIFY, new_bsn())
    wait_for_status(sender, message_id, "delivered")
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def attempt() -> None:
        barrier.wait()
        try:
            with unit_of_work(runtime.engine) as session:
                pick_up(
                    session,
                    runtime,
                    message_id=message_id,
                    organisation=EMAIL_NOTIFY,
                    professional=PROFESSIONAL,
                )
            outcomes.append("read")
        except AlreadyPickedUp:
            outcomes.append("gone")

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["gone", "gone", "gone", "read"]
    assert kinds(engine, message_id).count("disclosure_received") == 1


# ------------------------------------------------------------------ refusals


def test_a_5xx_refusal_fails_the_disclosure_with_the_reason(
    client_for: Client, smtp: SmtpSink, engine: Engine
) -> None:
    smtp.refuse[REFUSED_ADDRESS] = "550 5.1.1 Mailbox unavailable"
    sender, message_id = disclose(client_for, EMAIL_REFUSED, new_bsn())

    status = wait_for_status(sender, message_id, "failed")
    assert status["status"] == "failed", status
    assert status["last_error"] == "SMTP 550: 5.1.1 Mailbox unavailable"
    assert status["delivery_attempts"] == 1  # a 5xx is not retried
    assert kinds(engine, message_id) == ["disclosure_sent", "delivery_failed"]
    with Session(engine) as session:
        failed = session.exec(
            select(RegisterEntry).where(
                RegisterEntry.disclosure_id == message_id, RegisterEntry.kind == "delivery_failed"
            )
        ).one()
    assert failed.content["details"]["last_error"] == "SMTP 550: 5.1.1 Mailbox unavailable"


def test_a_4xx_is_retried_with_backoff_then_delivered_once(
    client_for: Client, smtp: SmtpSink, engine: Engine
) -> None:
    smtp.tempfail[SMIME_ADDRESS] = 2
    sender, message_id = disclose(client_for, EMAIL_SMIME, new_bsn())

    status = wait_for_status(sender, message_id, "acknowledged")
    assert status["status"] == "acknowledged", status
    assert status["delivery_attempts"] == 3
    assert len([r for r in smtp.to(SMIME_ADDRESS) if message_id in r.content.decode("ascii", "replace")]) == 1
    assert kinds(engine, message_id).count("disclosure_received") == 1


def test_send_mail_reports_an_unreachable_relay_for_retry(dev_env: DevEnv) -> None:
    from tests.support import free_port

    settings = dev_env.settings.model_copy(update={"smtp_port": free_port(), "smtp_timeout_seconds": 2.0})
    result = send_mail(
        settings,
        mail.notify_mail(sender="a@b.example", to="c@d.example", message_id="x", pickup_url="https://x"),
        "c@d.example",
    )
    assert not result.ok and not result.permanent
    assert result.error is not None


def test_a_relay_without_starttls_gets_nothing(dev_env: DevEnv, smtp: SmtpSink) -> None:
    """A plain server (no STARTTLS offered) is refused before any mail is sent (art. 19)."""
    from aiosmtpd.controller import Controller

    from tests.mail_support import SmtpSink as Sink
    from tests.mail_support import _Handler
    from tests.support import free_port

    plain_sink = Sink()
    port = free_port()
    controller = Controller(_Handler(plain_sink), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = dev_env.settings.model_copy(update={"smtp_port": port})
        result = send_mail(
            settings,
            mail.notify_mail(sender="a@b.example", to=NOTIFY_ADDRESS, message_id="x", pickup_url="https://x"),
            NOTIFY_ADDRESS,
        )
    finally:
        controller.stop()
    assert not result.ok and "STARTTLS" in (result.error or "")
    assert plain_sink.received == []


def test_each_adapter_claims_only_its_own_partners_rows(isolated_runtime: Runtime) -> None:
    from adapters.push import claim_due as push_claim
    from exchange import delivery
    from tests.support import PUSH_PARTNER

    now = isolated_runtime.clock()
    with unit_of_work(isolated_runtime.engine) as session:
        for number, recipient in enumerate((EMAIL_SMIME, PUSH_PARTNER, EMAIL_NOTIFY)):
            session.add(
                OutboxItem(
                    message_id=f"m-{number}", recipient=recipient, state="pending", next_attempt_at=now
                )
            )
    assert [c.recipient for c in push_claim(isolated_runtime)] == [PUSH_PARTNER]
    email_rows = delivery.claim_due(
        isolated_runtime, lease=dt.timedelta(seconds=60), recipients=[EMAIL_SMIME, EMAIL_NOTIFY]
    )
    assert sorted(c.recipient for c in email_rows) == sorted([EMAIL_SMIME, EMAIL_NOTIFY])
