"""audit: the database itself refuses to rewrite the art. 8 register

Revision ID: audit_0002
Revises: audit_0001
Create Date: 2026-11-30

Triggers on `register_entry`, `register_tree_head` and `register_tree_tile` (PostgreSQL and SQLite):

- DELETE and TRUNCATE are refused on all three, and on `register_tree_state`;
- an entry may be updated only by the sequencer, once: `leaf_index` from NULL to a value >= 0,
  every other column unchanged;
- tree heads and tiles are never updated; the tree state's size never shrinks;
- a leaf hash must be 32 bytes (a CHECK constraint on PostgreSQL, `NOT VALID` so that an already
  damaged register still migrates and `audit verify` reports the damage; an INSERT trigger on
  SQLite, where adding a CHECK would rebuild the table).

This stops mistakes and anyone with plain write access (the application's own rights). Someone who
can alter or drop the triggers (DDL rights) can still rewrite rows: that is what the signed tree
heads, the partners' saved checkpoints and the leaf hashes in their receipts detect (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "audit_0002"
down_revision: str | Sequence[str] | None = "audit_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Every column of `register_entry` except `leaf_index` (tests/audit/test_guards.py checks the list
#: against the model, so a column added later cannot silently escape the guard).
FROZEN_COLUMNS = (
    "seq",
    "id",
    "kind",
    "occurred_at",
    "actor",
    "actor_org",
    "sender",
    "recipient",
    "subject_hash",
    "categories",
    "legal_basis",
    "trace_id",
    "disclosure_id",
    "body",
    "leaf_hash",
)
PREFIX = "register_append_only"
_ROW_TRIGGERS = (
    ("register_entry", "DELETE"),
    ("register_tree_head", "UPDATE OR DELETE"),
    ("register_tree_tile", "UPDATE OR DELETE"),
    ("register_tree_state", "DELETE"),
)


def _changed(dialect: str) -> str:
    """SQL that is true when an UPDATE of an entry is anything but the sequencer's one write."""
    distinct = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
    columns = " OR ".join(f"NEW.{name} {distinct} OLD.{name}" for name in FROZEN_COLUMNS)
    return f"OLD.leaf_index IS NOT NULL OR NEW.leaf_index IS NULL OR NEW.leaf_index < 0 OR {columns}"


def _postgresql_upgrade() -> None:
    # 23001 restrict_violation: drivers report it as an integrity error, like any other constraint.
    op.execute(
        f"""
        CREATE FUNCTION {PREFIX}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{PREFIX}: % on % refused: the art. 8 register is append-only',
                TG_OP, TG_TABLE_NAME USING ERRCODE = '23001';
        END
        $$
        """
    )
    for table, events in _ROW_TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {table}_{PREFIX} BEFORE {events} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {PREFIX}()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_{PREFIX}_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {PREFIX}()"
        )
    # The function runs only when the WHEN clause is true, i.e. never for the sequencer's write.
    op.execute(
        f"CREATE TRIGGER register_entry_{PREFIX}_update BEFORE UPDATE ON register_entry FOR EACH ROW "
        f"WHEN ({_changed('postgresql')}) EXECUTE FUNCTION {PREFIX}()"
    )
    op.execute(
        f"CREATE TRIGGER register_tree_state_{PREFIX}_update BEFORE UPDATE ON register_tree_state "
        f"FOR EACH ROW WHEN (NEW.size < OLD.size OR NEW.id <> OLD.id) EXECUTE FUNCTION {PREFIX}()"
    )
    op.execute(
        "ALTER TABLE register_entry ADD CONSTRAINT ck_register_entry_leaf_hash_length "
        "CHECK (length(leaf_hash) = 32) NOT VALID"
    )


def _sqlite_trigger(name: str, timing: str, table: str, when: str | None, message: str) -> None:
    condition = f" WHEN {when}" if when else ""
    op.execute(
        f"CREATE TRIGGER {name} {timing} ON {table}{condition} "
        f"BEGIN SELECT RAISE(ABORT, '{PREFIX}: {message}'); END"
    )


def _sqlite_upgrade() -> None:
    # SQLite has no TRUNCATE: with a DELETE trigger in place, `DELETE FROM t` runs row by row.
    for table, events in _ROW_TRIGGERS:
        for event in events.split(" OR "):
            _sqlite_trigger(
                f"{table}_{PREFIX}_{event.lower()}",
                f"BEFORE {event}",
                table,
                None,
                f"{event} on {table} refused: the art. 8 register is append-only",
            )
    _sqlite_trigger(
        f"register_entry_{PREFIX}_update",
        "BEFORE UPDATE",
        "register_entry",
        _changed("sqlite"),
        "UPDATE on register_entry refused: only the sequencer sets leaf_index, once",
    )
    _sqlite_trigger(
        f"register_tree_state_{PREFIX}_update",
        "BEFORE UPDATE",
        "register_tree_state",
        "NEW.size < OLD.size OR NEW.id IS NOT OLD.id",
        "the tree state never shrinks",
    )
    _sqlite_trigger(
        f"register_entry_{PREFIX}_leaf_hash",
        "BEFORE INSERT",
        "register_entry",
        "typeof(NEW.leaf_hash) IS NOT 'blob' OR length(NEW.leaf_hash) IS NOT 32",
        "a leaf hash is 32 bytes",
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_upgrade()
    else:
        _sqlite_upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE register_entry DROP CONSTRAINT ck_register_entry_leaf_hash_length")
        for table, _events in _ROW_TRIGGERS:
            op.execute(f"DROP TRIGGER {table}_{PREFIX} ON {table}")
            op.execute(f"DROP TRIGGER {table}_{PREFIX}_truncate ON {table}")
        op.execute(f"DROP TRIGGER register_entry_{PREFIX}_update ON register_entry")
        op.execute(f"DROP TRIGGER register_tree_state_{PREFIX}_update ON register_tree_state")
        op.execute(f"DROP FUNCTION {PREFIX}()")
        return
    for table, events in _ROW_TRIGGERS:
        for event in events.split(" OR "):
            op.execute(f"DROP TRIGGER {table}_{PREFIX}_{event.lower()}")
    for name in ("register_entry", "register_tree_state"):
        op.execute(f"DROP TRIGGER {name}_{PREFIX}_update")
    op.execute(f"DROP TRIGGER register_entry_{PREFIX}_leaf_hash")
