from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.settings import load_settings
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
