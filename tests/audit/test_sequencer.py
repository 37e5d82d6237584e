"""The sequencer: tree positions in batches, tiles, signed tree heads, one leader."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import threading
import time

import pytest
import sqlalchemy as sa
from jose import jws
from prometheus_client import REGISTRY
from sqlmodel import Session, col, select

from audit.merkle import TILE_HEIGHT, CompactRange, root_from_leaf_hashes, tree_levels
from audit.models import RegisterEntry, TreeHead, TreeState, TreeTile
from audit.sequencer import (
    CHECKPOINT_TYP,
    SEQUENCER_LOCK,
    SignPolicy,
    checkpoint_now,
    health,
    run_sequencer,
    sequence_batch,
    sequence_pending,
)
from audit.service import entry_columns
from audit.verify import verify_register
from gateway.db import is_sqlite, unit_of_work
from gateway.runtime import Runtime
from tests.audit.builders import make_draft, record_all
from tests.audit.tamper import remove_guards


def stored(runtime: Runtime) -> tuple[list[RegisterEntry], list[TreeTile], list[TreeHead], TreeState | None]:
    with Session(runtime.engine) as session:
        entries = list(session.exec(select(RegisterEntry).order_by(col(RegisterEntry.seq))).all())
        tiles = list(session.exec(select(TreeTile).order_by(col(TreeTile.tile_index))).all())
        heads = list(session.exec(select(TreeHead).order_by(col(TreeHead.id))).all())
        state = session.get(TreeState, 1)
    return entries, tiles, heads, state


def test_sequencing_assigns_positions_in_order_and_stores_complete_tiles(isolated_runtime: Runtime) -> None:
    record_all(isolated_runtime.engine, (make_draft() for _ in range(600)))
    assert sequence_pending(isolated_runtime, sign=False) == 600

    entries, tiles, heads, state = stored(isolated_runtime)
    assert [e.leaf_index for e in entries] == list(range(600))  # seq order, no gaps
    hashes = [e.leaf_hash for e in entries]
    assert [(t.tile_index, t.hash) for t in tiles] == list(enumerate(tree_levels(hashes)[TILE_HEIGHT]))
    assert len(tiles) == 600 >> TILE_HEIGHT
    assert state is not None and state.size == 600
    assert CompactRange.from_bytes(state.frontier) == CompactRange.from_leaf_hashes(hashes)
    assert heads == []  # sign=False


def test_batches_continue_a_partial_tile(isolated_runtime: Runtime) -> None:
    engine = isolated_runtime.engine
    for count in (100, 100, 100):  # 300 leaves: tile 0 completes in the third batch
        record_all(engine, (make_draft() for _ in range(count)))
        with unit_of_work(engine) as session:
            result = sequence_batch(session, isolated_runtime, limit=1000, sign=SignPolicy.NEVER)
        assert result is not None and result.sequenced == count
    entries, tiles, _, _ = stored(isolated_runtime)
    assert [t.hash for t in tiles] == [root_from_leaf_hashes([e.leaf_hash for e in entries[:256]])]


def test_checkpoint_signs_size_and_root(isolated_runtime: Runtime) -> None:
    record_all(isolated_runtime.engine, (make_draft() for _ in range(5)))
    head = checkpoint_now(isolated_runtime)
    entries, _, heads, _ = stored(isolated_runtime)
    assert [h.id for h in heads] == [head.id]
    root = root_from_leaf_hashes([e.leaf_hash for e in entries])
    assert head.size == 5 and head.root_hash == root
    assert jws.get_unverified_header(head.jws)["typ"] == CHECKPOINT_TYP
    claims = isolated_runtime.signer.verify(head.jws)
    assert claims["size"] == 5
    assert base64.b64decode(claims["root_hash"]) == root
    assert claims["kid"] == isolated_runtime.signer.key_id
    assert dt.datetime.fromisoformat(claims["signed_at"]) <= isolated_runtime.clock()


def test_heads_are_signed_when_due_and_only_when_the_tree_grew(isolated_runtime: Runtime) -> None:
    now = [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)]
    runtime = dataclasses.replace(isolated_runtime, clock=lambda: now[0])
    interval = dt.timedelta(seconds=runtime.settings.checkpoint_interval_seconds)

    def tick() -> TreeHead | None:
        with unit_of_work(runtime.engine) as session:
            result = sequence_batch(session, runtime, limit=256, sign=SignPolicy.WHEN_DUE)
        assert result is not None
        return result.head

    assert tick() is None  # empty tree: nothing to sign
    record_all(runtime.engine, [make_draft()])
    assert tick() is not None  # first head
    record_all(runtime.engine, [make_draft()])
    assert tick() is None  # grown, but not yet due
    now[0] += interval
    assert tick() is not None
    now[0] += interval * 3
    assert tick() is None  # due, but nothing new


def test_the_background_worker_sequences_and_checkpoints(isolated_runtime: Runtime) -> None:
    settings = isolated_runtime.settings.model_copy(
        update={"sequencer_interval_seconds": 0.02, "checkpoint_interval_seconds": 0.05}
    )
    runtime = dataclasses.replace(isolated_runtime, settings=settings)
    record_all(runtime.engine, (make_draft() for _ in range(300)))

    async def run_for_a_while() -> None:
        task = asyncio.create_task(run_sequencer(runtime))
        for _ in range(200):
            await asyncio.sleep(0.05)
            _, _, heads, _ = await asyncio.to_thread(stored, runtime)
            if heads and heads[-1].size == 300:
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run_for_a_while())
    entries, _, heads, _ = stored(runtime)
    assert all(e.leaf_index is not None for e in entries)
    assert heads[-1].size == 300


def test_only_one_sequencer_runs_at_a_time(isolated_runtime: Runtime) -> None:
    if is_sqlite(isolated_runtime.engine):
        pytest.skip("SQLite serves one process; BEGIN IMMEDIATE serialises writers")
    record_all(isolated_runtime.engine, [make_draft()])
    holding, release = threading.Event(), threading.Event()

    def other_leader() -> None:
        with isolated_runtime.engine.begin() as connection:
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEQUENCER_LOCK})
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=other_leader)
    thread.start()
    try:
        assert holding.wait(10)
        with unit_of_work(isolated_runtime.engine) as session:
            assert sequence_batch(session, isolated_runtime, limit=256) is None  # not the leader: skip
    finally:
        release.set()
        thread.join()
    with unit_of_work(isolated_runtime.engine) as session:
        result = sequence_batch(session, isolated_runtime, limit=256)
    assert result is not None and result.sequenced == 1


def test_requests_never_wait_for_the_sequencer(isolated_runtime: Runtime) -> None:
    """An append commits while a sequencing transaction is open (PostgreSQL; SQLite has one writer)."""
    if is_sqlite(isolated_runtime.engine):
        pytest.skip("SQLite has a single writer by design")
    record_all(isolated_runtime.engine, (make_draft() for _ in range(10)))
    with unit_of_work(isolated_runtime.engine) as session:
        result = sequence_batch(session, isolated_runtime, limit=256, sign=SignPolicy.ALWAYS)
        assert result is not None and result.sequenced == 10
        # The sequencer's transaction is still open here, holding its lock and row locks.
        done = threading.Event()
        thread = threading.Thread(
            target=lambda: (record_all(isolated_runtime.engine, [make_draft()]), done.set())
        )
        thread.start()
        assert done.wait(5), "an append waited for the sequencer"
        thread.join()
    assert sequence_pending(isolated_runtime, sign=False) == 1


def test_a_malformed_row_does_not_stop_the_sequencer(isolated_runtime: Runtime) -> None:
    """A 31-byte leaf hash (only possible with the guards removed) is skipped, counted and named."""
    engine = isolated_runtime.engine
    record_all(engine, (make_draft() for _ in range(2)))
    remove_guards(engine)
    bad = {**entry_columns(make_draft()), "leaf_hash": b"\x01" * 31}
    with engine.begin() as connection:
        connection.execute(sa.insert(RegisterEntry.__table__), bad)  # type: ignore[arg-type]
    record_all(engine, (make_draft() for _ in range(2)))
    with unit_of_work(engine) as session:
        result = sequence_batch(session, isolated_runtime, limit=3, sign=SignPolicy.ALWAYS)
    assert result is not None and result.sequenced == 2  # the bad row took one of the 3 places
    assert (result.backlog, result.unsequenceable) == (3, 1)  # the bad row is still waiting
    assert sequence_pending(isolated_runtime, sign=True) == 2  # and the rest goes on
    with unit_of_work(engine) as session:
        result = sequence_batch(session, isolated_runtime, limit=3, sign=SignPolicy.NEVER)
    assert result is not None and (result.size, result.backlog, result.unsequenceable) == (4, 1, 1)
    report = verify_register(isolated_runtime)
    assert (report.finding, report.first_bad_entry) == ("entry_changed", bad["id"])


def test_the_backlog_is_counted_when_a_batch_is_full(isolated_runtime: Runtime) -> None:
    """After a full batch what is left is counted (or estimated); after one that was not full, nothing."""
    record_all(isolated_runtime.engine, (make_draft() for _ in range(5)))
    backlogs = []
    for _ in range(3):
        with unit_of_work(isolated_runtime.engine) as session:
            result = sequence_batch(session, isolated_runtime, limit=2, sign=SignPolicy.NEVER)
        assert result is not None
        backlogs.append(result.backlog)
    assert backlogs == [3, 1, 0]
    # The gauges are per process, and the session's own server sequences in this process too, so
    # their values are not this test's to assert.


def test_failed_batches_are_counted(isolated_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = isolated_runtime.settings.model_copy(update={"sequencer_interval_seconds": 0.01})
    runtime = dataclasses.replace(isolated_runtime, settings=settings)

    def counted() -> float:
        return REGISTRY.get_sample_value("meerpunt_register_sequencer_failures_total") or 0.0

    failures = counted()
    calls: list[int] = []

    def broken(_runtime: Runtime) -> None:
        calls.append(1)
        raise RuntimeError("database gone")

    monkeypatch.setattr("audit.sequencer._tick", broken)

    async def run_briefly() -> None:
        # Wait for the counter, not for the calls: a call has failed in its thread a moment
        # before the loop counts it, and cancelling in between would drop that count.
        task = asyncio.create_task(run_sequencer(runtime))
        deadline = time.monotonic() + 10
        while counted() - failures < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run_briefly())
    assert len(calls) >= 3
    assert counted() - failures >= 3


def test_health_reports_a_stalled_sequencer(isolated_runtime: Runtime) -> None:
    now = [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)]
    runtime = dataclasses.replace(isolated_runtime, clock=lambda: now[0])
    record_all(runtime.engine, (make_draft() for _ in range(3)))
    with Session(runtime.engine) as session:
        assert health(session, runtime)["stalled"] is True  # entries, and no head at all
    checkpoint_now(runtime)
    record_all(runtime.engine, [make_draft()])
    with Session(runtime.engine) as session:
        fresh = health(session, runtime)
    assert (fresh["backlog"], fresh["tree_size"], fresh["signed_tree_size"], fresh["stalled"]) == (
        1,
        3,
        3,
        False,
    )
    now[0] += dt.timedelta(minutes=10)  # nobody sequenced or signed since
    with Session(runtime.engine) as session:
        assert health(session, runtime)["stalled"] is True
    sequence_pending(runtime, sign=True)
    with Session(runtime.engine) as session:
        assert health(session, runtime)["stalled"] is False
