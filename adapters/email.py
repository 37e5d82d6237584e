"""E-mail delivery for partners without an API (art. 19.2: "versleutelde e-mail"), per partner:

- `smime`: the message encrypted to the partner's certificate (`adapters.mail`). The partner's mail
  server accepting it (SMTP 250) is the delivery to the recipient's system, like a 2xx of a
  webhook: the message is acknowledged and the recipient-side entry written (art. 8.2).
- `notify`: a notification without personal data and a pickup link. The relay accepting it marks
  the message `delivered` and registers the notification (`delivery_notified`); reading it on the
  pickup page (`exchange.pickup`) is the acknowledgement.

The outbox guarantees are those of push (`exchange.delivery`): claimed under a lease and a fencing
token, one mail per claim, the outcome recorded in its own transaction, exactly one register
entry. SMTP refusals are told apart: a 5xx (unknown mailbox, policy) fails the message at once
with the server's reason, visible to the sender in `GET /v1/disclosures/{id}` and to the officer as
a `delivery_failed` entry; a 4xx or a lost connection is retried with backoff. A relay that accepted
the mail and bounces it later (a DSN) is not seen here.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr

import sqlalchemy as sa
from prometheus_client import Counter
from sqlmodel import Session

from adapters import mail
from audit.service import EntryKind, rfc3339
from exchange import delivery
from exchange.delivery import Claimed, Retry
from exchange.envelope import inbox_item
from exchange.models import Message, MessageStatus, OutboxItem, OutboxState
from gateway.registry import Partner
from gateway.runtime import Runtime
from gateway.settings import Settings

log = logging.getLogger("meerpunt.email")

EMAIL_ATTEMPTS = Counter("meerpunt_email_attempts_total", "E-mail delivery attempts by outcome", ["outcome"])
LEASE_MARGIN = dt.timedelta(seconds=30)

_MESSAGES: sa.Table = Message.__table__  # type: ignore[attr-defined]
_OUTBOX: sa.Table = OutboxItem.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SmtpResult:
    ok: bool
    error: str | None = None
    permanent: bool = False


def lease_for(settings: Settings) -> dt.timedelta:
    """One SMTP conversation (connect, STARTTLS, AUTH, MAIL, RCPT, DATA) plus a margin."""
    return dt.timedelta(seconds=3 * settings.smtp_timeout_seconds) + LEASE_MARGIN


def _retry(settings: Settings) -> Retry:
    return Retry(
        settings.push_max_attempts, settings.push_backoff_base_seconds, settings.push_backoff_max_seconds
    )


def _email_partners(runtime: Runtime) -> list[str]:
    return [p.oin for p in runtime.partners if p.delivery == "email"]


# ------------------------------------------------------------------------- SMTP


def _tls_context(settings: Settings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # art. 19: TLS 1.2 or later
    return context


def _refusal(code: int, text: bytes | str) -> SmtpResult:
    reason = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    # 5xx: the recipient's server refuses and would refuse again; 4xx: try again later.
    return SmtpResult(False, f"SMTP {code}: {reason.strip()[:300]}", permanent=500 <= code < 600)


def send_mail(settings: Settings, message: EmailMessage, recipient: str) -> SmtpResult:
    """One SMTP conversation with the configured relay; the outcome, never an exception."""
    envelope_from = parseaddr(settings.smtp_from)[1]
    try:
        smtp: smtplib.SMTP
        if settings.smtp_security == "tls":
            smtp = smtplib.SMTP_SSL(
                settings.smtp_host,
                settings.smtp_port,
                timeout=settings.smtp_timeout_seconds,
                context=_tls_context(settings),
            )
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds)
        with smtp:
            smtp.ehlo()
            if settings.smtp_security == "starttls":
                # Refused if not offered: a relay that cannot do TLS gets no personal data (art. 19).
                smtp.starttls(context=_tls_context(settings))
                smtp.ehlo()
            if settings.smtp_username:
                password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                smtp.login(settings.smtp_username, password)
            refused = smtp.send_message(message, from_addr=envelope_from, to_addrs=[recipient])
            if refused:
                code, text = refused[recipient]
                return _refusal(code, text)
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = exc.recipients.get(recipient, (550, b"recipient refused"))
        return _refusal(code, text)
    except smtplib.SMTPResponseException as exc:  # MAIL FROM, DATA, AUTH refused
        result = _refusal(exc.smtp_code, exc.smtp_error)
        # A refused login or sender is our configuration, not the recipient: keep retrying.
        if isinstance(exc, smtplib.SMTPAuthenticationError | smtplib.SMTPSenderRefused):
            return SmtpResult(False, result.error, permanent=False)
        return result
    except (smtplib.SMTPException, OSError) as exc:  # lost connection, timeout, TLS failure, no STARTTLS
        return SmtpResult(False, f"{type(exc).__name__}: {exc}"[:300])
    return SmtpResult(True)


# --------------------------------------------------------------------- delivery


def build_mail(
    runtime: Runtime, partner: Partner, message: Message, content: dict[str, object] | None
) -> EmailMessage:
    """The mail for this partner's mode (pure apart from reading the registry)."""
    settings = runtime.settings
    assert partner.email is not None
    if partner.email_mode == "notify":
        return mail.notify_mail(
            sender=settings.smtp_from, to=partner.email, message_id=message.id, pickup_url=settings.pickup_url
        )
    assert partner.smime_certificate is not None
    item = inbox_item(message, content)
    if content is not None and content.get("payload_json") is not None:
        item["payload"] = json.loads(str(content["payload_json"]))
        item["payload_salt"] = content.get("payload_salt")
    sender = runtime.partners.get(message.sender)
    labels = [runtime.categories.label(code) for code in message.categories]
    inner = mail.inner_entity(item, sender.name if sender else message.sender, labels)
    return mail.smime_mail(
        mail.envelope(inner, partner.smime_certificate),
        sender=settings.smtp_from,
        to=partner.email,
        message_id=message.id,
    )


def deliver_one(runtime: Runtime, item: Claimed) -> bool:
    partner = runtime.partners.get(item.recipient)
    started = delivery.begin(runtime, item, lease_for(runtime.settings))
    if started is None:
        return False
    if started.unavailable is not None:  # only this message waits, retried with backoff
        error = f"payload unavailable: {started.unavailable.reason}"
        _record(runtime, item, SmtpResult(False, error), partner)
        return False
    if partner is None or partner.delivery != "email" or partner.email is None:
        _record(runtime, item, SmtpResult(False, "recipient has no e-mail delivery", permanent=True), None)
        return False
    result = send_mail(
        runtime.settings, build_mail(runtime, partner, started.message, started.content), partner.email
    )
    _record(runtime, item, result, partner)
    return result.ok


def _record(runtime: Runtime, item: Claimed, result: SmtpResult, partner: Partner | None) -> None:
    settings = runtime.settings
    on_success: delivery.OnSuccess
    if partner is not None and partner.email_mode == "notify":
        on_success = _notified
    else:
        on_success = delivery.acknowledge_on("email_smime", dt.timedelta(days=settings.payload_grace_days))
    outcome = delivery.record_outcome(
        runtime,
        item,
        ok=result.ok,
        error=result.error,
        permanent=result.permanent,
        retry=_retry(settings),
        on_success=on_success,
    )
    if outcome != "superseded":
        EMAIL_ATTEMPTS.labels(outcome).inc()


def _notified(session: Session, message: Message, at: dt.datetime) -> None:
    """The notification went out: `delivered`, waiting for pickup, registered once.

    The outbox row waits like a pull inbox item (`in_inbox`), so the inbox retention applies: a
    message nobody picks up is given up after `inbox_retention_days` (SPEC §8).
    """
    won = session.connection().execute(
        sa.update(_MESSAGES)
        .where(_MESSAGES.c.id == message.id, _MESSAGES.c.status == MessageStatus.ACCEPTED)
        .values(status=MessageStatus.DELIVERED, delivered_at=at)
        .returning(_MESSAGES.c.id)
    )
    if won.first() is None:
        return  # already notified (a retry after a lost outcome) or picked up meanwhile
    session.connection().execute(
        sa.update(_OUTBOX)
        .where(_OUTBOX.c.message_id == message.id, _OUTBOX.c.state == OutboxState.PENDING)
        .values(state=OutboxState.IN_INBOX, delivered_at=at)
    )
    delivery.record_delivery_event(
        session,
        message,
        EntryKind.DELIVERY_NOTIFIED,
        at=at,
        details={"channel": "email_notify", "notified_at": rfc3339(at), "message_kind": message.kind},
    )


def drain_once(runtime: Runtime) -> int:
    """Deliver what is due for e-mail partners now; returns how many were delivered."""
    claimed = delivery.claim_due(
        runtime, lease=lease_for(runtime.settings), recipients=_email_partners(runtime)
    )
    return sum(deliver_one(runtime, item) for item in claimed)


async def email_worker(runtime: Runtime) -> None:
    """Background loop: send due e-mail deliveries, then sleep for the poll interval."""
    from gateway.workers import in_thread, repeat

    if not _email_partners(runtime):
        return  # no partner receives by e-mail: nothing to poll for

    async def cycle() -> None:
        await in_thread(drain_once, runtime)

    await repeat("e-mail delivery", cycle, lambda: runtime.settings.outbox_poll_seconds)
