"""Verification detects any single change to stored entries or tree heads, made directly in SQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jws

from audit.leaf import POSTGRES_LINE_SQL
from audit.models import RegisterEntry
from audit.sequencer import CHECKPOINT_TYP, checkpoint_now, head_claims, sequence_pending
from audit.verify import (
    CHECKPOINT_GRACE_SECONDS,
    Finding,
    TrustedCheckpointError,
    VerificationBusy,
    verify_register,
)
from audit.verify_reader import open_reader
from gateway.db import is_sqlite
from gateway.runtime import Runtime
from gateway.signing import GatewaySigner
from tests.audit.builders import make_draft, record_all, varied_drafts
from tests.audit.tamper import (
    delete_entry,
    delete_from,
    move,
    remove_guards,
    reseal,
    rewrite,
    shift,
    sql,
    swap_content,
)
from tests.support import DevEnv


def populate(runtime: Runtime) -> list[RegisterEntry]:
    """40 sequenced entries under two signed heads (sizes 25 and 40) and 3 awaiting the sequencer.

    The append-only triggers are switched off afterwards: these tests show what verification finds
    when someone with DDL rights bypassed them (tests/audit/test_guards.py shows they refuse).
    """
    entries = record_all(runtime.engine, varied_drafts(25))
    sequence_pending(runtime, sign=True)
    entries += record_all(runtime.engine, varied_drafts(15))
    sequence_pending(runtime, sign=True)
    entries += record_all(runtime.engine, varied_drafts(3))
    remove_guards(runtime.engine)
    return entries


def later(runtime: Runtime, seconds: float) -> Runtime:
    """The same runtime, its clock `seconds` ahead (verification judges how old the newest head is)."""
    clock = runtime.clock
    return dataclasses.replace(runtime, clock=lambda: clock() + dt.timedelta(seconds=seconds))


LONG_AFTER = CHECKPOINT_GRACE_SECONDS + 3600


def test_an_intact_register_verifies(isolated_runtime: Runtime) -> None:
    populate(isolated_runtime)
    report = verify_register(isolated_runtime)
    assert report.ok, report.summary()
    assert (report.entries, report.pending, report.tree_heads) == (40, 3, 2)
    assert report.first_bad_entry is None and report.finding is None
    assert "register OK: 40 entries" in report.summary()
    assert verify_register(later(isolated_runtime, LONG_AFTER)).ok  # nothing unsigned: age is fine


def test_an_empty_register_verifies(isolated_runtime: Runtime) -> None:
    report = verify_register(isolated_runtime)
    assert report.ok and report.entries == 0


# --- one entry changed, its leaf hash left alone: named exactly --------------------------------


@pytest.mark.parametrize("position", [0, 12, 24, 25, 39])
def test_altering_a_field_is_detected(isolated_runtime: Runtime, position: int) -> None:
    victim = populate(isolated_runtime)[position]
    sql(
        isolated_runtime.engine,
        "UPDATE register_entry SET body = replace(body, 'p-17', 'p-18') WHERE id = %s",
        victim.id,
    )
    report = verify_register(isolated_runtime)
    assert not report.ok
    assert report.finding == Finding.ENTRY_CHANGED
    assert (report.first_bad_entry, report.first_bad_leaf_index) == (victim.id, position)
    assert victim.id in report.summary()


@pytest.mark.parametrize(
    ("column", "value"),
    [("subject_hash", "0" * 64), ("sender", "99990000000000000027"), ("kind", "erasure"), ("categories", "")],
)
def test_altering_an_indexed_column_is_detected(isolated_runtime: Runtime, column: str, value: str) -> None:
    victim = populate(isolated_runtime)[30]
    sql(isolated_runtime.engine, f"UPDATE register_entry SET {column} = %s WHERE id = %s", value, victim.id)
    report = verify_register(isolated_runtime)
    assert not report.ok
    assert report.first_bad_entry == victim.id


def test_an_empty_string_does_not_pass_for_null(isolated_runtime: Runtime) -> None:
    victim = next(e for e in populate(isolated_runtime)[:25] if e.sender is None)
    sql(isolated_runtime.engine, "UPDATE register_entry SET sender = '' WHERE id = %s", victim.id)
    assert verify_register(isolated_runtime).first_bad_entry == victim.id


def test_altering_the_time_is_detected(isolated_runtime: Runtime) -> None:
    victim = populate(isolated_runtime)[3]
    with isolated_runtime.engine.begin() as connection:
        connection.execute(
            RegisterEntry.__table__.update()  # type: ignore[attr-defined]
            .where(RegisterEntry.__table__.c.id == victim.id)  # type: ignore[attr-defined]
            .values(occurred_at=victim.occurred_at.replace(microsecond=victim.occurred_at.microsecond ^ 1))
        )
    report = verify_register(isolated_runtime)
    assert report.first_bad_entry == victim.id


def test_altering_a_stored_leaf_hash_is_detected(isolated_runtime: Runtime) -> None:
    victim = populate(isolated_runtime)[7]
    sql(
        isolated_runtime.engine,
        "UPDATE register_entry SET leaf_hash = %s WHERE id = %s",
        b"\x00" * 32,
        victim.id,
    )
    assert verify_register(isolated_runtime).first_bad_entry == victim.id


def test_altering_an_entry_awaiting_the_sequencer_is_detected(isolated_runtime: Runtime) -> None:
    waiting = populate(isolated_runtime)[-1]
    sql(isolated_runtime.engine, "UPDATE register_entry SET actor = 'someone-else' WHERE id = %s", waiting.id)
    report = verify_register(isolated_runtime)
    assert (report.finding, report.first_bad_entry) == (Finding.ENTRY_CHANGED, waiting.id)
    assert waiting.id not in report.message  # ids only in first_bad_entry, which the API may redact


# --- rewritten together with the leaf hash: the signed heads give the range, no one is blamed ---


@pytest.mark.parametrize(
    ("first", "second", "head_range"), [(10, 16, (0, 25)), (0, 24, (0, 25)), (26, 39, (25, 40))]
)
def test_swapping_the_content_of_two_entries_blames_no_innocent_entry(
    isolated_runtime: Runtime, first: int, second: int, head_range: tuple[int, int]
) -> None:
    populate(isolated_runtime)
    swap_content(isolated_runtime.engine, first, second)
    report = verify_register(isolated_runtime)
    assert not report.ok
    assert report.finding == Finding.TREE_MISMATCH
    assert report.first_bad_entry is None and report.first_bad_leaf_index is None
    assert report.bad_range == head_range
    assert "nothing stored tells which one" in report.message


def test_swapping_two_entries_positions_gives_the_range(isolated_runtime: Runtime) -> None:
    entries = populate(isolated_runtime)
    first, second = entries[10], entries[16]
    engine = isolated_runtime.engine
    move(engine, first.id, -1)
    move(engine, second.id, 10)
    move(engine, first.id, 16)
    report = verify_register(isolated_runtime)
    assert (report.finding, report.bad_range, report.first_bad_entry) == (
        Finding.TREE_MISMATCH,
        (0, 25),
        None,
    )


def test_a_stale_tile_is_only_a_hint_inside_the_signed_range(isolated_runtime: Runtime) -> None:
    """600 entries under one head: the tiles are unsigned, so the signed head's range is reported."""
    record_all(isolated_runtime.engine, (make_draft() for _ in range(600)))
    sequence_pending(isolated_runtime, sign=False)
    checkpoint_now(isolated_runtime)
    remove_guards(isolated_runtime.engine)
    swap_content(isolated_runtime.engine, 10, 20)  # inside tile 0, which is left as it was
    report = verify_register(isolated_runtime)
    assert (report.finding, report.bad_range, report.first_bad_entry) == (
        Finding.TREE_MISMATCH,
        (0, 600),
        None,
    )
    assert "stored tile 0 (leaf indexes 0..255) no longer matches them either" in report.message


def test_an_entry_rewritten_between_two_adjacent_heads_is_named(isolated_runtime: Runtime) -> None:
    engine = isolated_runtime.engine
    entries = []
    for _ in range(3):  # heads of sizes 1, 2 and 3: each covers exactly one more entry
        entries += record_all(engine, [make_draft()])
        checkpoint_now(isolated_runtime)
    remove_guards(engine)
    rewrite(engine, entries[1].id, subject_hash="0" * 64)
    reseal(engine)
    report = verify_register(isolated_runtime)
    assert (report.finding, report.bad_range) == (Finding.TREE_MISMATCH, (1, 2))
    assert (report.first_bad_entry, report.first_bad_leaf_index) == (entries[1].id, 1)


def test_rewriting_an_entry_with_its_hash_and_tiles_is_caught_by_the_head(isolated_runtime: Runtime) -> None:
    entries = populate(isolated_runtime)
    rewrite(isolated_runtime.engine, entries[30].id, subject_hash="0" * 64)
    reseal(isolated_runtime.engine)
    report = verify_register(isolated_runtime)
    assert (report.finding, report.bad_range, report.first_bad_entry) == (
        Finding.TREE_MISMATCH,
        (25, 40),
        None,
    )


# --- deleted, inserted, moved -------------------------------------------------------------------


@pytest.mark.parametrize("position", [0, 20, 24, 39])
def test_deleting_an_entry_is_detected(isolated_runtime: Runtime, position: int) -> None:
    entries = populate(isolated_runtime)
    delete_entry(isolated_runtime.engine, entries[position].id)
    report = verify_register(isolated_runtime)
    assert not report.ok
    if position == 39:  # the last: the head of size 40 signs more than is stored
        assert report.finding == Finding.ENTRIES_DELETED
    else:
        assert report.finding == Finding.ENTRY_MISSING
        assert f"leaf index {position} is missing" in report.message
    assert report.first_bad_leaf_index == position
    assert report.first_bad_entry is None  # the entry is gone; its neighbour is innocent


def test_an_entry_moved_out_of_the_tree_is_named(isolated_runtime: Runtime) -> None:
    entries = populate(isolated_runtime)
    move(isolated_runtime.engine, entries[20].id, 1000)
    report = verify_register(isolated_runtime)
    assert (report.finding, report.first_bad_leaf_index) == (Finding.ENTRY_MISSING, 20)
    assert report.first_bad_entry == entries[20].id


def test_deleting_an_entry_and_closing_the_gap_is_detected(isolated_runtime: Runtime) -> None:
    entries = populate(isolated_runtime)
    delete_entry(isolated_runtime.engine, entries[5].id)
    shift(isolated_runtime.engine, at_or_after=6, by=-1)
    reseal(isolated_runtime.engine)
    report = verify_register(isolated_runtime)
    assert not report.ok
    assert (report.finding, report.bad_range, report.first_bad_entry) == (
        Finding.TREE_MISMATCH,
        (0, 25),
        None,
    )


def test_inserting_an_entry_in_the_middle_is_detected(isolated_runtime: Runtime) -> None:
    populate(isolated_runtime)
    engine = isolated_runtime.engine
    shift(engine, at_or_after=30, by=1)
    forged = record_all(engine, [make_draft()])[0]
    move(engine, forged.id, 30)
    reseal(engine)
    report = verify_register(isolated_runtime)
    assert (report.finding, report.bad_range) == (Finding.TREE_MISMATCH, (25, 40))


def test_an_entry_taken_off_the_sequencers_queue_is_detected(isolated_runtime: Runtime) -> None:
    """With the guards off, deleting a waiting entry's queue row would keep it out of the tree
    (and so out of every signed head) for good: verification names the gap."""
    populate(isolated_runtime)
    waiting = record_all(isolated_runtime.engine, [make_draft()])[0]
    assert verify_register(isolated_runtime).ok  # waiting for the sequencer is no finding
    remove_guards(isolated_runtime.engine)
    sql(isolated_runtime.engine, "DELETE FROM register_pending WHERE seq = %s", waiting.seq)
    report = verify_register(isolated_runtime)
    assert report.finding == Finding.STATE_MISMATCH
    counts = re.match(r"(\d+) entries have no tree position but (\d+) await", report.message)
    assert counts is not None, report.message
    unplaced, queued = counts.groups()
    assert int(unplaced) == int(queued) + 1  # populate() leaves a few waiting; one of them was cut off


def test_appending_an_entry_behind_the_sequencers_back_is_detected(isolated_runtime: Runtime) -> None:
    populate(isolated_runtime)
    forged = record_all(isolated_runtime.engine, [make_draft()])[0]
    move(isolated_runtime.engine, forged.id, 40)
    report = verify_register(isolated_runtime)
    assert (report.finding, report.first_bad_entry) == (Finding.STATE_MISMATCH, forged.id)


# --- tree heads, tiles and the sequencer's state ------------------------------------------------


@pytest.mark.parametrize(
    ("assignment", "params"),
    [
        ("root_hash = %s", (b"\x01" * 32,)),
        ("size = size - 1", ()),
        ("jws = jws || 'x'", ()),
        ("signed_at = %s", ("2020-01-01 00:00:00.000000+00:00",)),
    ],
)
def test_editing_a_tree_head_is_detected(
    isolated_runtime: Runtime, assignment: str, params: tuple[object, ...]
) -> None:
    populate(isolated_runtime)
    sql(isolated_runtime.engine, f"UPDATE register_tree_head SET {assignment} WHERE size = 25", *params)
    report = verify_register(isolated_runtime)
    assert not report.ok
    assert report.finding == Finding.HEAD_SIGNATURE
    assert "tree head #" in report.message


def test_editing_a_tile_is_detected(isolated_runtime: Runtime) -> None:
    record_all(isolated_runtime.engine, (make_draft() for _ in range(300)))
    sequence_pending(isolated_runtime, sign=True)
    remove_guards(isolated_runtime.engine)
    sql(isolated_runtime.engine, "UPDATE register_tree_tile SET hash = %s WHERE tile_index = 0", b"\x02" * 32)
    report = verify_register(isolated_runtime)
    assert not report.ok and report.finding == Finding.TILE_MISMATCH
    assert "tile 0" in report.message and "was altered" in report.message  # the head vouches for the entries
    assert report.bad_range == (0, 256) and report.first_bad_entry is None


# --- coverage by signatures: deleted heads, the unsigned tail -----------------------------------


def test_deleting_every_head_is_detected(isolated_runtime: Runtime) -> None:
    entries = populate(isolated_runtime)
    engine = isolated_runtime.engine
    sql(engine, "DELETE FROM register_tree_head")
    delete_entry(engine, entries[5].id)
    shift(engine, at_or_after=6, by=-1)
    reseal(engine)
    report = verify_register(isolated_runtime)
    assert not report.ok
    assert report.finding == Finding.NO_SIGNED_HEAD
    assert "0 signed tree heads" not in report.summary()


def test_entries_without_any_head_are_a_finding(isolated_runtime: Runtime) -> None:
    record_all(isolated_runtime.engine, [make_draft()])
    assert verify_register(isolated_runtime).finding == Finding.NO_SIGNED_HEAD
    checkpoint_now(isolated_runtime)
    assert verify_register(isolated_runtime).ok


def test_deleting_the_newest_head_and_rewriting_what_it_covered_is_detected(
    isolated_runtime: Runtime,
) -> None:
    entries = populate(isolated_runtime)
    engine = isolated_runtime.engine
    sql(engine, "DELETE FROM register_tree_head WHERE size = 40")
    rewrite(engine, entries[30].id, subject_hash="0" * 64)
    reseal(engine)
    assert verify_register(isolated_runtime).ok  # within the checkpoint interval: indistinguishable
    report = verify_register(later(isolated_runtime, LONG_AFTER))
    assert report.finding == Finding.STALE_CHECKPOINT
    assert report.bad_range == (25, 40) and report.first_bad_leaf_index == 25


def test_a_stalled_unsigned_tail_is_a_finding(isolated_runtime: Runtime) -> None:
    populate(isolated_runtime)
    sequence_pending(isolated_runtime, sign=False)  # the 3 waiting entries get positions, no head
    assert verify_register(isolated_runtime).ok
    report = verify_register(later(isolated_runtime, LONG_AFTER))
    assert (report.finding, report.bad_range) == (Finding.STALE_CHECKPOINT, (40, 43))


# --- checkpoints kept outside the database ------------------------------------------------------


def test_a_trusted_checkpoint_catches_a_rewrite_after_its_head_was_deleted(isolated_runtime: Runtime) -> None:
    entries = populate(isolated_runtime)
    engine = isolated_runtime.engine
    with engine.connect() as connection:
        saved = connection.exec_driver_sql("SELECT jws FROM register_tree_head WHERE size = 40").scalar_one()
    assert verify_register(isolated_runtime, trusted_checkpoints=[saved]).ok
    sql(engine, "DELETE FROM register_tree_head WHERE size = 40")
    rewrite(engine, entries[30].id, subject_hash="0" * 64)
    reseal(engine)
    report = verify_register(isolated_runtime, trusted_checkpoints=[saved])
    assert (report.finding, report.bad_range) == (Finding.TRUSTED_CHECKPOINT, (25, 40))
    assert "trusted checkpoint of size 40" in report.message


def test_a_trusted_checkpoint_catches_truncation(isolated_runtime: Runtime) -> None:
    entries = populate(isolated_runtime)
    engine = isolated_runtime.engine
    with engine.connect() as connection:
        saved = connection.exec_driver_sql("SELECT jws FROM register_tree_head WHERE size = 40").scalar_one()
    sql(engine, "DELETE FROM register_tree_head WHERE size = 40")
    delete_from(engine, 30)
    reseal(engine)
    assert verify_register(isolated_runtime).ok  # the database alone looks like a shorter register
    report = verify_register(isolated_runtime, trusted_checkpoints=[json.dumps({"jws": saved})])
    assert report.finding == Finding.TRUSTED_CHECKPOINT and report.bad_range == (30, 40)
    del entries


def test_a_forged_trusted_checkpoint_is_refused(isolated_runtime: Runtime) -> None:
    populate(isolated_runtime)
    other = GatewaySigner(ec.generate_private_key(ec.SECP256R1()))
    forged = other.sign(
        head_claims(40, b"\x00" * 32, isolated_runtime.clock(), other.key_id), typ=CHECKPOINT_TYP
    )
    with pytest.raises(TrustedCheckpointError, match="unknown key"):
        verify_register(isolated_runtime, trusted_checkpoints=[forged])


@pytest.mark.parametrize(
    "text", ["{}", '{"jws": 5}', "[1]", "{" + '"":{' * 1023, "not a jws", '{"jws": "a.b.c"}']
)
def test_a_malformed_trusted_checkpoint_is_refused(isolated_runtime: Runtime, text: str) -> None:
    with pytest.raises(TrustedCheckpointError):
        verify_register(isolated_runtime, trusted_checkpoints=[text])


# --- key rotation -------------------------------------------------------------------------------


def test_heads_signed_before_a_key_rotation_still_verify(isolated_runtime: Runtime, tmp_path: Path) -> None:
    old = isolated_runtime
    record_all(old.engine, (make_draft() for _ in range(5)))
    checkpoint_now(old)
    old_key = tmp_path / "old-signing.pub.pem"
    old_key.write_bytes(
        old.signer.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    new_signer = GatewaySigner(ec.generate_private_key(ec.SECP256R1()))
    rotated = dataclasses.replace(
        old,
        signer=new_signer,
        settings=old.settings.model_copy(update={"gateway_previous_signing_public_key_files": [old_key]}),
    )
    record_all(old.engine, (make_draft() for _ in range(5)))
    head = checkpoint_now(rotated)
    assert jws.get_unverified_header(head.jws)["kid"] == new_signer.key_id  # signed with the new key
    report = verify_register(rotated)
    assert report.ok and report.tree_heads == 2, report.summary()

    forgotten = dataclasses.replace(rotated, settings=old.settings)  # the old key not configured
    report = verify_register(forgotten)
    assert report.finding == Finding.HEAD_SIGNATURE and "unknown key" in report.message


# --- one verification at a time ------------------------------------------------------------------


def test_a_second_verification_is_refused_while_one_runs(isolated_runtime: Runtime) -> None:
    populate(isolated_runtime)
    source = open_reader(isolated_runtime)
    try:
        with pytest.raises(VerificationBusy):
            verify_register(isolated_runtime, wait=False)
    finally:
        source.close()
    assert verify_register(isolated_runtime, wait=False).ok


def test_postgres_renders_exactly_the_python_leaf_input(isolated_runtime: Runtime) -> None:
    """The fast verifier trusts PostgreSQL's rendering only because it equals the reference encoder."""
    if is_sqlite(isolated_runtime.engine):
        pytest.skip("the SQL rendering is PostgreSQL's")
    entries = record_all(isolated_runtime.engine, varied_drafts(25))
    with isolated_runtime.engine.connect() as connection:
        rendered = dict(
            connection.exec_driver_sql(
                f"SELECT id, convert_to({POSTGRES_LINE_SQL}, 'UTF8') FROM register_entry"
            ).all()
        )
    for entry in entries:
        assert bytes(rendered[entry.id]) == entry.leaf_input()[1:]
    sequence_pending(isolated_runtime, sign=False)
    source = open_reader(isolated_runtime)
    try:
        block = source.block(0, 25, 0)
    finally:
        source.close()
    assert block.computed is not None  # hashed by PostgreSQL …
    assert block.computed == b"".join(e.leaf_hash for e in entries)  # … exactly as Python does


def test_a_null_where_no_writer_puts_one_is_located(isolated_runtime: Runtime) -> None:
    """A NULL line makes PostgreSQL's hash NULL: the block is read row by row to name the entry."""
    if is_sqlite(isolated_runtime.engine):
        pytest.skip("SQLite cannot drop a NOT NULL constraint in place; its reader renders in Python")
    victim = populate(isolated_runtime)[17]
    engine = isolated_runtime.engine
    sql(engine, "ALTER TABLE register_entry ALTER COLUMN actor DROP NOT NULL")
    sql(engine, "UPDATE register_entry SET actor = NULL WHERE id = %s", victim.id)
    report = verify_register(isolated_runtime)
    assert (report.finding, report.first_bad_entry) == (Finding.ENTRY_CHANGED, victim.id)


def test_cli_exits_non_zero_naming_the_first_bad_entry(isolated_runtime: Runtime, dev_env: DevEnv) -> None:
    victim = populate(isolated_runtime)[2]
    command = [
        sys.executable,
        "-m",
        "gateway",
        "audit",
        "verify",
        "--config",
        str(dev_env.directory / "gateway.toml"),
    ]
    env = {**os.environ, "MEERPUNT_DATABASE_URL": isolated_runtime.settings.database_url}

    intact = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "register OK: 40 entries" in intact.stdout

    sql(
        isolated_runtime.engine,
        "UPDATE register_entry SET recipient = %s WHERE id = %s",
        "99990000000000000027",
        victim.id,
    )
    broken = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert broken.returncode == 1
    assert victim.id in broken.stdout
