"""Tampering with the stored register directly in SQL, as an attacker with database rights would."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from audit.merkle import TILE_HEIGHT, CompactRange, leaf_hash, perfect_nodes_above
from audit.models import RegisterEntry, TreeState, TreeTile
from audit.service import ENTRY_COLUMNS
from gateway.db import is_sqlite

GUARDED_TABLES = ("register_entry", "register_tree_head", "register_tree_tile", "register_tree_state")


def sql(engine: Engine, statement: str, *params: object) -> None:
    """Run one statement in its own transaction (`%s` placeholders on both databases)."""
    marker = "?" if is_sqlite(engine) else "%s"
    with engine.begin() as connection:
        connection.exec_driver_sql(statement.replace("%s", marker), tuple(params))


def remove_guards(engine: Engine) -> None:
    """What an attacker with DDL rights does first: switch off the append-only triggers (audit_0002).

    Tests of *detection* call this, so that they show what `audit verify` finds when the database's
    own refusal has been bypassed.
    """
    with engine.begin() as connection:
        if is_sqlite(engine):
            names = connection.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%register_append_only%'"
            ).scalars()
            for name in list(names):
                connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
        else:
            for table in GUARDED_TABLES:
                connection.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            connection.exec_driver_sql(
                "ALTER TABLE register_entry DROP CONSTRAINT IF EXISTS ck_register_entry_leaf_hash_length"
            )


def _table() -> sa.Table:
    table: sa.Table = RegisterEntry.__table__  # type: ignore[attr-defined]
    return table


def row_at(engine: Engine, leaf_index: int) -> dict[str, Any]:
    table = _table()
    with engine.connect() as connection:
        row = connection.execute(sa.select(table).where(table.c.leaf_index == leaf_index)).mappings().one()
    return dict(row)


def rewrite(engine: Engine, entry_id: str, **changes: Any) -> None:
    """Change an entry's columns *and* recompute its leaf hash, as a careful attacker would."""
    table = _table()
    with engine.begin() as connection:
        row = dict(connection.execute(sa.select(table).where(table.c.id == entry_id)).mappings().one())
        row.update(changes)
        entry = RegisterEntry(**row)
        changes["leaf_hash"] = leaf_hash(entry.leaf_input())
        connection.execute(table.update().where(table.c.id == entry_id).values(**changes))


def swap_content(engine: Engine, first: int, second: int) -> None:
    """Swap everything but `seq` and `leaf_index` (so each entry still matches its own leaf hash)."""
    table = _table()
    a, b = row_at(engine, first), row_at(engine, second)
    with engine.begin() as connection:
        connection.execute(table.update().where(table.c.seq == a["seq"]).values(id="swap-in-progress"))
        connection.execute(
            table.update().where(table.c.seq == b["seq"]).values({k: a[k] for k in ENTRY_COLUMNS})
        )
        connection.execute(
            table.update().where(table.c.seq == a["seq"]).values({k: b[k] for k in ENTRY_COLUMNS})
        )


def reseal(engine: Engine) -> None:
    """Recompute the stored tiles and the sequencer's frontier from the stored leaf hashes."""
    table = _table()
    with engine.begin() as connection:
        hashes = [
            bytes(h)
            for h in connection.execute(
                sa.select(table.c.leaf_hash)
                .where(table.c.leaf_index.is_not(None))
                .order_by(table.c.leaf_index)
            ).scalars()
        ]
        connection.exec_driver_sql("DELETE FROM register_tree_tile")
        tiles = perfect_nodes_above(hashes, TILE_HEIGHT)
        if tiles:
            connection.execute(
                sa.insert(TreeTile.__table__),  # type: ignore[arg-type]
                [{"tile_index": i, "hash": h} for i, h in enumerate(tiles)],
            )
        frontier = CompactRange.from_leaf_hashes(hashes)
        connection.execute(
            sa.update(TreeState.__table__)  # type: ignore[arg-type]
            .where(TreeState.__table__.c.id == 1)  # type: ignore[attr-defined]
            .values(size=frontier.size, frontier=frontier.to_bytes())
        )
