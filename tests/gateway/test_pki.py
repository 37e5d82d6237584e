"""`meerpunt-gateway init`: the development registry keeps what operators write in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.pki import init_dev_environment
from gateway.registry import RegistryError, load_partners
from tests.mail_support import make_smime_identity
from tests.support import EMAIL_SMIME, MUNICIPALITY, SCHOOL, SMIME_ADDRESS, partners_toml_for_tests


def test_init_keeps_operator_comments_and_adds_keys_to_new_partners(tmp_path: Path) -> None:
    source = tmp_path / "source.toml"
    source.write_text(partners_toml_for_tests(8999))
    init_dev_environment(tmp_path / "dev", partners_source=source)
    registry_file = tmp_path / "dev" / "partners.toml"
    registry_file.write_text(
        registry_file.read_text()
        + '\n# operator note: pilot school, added 2026-12-01\n[[partners]]\noin = "99990000000000000099"\n'
        'name = "Pilot school"\nsector = "primary_education"\ndelivery = "pull"\n'
    )
    init_dev_environment(tmp_path / "dev", partners_source=source)
    text = registry_file.read_text()
    assert "# operator note: pilot school" in text
    lines = text.splitlines()
    assert sum(line.startswith("encryption_key_file = ") for line in lines) == lines.count("[[partners]]")
    make_smime_identity(tmp_path / "dev" / "smime", EMAIL_SMIME, SMIME_ADDRESS)  # the e-mail partner's
    registry = load_partners(registry_file)
    assert all(partner.encryption_key is not None for partner in registry)
    assert registry.get("99990000000000000099") is not None
    first = registry_file.read_text()
    init_dev_environment(tmp_path / "dev", partners_source=source)
    assert registry_file.read_text() == first  # nothing left to add: the file is not touched


def test_registry_refuses_an_unknown_sector(tmp_path: Path) -> None:
    registry_file = tmp_path / "partners.toml"
    registry_file.write_text(
        partners_toml_for_tests(8999).replace('sector = "primary_education"', 'sector = "primary-school"')
    )
    with pytest.raises(RegistryError, match="sector"):
        load_partners(registry_file)


def test_registry_refuses_inline_and_file_key_together(tmp_path: Path) -> None:
    init_dev_environment(tmp_path, partners_source=_source(tmp_path))
    registry_file = tmp_path / "partners.toml"
    registry_file.write_text(
        registry_file.read_text().replace(
            f'oin = "{SCHOOL}"', f'oin = "{SCHOOL}"\nencryption_key = {{ kty = "RSA", n = "x", e = "AQAB" }}'
        )
    )
    with pytest.raises(RegistryError, match="not both"):
        load_partners(registry_file)
    assert MUNICIPALITY in registry_file.read_text()


def _source(tmp_path: Path) -> Path:
    source = tmp_path / "source.toml"
    source.write_text(partners_toml_for_tests(8999))
    return source
