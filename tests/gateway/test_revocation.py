"""The revocation list: signed by a trust anchor, matched by issuer and serial, fail closed (art. 19)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.auth import RevocationList
from gateway.pki import make_ca, write_crl
from gateway.problems import Forbidden

NOW = dt.datetime.now(dt.UTC)


def _ca(name: str = "Meerpunt Development CA") -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    return make_ca(key, name=name), key


def _crl_pem(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    serials: list[int],
    *,
    next_update: dt.datetime | None = None,
) -> bytes:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca[0].subject)
        .last_update(NOW - dt.timedelta(days=1))
        .next_update(next_update or NOW + dt.timedelta(days=30))
    )
    for serial in serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(NOW).build()
        )
    return builder.sign(ca[1], hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _issuer(ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey]) -> str:
    return ca[0].subject.rfc4514_string()


def _refused(revocations: RevocationList) -> None:
    with pytest.raises(Forbidden) as refused:
        revocations.is_revoked("CN=x", 1)
    assert refused.value.slug == "crl-unavailable"


def test_revocation_matches_issuer_and_serial(tmp_path: Path) -> None:
    ca, other = _ca(), _ca("Other Meerpunt CA")
    crl = tmp_path / "crl.pem"
    crl.write_bytes(_crl_pem(ca, [42]) + _crl_pem(other, [7]))
    revocations = RevocationList(crl, [ca[0], other[0]])
    assert revocations.is_revoked(_issuer(ca), 42)
    assert revocations.is_revoked(_issuer(other), 7)
    # The same serial number from another CA is another certificate.
    assert not revocations.is_revoked(_issuer(other), 42)
    assert not revocations.is_revoked(_issuer(ca), 7)


def test_a_damaged_crl_fails_closed_until_it_is_repaired(tmp_path: Path) -> None:
    ca = _ca()
    crl = tmp_path / "crl.pem"
    good = _crl_pem(ca, [42])
    crl.write_bytes(good)
    revocations = RevocationList(crl, [ca[0]])
    assert revocations.is_revoked(_issuer(ca), 42)
    crl.write_bytes(good[: len(good) // 2])  # half written
    _refused(revocations)
    _refused(revocations)  # and it stays refused, without re-reading on every call
    crl.write_bytes(_crl_pem(ca, [42, 43]))
    assert revocations.is_revoked(_issuer(ca), 43)


def test_a_crl_not_signed_by_its_ca_is_refused(tmp_path: Path) -> None:
    ca = _ca()
    impostor = (ca[0], ec.generate_private_key(ec.SECP256R1()))  # same issuer name, other key
    crl = tmp_path / "crl.pem"
    crl.write_bytes(_crl_pem(impostor, []))
    _refused(RevocationList(crl, [ca[0]]))


def test_a_crl_from_an_unknown_issuer_is_refused(tmp_path: Path) -> None:
    ca, stranger = _ca(), _ca("Somebody Else CA")
    crl = tmp_path / "crl.pem"
    crl.write_bytes(_crl_pem(stranger, []))
    _refused(RevocationList(crl, [ca[0]]))


def test_a_missing_crl_fails_closed(tmp_path: Path) -> None:
    _refused(RevocationList(tmp_path / "absent.pem", [_ca()[0]]))


def test_a_stale_crl_still_revokes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ca = _ca()
    crl = tmp_path / "crl.pem"
    crl.write_bytes(_crl_pem(ca, [42], next_update=NOW - dt.timedelta(hours=1)))
    assert RevocationList(crl, [ca[0]]).is_revoked(_issuer(ca), 42)
    assert "nextUpdate" in caplog.text


def test_write_crl_replaces_the_file_atomically(tmp_path: Path) -> None:
    ca = _ca()
    crl = tmp_path / "crl.pem"
    write_crl(crl, ca[0], ca[1], {5: NOW})
    assert RevocationList(crl, [ca[0]]).is_revoked(_issuer(ca), 5)
    assert not list(tmp_path.glob("*.tmp"))
