from __future__ import annotations

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
