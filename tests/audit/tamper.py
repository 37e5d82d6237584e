"""Tampering with the stored register directly in SQL, as an attacker with database rights would."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from audit.merkle import TILE_HEIGHT, CompactRange, leaf_hash, perfect_nodes_above
from audit.models import RegisterEntry, TreeState, TreeTile
from audit.service import ENTRY_COLUMNS
from gateway.db import is_sqlite

GUARDED_TABLES = (
    "register_entry",
    "register_position",
    "register_pending",
    "register_tree_head",
    "register_tree_tile",
    "register_tree_state",
)
PLACED = "register_position JOIN register_entry ON register_entry.seq = register_position.entry_seq"


def sql(engine: Engine, statement: str, *params: object) -> None:
    """Run one statement in its own transaction (`%s` placeholders on both databases)."""
    with engine.begin() as connection:
        connection.exec_driver_sql(statement.replace("%s", _marker(engine)), tuple(params))


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
            # By name: the trigger that queues new entries for the sequencer is no guard, and stays.
            guards = connection.exec_driver_sql(
                "SELECT tgrelid::regclass::text, tgname FROM pg_trigger "
                "WHERE NOT tgisinternal AND tgname LIKE '%%register_append_only%%'"
            ).all()
            for table, name in guards:
                connection.exec_driver_sql(f'ALTER TABLE {table} DISABLE TRIGGER "{name}"')
            connection.exec_driver_sql(
                "ALTER TABLE register_entry DROP CONSTRAINT IF EXISTS ck_register_entry_leaf_hash_length"
            )


def _table() -> sa.Table:
    table: sa.Table = RegisterEntry.__table__  # type: ignore[attr-defined]
    return table


def row_at(engine: Engine, leaf_index: int) -> dict[str, Any]:
    table = _table()
    placed = sa.text("SELECT entry_seq FROM register_position WHERE leaf_index = :i").bindparams(i=leaf_index)
    with engine.connect() as connection:
        seq = connection.execute(placed).scalar_one()
        row = connection.execute(sa.select(table).where(table.c.seq == seq)).mappings().one()
    return dict(row)


def move(engine: Engine, entry_id: str, leaf_index: int) -> None:
    """Give an entry another tree position (or, if it awaits the sequencer, one behind its back)."""
    seq = "(SELECT seq FROM register_entry WHERE id = %s)"
    with engine.connect() as connection:
        placed = connection.exec_driver_sql(
            f"SELECT count(*) FROM register_position WHERE entry_seq = {seq}".replace("%s", _marker(engine)),
            (entry_id,),
        ).scalar_one()
    if placed:
        sql(
            engine,
            f"UPDATE register_position SET leaf_index = %s WHERE entry_seq = {seq}",
            leaf_index,
            entry_id,
        )
    else:
        sql(
            engine,
            "INSERT INTO register_position (leaf_index, entry_seq) "
            "SELECT CAST(%s AS BIGINT), seq FROM register_entry WHERE id = %s",
            leaf_index,
            entry_id,
        )
        sql(engine, f"DELETE FROM register_pending WHERE seq = {seq}", entry_id)


def shift(engine: Engine, *, at_or_after: int, by: int) -> None:
    """Move the positions from `at_or_after` on by `by` (one at a time, so no two ever collide)."""
    order = "DESC" if by > 0 else "ASC"
    with engine.connect() as connection:
        indexes = (
            connection.exec_driver_sql(
                f"SELECT leaf_index FROM register_position WHERE leaf_index >= {int(at_or_after)} "
                f"ORDER BY leaf_index {order}"
            )
            .scalars()
            .all()
        )
    for index in indexes:
        sql(engine, "UPDATE register_position SET leaf_index = %s WHERE leaf_index = %s", index + by, index)


def delete_entry(engine: Engine, entry_id: str) -> None:
    """Delete an entry with its position or queue row, as an attacker with the guards off would."""
    seq = "(SELECT seq FROM register_entry WHERE id = %s)"
    sql(engine, f"DELETE FROM register_position WHERE entry_seq = {seq}", entry_id)
    sql(engine, f"DELETE FROM register_pending WHERE seq = {seq}", entry_id)
    sql(engine, "DELETE FROM register_entry WHERE id = %s", entry_id)


def delete_from(engine: Engine, leaf_index: int) -> None:
    """Cut the register short: every entry from `leaf_index` on, and every entry awaiting the sequencer."""
    sql(engine, "DELETE FROM register_position WHERE leaf_index >= %s", leaf_index)
    sql(engine, "DELETE FROM register_pending")
    sql(engine, "DELETE FROM register_entry WHERE seq NOT IN (SELECT entry_seq FROM register_position)")


def _marker(engine: Engine) -> str:
    return "?" if is_sqlite(engine) else "%s"


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
    """Swap everything but `seq` (and so the tree position): each entry still matches its own leaf hash."""
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
    with engine.begin() as connection:
        hashes = [
            bytes(h)
            for h in connection.exec_driver_sql(
                f"SELECT leaf_hash FROM {PLACED} ORDER BY leaf_index"
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
