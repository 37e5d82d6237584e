"""The register's sequencer: gives entries their tree positions in batches and signs tree heads.

Requests only insert their entry (`audit.service.record`); they never wait for the tree. One
sequencer at a time (across processes: a PostgreSQL advisory lock taken inside its transaction;
SQLite runs in one process and `gateway.db` begins every transaction with BEGIN IMMEDIATE) takes up
to `sequencer_batch_size` unsequenced entries in `seq` order, appends their leaf hashes to the
compact range kept in `TreeState`, stores a level-8 tile for every block of 256 leaves that
completes, writes each entry's position into `register_position` (removing it from the queue
`register_pending`, which a trigger fills as entries are inserted), and every
`checkpoint_interval_seconds` signs a tree head
— as Tessera does (256 entries or 250 ms per batch, a checkpoint every few seconds). Holding a
request until a checkpoint would cost throughput for nothing: the sender already holds a signed
receipt, and the inclusion proof is available after the next checkpoint.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
import math
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter, Gauge
from sqlmodel import Session, col, select

from audit.canonical import rfc3339
from audit.merkle import HASH_SIZE, CompactRange
from audit.models import PendingEntry, RegisterPosition, TreeHead, TreeState, TreeTile
from audit.proofs import RegisterInconsistent, latest_head
from audit.tiles import append_leaves
from gateway.db import is_sqlite, unit_of_work
from gateway.runtime import Runtime

__all__ = [
    "CHECKPOINT_GRACE_SECONDS",
    "CHECKPOINT_TYP",
    "SEQUENCER_LOCK",
    "RegisterInconsistent",
    "SignPolicy",
    "checkpoint_now",
    "head_claims",
    "health",
    "run_sequencer",
    "sequence_batch",
    "sequence_pending",
]

log = logging.getLogger("meerpunt.audit.sequencer")

CHECKPOINT_TYP = "meerpunt-checkpoint+jws"

CHECKPOINT_GRACE_SECONDS = 60.0
"""How long, beyond `checkpoint_interval_seconds`, sequenced entries may wait for a signed head:
after that `health` reports the sequencer stalled and `audit verify` a `stale_checkpoint`."""

SEQUENCER_LOCK = int.from_bytes(b"mp-audit", "big")
"""PostgreSQL advisory lock key of the sequencer (a constant every gateway process agrees on)."""

# Cheap to keep: each is set from values a batch has at hand (one count query only when a batch
# was full, i.e. when there is a backlog). Alert on `time() - …_timestamp_seconds`.
BACKLOG = Gauge("meerpunt_register_backlog", "Register entries awaiting the sequencer (as of the last batch)")
TREE_SIZE = Gauge("meerpunt_register_tree_size", "Entries with a tree position (as of the last batch)")
SIGNED_SIZE = Gauge("meerpunt_register_signed_tree_size", "Size of the newest signed tree head")
CHECKPOINT_TIME = Gauge(
    "meerpunt_register_checkpoint_timestamp_seconds", "When the newest tree head was signed (Unix time)"
)
LAST_BATCH_TIME = Gauge(
    "meerpunt_register_sequencer_last_batch_timestamp_seconds",
    "When this process last completed a sequencer batch as the leader (Unix time)",
)
FAILURES = Counter("meerpunt_register_sequencer_failures_total", "Sequencer batches that failed")
UNSEQUENCEABLE = Gauge(
    "meerpunt_register_unsequenceable_entries",
    "Entries awaiting the sequencer that it cannot place (malformed leaf hash; audit verify names them)",
)
_reported_malformed: set[int] = set()


class SignPolicy(Enum):
    NEVER = "never"
    WHEN_DUE = "when_due"
    ALWAYS = "always"


@dataclass(frozen=True)
class BatchResult:
    sequenced: int
    size: int
    head: TreeHead | None
    backlog: int = 0  # entries still awaiting the sequencer after this batch
    unsequenceable: int = 0  # of which it cannot place (malformed)


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
    start = frontier.size
    placed, malformed, fetched = _take_batch(session, start, limit)
    if malformed:
        _report_malformed(malformed)

    if placed:
        tiles = [{"tile_index": index, "hash": value} for index, value in append_leaves(frontier, placed)]
        if tiles:
            session.connection().execute(sa.insert(TreeTile), tiles)
        state.size = frontier.size
        state.frontier = frontier.to_bytes()
        state.updated_at = now
        session.add(state)

    head = None
    latest = latest_head(session)
    if _signing_due(runtime, sign, state.size, now, latest):
        head = latest = _sign_head(session, runtime, frontier, now)
    session.flush()
    backlog = _observe(session, runtime, limit, fetched, len(placed), malformed, state.size, latest)
    return BatchResult(
        sequenced=len(placed), size=state.size, head=head, backlog=backlog, unsequenceable=len(malformed)
    )


def _take_batch(session: Session, start: int, limit: int) -> tuple[list[bytes], list[int], int]:
    """Place the first `limit` entries of the queue at positions start, start + 1, … (in `seq`
    order) and take them off it; return their leaf hashes in that order, the seqs of the queued
    entries skipped for a malformed leaf hash, and how many queue rows were looked at.

    On PostgreSQL this is one statement, and the batch comes back as a few values, not as rows: no
    per-entry statement, parameter or row object (issue 16). The queue's delete guard (audit_0003)
    runs at the end of the statement and sees the new positions.
    """
    connection = session.connection()
    if not is_sqlite(connection.engine):
        hashes, count, malformed, fetched = connection.execute(
            _TAKE_BATCH, {"start": start, "limit": limit}
        ).one()
        leaves = [hashes[i * HASH_SIZE : (i + 1) * HASH_SIZE] for i in range(count)]
        return leaves, list(malformed or []), int(fetched)
    rows = connection.execute(
        select(PendingEntry.seq, PendingEntry.leaf_hash).order_by(col(PendingEntry.seq)).limit(limit)
    ).all()
    good = [(int(seq), bytes(leaf)) for seq, leaf in rows if leaf is not None and len(leaf) == HASH_SIZE]
    if good:
        connection.execute(
            sa.insert(RegisterPosition),
            [{"leaf_index": start + offset, "entry_seq": seq} for offset, (seq, _leaf) in enumerate(good)],
        )
        placed = select(RegisterPosition.entry_seq).where(col(RegisterPosition.leaf_index) >= start)
        connection.execute(sa.delete(PendingEntry).where(col(PendingEntry.seq).in_(placed)))
    malformed = [int(seq) for seq, leaf in rows if leaf is None or len(leaf) != HASH_SIZE]
    return [leaf for _seq, leaf in good], malformed, len(rows)


_TAKE_BATCH = sa.text(
    "WITH head AS (SELECT seq, leaf_hash FROM register_pending ORDER BY seq LIMIT :limit), "
    "well_formed AS (SELECT seq, leaf_hash, row_number() OVER (ORDER BY seq) AS ordinal "
    "FROM head WHERE length(leaf_hash) = 32), "
    "placed AS (INSERT INTO register_position (leaf_index, entry_seq) "
    "SELECT CAST(:start AS bigint) + ordinal - 1, seq FROM well_formed), "
    # A range, not a probe per entry: in the statement's snapshot the queue rows up to the batch's
    # last seq are exactly the batch (a row committed later is not seen, and stays queued).
    "dequeued AS (DELETE FROM register_pending WHERE seq <= (SELECT max(seq) FROM well_formed) "
    "AND length(leaf_hash) = 32) "
    "SELECT (SELECT string_agg(leaf_hash, ''::bytea ORDER BY seq) FROM well_formed), "
    "(SELECT count(*) FROM well_formed), "
    "(SELECT array_agg(seq ORDER BY seq) FROM head WHERE leaf_hash IS NULL OR length(leaf_hash) <> 32), "
    "(SELECT count(*) FROM head)"
)


def _report_malformed(seqs: list[int]) -> None:
    """A row no honest write produces (the CHECK constraint refuses it): skip it, loudly, once.

    Skipping keeps the register growing; the row stays unsequenced, `audit verify` names it, and
    the `meerpunt_register_unsequenceable_entries` gauge shows it until an operator acts.
    """
    new = [seq for seq in seqs if seq not in _reported_malformed]
    if new:
        _reported_malformed.update(new)
        log.error("register entries with seq %s have a malformed leaf hash; the sequencer skips them", new)


BACKLOG_COUNT_EVERY_SECONDS = 5.0
"""While a backlog lasts, it is counted at most this often (per runtime); in between it is estimated."""

_BACKLOG = "audit.sequencer.backlog"  # runtime.extensions: (monotonic time of the count, estimate)


def _count_unsequenced(session: Session) -> int:
    """Entries awaiting the sequencer (the rows of its queue, `register_pending`)."""
    count = session.exec(select(sa.func.count()).select_from(PendingEntry)).one()
    return int(count)


def _observe(
    session: Session,
    runtime: Runtime,
    limit: int,
    fetched: int,
    sequenced: int,
    malformed: list[int],
    size: int,
    latest: TreeHead | None,
) -> int:
    """Set the gauges (per process: with several processes, the leader's are current); the backlog.

    A batch that was not full leaves only the rows it could not place. After a full one the rest
    is counted — a scan of the queue, as long as the backlog, so at most every
    BACKLOG_COUNT_EVERY_SECONDS: draining a large backlog must not pay for counting it each batch.
    """
    backlog = len(malformed)
    if fetched == limit:
        counted_at, estimate = runtime.extensions.get(_BACKLOG, (-math.inf, 0))
        if time.monotonic() - counted_at >= BACKLOG_COUNT_EVERY_SECONDS:
            # This batch's entries already have their position in this transaction.
            estimate = _count_unsequenced(session)
            counted_at = time.monotonic()
        else:
            estimate = max(len(malformed), estimate - sequenced)
        runtime.extensions[_BACKLOG] = (counted_at, estimate)
        backlog = int(estimate)
    else:
        runtime.extensions.pop(_BACKLOG, None)
    BACKLOG.set(backlog)
    UNSEQUENCEABLE.set(len(malformed))
    TREE_SIZE.set(size)
    LAST_BATCH_TIME.set(time.time())
    if latest is not None:
        SIGNED_SIZE.set(latest.size)
        CHECKPOINT_TIME.set(_as_utc(latest.signed_at).timestamp())
    return backlog


def _signing_due(
    runtime: Runtime, sign: SignPolicy, size: int, now: dt.datetime, latest: TreeHead | None
) -> bool:
    if sign is SignPolicy.ALWAYS:
        return True
    if sign is SignPolicy.NEVER or size == 0:
        return False
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
    from gateway.workers import FailureBackoff, in_thread

    settings = runtime.settings
    backoff = FailureBackoff("register sequencer")
    while True:
        try:
            result = await in_thread(_tick, runtime)
        except Exception as error:
            FAILURES.inc()
            await asyncio.sleep(backoff.failed(settings.sequencer_interval_seconds, error))
            continue
        backoff.succeeded()
        if result is None or result.sequenced < settings.sequencer_batch_size:
            await asyncio.sleep(settings.sequencer_interval_seconds)


def health(session: Session, runtime: Runtime) -> dict[str, Any]:
    """The sequencer's state for a readiness or health endpoint: three small queries.

    `stalled` means entries have waited for a signed tree head for longer than a checkpoint
    interval plus `CHECKPOINT_GRACE_SECONDS`: the sequencer is not running, or fails (its log and
    `meerpunt_register_sequencer_failures_total` say why). Requests are still accepted meanwhile;
    their entries are committed and sequenced once the cause is gone.
    """
    now = runtime.clock()
    backlog = _count_unsequenced(session)
    state = session.get(TreeState, 1)
    size = state.size if state is not None else 0
    latest = latest_head(session)
    signed = latest.size if latest is not None else 0
    age = (now - _as_utc(latest.signed_at)).total_seconds() if latest is not None else None
    unsigned = backlog + max(0, size - signed)
    allowed = runtime.settings.checkpoint_interval_seconds + CHECKPOINT_GRACE_SECONDS
    return {
        "backlog": backlog,
        "tree_size": size,
        "signed_tree_size": signed,
        "newest_checkpoint_age_seconds": round(age, 3) if age is not None else None,
        "stalled": unsigned > 0 and (age is None or age > allowed),
    }
