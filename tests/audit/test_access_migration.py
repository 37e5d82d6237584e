"""The access branch of the migrations creates exactly the table the model describes."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

from gateway.models import metadata
from tests.audit.test_migration import _table_of


def test_migrated_access_table_matches_the_model(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, metadata) if _table_of(d) == "subject_access_request"]
    assert diffs == []
