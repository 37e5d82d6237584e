"""Several instances starting at once on a fresh PostgreSQL database (a first rollout with two
replicas): every `serve` migrates first, and all of them must come up."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from bench.cluster import create_database
from gateway.migrate import alembic_config
from tests.conftest import TEST_DB_ENV

BASE_URL = os.environ.get(TEST_DB_ENV, "")

pytestmark = pytest.mark.skipif(
    not BASE_URL.startswith("postgresql"), reason="several processes on one SQLite file are not supported"
)

_UPGRADE = (
    "import sys, sqlalchemy; from gateway.migrate import upgrade; "
    "upgrade(sqlalchemy.create_engine(sys.argv[1]))"
)


@pytest.fixture
def fresh_database() -> Iterator[str]:
    url, drop = create_database(BASE_URL, "meerpunt_migrate")
    try:
        yield url
    finally:
        drop()


def test_instances_migrating_at_the_same_moment_all_succeed(fresh_database: str) -> None:
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _UPGRADE, fresh_database], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=120)[0].decode(errors="replace") for process in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output[-2000:]
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    engine = sa.create_engine(fresh_database)
    try:
        with engine.connect() as connection:
            applied = set(connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    finally:
        engine.dispose()
    assert applied == heads
