"""A partner rotates its encryption key while messages to it are in flight (issue 13, part 4).

The registry gains the new key next to the old one (each with its `kid`) and names the new one
current; the gateway restarts with it. Messages queued before keep their JWE to the old key (it is
sealed at acceptance and never re-encrypted); new ones go to the new key. The partner, holding
both private keys for a while, decrypts each by the `kid` in the JWE header.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwe

from exchange.crypto import decrypt_as_recipient, decrypt_with_keyring, jwe_kid
from gateway.app import create_app
from gateway.jwk import rsa_public_jwk
from gateway.registry import RegistryError, load_partners
from gateway.runtime import Runtime, build_runtime
from tests.exchange.test_delivery import send_to
from tests.exchange.test_disclosures import private_key
from tests.support import SCHOOL, DevEnv, ServerThread, partner_client


def rotated_registry(runtime: Runtime, oin: str, new_jwk: dict[str, str], *, current: str | None) -> Path:
    """A copy of the partner file where `oin` lists its old and its new key."""
    source = runtime.settings.partners_file
    text = source.read_text()
    anchor = f'oin = "{oin}"\n'
    assert anchor in text
    new_file = source.parent / f"rotation-{uuid.uuid4().hex[:8]}.jwk.json"
    new_file.write_text(json.dumps(new_jwk))
    extra = f'encryption_key_files = ["{new_file.name}"]\n'
    if current is not None:
        extra += f'encryption_kid = "{current}"\n'
    target = source.parent / f"partners-{uuid.uuid4().hex[:8]}.toml"
    target.write_text(text.replace(anchor, anchor + extra))
    return target


def test_messages_queued_before_a_partner_rotates_its_key_still_decrypt_with_the_old_one(
    dev_env: DevEnv, isolated_runtime: Runtime
) -> None:
    old_private = private_key(dev_env, SCHOOL)
    school = isolated_runtime.partners.get(SCHOOL)
    assert school is not None and school.encryption_jwk is not None
    old_kid = str(school.encryption_jwk["kid"])
    queued = [send_to(isolated_runtime, SCHOOL) for _ in range(3)]  # in flight: not fetched yet

    new_private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    new_jwk = rsa_public_jwk(new_private.public_key())
    partners_file = rotated_registry(isolated_runtime, SCHOOL, new_jwk, current=new_jwk["kid"])
    settings = isolated_runtime.settings.model_copy(
        update={"partners_file": partners_file, "background_workers": False}
    )
    restarted = build_runtime(settings, isolated_runtime.engine)  # the rolling restart
    sent_after = [send_to(restarted, SCHOOL) for _ in range(2)]

    with (
        ServerThread(create_app(settings, restarted), settings) as server,
        partner_client(dev_env, server.base_url, SCHOOL) as client,
    ):
        directory = {p["oin"]: p for p in client.get("/v1/partners").json()["items"]}
        listed = directory[SCHOOL]
        assert listed["encryption_key"]["kid"] == new_jwk["kid"]
        assert {k["kid"] for k in listed["encryption_keys"]} == {old_kid, new_jwk["kid"]}
        items = {item["id"]: item for item in client.get("/v1/inbox").json()["items"]}

    keyring = {old_kid: old_private, new_jwk["kid"]: new_private}
    for message_id in queued:
        token = items[message_id]["payload_jwe"]
        assert jwe_kid(token) == old_kid
        assert json.loads(decrypt_with_keyring(token, keyring))
    for message_id in sent_after:
        token = items[message_id]["payload_jwe"]
        assert jwe_kid(token) == new_jwk["kid"]
        assert json.loads(decrypt_with_keyring(token, keyring))
        with pytest.raises(jwe.JWEError):
            decrypt_as_recipient(token, old_private)  # the old key cannot read the new messages
    with pytest.raises(ValueError, match="no private key"):
        decrypt_with_keyring(items[sent_after[0]]["payload_jwe"], {old_kid: old_private})


def test_several_keys_without_a_current_one_or_without_kids_are_refused(isolated_runtime: Runtime) -> None:
    new_jwk = rsa_public_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key())
    with pytest.raises(RegistryError, match="encryption_kid"):
        load_partners(rotated_registry(isolated_runtime, SCHOOL, new_jwk, current=None))
    with pytest.raises(RegistryError, match="none of the partner's encryption keys"):
        load_partners(rotated_registry(isolated_runtime, SCHOOL, new_jwk, current="nope"))
    without_kid = {k: v for k, v in new_jwk.items() if k != "kid"}
    with pytest.raises(RegistryError, match="its own 'kid'"):
        load_partners(rotated_registry(isolated_runtime, SCHOOL, without_kid, current=None))


def test_the_single_key_form_still_lists_one_key(isolated_runtime: Runtime) -> None:
    view = isolated_runtime.partners.partners[SCHOOL].public_view()
    assert view["encryption_key"]["kid"] and "encryption_keys" not in view
