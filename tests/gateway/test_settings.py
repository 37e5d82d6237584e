from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.settings import Settings, load_settings
from tests.support import DevEnv


def test_production_refuses_development_placeholder_secrets(dev_env: DevEnv) -> None:
    with pytest.raises(ValidationError, match="development placeholder"):
        load_settings(dev_env.directory / "gateway.toml", environment="production")


def test_secrets_do_not_show_in_repr(dev_env: DevEnv) -> None:
    settings = load_settings(dev_env.directory / "gateway.toml")
    text = repr(settings)
    assert settings.kek.get_secret_value() not in text
    assert settings.bsn_hash_key.get_secret_value() not in text


def test_environment_overrides_the_file(dev_env: DevEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEERPUNT_DATABASE_URL", "postgresql+psycopg://somewhere/db")
    assert (
        load_settings(dev_env.directory / "gateway.toml").database_url == "postgresql+psycopg://somewhere/db"
    )


def test_relative_paths_resolve_against_the_config_directory(dev_env: DevEnv) -> None:
    settings = load_settings(dev_env.directory / "gateway.toml")
    assert settings.ca_file == dev_env.directory / "pki" / "ca.pem"
    assert settings.ca_file.exists()


def _path_settings() -> list[str]:
    """Every setting that names one file, read from the model (so a new one is covered too)."""
    return [
        name
        for name, field in Settings.model_fields.items()
        if name != "config_dir" and field.annotation in (Path, Path | None)
    ]


@pytest.mark.parametrize("name", _path_settings())
def test_every_relative_file_setting_resolves_against_the_config_directory(
    dev_env: DevEnv, name: str
) -> None:
    """In the image the process runs in /srv/meerpunt and the configuration sits in /etc/meerpunt:
    a relative path must mean the configuration's directory, never the working directory."""
    settings = load_settings(dev_env.directory / "gateway.toml", **{name: Path("elsewhere/file")})
    assert getattr(settings, name) == dev_env.directory / "elsewhere" / "file"


def test_database_password_does_not_show_in_repr(dev_env: DevEnv) -> None:
    settings = load_settings(
        dev_env.directory / "gateway.toml", database_url="postgresql+psycopg://gw:s3cretpw@db:5432/meerpunt"
    )
    text = repr(settings)
    assert "s3cretpw" not in text
    assert "gw:***@db:5432/meerpunt" in text
    assert settings.database_url.endswith("gw:s3cretpw@db:5432/meerpunt")  # the value itself is intact


def test_a_misspelt_setting_is_refused_with_a_hint(dev_env: DevEnv, tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('tls_clientauth = "required"\n' + (dev_env.directory / "gateway.toml").read_text())
    with pytest.raises(ValueError, match=r"'tls_clientauth' \(did you mean 'tls_client_auth'\?\)"):
        load_settings(config)


def test_a_misspelt_token_issuer_setting_is_refused(dev_env: DevEnv, tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    text = (dev_env.directory / "gateway.toml").read_text().replace("algorithms =", "algorithm =")
    config.write_text(text.replace('"pki/', f'"{dev_env.directory}/pki/'))
    with pytest.raises(ValueError, match="algorithm"):
        load_settings(config)


# --- the KEK keyring (issue 13: rotation without downtime) ----------------------------------------


def _key() -> str:
    import base64
    import os

    return base64.b64encode(os.urandom(32)).decode()


def test_the_single_kek_is_the_legacy_key_of_the_ring(dev_env: DevEnv) -> None:
    settings = load_settings(dev_env.directory / "gateway.toml")
    ring = settings.kek_ring()
    assert ring.current == "legacy" and ring.keys == {"legacy": settings.kek_bytes()}


def test_keks_and_kek_current_form_the_ring_and_the_kek_stays_in_it(dev_env: DevEnv) -> None:
    new = _key()
    settings = load_settings(dev_env.directory / "gateway.toml", keks={"2026-12": new}, kek_current="2026-12")
    ring = settings.kek_ring()
    assert sorted(ring.keys) == ["2026-12", "legacy"] and ring.current == "2026-12"
    assert new not in repr(settings) and new not in repr(ring)
    # Added but not yet current (step 1 of the procedure): the legacy key still wraps.
    assert (
        load_settings(dev_env.directory / "gateway.toml", keks={"2026-12": new}).kek_ring().current
        == "legacy"
    )
    # The legacy key removed: the only remaining key is current.
    only = load_settings(dev_env.directory / "gateway.toml", kek="", keks={"2026-12": new}).kek_ring()
    assert only.current == "2026-12" and list(only.keys) == ["2026-12"]


def test_the_environment_gives_the_ring_too(dev_env: DevEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEERPUNT_KEKS", json.dumps({"a": _key(), "b": _key()}))
    monkeypatch.setenv("MEERPUNT_KEK_CURRENT", "b")
    monkeypatch.setenv("MEERPUNT_KEK", "")
    ring = load_settings(dev_env.directory / "gateway.toml").kek_ring()
    assert sorted(ring.keys) == ["a", "b"] and ring.current == "b"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kek_current": "nope"}, "kek_current 'nope' is not among"),
        ({"kek": "", "keks": {"a": "x" * 44, "b": "y" * 44}}, "must be base64|must be 32 bytes"),
        ({"kek": "", "keks": {}}, "no key-encryption key"),
        ({"keks": {"legacy": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}, "differs from kek"),
    ],
)
def test_an_unusable_ring_is_refused(dev_env: DevEnv, change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_settings(dev_env.directory / "gateway.toml", **change).kek_ring()


def test_production_refuses_a_placeholder_in_keks(dev_env: DevEnv) -> None:
    secrets = {"kek": _key(), "bsn_hash_key": _key()}
    assert load_settings(dev_env.directory / "gateway.toml", environment="production", **secrets)
    with pytest.raises(ValidationError, match=r"keks\.old is empty or a development placeholder"):
        load_settings(
            dev_env.directory / "gateway.toml",
            environment="production",
            keks={"old": "dev-only:" + _key()},
            **secrets,
        )


def test_production_refuses_plain_smtp_to_another_host(dev_env: DevEnv) -> None:
    good = {"kek": "A" * 43 + "=", "bsn_hash_key": "B" * 43 + "="}
    with pytest.raises(ValidationError, match="smtp_security"):
        load_settings(
            dev_env.directory / "gateway.toml",
            environment="production",
            smtp_security="none",
            smtp_host="mail.example.org",
            **good,
        )
    settings = load_settings(
        dev_env.directory / "gateway.toml", environment="production", smtp_security="none", **good
    )
    assert settings.smtp_host == "127.0.0.1"


def test_smtp_password_does_not_show_in_repr(dev_env: DevEnv) -> None:
    settings = load_settings(dev_env.directory / "gateway.toml", smtp_password="relay-s3cret")
    assert "relay-s3cret" not in repr(settings)
