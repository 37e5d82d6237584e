"""Partners reached by e-mail in the registry (`delivery = "email"`): what is refused at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.registry import RegistryError, load_partners
from tests.mail_support import make_smime_identity

SMIME = 'delivery = "email"\nemail = "a@b.example"\nemail_mode = "smime"\n'
BASE = 'oin = "99990000000000000041"\nname = "School"\nsector = "primary_education"\n'


def registry(tmp_path: Path, extra: str) -> Path:
    file = tmp_path / "partners.toml"
    file.write_text("[[partners]]\n" + BASE + extra)
    return file


def test_smime_partner_is_loaded_with_its_certificate(tmp_path: Path) -> None:
    make_smime_identity(tmp_path / "smime", "school", "a@school.example")
    partners = load_partners(
        registry(
            tmp_path,
            'delivery = "email"\nemail = "a@school.example"\nemail_mode = "smime"\n'
            'smime_certificate = "smime/school.pem"\n',
        )
    )
    [partner] = list(partners)
    assert partner.delivery == "email" and partner.email_mode == "smime"
    assert partner.smime_certificate is not None
    assert partner.public_view()["delivery"] == "email"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('delivery = "fax"\n', "delivery must be"),
        ('delivery = "email"\nemail_mode = "notify"\n', "needs an email address"),
        (
            'delivery = "email"\nemail = "a@b.example\\nBcc: x@y"\nemail_mode = "notify"\n',
            "needs an email address",
        ),
        ('delivery = "email"\nemail = "a@b.example"\n', "email_mode must be"),
        ('delivery = "email"\nemail = "a@b.example"\nemail_mode = "smime"\n', "needs smime_certificate"),
        (
            SMIME + 'smime_certificate = "none.pem"\n',
            "No such file",
        ),
    ],
)
def test_incomplete_email_partners_are_refused(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(RegistryError, match=message):
        load_partners(registry(tmp_path, extra))


def test_an_ec_certificate_is_refused_for_smime(tmp_path: Path) -> None:
    """CMS key transport in `cryptography` is RSA only: refuse at start-up, not at first delivery."""
    import datetime as dt

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "ec")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "ec.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(RegistryError, match="RSA"):
        load_partners(
            registry(
                tmp_path,
                SMIME + 'smime_certificate = "ec.pem"\n',
            )
        )
