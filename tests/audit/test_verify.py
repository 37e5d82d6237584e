"""Verification detects any single change to stored entries or tree heads, made directly in SQL."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy.engine import Engine

from audit.leaf import POSTGRES_LINE_SQL
from audit.models import RegisterEntry
from audit.sequencer import sequence_pending
from audit.verify import verify_register
from gateway.db import is_sqlite
from gateway.runtime import Runtime
from tests.audit.builders import make_draft, record_all, varied_drafts
from tests.support import DevEnv


def populate(runtime: Runtime) -> list[RegisterEntry]:
    """40 sequenced entries under two signed heads (sizes 25 and 40) and 3 awaiting the sequencer."""
    entries = record_all(runtime.engine, varied_drafts(25))
    sequence_pending(runtime, sign=True)
    entries += record_all(runtime.engine, varied_drafts(15))
    sequence_pending(runtime, sign=True)
    return entries + record_all(runtime.engine, varied_drafts(3))


def sql(engine: Engine, statement: str, *params: object) -> None:
    marker = "?" if is_sqlite(engine) else "%s"
    with engine.begin() as connection:
        connection.exec_driver_sql(statement.replace("%s", marker), tuple(params))


def test_an_intact_register_verifies(isolated_runtime: Runtime) -> None:
    populate(isolated_runtime)
    report = verify_register(isolated_runtime)
    assert report.ok, report.summary()
    assert (report.entries, report.pending, report.tree_heads) == (40, 3, 2)
    assert report.first_bad_entry is None
    assert "register OK: 40 entries" in report.summary()


def test_an_empty_register_verifies(isolated_runtime: Runtime) -> None:
    report = verify_register(isolated_runtime)
    assert report.ok and report.entries == 0


def test_altering_a_field_is_detected(isolated_runtime: Runtime) -> None:
    victim = populate(isolated_runtime)[12]
    sql(
        isolated_runtime.engine,
        "UPDATE register_entry SET body = replace(body, 'Anna', 'Anne') WHERE id = %s",
        victim.id,
    )
    report = verify_register(isolated_runtime)
    assert not report.ok
    assert report.first_bad_entry == victim.id
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


def test_deleting_an_entry_is_detected(isolated_runtime: Runtime) -> None:
    entries = populate(isolated_runtime)
    sql(isolated_runtime.engine, "DELETE FROM register_entry WHERE id = %s", entries[20].id)
    report = verify_register(isolated_runtime)
    assert not report.ok
    assert "leaf index 20 is missing" in report.message
    assert report.first_bad_leaf_index == 20
    assert report.first_bad_entry == entries[21].id  # the entry now following the gap


def test_deleting_the_last_entries_is_detected(isolated_runtime: Runtime) -> None:
    entries = populate(isolated_runtime)
    sql(isolated_runtime.engine, "DELETE FROM register_entry WHERE id = %s", entries[39].id)
    report = verify_register(isolated_runtime)
    assert not report.ok
    assert report.first_bad_leaf_index == 39


def test_deleting_an_entry_and_closing_the_gap_is_detected(isolated_runtime: Runtime) -> None:
    entries = populate(isolated_runtime)
    sql(isolated_runtime.engine, "DELETE FROM register_entry WHERE id = %s", entries[5].id)
    sql(isolated_runtime.engine, "UPDATE register_entry SET leaf_index = leaf_index - 1 WHERE leaf_index > 5")
    report = verify_register(isolated_runtime)
    assert not report.ok
    assert report.first_bad_leaf_index is not None and report.first_bad_leaf_index <= 24


def test_swapping_two_entries_is_detected(isolated_runtime: Runtime) -> None:
    entries = populate(isolated_runtime)
    first, second = entries[10], entries[16]
    engine = isolated_runtime.engine
    sql(engine, "UPDATE register_entry SET leaf_index = -1 WHERE id = %s", first.id)
    sql(engine, "UPDATE register_entry SET leaf_index = 10 WHERE id = %s", second.id)
    sql(engine, "UPDATE register_entry SET leaf_index = 16 WHERE id = %s", first.id)
    report = verify_register(isolated_runtime)
    assert not report.ok
    assert "tree head" in report.message and "reordered" in report.message
    assert report.first_bad_entry == second.id  # out of sequencing order at leaf index 10
    assert report.first_bad_leaf_index == 10


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
    assert "tree head #" in report.message


def test_editing_a_tile_is_detected(isolated_runtime: Runtime) -> None:
    record_all(isolated_runtime.engine, (make_draft() for _ in range(300)))
    sequence_pending(isolated_runtime, sign=True)
    sql(isolated_runtime.engine, "UPDATE register_tree_tile SET hash = %s WHERE tile_index = 0", b"\x02" * 32)
    report = verify_register(isolated_runtime)
    assert not report.ok and "tile 0" in report.message


def test_altering_an_entry_awaiting_the_sequencer_is_detected(isolated_runtime: Runtime) -> None:
    waiting = populate(isolated_runtime)[-1]
    sql(isolated_runtime.engine, "UPDATE register_entry SET actor = 'someone-else' WHERE id = %s", waiting.id)
    assert verify_register(isolated_runtime).first_bad_entry == waiting.id


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
