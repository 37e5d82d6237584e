"""Gateway configuration: one `Settings` object, built in the app factory and passed down.

Sources, highest priority first: keyword arguments, `MEERPUNT_*` environment variables, the TOML
file given with `--config`. Relative paths in the TOML file are resolved against its directory,
so a development directory made by `meerpunt-gateway init` can be moved as a whole.
"""

from __future__ import annotations

import base64
import difflib
import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url

from exchange.crypto import LEGACY_KEK_ID, KekRing
from exchange.override_rules import DEFAULT_STATUTORY_GROUNDS

DEFAULT_DATA_DIR = Path(__file__).parent / "data"

#: Values that mark a secret as a development placeholder; refused outside development.
PLACEHOLDER_MARKERS = ("dev-only", "change-me", "placeholder")

_PATH_FIELDS = (
    "tls_cert_file",
    "tls_key_file",
    "ca_file",
    "crl_file",
    "partners_file",
    "categories_file",
    "processing_activities_file",
    "gateway_signing_key_file",
    "gateway_client_cert_file",
    "gateway_client_key_file",
)


#: Signature algorithms an issuer may be configured with: asymmetric only. "none" and the HMAC
#: family are never accepted, whatever the configuration says (an HS256 token "signed" with the
#: issuer's public key is the classic key-confusion attack).
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)

#: Assurance levels, weakest first: eIDAS and the DigiD levels as OIDC brokers send them in `acr`.
EIDAS_SUBSTANTIAL = "http://eidas.europa.eu/LoA/substantial"
DEFAULT_ACR_LEVELS = (
    "http://eidas.europa.eu/LoA/low",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract",
    EIDAS_SUBSTANTIAL,
    "urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard",
    "http://eidas.europa.eu/LoA/high",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI",
)


class TokenIssuer(BaseModel):
    """A trusted OpenID Connect issuer for officers and citizens (SPEC §5, §9).

    Keys come from the issuer's discovery document and JWKS (`jwks_uri`), fetched when first
    needed, cached by `kid` and re-fetched when a token names an unknown `kid`, so the provider
    can rotate its keys without a gateway restart. `public_key_file` is the development path: one
    static PEM key (what `meerpunt-gateway init` writes), no network. With `client_id` set the
    issuer also signs people in through the browser (authorization code flow with PKCE).
    """

    model_config = ConfigDict(extra="forbid")

    issuer: str
    #: Expected `aud` of bearer tokens for the API (ID tokens carry `client_id` instead).
    audience: str = "meerpunt-gateway"
    public_key_file: Path | None = None
    algorithms: list[str] = Field(default_factory=lambda: ["ES256"])
    #: Who signs in here: officers (role claim), citizens (BSN claim, e.g. a DigiD broker) or both.
    users: Literal["officers", "citizens", "both"] = "both"
    #: Browser sign-in: the client registered at the provider; without it, bearer tokens only.
    client_id: str | None = None
    client_secret: SecretStr | None = None
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile"])
    role_claim: str = "role"
    org_claim: str = "org"
    bsn_claim: str = "bsn"
    name_claim: str = "name"
    #: Citizens: the lowest accepted `acr` (art. 10: an inzage shows a child's case to whoever signs
    #: in, so the sign-in must be at least eIDAS "substantial"); `acr_levels` orders them.
    min_acr: str | None = EIDAS_SUBSTANTIAL
    acr_levels: list[str] = Field(default_factory=lambda: list(DEFAULT_ACR_LEVELS))
    #: CA bundle for the provider's HTTPS endpoints (default: the system's trust store).
    tls_ca_file: Path | None = None
    #: Clock skew allowed on `exp`, `nbf` and `iat`.
    leeway_seconds: int = Field(default=30, ge=0, le=300)
    #: An unknown `kid` re-fetches the JWKS at most this often: a stream of forged kids cannot
    #: turn the gateway into a load generator against the provider.
    jwks_refresh_min_seconds: float = Field(default=30.0, ge=0)

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, value: list[str]) -> list[str]:
        refused = [alg for alg in value if alg not in ASYMMETRIC_ALGORITHMS]
        if refused or not value:
            raise ValueError(
                f"algorithms must be a non-empty subset of {sorted(ASYMMETRIC_ALGORITHMS)}; "
                f"refused: {refused}"
            )
        return value

    @model_validator(mode="after")
    def _acr_known(self) -> TokenIssuer:
        if self.min_acr is not None and self.min_acr not in self.acr_levels:
            raise ValueError(f"min_acr {self.min_acr!r} is not one of acr_levels")
        return self

    @property
    def browser_sign_in(self) -> bool:
        return self.client_id is not None

    def serves(self, group: Literal["officers", "citizens", "professionals"]) -> bool:
        # Professionals sign in at their organisation's provider, the officers' one.
        wanted = "officers" if group == "professionals" else group
        return self.users in (wanted, "both")


class Settings(BaseSettings):
    """Everything the gateway needs to run; secrets are `SecretStr` so they never show in `repr`."""

    model_config = SettingsConfigDict(env_prefix="MEERPUNT_", extra="ignore", env_nested_delimiter="__")

    environment: Literal["development", "production"] = "development"
    config_dir: Path = Path()

    database_url: str = "sqlite:///meerpunt.db"
    database_pool_size: int = 20

    # Transport (art. 19): server certificate, trust anchors, revocation list.
    tls_cert_file: Path = Path("pki/server.pem")
    tls_key_file: Path = Path("pki/server.key")
    ca_file: Path = Path("pki/ca.pem")
    crl_file: Path | None = Path("pki/crl.pem")
    #: `optional`: the handshake verifies any certificate presented (chain, validity) and partner
    #: routes refuse requests without one (401); officer and citizen routes use bearer tokens on the
    #: same port. `required`: the handshake itself refuses clients without a certificate.
    tls_client_auth: Literal["optional", "required"] = "optional"
    #: TLS terminated at a trusted proxy (gateway/proxy.py): the proxy addresses (CIDRs) whose
    #: forwarded client-certificate header is believed. Empty (the default): headers are never read.
    trusted_proxies: list[str] = Field(default_factory=list)
    #: The header that carries the certificate: RFC 9440 `Client-Cert`, or ingress-nginx's
    #: `ssl-client-cert` (`$ssl_client_escaped_cert`) with `trusted_proxy_cert_format`.
    trusted_proxy_cert_header: str = "client-cert"
    trusted_proxy_cert_format: Literal["rfc9440", "nginx-escaped-pem"] = "rfc9440"

    partners_file: Path = DEFAULT_DATA_DIR / "partners.toml"
    categories_file: Path = DEFAULT_DATA_DIR / "categories.toml"
    #: Register of processing activities (AVG art. 30) per register entry kind, for the Logboek
    #: Dataverwerkingen export (docs/register.md).
    processing_activities_file: Path = DEFAULT_DATA_DIR / "processing_activities.toml"

    # Keys of the gateway itself: receipts and tree heads are signed with this key (ES256).
    gateway_signing_key_file: Path = Path("pki/gateway-signing.key")
    #: Public keys (PEM) of earlier signing keys, so that tree heads signed before a key rotation
    #: still verify (audit/keyring.py). New heads are always signed with the current key.
    gateway_previous_signing_public_key_files: list[Path] = Field(default_factory=list)
    gateway_client_cert_file: Path = Path("pki/gateway-client.pem")
    gateway_client_key_file: Path = Path("pki/gateway-client.key")

    #: Key-encryption key for payloads at rest (base64 of 32 bytes, AES-256-GCM). Its id in the
    #: keyring is `legacy` (exchange/crypto.py), the id every payload sealed before keyrings has.
    kek: SecretStr = SecretStr("")
    #: More key-encryption keys by id (`keks = {"2026-12" = "<base64>"}`), for rotation without
    #: downtime (docs/operations.md, "Key rotation"); `kek_current` names the one new payloads use.
    keks: dict[str, SecretStr] = Field(default_factory=dict)
    #: Id of the KEK that wraps new data keys; empty: `legacy` when `kek` is set, else the only key.
    kek_current: str = ""
    #: HMAC key for the keyed BSN hash used in indexes (SPEC §8).
    bsn_hash_key: SecretStr = SecretStr("")

    token_issuers: list[TokenIssuer] = Field(default_factory=list)

    # People's pages (/console, /mijn): server-side sessions (web/sessions.py).
    #: A session unused for this long ends (the officer walked away from the screen).
    session_idle_minutes: int = Field(default=15, ge=1)
    #: A session ends this long after sign-in, however active.
    session_absolute_hours: int = Field(default=8, ge=1)
    #: The address people reach the gateway at; the redirect URI registered at the provider is
    #: `<public_url>/auth/callback`. Empty: taken from the request (development).
    public_url: str = ""

    max_body_bytes: int = 10 * 1024 * 1024
    consent_max_validity_days: int = 366

    # Delivery.
    push_max_attempts: int = 8
    push_backoff_base_seconds: float = 1.0
    push_backoff_max_seconds: float = 300.0
    push_timeout_seconds: float = 10.0
    #: Added to a push claim's lease (adapters/push.py `lease_for`): how long the rest of a claimed
    #: batch may wait for its turn, and so also how long a crashed worker's claims block delivery.
    push_lease_margin_seconds: float = Field(default=30.0, ge=0)
    outbox_poll_seconds: float = 0.5
    payload_grace_days: int = 7
    #: A message not acknowledged within this many days of being queued is given up: its payload
    #: (and sealed BSN) is deleted and the sender sees status `purged` (SPEC §8).
    inbox_retention_days: int = Field(default=30, ge=1)

    # E-mail delivery (partners with `delivery = "email"`, art. 19.2): the outgoing SMTP relay.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    #: `starttls`: upgrade with STARTTLS (refused if the server does not offer it); `tls`: implicit
    #: TLS (port 465); `none`: plain, for a relay on the same host only.
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    #: CA bundle to verify the relay's certificate (empty: the system's trust store).
    smtp_ca_file: Path | None = None
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "Meerpunt Gateway <gateway@meerpunt.zoetermeer.nl>"
    smtp_timeout_seconds: float = 30.0
    #: Where a professional of a `notify` partner picks up a message: `<pickup_url>/<message id>`.
    pickup_url: str = "https://meerpunt.zoetermeer.nl/ophalen"

    # Register sequencer (Tessera-like batching).
    sequencer_batch_size: int = 256
    sequencer_interval_seconds: float = 0.25
    checkpoint_interval_seconds: float = 2.0

    # Override policy (art. 7).
    override_four_eyes_partners: list[str] = Field(default_factory=list)
    override_hold_seconds: int = 4 * 3600
    override_inform_overdue_days: int = 14
    #: A consultation (art. 7.6) older than this, before the decision, is not about this decision.
    override_consultation_max_age_days: int = 30
    #: How often held overrides past their deadline are recorded as expired and their senders told.
    override_sweep_seconds: float = 30.0
    statutory_grounds: list[str] = Field(default_factory=lambda: list(DEFAULT_STATUTORY_GROUNDS))

    background_workers: bool = True
    #: On SIGTERM, how long requests in flight may take to finish (and then the background workers
    #: their current cycle) before they are cut off. Keep it under the orchestrator's kill timeout
    #: minus the pre-stop delay (docs/operations.md, "Shutdown"): Kubernetes sends SIGKILL 30 s
    #: after SIGTERM by default.
    shutdown_grace_seconds: int = Field(default=20, ge=1, le=600)
    #: Mounts `/v1/_bench/*` (bench/exchange.py's baseline). Never turn on in production.
    benchmark_endpoints: bool = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)  # ValueError names the bad entry
        return value

    @field_validator("token_issuers", mode="before")
    @classmethod
    def _issuers_from_tables(cls, value: Any) -> Any:
        return list(value.values()) if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _resolve_and_check(self) -> Settings:
        base = self.config_dir
        for name in _PATH_FIELDS:
            value = getattr(self, name)
            if value is not None and not value.is_absolute():
                object.__setattr__(self, name, base / value)
        self.gateway_previous_signing_public_key_files = [
            path if path.is_absolute() else base / path
            for path in self.gateway_previous_signing_public_key_files
        ]
        for issuer in self.token_issuers:
            if issuer.public_key_file is not None and not issuer.public_key_file.is_absolute():
                issuer.public_key_file = base / issuer.public_key_file
            if issuer.tls_ca_file is not None and not issuer.tls_ca_file.is_absolute():
                issuer.tls_ca_file = base / issuer.tls_ca_file
        if self.database_url.startswith("sqlite:///") and not self.database_url.startswith("sqlite:////"):
            relative = self.database_url.removeprefix("sqlite:///")
            if relative and relative != ":memory:":
                self.database_url = f"sqlite:///{(base / relative).resolve()}"
        if self.smtp_ca_file is not None and not self.smtp_ca_file.is_absolute():
            self.smtp_ca_file = base / self.smtp_ca_file
        if self.environment != "development":
            self._refuse_placeholders()
            if self.smtp_security == "none" and self.smtp_host not in ("127.0.0.1", "::1", "localhost"):
                # Plain SMTP to another host would carry S/MIME mails and notifications unprotected
                # in transit (art. 19): only a relay on this very host may be spoken to in clear.
                raise ValueError("smtp_security = 'none' is allowed only for a relay on localhost")
        return self

    def _refuse_placeholders(self) -> None:
        """Outside development a placeholder or empty secret would silently weaken encryption."""
        secrets: list[tuple[str, SecretStr]] = [("bsn_hash_key", self.bsn_hash_key)]
        if self.kek.get_secret_value() or not self.keks:
            secrets.append(("kek", self.kek))
        secrets += [(f"keks.{kek_id}", key) for kek_id, key in self.keks.items()]
        for name, value in secrets:
            secret = value.get_secret_value()
            if not secret or any(marker in secret for marker in PLACEHOLDER_MARKERS):
                env = name.upper() if "." not in name else "KEKS"
                raise ValueError(f"{name} is empty or a development placeholder; set MEERPUNT_{env}")

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # The database URL may carry a password; SecretStr fields mask themselves.
        for name, value in super().__repr_args__():
            yield name, (_hide_password(value) if name == "database_url" else value)

    def kek_bytes(self) -> bytes:
        return _decode_key(self.kek, "kek")

    def kek_ring(self) -> KekRing:
        """The keyring: `kek` (as id `legacy`) plus `keks`; refuses an unknown or ambiguous current id."""
        keys = {kek_id: _decode_key(value, f"keks.{kek_id}") for kek_id, value in self.keks.items()}
        if self.kek.get_secret_value():
            legacy = self.kek_bytes()
            if keys.get(LEGACY_KEK_ID, legacy) != legacy:
                raise ValueError(f"keks.{LEGACY_KEK_ID} differs from kek: {LEGACY_KEK_ID} is kek's id")
            keys[LEGACY_KEK_ID] = legacy
        current = self.kek_current
        if not current:
            current = LEGACY_KEK_ID if LEGACY_KEK_ID in keys or len(keys) != 1 else next(iter(keys))
        if not keys:
            raise ValueError("no key-encryption key: set kek (or keks and kek_current)")
        if current not in keys:
            raise ValueError(f"kek_current {current!r} is not among the configured keys {sorted(keys)}")
        return KekRing(keys, current)

    def bsn_hash_key_bytes(self) -> bytes:
        return _decode_key(self.bsn_hash_key, "bsn_hash_key")


def _hide_password(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown as nothing rather than risk its secret
        return "<unparsable database url>"


def _decode_key(secret: SecretStr, name: str) -> bytes:
    raw = secret.get_secret_value()
    for marker in PLACEHOLDER_MARKERS:
        raw = raw.removeprefix(f"{marker}:")
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise ValueError(f"{name} must be base64") from exc
    if len(key) != 32:
        raise ValueError(f"{name} must be 32 bytes (base64), got {len(key)}")
    return key


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from an optional TOML file, the environment and explicit overrides."""
    if config is None:
        return Settings(**overrides)
    config = config.resolve()
    toml_values = TomlConfigSettingsSource(Settings, toml_file=config)()
    _refuse_unknown_keys(config, toml_values)

    class _WithFile(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=config))

    values = {"config_dir": config.parent, **overrides}
    if "config_dir" in toml_values:
        values.pop("config_dir")
    return _WithFile(**values)


def _refuse_unknown_keys(config: Path, values: dict[str, Any]) -> None:
    """A misspelt key would otherwise be ignored and its default used silently: a typo in
    `tls_client_auth` would leave the weaker mode on, one in `database_url` would write to SQLite."""
    unknown = sorted(set(values) - set(Settings.model_fields))
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, Settings.model_fields, n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ValueError(f"{config}: unknown setting(s): {', '.join(hints)}")
