"""Backup and restore with pg_dump/pg_restore, as docs/operations.md describes (issue 13, part 5).

A restored dump must verify as a whole register; restoring an *older* dump is a rollback that the
database alone cannot reveal (it is a consistent, shorter register), so the procedure keeps the
latest signed checkpoint outside the database and `audit verify --trusted-checkpoint` names it.
PostgreSQL only: SQLite is backed up by copying its file (`.backup`), not by these tools.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from audit.sequencer import checkpoint_now
from exchange.crypto import decrypt_as_recipient
from gateway.db import create_db_engine
from gateway.runtime import Runtime
from tests.audit.builders import make_draft, record_all
from tests.exchange.test_delivery import send_to
from tests.exchange.test_disclosures import private_key
from tests.exchange.test_kek_rotation import inbox
from tests.support import SCHOOL, DevEnv

pytestmark = pytest.mark.skipif(
    not os.environ.get("MEERPUNT_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="pg_dump/pg_restore: PostgreSQL only",
)


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def dump(url: str, target: Path) -> None:
    """The backup step of docs/operations.md: a custom-format dump (consistent snapshot)."""
    subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", "--file", str(target), libpq(url)],
        check=True,
        capture_output=True,
        timeout=300,
    )


@pytest.fixture
def restore_into(isolated_runtime: Runtime) -> Iterator[Callable[[Path], str]]:
    """`restore_into(dump)`: a fresh database (unique name) holding the dump; dropped afterwards."""
    admin = libpq(
        make_url(isolated_runtime.settings.database_url).set(database="postgres").render_as_string(False)
    )
    created: list[str] = []

    def restore(source: Path) -> str:
        name = f"meerpunt_restore_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        url = make_url(isolated_runtime.settings.database_url).set(database=name).render_as_string(False)
        done = subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", libpq(url), str(source)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return url

    yield restore
    with psycopg.connect(admin, autocommit=True) as connection:
        for name in created:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def gateway_cli(dev_env: DevEnv, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEERPUNT_DATABASE_URL": database_url}
    config = str(dev_env.directory / "gateway.toml")
    command = [sys.executable, "-m", "gateway", *args, "--config", config]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_a_restored_dump_verifies_and_its_payloads_still_open(
    dev_env: DevEnv, isolated_runtime: Runtime, restore_into: Callable[[Path], str], tmp_path: Path
) -> None:
    record_all(isolated_runtime.engine, (make_draft() for _ in range(20)))
    waiting = [send_to(isolated_runtime, SCHOOL) for _ in range(3)]
    checkpoint_now(isolated_runtime)
    backup = tmp_path / "meerpunt.dump"
    dump(isolated_runtime.settings.database_url, backup)

    restored = restore_into(backup)
    verified = gateway_cli(dev_env, restored, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "register OK: 23 entries" in verified.stdout  # 20 + a disclosure entry per message
    status = gateway_cli(dev_env, restored, "keys", "status")
    assert status.returncode == 0 and "legacy" in status.stdout and f"{len(waiting):>9}" in status.stdout
    engine = create_db_engine(restored)
    try:
        items = {i["id"]: i for i in inbox(dataclasses.replace(isolated_runtime, engine=engine), SCHOOL)}
    finally:
        engine.dispose()
    school = private_key(dev_env, SCHOOL)
    for message_id in waiting:
        assert decrypt_as_recipient(items[message_id]["payload_jwe"], school)


def test_restoring_an_older_dump_is_detected_as_a_rolled_back_register(
    dev_env: DevEnv, isolated_runtime: Runtime, restore_into: Callable[[Path], str], tmp_path: Path
) -> None:
    record_all(isolated_runtime.engine, (make_draft() for _ in range(10)))
    checkpoint_now(isolated_runtime)
    older = tmp_path / "older.dump"
    dump(isolated_runtime.settings.database_url, older)
    record_all(isolated_runtime.engine, (make_draft() for _ in range(7)))
    saved = tmp_path / "checkpoint.jws"
    saved.write_text(checkpoint_now(isolated_runtime).jws)  # kept outside the database

    restored = restore_into(older)
    alone = gateway_cli(dev_env, restored, "audit", "verify")
    assert alone.returncode == 0, alone.stdout  # by itself the older register is consistent
    caught = gateway_cli(dev_env, restored, "audit", "verify", "--trusted-checkpoint", str(saved))
    assert caught.returncode == 1, caught.stdout + caught.stderr
    assert "register BROKEN (trusted_checkpoint): the register was rolled back" in caught.stdout
    assert "signs 17 entries but only 10 are stored" in caught.stdout
    # The live database, which does extend the checkpoint, passes with it.
    live = gateway_cli(
        dev_env, isolated_runtime.settings.database_url, "audit", "verify", "--trusted-checkpoint", str(saved)
    )
    assert live.returncode == 0, live.stdout
