"""The register's sequencer: gives entries their tree positions in batches and signs tree heads.

Requests only insert their entry (`audit.service.record`); they never wait for the tree. One
sequencer at a time (across processes: a PostgreSQL advisory lock taken inside its transaction;
SQLite runs in one process and `gateway.db` begins every transaction with BEGIN IMMEDIATE) takes up
to `sequencer_batch_size` unsequenced entries in `seq` order, appends their leaf hashes to the
compact range kept in `TreeState`, stores a level-8 tile for every block of 256 leaves that
completes, writes each entry's `leaf_index`, and every `checkpoint_interval_seconds` signs a tree
head — as Tessera does (256 entries or 250 ms per batch, a checkpoint every few seconds). Holding a
request until a checkpoint would cost throughput for nothing: the sender already holds a signed
receipt, and the inclusion proof is available after the next checkpoint.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
from dataclasses import dataclass
from enum import Enum

import sqlalchemy as sa
from sqlmodel import Session, col, select

from audit.canonical import rfc3339
from audit.merkle import TILE_HEIGHT, CompactRange
from audit.models import RegisterEntry, TreeHead, TreeState, TreeTile
from audit.proofs import RegisterInconsistent, latest_head
from gateway.db import is_sqlite, unit_of_work
from gateway.runtime import Runtime

__all__ = [
    "CHECKPOINT_TYP",
    "SEQUENCER_LOCK",
    "RegisterInconsistent",
    "SignPolicy",
    "checkpoint_now",
    "head_claims",
    "run_sequencer",
    "sequence_batch",
    "sequence_pending",
]

log = logging.getLogger("meerpunt.audit.sequencer")

CHECKPOINT_TYP = "meerpunt-checkpoint+jws"

SEQUENCER_LOCK = int.from_bytes(b"mp-audit", "big")
"""PostgreSQL advisory lock key of the sequencer (a constant every gateway process agrees on)."""

TILE_SIZE = 1 << TILE_HEIGHT


class SignPolicy(Enum):
    NEVER = "never"
    WHEN_DUE = "when_due"
    ALWAYS = "always"


@dataclass(frozen=True)
class BatchResult:
    sequenced: int
    size: int
    head: TreeHead | None


def head_claims(size: int, root: bytes, signed_at: dt.datetime, kid: str) -> dict[str, object]:
    """The signed content of a tree head (checkpoint)."""
    return {
        "size": size,
        "root_hash": base64.b64encode(root).decode("ascii"),
        "signed_at": rfc3339(signed_at),
        "kid": kid,
    }


def _acquire(session: Session, *, wait: bool) -> bool:
    connection = session.connection()
    if is_sqlite(connection.engine):
        return True  # BEGIN IMMEDIATE (gateway.db) already made this the only writer
    function = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    # Transaction-scoped: released by COMMIT/ROLLBACK, so a crashed sequencer cannot keep it.
    acquired = connection.execute(sa.text(f"SELECT {function}(:key)"), {"key": SEQUENCER_LOCK}).scalar()
    return wait or bool(acquired)


def _load_state(session: Session, now: dt.datetime) -> tuple[TreeState, CompactRange]:
    state = session.exec(select(TreeState).where(TreeState.id == 1).with_for_update()).first()
    if state is None:
        state = TreeState(id=1, size=0, frontier=CompactRange().to_bytes(), updated_at=now)
        session.add(state)
    frontier = CompactRange.from_bytes(state.frontier) if state.frontier else CompactRange()
    if frontier.size != state.size:
        raise RegisterInconsistent(f"tree state size {state.size} != frontier size {frontier.size}")
    return state, frontier


def _as_utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def sequence_batch(
    session: Session,
    runtime: Runtime,
    *,
    limit: int,
    sign: SignPolicy = SignPolicy.WHEN_DUE,
    wait_for_lock: bool = False,
) -> BatchResult | None:
    """Sequence up to `limit` entries (and maybe sign a head) in the caller's transaction.

    Returns None when another process holds the sequencer lock (only with `wait_for_lock=False`).
    """
    if not _acquire(session, wait=wait_for_lock):
        return None
    now = runtime.clock()
    state, frontier = _load_state(session, now)
    pending = session.exec(
        select(RegisterEntry.seq, RegisterEntry.leaf_hash)
        .where(col(RegisterEntry.leaf_index).is_(None))
        .order_by(col(RegisterEntry.seq))
        .limit(limit)
    ).all()

    if pending:
        start = frontier.size
        # The border subtrees below level 8 are exactly the compact range of the partial tile.
        partial = start % TILE_SIZE
        tile = CompactRange(partial, frontier.hashes[len(frontier.hashes) - partial.bit_count() :])
        tiles: list[dict[str, object]] = []
        positions: list[dict[str, object]] = []
        for offset, (seq, leaf) in enumerate(pending):
            index = start + offset
            frontier.append(leaf)
            tile.append(leaf)
            if tile.size == TILE_SIZE:
                tiles.append({"tile_index": index >> TILE_HEIGHT, "hash": tile.root()})
                tile = CompactRange()
            positions.append({"b_seq": seq, "b_index": index})
        # Core executemany (one round trip with psycopg's pipeline), not ORM objects per entry.
        session.connection().execute(
            sa.update(RegisterEntry)
            .where(col(RegisterEntry.seq) == sa.bindparam("b_seq"))
            .values(leaf_index=sa.bindparam("b_index")),
            positions,
        )
        if tiles:
            session.connection().execute(sa.insert(TreeTile), tiles)
        state.size = frontier.size
        state.frontier = frontier.to_bytes()
        state.updated_at = now
        session.add(state)

    head = None
    if _signing_due(session, runtime, sign, state.size, now):
        head = _sign_head(session, runtime, frontier, now)
    session.flush()
    return BatchResult(sequenced=len(pending), size=state.size, head=head)


def _signing_due(session: Session, runtime: Runtime, sign: SignPolicy, size: int, now: dt.datetime) -> bool:
    if sign is SignPolicy.ALWAYS:
        return True
    if sign is SignPolicy.NEVER or size == 0:
        return False
    latest = latest_head(session)
    if latest is None:
        return True
    # Read from the database, not a local timer, so that several processes keep one cadence.
    age = (now - _as_utc(latest.signed_at)).total_seconds()
    return latest.size != size and age >= runtime.settings.checkpoint_interval_seconds


def _sign_head(session: Session, runtime: Runtime, frontier: CompactRange, now: dt.datetime) -> TreeHead:
    root = frontier.root()
    claims = head_claims(frontier.size, root, now, runtime.signer.key_id)
    head = TreeHead(
        size=frontier.size,
        root_hash=root,
        signed_at=now,
        jws=runtime.signer.sign(claims, typ=CHECKPOINT_TYP),
    )
    session.add(head)
    return head


def sequence_pending(runtime: Runtime, *, sign: bool) -> int:
    """Sequence every entry committed so far (waiting for a running sequencer), optionally sign.

    Synchronous and blocking: for tests, operators and `checkpoint_now`; requests never call it.
    """
    batch = runtime.settings.sequencer_batch_size
    total = 0
    while True:
        with unit_of_work(runtime.engine) as session:
            result = sequence_batch(
                session,
                runtime,
                limit=batch,
                sign=SignPolicy.ALWAYS if sign else SignPolicy.NEVER,
                wait_for_lock=True,
            )
        assert result is not None  # wait_for_lock=True always acquires
        total += result.sequenced
        if result.sequenced < batch:
            return total


def checkpoint_now(runtime: Runtime) -> TreeHead:
    """Sequence what is pending and sign a tree head now (on demand), returning it."""
    sequence_pending(runtime, sign=False)
    with unit_of_work(runtime.engine) as session:
        result = sequence_batch(
            session,
            runtime,
            limit=runtime.settings.sequencer_batch_size,
            sign=SignPolicy.ALWAYS,
            wait_for_lock=True,
        )
    assert result is not None and result.head is not None
    return result.head


def _tick(runtime: Runtime) -> BatchResult | None:
    with unit_of_work(runtime.engine) as session:
        return sequence_batch(
            session, runtime, limit=runtime.settings.sequencer_batch_size, sign=SignPolicy.WHEN_DUE
        )


async def run_sequencer(runtime: Runtime) -> None:
    """Background worker (gateway.workers): a batch every `sequencer_interval_seconds`.

    A full batch is followed at once by the next, so a backlog drains at database speed. Errors
    are logged and retried: requests keep being accepted (their entries are committed), and the
    backlog is sequenced when the cause is gone.
    """
    settings = runtime.settings
    while True:
        try:
            result = await asyncio.to_thread(_tick, runtime)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("register sequencer batch failed")
            result = None
        if result is None or result.sequenced < settings.sequencer_batch_size:
            await asyncio.sleep(settings.sequencer_interval_seconds)
