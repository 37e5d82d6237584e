"""Rotation of the key-encryption key while messages wait, and fault isolation of a payload that
cannot be opened (issue 13, part 4 and "Why")."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

import exchange.kek_rotation as kek_rotation
from adapters.push import drain_once
from consent.models import Consent
from consent.service import get_consent
from exchange.crypto import LEGACY_KEK_ID, KekRing, decrypt_as_recipient, rewrap_data_key
from exchange.inbox import list_inbox
from exchange.kek_rotation import kek_status, rotate_kek
from exchange.models import OutboxItem, StoredPayload
from gateway.app import create_app
from gateway.db import unit_of_work
from gateway.runtime import Runtime
from tests.exchange.conftest import Clock
from tests.exchange.test_delivery import Webhook, inbox_ids, partner, payload_of, send_to, status_of
from tests.exchange.test_disclosures import private_key
from tests.exchange.test_rights import correction_body
from tests.support import JGZ, PUSH_PARTNER, SCHOOL, DevEnv, ServerThread, new_bsn, partner_client

NEW_ID = "2026-12"


def new_key() -> bytes:
    return os.urandom(32)


def rotated(runtime: Runtime, key: bytes) -> KekRing:
    """The operator's step 1: the new key joins the ring and becomes current; the old one stays."""
    return KekRing({**runtime.kek.keys, NEW_ID: key}, NEW_ID)


def inbox(runtime: Runtime, oin: str) -> list[dict[str, Any]]:
    with unit_of_work(runtime.engine) as session:
        items: list[dict[str, Any]] = list_inbox(session, runtime, partner(runtime, oin), None, 500)["items"]
        return items


def cli(dev_env: DevEnv, runtime: Runtime, *args: str) -> subprocess.CompletedProcess[str]:
    """`meerpunt-gateway keys …` against this test's database, with the ring given by environment."""
    ring = runtime.kek
    others = {i: base64.b64encode(k).decode() for i, k in ring.keys.items() if i != LEGACY_KEK_ID}
    env = {
        **os.environ,
        "MEERPUNT_DATABASE_URL": runtime.settings.database_url,
        "MEERPUNT_KEKS": json.dumps(others),
        "MEERPUNT_KEK_CURRENT": ring.current,
    }
    if LEGACY_KEK_ID not in ring.keys:  # gateway.toml's `kek` (id legacy) removed from the config
        env["MEERPUNT_KEK"] = ""
    command = [
        sys.executable,
        "-m",
        "gateway",
        "keys",
        *args,
        "--config",
        str(dev_env.directory / "gateway.toml"),
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_new_payloads_use_the_current_kek_and_older_ones_still_open(isolated_runtime: Runtime) -> None:
    before = send_to(isolated_runtime, SCHOOL)
    assert payload_of(isolated_runtime, before).kek_id == LEGACY_KEK_ID
    isolated_runtime.kek = rotated(isolated_runtime, new_key())
    after = send_to(isolated_runtime, SCHOOL)
    assert payload_of(isolated_runtime, after).kek_id == NEW_ID
    items = {item["id"]: item for item in inbox(isolated_runtime, SCHOOL)}
    for message_id in (before, after):
        assert items[message_id]["payload_jwe"] and "payload_error" not in items[message_id]


def test_rotate_kek_rewraps_everything_so_the_old_key_can_be_removed(
    dev_env: DevEnv, isolated_runtime: Runtime
) -> None:
    old = [send_to(isolated_runtime, SCHOOL) for _ in range(5)]
    isolated_runtime.kek = rotated(isolated_runtime, new_key())
    fresh = send_to(isolated_runtime, SCHOOL)

    status = cli(dev_env, isolated_runtime, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert [line.split()[:2] for line in status.stdout.splitlines()[1:]] == [[NEW_ID, "1"], ["legacy", "5"]]

    done = cli(dev_env, isolated_runtime, "rotate-kek", "--batch-size", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "re-wrapped 5 data keys and re-sealed 0 consent BSNs under '2026-12'" in done.stdout
    again = cli(dev_env, isolated_runtime, "rotate-kek")  # resumable: nothing left to do
    assert "re-wrapped 0 data keys" in again.stdout
    status = cli(dev_env, isolated_runtime, "status")
    assert (
        "legacy                           0         0  old: nothing depends on it, may be removed"
        in status.stdout
    )

    # Step 3: the old key leaves the configuration; every message still opens.
    isolated_runtime.kek = KekRing({NEW_ID: isolated_runtime.kek.keys[NEW_ID]}, NEW_ID)
    items = {item["id"]: item for item in inbox(isolated_runtime, SCHOOL)}
    school = private_key(dev_env, SCHOOL)
    for message_id in [*old, fresh]:
        assert payload_of(isolated_runtime, message_id).kek_id == NEW_ID
        assert decrypt_as_recipient(items[message_id]["payload_jwe"], school)


def test_keys_status_fails_when_payloads_depend_on_a_key_no_longer_configured(
    dev_env: DevEnv, isolated_runtime: Runtime
) -> None:
    send_to(isolated_runtime, SCHOOL)
    isolated_runtime.kek = KekRing({NEW_ID: new_key()}, NEW_ID)  # the old key removed too early
    status = cli(dev_env, isolated_runtime, "status")
    assert status.returncode == 1
    assert "NOT CONFIGURED" in status.stdout
    rotation = cli(dev_env, isolated_runtime, "rotate-kek")
    assert rotation.returncode == 1 and "1 cannot be unwrapped" in rotation.stdout


def test_rotation_never_resurrects_a_payload_shredded_while_it_ran(
    isolated_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An erasure (art. 12) between the rotation's read and its write wins: the conditional UPDATE
    matches nothing, and the data key stays destroyed."""
    victim, other = send_to(isolated_runtime, SCHOOL), send_to(isolated_runtime, SCHOOL)
    ring = rotated(isolated_runtime, new_key())
    original = rewrap_data_key
    payloads = StoredPayload.__table__  # type: ignore[attr-defined]

    def shred_meanwhile(ring: KekRing, message_id: str, kek_id: str, wrapped: bytes) -> bytes:
        if message_id == victim:
            with isolated_runtime.engine.begin() as connection:
                connection.execute(
                    sa.update(payloads)
                    .where(payloads.c.message_id == victim)
                    .values(wrapped_key=None, ciphertext=b"")
                )
        return original(ring, message_id, kek_id, wrapped)

    monkeypatch.setattr(kek_rotation, "rewrap_data_key", shred_meanwhile)
    result = rotate_kek(isolated_runtime.engine, ring)
    assert (result.rewrapped, result.skipped, result.failed) == (1, 1, [])
    assert payload_of(isolated_runtime, victim).wrapped_key is None
    assert payload_of(isolated_runtime, other).kek_id == NEW_ID
    usage = {row.kek_id: row.payloads for row in kek_status(isolated_runtime.engine, ring)}
    assert usage == {NEW_ID: 1, LEGACY_KEK_ID: 0}


# --- one payload that cannot be opened ----------------------------------------------------------


def test_one_payload_that_cannot_be_opened_fails_only_its_inbox_item(
    isolated_runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    good = [send_to(isolated_runtime, SCHOOL) for _ in range(2)]
    legacy = isolated_runtime.kek
    ring = rotated(isolated_runtime, new_key())
    isolated_runtime.kek = ring
    bad = send_to(isolated_runtime, SCHOOL)
    isolated_runtime.kek = legacy  # an instance started without the new key

    with caplog.at_level(logging.ERROR, logger="meerpunt.exchange"):
        items = {item["id"]: item for item in inbox(isolated_runtime, SCHOOL)}
    assert set(items) == {*good, bad}
    for message_id in good:
        assert items[message_id]["payload_jwe"] and "payload_error" not in items[message_id]
        assert status_of(isolated_runtime, message_id)["status"] == "delivered"
    error = items[bad]["payload_error"]
    assert error["type"] == "payload-unavailable" and error["kek_id"] == NEW_ID
    assert items[bad]["payload_jwe"] is None and items[bad]["subject"] == {"bsn": None}
    assert status_of(isolated_runtime, bad)["status"] == "accepted"  # not handed out
    assert [r for r in caplog.records if bad in r.getMessage() and NEW_ID in r.getMessage()]

    # The operator puts the key back: the message opens again.
    isolated_runtime.kek = ring
    items = {item["id"]: item for item in inbox(isolated_runtime, SCHOOL)}
    assert items[bad]["payload_jwe"] and "payload_error" not in items[bad]


def test_a_damaged_payload_fails_only_its_inbox_item(isolated_runtime: Runtime) -> None:
    good, bad = send_to(isolated_runtime, SCHOOL), send_to(isolated_runtime, SCHOOL)
    payloads = StoredPayload.__table__  # type: ignore[attr-defined]
    with isolated_runtime.engine.begin() as connection:
        connection.execute(
            sa.update(payloads).where(payloads.c.message_id == bad).values(nonce=os.urandom(12))
        )
    items = {item["id"]: item for item in inbox(isolated_runtime, SCHOOL)}
    assert items[good]["payload_jwe"]
    assert items[bad]["payload_error"]["detail"].startswith("The gateway cannot open")
    assert good in inbox_ids(isolated_runtime, SCHOOL)


def test_a_push_whose_payload_cannot_be_opened_waits_alone_and_goes_once_the_key_is_back(
    isolated_runtime: Runtime, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    legacy = isolated_runtime.kek
    ring = rotated(isolated_runtime, new_key())
    isolated_runtime.kek = ring
    bad = send_to(isolated_runtime, PUSH_PARTNER)
    isolated_runtime.kek = legacy  # an instance started without the new key
    good = send_to(isolated_runtime, PUSH_PARTNER)
    webhook = Webhook()
    with webhook.client() as client, caplog.at_level(logging.ERROR, logger="meerpunt.push"):
        assert drain_once(isolated_runtime, client) == 1
    assert webhook.delivered == [good]
    assert [r for r in caplog.records if bad in r.getMessage()]
    with Session(isolated_runtime.engine) as session:
        row = session.exec(select(OutboxItem).where(OutboxItem.message_id == bad)).one()
    assert row.state == "pending" and row.last_error is not None and "payload unavailable" in row.last_error

    isolated_runtime.kek = ring
    clock.advance(seconds=60)
    with webhook.client() as client:
        assert drain_once(isolated_runtime, client) == 1
    assert webhook.delivered == [good, bad]
    assert status_of(isolated_runtime, bad)["status"] == "acknowledged"


def test_over_https_the_inbox_answers_200_and_a_call_needing_the_payload_503(
    dev_env: DevEnv, isolated_runtime: Runtime
) -> None:
    """What the partner sees: before, one unopenable payload made `GET /v1/inbox` a 500."""
    legacy = isolated_runtime.kek
    good = send_to(isolated_runtime, SCHOOL)
    isolated_runtime.kek = rotated(isolated_runtime, new_key())
    bad = send_to(isolated_runtime, SCHOOL)
    isolated_runtime.kek = legacy
    settings = isolated_runtime.settings.model_copy(update={"background_workers": False})
    with (
        ServerThread(create_app(settings, isolated_runtime), settings) as server,
        partner_client(dev_env, server.base_url, SCHOOL) as school,
        partner_client(dev_env, server.base_url, JGZ) as sender,
    ):
        listed = school.get("/v1/inbox")
        assert listed.status_code == 200, listed.text
        items = {item["id"]: item for item in listed.json()["items"]}
        assert items[good]["payload_jwe"] and items[bad]["payload_error"]["kek_id"] == NEW_ID
        corrected = sender.post(f"/v1/disclosures/{bad}/corrections", json=correction_body())
        assert corrected.status_code == 503, corrected.text
        assert corrected.headers["content-type"] == "application/problem+json"
        assert corrected.json()["type"].endswith("/payload-unavailable")


def test_consents_sealed_bsns_move_with_the_rotation(dev_env: DevEnv, isolated_runtime: Runtime) -> None:
    """A consent keeps its subject's BSN sealed under a key derived from the KEK (consent/sealing.py):
    `rotate-kek` re-seals it too, and `keys status` counts it, so the old KEK can really go."""
    bsn = new_bsn()
    send_to(isolated_runtime, SCHOOL, bsn, consented=True)
    with Session(isolated_runtime.engine) as session:
        consent = session.exec(
            select(Consent).where(Consent.subject_hash == isolated_runtime.bsn_hash(bsn))
        ).one()
    assert consent.subject_bsn_kek_id == LEGACY_KEK_ID
    isolated_runtime.kek = rotated(isolated_runtime, new_key())
    status = cli(dev_env, isolated_runtime, "status")
    assert [line.split()[:3] for line in status.stdout.splitlines()[1:]] == [
        [NEW_ID, "0", "0"],
        ["legacy", "1", "1"],
    ]
    done = cli(dev_env, isolated_runtime, "rotate-kek")
    assert "re-wrapped 1 data keys and re-sealed 1 consent BSNs" in done.stdout, done.stdout + done.stderr

    isolated_runtime.kek = KekRing({NEW_ID: isolated_runtime.kek.keys[NEW_ID]}, NEW_ID)  # old key gone
    with unit_of_work(isolated_runtime.engine) as session:
        shown = get_consent(session, isolated_runtime, JGZ, consent.id)
    assert shown.model_dump()["subject"]["bsn"] == bsn
