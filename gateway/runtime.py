"""Everything built once at start-up and shared by request handlers and background workers.

Keys are parsed here, once: python-jose given a PEM string would re-parse it on every call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.engine import Engine

from exchange.crypto import KekRing
from gateway.auth import PartnerAuthenticator, RevocationList, TokenVerifier, load_trust_anchors
from gateway.db import create_db_engine
from gateway.pki import load_private_key
from gateway.proxy import TrustedProxy
from gateway.pseudonyms import BsnHasher
from gateway.registry import CategoryTaxonomy, PartnerRegistry, load_categories, load_partners
from gateway.sealed_tokens import sealing_key
from gateway.settings import Settings
from gateway.signing import GatewaySigner


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    partners: PartnerRegistry
    categories: CategoryTaxonomy
    authenticator: PartnerAuthenticator
    tokens: TokenVerifier
    bsn_hash: BsnHasher
    signer: GatewaySigner
    kek: KekRing
    clock: Callable[[], dt.datetime] = utc_now
    #: Set when TLS may be terminated at a trusted proxy (`trusted_proxies`, gateway/proxy.py).
    proxy: TrustedProxy | None = None
    #: Per-context extension objects (e.g. the audit sequencer), keyed by name.
    extensions: dict[str, Any] = field(default_factory=dict)

    def dispose(self) -> None:
        self.engine.dispose()


def build_runtime(settings: Settings, engine: Engine | None = None) -> Runtime:
    partners = load_partners(settings.partners_file)
    signing_key = load_private_key(settings.gateway_signing_key_file)
    if not isinstance(signing_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the gateway signing key must be an EC P-256 key")
    anchors = load_trust_anchors(settings.ca_file)
    authenticator = PartnerAuthenticator(partners, RevocationList(settings.crl_file, anchors))
    proxy = None
    if settings.trusted_proxies:
        proxy = TrustedProxy(
            settings.trusted_proxies,
            settings.trusted_proxy_cert_header,
            settings.trusted_proxy_cert_format,
            anchors,
            authenticator,
        )
    return Runtime(
        settings=settings,
        engine=engine or create_db_engine(settings.database_url, pool_size=settings.database_pool_size),
        partners=partners,
        categories=load_categories(settings.categories_file),
        authenticator=authenticator,
        proxy=proxy,
        tokens=TokenVerifier(
            settings.token_issuers,
            sealing_key=sealing_key(settings.bsn_hash_key_bytes())
            if settings.environment == "development"
            else None,
        ),
        bsn_hash=BsnHasher(settings.bsn_hash_key_bytes()),
        signer=GatewaySigner(signing_key),
        kek=settings.kek_ring(),
    )
