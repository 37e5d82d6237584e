"""audit: tree positions in a narrow table of their own; entries are never updated

Revision ID: audit_0003
Revises: audit_0002
Create Date: 2026-12-04

Until now the sequencer set `register_entry.leaf_index` with an UPDATE: on PostgreSQL never a HOT
update (the column is indexed), so every entry was stored twice and its twelve indexes updated
twice, which bounded sequencing at about 5,400 entries/s (issue 16). Now:

- `register_position (leaf_index, entry_seq)`: written once per entry by the sequencer, append-only
  (UPDATE, DELETE and TRUNCATE refused, like the other register tables);
- `register_pending (seq, leaf_hash)`: the sequencer's queue. A trigger on `register_entry` adds the
  row in the statement that inserts the entry (so no code path can store an entry the sequencer
  never places); the sequencer deletes it in the transaction that writes the position, and a trigger
  refuses to delete the row of an entry that has no position;
- `register_entry` loses `leaf_index` (with its unique and partial indexes), and every UPDATE of an
  entry is now refused.

Existing data moves over: positions as they are, unsequenced entries into the queue.
`tests/audit/test_migration.py` runs this revision on a register written by the old schema.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "audit_0003"
down_revision: str | Sequence[str] | None = "audit_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PREFIX = "register_append_only"  # the guard function and trigger names of audit_0002
ENQUEUE = "register_entry_enqueue"
DEQUEUE_GUARD = f"register_pending_{PREFIX}_dequeue"


def _create_positions() -> None:
    op.create_table(
        "register_position",
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entry_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("leaf_index"),
        sa.UniqueConstraint("entry_seq"),
    )
    op.execute(
        "INSERT INTO register_position (leaf_index, entry_seq) "
        "SELECT leaf_index, seq FROM register_entry WHERE leaf_index IS NOT NULL"
    )


def _create_queue() -> None:
    """After `leaf_index` is gone: on SQLite (foreign keys on) the table rebuild must not meet a
    queue row referencing the entry table it drops."""
    op.create_table(
        "register_pending",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["seq"], ["register_entry.seq"]),
        sa.PrimaryKeyConstraint("seq"),
    )

    # NOT EXISTS, an anti-join: `NOT IN (subquery)` over a large register would not fit work_mem as
    # a hashed subplan, and PostgreSQL would then rescan the positions for every entry.
    op.execute(
        "INSERT INTO register_pending (seq, leaf_hash) SELECT seq, leaf_hash FROM register_entry "
        "WHERE NOT EXISTS (SELECT 1 FROM register_position WHERE register_position.entry_seq = "
        "register_entry.seq) ORDER BY seq"
    )


def _postgresql_upgrade() -> None:
    _create_positions()
    op.execute(f"DROP TRIGGER register_entry_{PREFIX}_update ON register_entry")
    op.drop_index("ix_register_entry_unsequenced", table_name="register_entry")
    op.execute("ALTER TABLE register_entry DROP COLUMN leaf_index")  # and its unique constraint
    _create_queue()
    op.execute(
        f"CREATE TRIGGER register_entry_{PREFIX}_update BEFORE UPDATE ON register_entry "
        f"FOR EACH ROW EXECUTE FUNCTION {PREFIX}()"
    )
    for table in ("register_position", "register_pending"):
        events = "UPDATE OR DELETE" if table == "register_position" else "UPDATE"
        op.execute(
            f"CREATE TRIGGER {table}_{PREFIX} BEFORE {events} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {PREFIX}()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_{PREFIX}_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {PREFIX}()"
        )
    # Statement-level with transition tables: one firing per INSERT (or COPY), whatever its size.
    op.execute(
        f"""
        CREATE FUNCTION {ENQUEUE}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO register_pending (seq, leaf_hash) SELECT seq, leaf_hash FROM inserted;
            RETURN NULL;
        END
        $$
        """  # noqa: S608 (module constants only)
    )
    op.execute(
        f"CREATE TRIGGER {ENQUEUE} AFTER INSERT ON register_entry REFERENCING NEW TABLE AS inserted "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {ENQUEUE}()"
    )
    op.execute(
        f"""
        CREATE FUNCTION {DEQUEUE_GUARD}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM removed WHERE NOT EXISTS (
                SELECT 1 FROM register_position WHERE register_position.entry_seq = removed.seq))
            THEN
                RAISE EXCEPTION '{PREFIX}: DELETE on register_pending refused: the entry has no '
                    'tree position yet' USING ERRCODE = '23001';
            END IF;
            RETURN NULL;
        END
        $$
        """  # noqa: S608 (module constants only)
    )
    op.execute(
        f"CREATE TRIGGER {DEQUEUE_GUARD} AFTER DELETE ON register_pending REFERENCING OLD TABLE AS removed "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {DEQUEUE_GUARD}()"
    )


def _sqlite_trigger(name: str, timing: str, table: str, when: str | None, message: str) -> None:
    condition = f" WHEN {when}" if when else ""
    op.execute(
        f"CREATE TRIGGER {name} {timing} ON {table}{condition} "
        f"BEGIN SELECT RAISE(ABORT, '{PREFIX}: {message}'); END"
    )


def _sqlite_entry_triggers(*, update_refused: str) -> None:
    """The triggers of `register_entry` (a table rebuild drops them)."""
    _sqlite_trigger(
        f"register_entry_{PREFIX}_delete",
        "BEFORE DELETE",
        "register_entry",
        None,
        "DELETE on register_entry refused: the art. 8 register is append-only",
    )
    _sqlite_trigger(
        f"register_entry_{PREFIX}_update", "BEFORE UPDATE", "register_entry", None, update_refused
    )
    _sqlite_trigger(
        f"register_entry_{PREFIX}_leaf_hash",
        "BEFORE INSERT",
        "register_entry",
        "typeof(NEW.leaf_hash) IS NOT 'blob' OR length(NEW.leaf_hash) IS NOT 32",
        "a leaf hash is 32 bytes",
    )


def _sqlite_upgrade() -> None:
    _create_positions()
    for suffix in ("delete", "update", "leaf_hash"):
        op.execute(f"DROP TRIGGER register_entry_{PREFIX}_{suffix}")
    op.drop_index("ix_register_entry_unsequenced", table_name="register_entry")
    # SQLite cannot drop a UNIQUE column in place: alembic rebuilds the table (copying its rows).
    with op.batch_alter_table("register_entry", recreate="always") as batch:
        batch.drop_column("leaf_index")
    _create_queue()
    _sqlite_entry_triggers(
        update_refused="UPDATE on register_entry refused: the art. 8 register is append-only"
    )
    op.execute(
        f"CREATE TRIGGER {ENQUEUE} AFTER INSERT ON register_entry "  # noqa: S608 (constants only)
        "BEGIN INSERT INTO register_pending (seq, leaf_hash) VALUES (NEW.seq, NEW.leaf_hash); END"
    )
    for event in ("UPDATE", "DELETE"):
        _sqlite_trigger(
            f"register_position_{PREFIX}_{event.lower()}",
            f"BEFORE {event}",
            "register_position",
            None,
            f"{event} on register_position refused: the art. 8 register is append-only",
        )
    _sqlite_trigger(
        f"register_pending_{PREFIX}_update",
        "BEFORE UPDATE",
        "register_pending",
        None,
        "UPDATE on register_pending refused",
    )
    _sqlite_trigger(
        DEQUEUE_GUARD,
        "BEFORE DELETE",
        "register_pending",
        "NOT EXISTS (SELECT 1 FROM register_position WHERE entry_seq = OLD.seq)",
        "DELETE on register_pending refused: the entry has no tree position yet",
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_upgrade()
    else:
        _sqlite_upgrade()


def _restore_positions() -> None:
    op.add_column("register_entry", sa.Column("leaf_index", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE register_entry SET leaf_index = (SELECT leaf_index FROM register_position "
        "WHERE register_position.entry_seq = register_entry.seq)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("register_position", "register_pending"):
            op.execute(f"DROP TRIGGER {table}_{PREFIX} ON {table}")
            op.execute(f"DROP TRIGGER {table}_{PREFIX}_truncate ON {table}")
        op.execute(f"DROP TRIGGER {DEQUEUE_GUARD} ON register_pending")
        op.execute(f"DROP FUNCTION {DEQUEUE_GUARD}()")
        op.execute(f"DROP TRIGGER {ENQUEUE} ON register_entry")
        op.execute(f"DROP FUNCTION {ENQUEUE}()")
        op.execute(f"DROP TRIGGER register_entry_{PREFIX}_update ON register_entry")
        _restore_positions()
        op.create_unique_constraint("register_entry_leaf_index_key", "register_entry", ["leaf_index"])
        from gateway.migrations.versions.audit_0002_append_only import _changed

        op.execute(
            f"CREATE TRIGGER register_entry_{PREFIX}_update BEFORE UPDATE ON register_entry FOR EACH ROW "
            f"WHEN ({_changed('postgresql')}) EXECUTE FUNCTION {PREFIX}()"
        )
    else:
        for name in (
            DEQUEUE_GUARD,
            f"register_pending_{PREFIX}_update",
            f"register_position_{PREFIX}_update",
            f"register_position_{PREFIX}_delete",
            ENQUEUE,
            f"register_entry_{PREFIX}_update",
        ):
            op.execute(f"DROP TRIGGER {name}")
        _restore_positions()
        op.create_index("uq_register_entry_leaf_index", "register_entry", ["leaf_index"], unique=True)
        from gateway.migrations.versions.audit_0002_append_only import _changed

        op.execute(
            f"CREATE TRIGGER register_entry_{PREFIX}_update BEFORE UPDATE ON register_entry WHEN "
            f"{_changed('sqlite')} BEGIN SELECT RAISE(ABORT, '{PREFIX}: UPDATE on register_entry "
            "refused: only the sequencer sets leaf_index, once'); END"
        )
    op.create_index(
        "ix_register_entry_unsequenced",
        "register_entry",
        ["seq"],
        unique=False,
        postgresql_where=sa.text("leaf_index IS NULL"),
        sqlite_where=sa.text("leaf_index IS NULL"),
    )
    op.drop_table("register_pending")
    op.drop_table("register_position")
