"""The partner directory and the category taxonomy, loaded once from TOML files.

Partners are the organisations of Bijlage II that signed the cooperation agreement; categories are
the data kinds of SPEC §4. Both are configuration, not data: operators edit the files, the gateway
reads them at start-up and parses every public key once (python-jose would otherwise re-parse a PEM
or JWK on every call).
"""

from __future__ import annotations

import json
import logging
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from gateway.jwk import rsa_public_key_from_jwk

log = logging.getLogger("meerpunt.gateway")

Delivery = Literal["pull", "push", "email"]
#: How an e-mail partner is reached (art. 19.2: encrypted e-mail, or a notification and a pickup page).
EmailMode = Literal["smime", "notify"]
SECTORS = (
    "municipality",
    "health_care",
    "welfare",
    "youth_care",
    "childcare",
    "primary_education",
    "secondary_education",
    "vocational_education",
)


class RegistryError(ValueError):
    """The partner or category file is not usable; the gateway refuses to start."""


@dataclass(frozen=True)
class Partner:
    """Meerpuntpartner: an organisation identified by its OIN (SPEC §1)."""

    oin: str
    name: str
    sector: str
    delivery: Delivery = "pull"
    webhook_url: str | None = None
    encryption_jwk: Mapping[str, Any] | None = None
    encryption_key: RSAPublicKey | None = field(default=None, compare=False, repr=False)
    four_eyes: bool = False
    #: `delivery = "email"`: the partner's address, the mode, and for `smime` its certificate.
    email: str | None = None
    email_mode: EmailMode | None = None
    smime_certificate: x509.Certificate | None = field(default=None, compare=False, repr=False)

    def public_view(self) -> dict[str, Any]:
        return {
            "oin": self.oin,
            "name": self.name,
            "sector": self.sector,
            "delivery": self.delivery,
            "encryption_key": dict(self.encryption_jwk) if self.encryption_jwk else None,
        }


@dataclass(frozen=True)
class Category:
    """Gegevenscategorie (SPEC §4); `special` marks bijzondere persoonsgegevens (art. 2)."""

    code: str
    label: str
    special: bool = False
    always_in_access_report: bool = False

    def public_view(self) -> dict[str, Any]:
        return {"code": self.code, "label": self.label, "special": self.special}


@dataclass(frozen=True)
class PartnerRegistry:
    partners: Mapping[str, Partner]

    def get(self, oin: str) -> Partner | None:
        return self.partners.get(oin)

    def __contains__(self, oin: object) -> bool:
        return oin in self.partners

    def __iter__(self) -> Iterator[Partner]:
        return iter(sorted(self.partners.values(), key=lambda p: p.oin))

    def __len__(self) -> int:
        return len(self.partners)


@dataclass(frozen=True)
class CategoryTaxonomy:
    categories: Mapping[str, Category]

    def __contains__(self, code: object) -> bool:
        return code in self.categories

    def __iter__(self) -> Iterator[Category]:
        return iter(self.categories.values())

    def get(self, code: str) -> Category | None:
        return self.categories.get(code)

    @property
    def special_codes(self) -> frozenset[str]:
        return frozenset(c.code for c in self.categories.values() if c.special)

    def label(self, code: str) -> str:
        category = self.categories.get(code)
        return category.label if category else code


def _is_oin(value: str) -> bool:
    return len(value) == 20 and value.isdigit()


def load_partners(path: Path) -> PartnerRegistry:
    """Read and validate the partner file; every problem is reported at start-up, not at first use."""
    data = _read_toml(path)
    partners: dict[str, Partner] = {}
    keyless: list[str] = []
    for number, raw in enumerate(data.get("partners", []), start=1):
        where = f"{path}: partner #{number}"
        oin = str(raw.get("oin", ""))
        if not _is_oin(oin):
            raise RegistryError(f"{where}: oin must be 20 digits, got {oin!r}")
        if oin in partners:
            raise RegistryError(f"{where}: duplicate oin {oin}")
        delivery = raw.get("delivery", "pull")
        if delivery not in ("pull", "push", "email"):
            raise RegistryError(f"{where}: delivery must be 'pull', 'push' or 'email'")
        email, email_mode, certificate = _email_delivery(raw, path.parent, where, delivery)
        webhook = raw.get("webhook_url")
        if delivery == "push" and not (isinstance(webhook, str) and webhook.startswith("https://")):
            raise RegistryError(f"{where}: push delivery needs an https:// webhook_url")
        sector = str(raw.get("sector", ""))
        if sector not in SECTORS:
            raise RegistryError(f"{where}: sector must be one of {', '.join(SECTORS)}, got {sector!r}")
        jwk = _encryption_jwk(raw, path.parent, where)
        try:
            key = rsa_public_key_from_jwk(jwk) if jwk else None
        except ValueError as exc:
            raise RegistryError(f"{where}: encryption_key: {exc}") from exc
        if key is None:
            keyless.append(oin)
        partners[oin] = Partner(
            oin=oin,
            name=str(raw.get("name") or oin),
            sector=sector,
            delivery=delivery,
            webhook_url=webhook,
            encryption_jwk=jwk,
            encryption_key=key,
            four_eyes=bool(raw.get("four_eyes", False)),
            email=email,
            email_mode=email_mode,
            smime_certificate=certificate,
        )
    if not partners:
        raise RegistryError(f"{path}: no partners configured")
    if keyless:
        # Not fatal: such a partner can still receive payloads its senders encrypted end to end
        # (payload_jwe); a plain payload to it is refused (art. 19).
        log.warning(
            "%d of %d partners in %s have no encryption key (e.g. %s): plain payloads to them are refused",
            len(keyless),
            len(partners),
            path,
            ", ".join(keyless[:3]),
        )
    return PartnerRegistry(partners)


def _encryption_jwk(raw: Mapping[str, Any], base: Path, where: str) -> Mapping[str, Any] | None:
    """The partner's public encryption key: inline (`encryption_key`, a JWK table) or from a JSON
    file (`encryption_key_file`, relative to the registry file), never both."""
    inline = raw.get("encryption_key")
    file_name = raw.get("encryption_key_file")
    if inline and file_name:
        raise RegistryError(f"{where}: give encryption_key or encryption_key_file, not both")
    if not file_name:
        return inline if inline else None
    file = Path(str(file_name))
    file = file if file.is_absolute() else base / file
    try:
        loaded: Mapping[str, Any] = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{where}: encryption_key_file {file}: {exc}") from exc
    return loaded


def load_categories(path: Path) -> CategoryTaxonomy:
    data = _read_toml(path)
    categories: dict[str, Category] = {}
    for raw in data.get("categories", []):
        code = str(raw["code"])
        categories[code] = Category(
            code=code,
            label=str(raw["label"]),
            special=bool(raw.get("special", False)),
            always_in_access_report=bool(raw.get("always_in_access_report", False)),
        )
    if not categories:
        raise RegistryError(f"{path}: no categories configured")
    return CategoryTaxonomy(categories)


def _email_delivery(
    raw: Mapping[str, Any], base: Path, where: str, delivery: str
) -> tuple[str | None, EmailMode | None, x509.Certificate | None]:
    """`email`, `email_mode` (`smime` | `notify`) and `smime_certificate` (PEM, relative to the file)."""
    if delivery != "email":
        return None, None, None
    email = raw.get("email")
    if not (isinstance(email, str) and email.count("@") == 1 and "\n" not in email and "\r" not in email):
        raise RegistryError(f"{where}: e-mail delivery needs an email address")
    mode = raw.get("email_mode")
    if mode not in ("smime", "notify"):
        raise RegistryError(f"{where}: email_mode must be 'smime' or 'notify'")
    if mode == "notify":
        return email, "notify", None
    file_name = raw.get("smime_certificate")
    if not isinstance(file_name, str):
        raise RegistryError(f"{where}: email_mode 'smime' needs smime_certificate (a PEM file)")
    file = base / file_name
    try:
        certificate = x509.load_pem_x509_certificate(file.read_bytes())
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{where}: smime_certificate {file}: {exc}") from exc
    if not isinstance(certificate.public_key(), RSAPublicKey):
        # CMS key transport in `cryptography` (PKCS7EnvelopeBuilder) supports RSA recipients only.
        raise RegistryError(f"{where}: smime_certificate must hold an RSA key")
    return email, "smime", certificate


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise RegistryError(f"{path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{path}: {exc}") from exc
