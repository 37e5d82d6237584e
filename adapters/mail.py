"""The e-mails of e-mail delivery (art. 19.2), built in pure functions: no I/O, no clock.

- `smime`: the whole message (a Dutch summary and the message as JSON) is a MIME entity encrypted
  as CMS EnvelopedData (RFC 5652) with AES-256-CBC and RSA key transport to the partner's
  certificate, sent as `application/pkcs7-mime; smime-type=enveloped-data` (S/MIME 4.0, RFC 8551),
  which any S/MIME mail client decrypts. The outer headers carry no personal data: only the
  reference (the message id).
- `notify`: a notification without any personal data ("Er staat een bericht voor u klaar") with
  the reference and a link to the pickup page, where a professional of the partner signs in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import make_msgid
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.serialization import pkcs7

_KIND_NL = {
    "disclosure": "Verstrekking van gegevens",
    "correction": "Correctie van eerder verstrekte gegevens (art. 11 lid 4)",
    "information_request": "Verzoek om informatie (art. 6 lid 3)",
    "notice": "Mededeling",
}


def reference_subject(message_id: str) -> str:
    """The outer subject: a reference only, nothing about the person or the case."""
    return f"Beveiligd bericht via Meerpunt (kenmerk {message_id})"


def summary_text(item: Mapping[str, Any], sender_name: str, category_labels: Sequence[str]) -> str:
    """The Dutch summary a professional reads first (inside the encryption)."""
    lines = [
        "Beveiligd bericht via de Meerpunt-gateway",
        "",
        f"Soort: {_KIND_NL.get(str(item['kind']), str(item['kind']))}",
        f"Afzender: {sender_name} (OIN {item['sender']})",
        f"Betrokkene (BSN): {item['subject']['bsn'] or 'onbekend'}",
        f"Gegevens: {', '.join(category_labels) or '-'}",
        f"Reden: {item.get('reason') or '-'}",
    ]
    if item.get("description"):
        lines.append(f"Toelichting: {item['description']}")
    lines += [
        f"Verzonden op: {item['created_at']}",
        f"Kenmerk: {item['id']}",
    ]
    if item.get("payload_sha256"):
        lines.append(f"Controlewaarde (SHA-256): {item['payload_sha256']}")
    lines += [
        "",
        "De gegevens zelf staan in de bijlage bericht.json.",
        "Dit bericht valt onder het Privacyreglement Meerpunt: registreer de ontvangst in uw dossier",
        "(art. 8 lid 2) en gebruik de gegevens alleen voor het doel waarvoor ze zijn verstrekt.",
    ]
    return "\n".join(lines) + "\n"


def inner_entity(item: Mapping[str, Any], sender_name: str, category_labels: Sequence[str]) -> bytes:
    """The MIME entity that is encrypted: the summary and the message as JSON (`bericht.json`)."""
    entity = MIMEMultipart("mixed")
    entity.attach(MIMEText(summary_text(item, sender_name, category_labels), "plain", "utf-8"))
    attachment = MIMEApplication(
        json.dumps(item, ensure_ascii=False, indent=2).encode("utf-8"), "json", name="bericht.json"
    )
    attachment.add_header("Content-Disposition", "attachment", filename="bericht.json")
    entity.attach(attachment)
    # S/MIME canonical form: CRLF line ends (RFC 8551 §3.1.1).
    return entity.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def envelope(inner: bytes, certificate: x509.Certificate) -> bytes:
    """CMS EnvelopedData (DER) of `inner` for the certificate's key: AES-256-CBC, RSA key transport."""
    return (
        pkcs7.PKCS7EnvelopeBuilder()
        .set_data(inner)
        .add_recipient(certificate)
        .set_content_encryption_algorithm(algorithms.AES256)
        .encrypt(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    )


def _headers(mail: EmailMessage, *, sender: str, to: str, subject: str, message_id: str, domain: str) -> None:
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Message-ID"] = make_msgid(idstring=message_id, domain=domain)
    mail["Meerpunt-Message-Id"] = message_id  # the reference, for the partner's own filing


def smime_mail(
    cms_der: bytes, *, sender: str, to: str, message_id: str, domain: str = "meerpunt.zoetermeer.nl"
) -> EmailMessage:
    """The S/MIME mail: `application/pkcs7-mime; smime-type=enveloped-data` (RFC 8551 §3.3)."""
    mail = EmailMessage()
    _headers(
        mail,
        sender=sender,
        to=to,
        subject=reference_subject(message_id),
        message_id=message_id,
        domain=domain,
    )
    mail.set_content(
        cms_der,
        maintype="application",
        subtype="pkcs7-mime",
        params={"smime-type": "enveloped-data", "name": "smime.p7m"},
        disposition="attachment",
        filename="smime.p7m",
    )
    return mail


NOTIFY_SUBJECT = "Er staat een bericht voor u klaar"


def notify_text(message_id: str, link: str) -> str:
    return (
        "Beste collega,\n\n"
        "Er staat een bericht voor u klaar in de Meerpunt-gateway.\n\n"
        f"Kenmerk: {message_id}\n"
        f"Ophalen: {link}\n\n"
        "Meld u aan met het account van uw organisatie. Het bericht kan één keer worden geopend;\n"
        "het openen geldt als ontvangstbevestiging en wordt geregistreerd (art. 8 lid 2\n"
        "Privacyreglement Meerpunt).\n\n"
        "Deze e-mail bevat geen persoonsgegevens. Verwachtte u dit bericht niet, neem dan contact op\n"
        "met de functionaris gegevensbescherming van uw organisatie.\n"
    )


def notify_mail(
    *, sender: str, to: str, message_id: str, pickup_url: str, domain: str = "meerpunt.zoetermeer.nl"
) -> EmailMessage:
    """The notification: reference and pickup link only, no personal data."""
    mail = EmailMessage()
    _headers(mail, sender=sender, to=to, subject=NOTIFY_SUBJECT, message_id=message_id, domain=domain)
    mail.set_content(notify_text(message_id, pickup_link(pickup_url, message_id)))
    return mail


def pickup_link(pickup_url: str, message_id: str) -> str:
    return f"{pickup_url.rstrip('/')}/{message_id}"
