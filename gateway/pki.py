"""Development PKI and environment (`meerpunt-gateway init`, SPEC §7).

Everything here is a *development fixture generated at run time*: a local CA standing in for
PKIoverheid, a server certificate for localhost, one client certificate per partner with the OIN in
the subject `serialNumber` (as PKIoverheid certificates carry it), per-partner encryption keys, the
gateway's own signing and client keys, a token-signing key standing in for the OIDC broker, and
random secrets marked `dev-only`. Running it again keeps every existing key.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import os
import re
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.jwk import rsa_public_jwk
from gateway.settings import DEFAULT_DATA_DIR

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
DEV_ISSUER = "https://meerpunt.invalid/dev-oidc"
DEV_AUDIENCE = "meerpunt-gateway"


@dataclass(frozen=True)
class DevEnvironment:
    directory: Path
    config_file: Path
    ca_file: Path
    partner_oins: list[str]


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- keys -----------------------------------------------------------------------------------------


def write_private_key(path: Path, key: PrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    # Private keys are readable by the owner only, even in development.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def load_private_key(path: Path) -> PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError(f"{path}: unsupported key type")
    return key


def _ec_key(path: Path) -> ec.EllipticCurvePrivateKey:
    if path.exists():
        key = load_private_key(path)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key
    new_key = ec.generate_private_key(ec.SECP256R1())
    write_private_key(path, new_key)
    return new_key


def _rsa_key(path: Path) -> rsa.RSAPrivateKey:
    if path.exists():
        key = load_private_key(path)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write_private_key(path, new_key)
    return new_key


def write_public_key(path: Path, key: PrivateKey) -> None:
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


# --- certificates ---------------------------------------------------------------------------------


def load_certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def write_certificate(path: Path, cert: x509.Certificate) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def make_ca(key: ec.EllipticCurvePrivateKey, name: str = "Meerpunt Development CA") -> x509.Certificate:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "NL"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Meerpunt (development only)"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    start = now_utc() - dt.timedelta(minutes=5)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _leaf_builder(
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    ca_cert: x509.Certificate,
    not_before: dt.datetime,
    not_after: dt.datetime,
    usage: x509.ObjectIdentifier,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_cert.public_key()  # type: ignore[arg-type]
            ),
            critical=False,
        )
    )


def issue_server_certificate(
    ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, key: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    start = now_utc() - dt.timedelta(minutes=5)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    return (
        _leaf_builder(
            subject,
            key.public_key(),
            ca_cert,
            start,
            start + dt.timedelta(days=825),
            ExtendedKeyUsageOID.SERVER_AUTH,
        )
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def issue_client_certificate(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    key: ec.EllipticCurvePrivateKey,
    *,
    oin: str | None,
    name: str,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> x509.Certificate:
    """A client certificate shaped like a PKIoverheid organisation certificate: OIN in serialNumber."""
    start = not_before or now_utc() - dt.timedelta(minutes=5)
    end = not_after or start + dt.timedelta(days=730)
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "NL"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, name[:64]),
        x509.NameAttribute(NameOID.COMMON_NAME, name[:64]),
    ]
    if oin is not None:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, oin))
    return _leaf_builder(
        x509.Name(attributes), key.public_key(), ca_cert, start, end, ExtendedKeyUsageOID.CLIENT_AUTH
    ).sign(ca_key, hashes.SHA256())


def write_crl(
    path: Path, ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, revoked: dict[int, dt.datetime]
) -> None:
    """(Re)sign the certificate revocation list with the given revoked serial numbers."""
    now = now_utc()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + dt.timedelta(days=30))
    )
    for serial, when in sorted(revoked.items()):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    crl = builder.sign(ca_key, hashes.SHA256())
    # Atomic: a running gateway re-reads the file when it changes and must never see half of it.
    partial = path.with_name(path.name + ".tmp")
    partial.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    os.replace(partial, path)


def read_revoked(path: Path) -> dict[int, dt.datetime]:
    if not path.exists():
        return {}
    crl = x509.load_pem_x509_crl(path.read_bytes())
    return {r.serial_number: r.revocation_date_utc for r in crl}


def revoke_certificate(directory: Path, cert_file: Path) -> int:
    """Add a certificate to the development CRL; the gateway picks the change up without restart."""
    pki = directory / "pki"
    ca_key = load_private_key(pki / "ca.key")
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca_cert = load_certificate(pki / "ca.pem")
    cert = load_certificate(cert_file)
    revoked = read_revoked(pki / "crl.pem")
    revoked[cert.serial_number] = now_utc()
    write_crl(pki / "crl.pem", ca_cert, ca_key, revoked)
    return cert.serial_number


# --- the development environment ------------------------------------------------------------------


def _secret_line() -> str:
    return "dev-only:" + base64.b64encode(secrets.token_bytes(32)).decode()


def init_dev_environment(directory: Path, partners_source: Path | None = None) -> DevEnvironment:
    """Create (or complete) a development environment in `directory`; existing keys are kept."""
    directory = directory.resolve()
    pki = directory / "pki"
    partners_dir = pki / "partners"
    partners_dir.mkdir(parents=True, exist_ok=True)

    ca_key = _ec_key(pki / "ca.key")
    if (pki / "ca.pem").exists():
        ca_cert = load_certificate(pki / "ca.pem")
    else:
        ca_cert = make_ca(ca_key)
        write_certificate(pki / "ca.pem", ca_cert)

    server_key = _ec_key(pki / "server.key")
    if not (pki / "server.pem").exists():
        write_certificate(pki / "server.pem", issue_server_certificate(ca_cert, ca_key, server_key))
    gateway_client_key = _ec_key(pki / "gateway-client.key")
    if not (pki / "gateway-client.pem").exists():
        cert = issue_client_certificate(
            ca_cert, ca_key, gateway_client_key, oin=None, name="Meerpunt Gateway"
        )
        write_certificate(pki / "gateway-client.pem", cert)
    signing_key = _ec_key(pki / "gateway-signing.key")
    write_public_key(pki / "gateway-signing.pub.pem", signing_key)
    token_key = _ec_key(pki / "token-signing.key")
    write_public_key(pki / "token-signing.pub.pem", token_key)
    if not (pki / "crl.pem").exists():
        write_crl(pki / "crl.pem", ca_cert, ca_key, {})

    registry_file = directory / "partners.toml"
    if not registry_file.exists():
        source = partners_source or DEFAULT_DATA_DIR / "partners.toml"
        registry_file.write_text(_REGISTRY_HEADER + source.read_text())
    with registry_file.open("rb") as handle:
        registry: dict[str, Any] = tomllib.load(handle)
    oins: list[str] = []
    keyless: list[str] = []
    for partner in registry.get("partners", []):
        oin = str(partner["oin"])
        oins.append(oin)
        client_key = _ec_key(partners_dir / f"{oin}.key")
        if not (partners_dir / f"{oin}.pem").exists():
            cert = issue_client_certificate(ca_cert, ca_key, client_key, oin=oin, name=str(partner["name"]))
            write_certificate(partners_dir / f"{oin}.pem", cert)
        encryption_key = _rsa_key(partners_dir / f"{oin}.enc.key")
        jwk_file = partners_dir / f"{oin}.enc.jwk.json"
        jwk_text = json.dumps(rsa_public_jwk(encryption_key.public_key()), indent=2)
        if not jwk_file.exists() or jwk_file.read_text() != jwk_text:
            jwk_file.write_text(jwk_text)
        if "encryption_key" not in partner and "encryption_key_file" not in partner:
            keyless.append(oin)
    if keyless:
        # Edited in place, line by line: the operator's comments and layout survive every re-run.
        registry_file.write_text(_with_key_files(registry_file.read_text(), frozenset(keyless)))

    config_file = directory / "gateway.toml"
    if not config_file.exists():
        config_file.write_text(_config_text())
    return DevEnvironment(directory, config_file, pki / "ca.pem", oins)


_REGISTRY_HEADER = (
    "# Partner registry of this development environment, copied from the shipped default by\n"
    "# `meerpunt-gateway init`, which adds an encryption_key_file line to every partner that has\n"
    "# no key yet. Edit freely: re-running init keeps your changes and comments.\n\n"
)
_OIN_LINE = re.compile(r'^(\s*)oin\s*=\s*"(\d{20})"\s*(#.*)?$')


def _with_key_files(text: str, oins: frozenset[str]) -> str:
    """Add `encryption_key_file = "pki/partners/<oin>.enc.jwk.json"` after those partners' oin lines."""
    lines = []
    for line in text.splitlines(keepends=True):
        lines.append(line)
        match = _OIN_LINE.match(line.rstrip("\n"))
        if match and match.group(2) in oins:
            lines.append(
                f'{match.group(1)}encryption_key_file = "pki/partners/{match.group(2)}.enc.jwk.json"\n'
            )
    return "".join(lines)


def _config_text() -> str:
    config = {
        "environment": "development",
        "database_url": "sqlite:///meerpunt.db",
        "tls_cert_file": "pki/server.pem",
        "tls_key_file": "pki/server.key",
        "ca_file": "pki/ca.pem",
        "crl_file": "pki/crl.pem",
        "partners_file": "partners.toml",
        "gateway_signing_key_file": "pki/gateway-signing.key",
        "gateway_client_cert_file": "pki/gateway-client.pem",
        "gateway_client_key_file": "pki/gateway-client.key",
        "kek": _secret_line(),
        "bsn_hash_key": _secret_line(),
        "token_issuers": [
            {
                "issuer": DEV_ISSUER,
                "audience": DEV_AUDIENCE,
                "public_key_file": "pki/token-signing.pub.pem",
                "algorithms": ["ES256"],
            }
        ],
    }
    header = (
        "# Meerpunt Gateway development configuration, generated by `meerpunt-gateway init`.\n"
        "# The secrets below are DEVELOPMENT FIXTURES (prefixed dev-only:) generated on this machine;\n"
        '# the gateway refuses them when environment = "production".\n'
        "# Any key can be overridden with a MEERPUNT_<KEY> environment variable.\n\n"
    )
    return header + tomli_w.dumps(config)
