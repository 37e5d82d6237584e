"""Reading the register for verification: one read-only snapshot, entries in blocks.

`PostgresReader` has PostgreSQL render each entry's leaf input from the stored columns
(`audit.leaf.POSTGRES_LINE_SQL`) *and hash it* (`pg_catalog.sha256`), and return a whole block as
three values (leaf indexes, the recomputed leaf hashes, the stored ones), read by two connections
sharing one exported snapshot. `PortableReader` (SQLite), and PostgreSQL for a block with a row no
honest write produces, read the rows and render them in Python with `audit.leaf.render_line`, and
the verifier hashes them. `read_blocks` reads ahead in threads while the verifier works.

Why the database hashes: verification is bound by CPU, and the cheapest place to hash an entry is
where its bytes are made. Shipping each ~640-byte leaf input to Python and hashing it there cost
4.4-5.1 µs of CPU per entry in all (PostgreSQL rendering and sending, the driver receiving,
Python splitting and hashing); hashing in PostgreSQL and shipping 32 bytes costs 3.0-3.1 µs
(bench/README.md, "register"). It trusts the database no more than before: PostgreSQL already
rendered the bytes that were hashed, and `tests/audit/test_verify.py` checks on PostgreSQL that
its rendering and its hashes equal the Python reference encoder's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import queue
import re
import sys
import threading
from array import array
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from audit.leaf import HEADER_FIELDS, LEAF_HASH_PREFIX, POSTGRES_LINE_SQL, encode_time, render_line
from audit.merkle import TILE_HEIGHT
from gateway.db import is_sqlite
from gateway.runtime import Runtime

__all__ = [
    "HASH",
    "VERIFY_LOCK",
    "Block",
    "Head",
    "PortableReader",
    "PostgresReader",
    "Source",
    "VerificationBusy",
    "open_reader",
    "read_blocks",
]

HASH = 32

VERIFY_LOCK = int.from_bytes(b"mp-vrfy!", "big")
"""PostgreSQL advisory lock key held by a running verification (one at a time, across processes)."""

_LOCAL_VERIFY_LOCK = threading.Lock()  # SQLite: the gateway runs in one process


class VerificationBusy(RuntimeError):
    """Another verification of the register is running (each reads the whole register)."""


_UNREADABLE = b"\xff"  # never a valid leaf input (not UTF-8, no version byte)


@dataclass(frozen=True)
class Head:
    id: int
    size: int
    root_hash: bytes
    signed_at: dt.datetime
    jws: str
    trusted: bool = False  # a checkpoint saved outside the database, handed to the verifier

    @property
    def name(self) -> str:
        if self.trusted:
            return f"the trusted checkpoint of size {self.size}"
        return f"tree head #{self.id} (size {self.size})"


@dataclass
class Block:
    start: int
    indexes: Sequence[int]
    inputs: list[bytes]  # LEAF_HASH_PREFIX + line: what SHA-256 is applied to (unless `computed`)
    stored: bytes  # the stored leaf hashes, concatenated in leaf order
    tiles: list[tuple[int, bytes]] = field(default_factory=list)
    computed: bytes | None = None  # the leaf hashes recomputed by the database, concatenated

    @property
    def size(self) -> int:
        return len(self.computed) // HASH if self.computed is not None else len(self.inputs)


class Source(Protocol):
    def heads(self) -> list[Head]: ...
    def state(self) -> tuple[int, bytes] | None: ...
    def counts(self) -> tuple[int, int, int]: ...
    @property
    def readers(self) -> int: ...
    def block(self, start: int, stop: int, reader: int) -> Block: ...
    def pending(self) -> list[tuple[str, bytes, bytes]]: ...
    def entry_at(self, leaf_index: int) -> str | None: ...
    def misplaced(self, size: int) -> list[tuple[int, str]]: ...
    def close(self) -> None: ...


_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9A-F]+)?")
_HEADS = "SELECT id, size, root_hash, signed_at, jws FROM register_tree_head ORDER BY id"
_STATE = "SELECT size, frontier FROM register_tree_state WHERE id = 1"
_COUNTS = (
    "SELECT (SELECT count(*) FROM register_position), "
    "(SELECT count(*) FROM register_entry) - (SELECT count(*) FROM register_position), "
    "(SELECT count(*) FROM register_tree_tile)"
)
_TILES = (
    "SELECT tile_index, hash FROM register_tree_tile WHERE tile_index >= %s AND tile_index < %s "
    "ORDER BY tile_index"
)
#: An entry with its tree position (`register_position` holds the positions, audit_0003).
_PLACED = "register_position JOIN register_entry ON register_entry.seq = register_position.entry_seq"
#: An entry awaiting the sequencer, in its queue.
_QUEUED = "register_pending JOIN register_entry ON register_entry.seq = register_pending.seq"
_ENTRY_AT = f"SELECT id FROM {_PLACED} WHERE leaf_index = %s"  # noqa: S608
_MISPLACED = (
    f"SELECT leaf_index, id FROM {_PLACED} WHERE leaf_index < 0 OR leaf_index >= %s "  # noqa: S608
    "ORDER BY leaf_index LIMIT 10"
)


class _DbapiReader:
    """Shared plumbing: raw DB-API connections, all inside one read-only snapshot.

    `_conn` answers the small queries; `_readers` (by default just `_conn`) read the blocks, each
    used by one reader thread at a time.
    """

    placeholder = "%s"

    def __init__(self, runtime: Runtime) -> None:
        self._raws = [runtime.engine.raw_connection()]
        self._conn: Any = self._raws[0].driver_connection
        self._readers: list[Any] = [self._conn]
        self._engine = runtime.engine
        self._locked = False

    @property
    def readers(self) -> int:
        return len(self._readers)

    def _all(self, sql: str, params: Sequence[Any] = (), connection: Any = None) -> list[tuple[Any, ...]]:
        cursor = (connection or self._conn).cursor()
        try:
            cursor.execute(sql.replace("%s", self.placeholder), tuple(params))
            return list(cursor.fetchall())
        finally:
            cursor.close()

    @staticmethod
    def _time(value: Any) -> dt.datetime:
        moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
        return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment

    def heads(self) -> list[Head]:
        heads = []
        for i, size, root, signed_at, token in self._all(_HEADS):
            try:
                moment = self._time(signed_at)
            except ValueError:
                moment = dt.datetime.min.replace(tzinfo=dt.UTC)  # cannot match the signed time
            heads.append(Head(int(i), int(size), bytes(root), moment, str(token)))
        return heads

    def state(self) -> tuple[int, bytes] | None:
        rows = self._all(_STATE)
        return (int(rows[0][0]), bytes(rows[0][1])) if rows else None

    def counts(self) -> tuple[int, int, int]:
        sequenced, pending, tiles = self._all(_COUNTS)[0]
        return int(sequenced), int(pending), int(tiles)

    def _tiles(self, start: int, stop: int, connection: Any) -> list[tuple[int, bytes]]:
        rows = self._all(_TILES, (start >> TILE_HEIGHT, stop >> TILE_HEIGHT), connection)
        return [(int(index), bytes(value)) for index, value in rows]

    def entry_at(self, leaf_index: int) -> str | None:
        rows = self._all(_ENTRY_AT, (leaf_index,))
        return str(rows[0][0]) if rows else None

    def misplaced(self, size: int) -> list[tuple[int, str]]:
        """Entries whose leaf index lies outside 0..size-1 (moved there by someone)."""
        return [(int(index), str(entry_id)) for index, entry_id in self._all(_MISPLACED, (size,))]

    def _unlock(self) -> None:
        """Release the verification lock held in the database session (PostgreSQL)."""

    def close(self) -> None:
        main = self._raws[0]
        try:
            for raw in reversed(self._raws[1:]):
                connection: Any = raw.driver_connection
                try:
                    connection.rollback()
                finally:
                    raw.close()
            self._conn.rollback()
            if self._locked:
                self._unlock()
        except BaseException:
            main.invalidate()  # its session ends, and any lock it holds with it
            raise
        finally:
            if self._locked and is_sqlite(self._engine):
                _LOCAL_VERIFY_LOCK.release()
            self._locked = False
            main.close()


# For the readers' transactions: a plan per block with its actual bounds (psycopg prepares a query
# run five times, and a generic plan cannot see how narrow a block's seq range is), and no parallel
# workers (the readers are already one backend per core).
_PLANNING = "SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL max_parallel_workers_per_gather = 0"


class PostgresReader(_DbapiReader):
    """PostgreSQL renders the leaf inputs; a block arrives as three values (indexes, lines, hashes).

    The SQL below interpolates only module constants (`POSTGRES_LINE_SQL`); values are bound.
    """

    # The entries of a block of positions lie in a narrow range of `seq` (the sequencer places them in
    # seq order, up to the few that commit late): bounding the join by that range, read first, lets
    # PostgreSQL read them by primary key instead of scanning the table for every block. Hashes are
    # computed before the one sort, so it sorts 80-byte rows, not 700-byte ones. (`+ 0` keeps the planner
    # off the min/max path through the entry_seq index, which would filter the whole table.)
    _BOUNDS = (
        "SELECT min(entry_seq + 0), max(entry_seq + 0) FROM register_position "
        "WHERE leaf_index >= %s AND leaf_index < %s"
    )
    _IN_BLOCK = (
        "WHERE leaf_index >= %s AND leaf_index < %s AND register_entry.seq >= %s AND register_entry.seq <= %s"
    )
    _BLOCK = (
        "SELECT string_agg(int8send(leaf_index), ''::bytea), string_agg(computed, ''::bytea), "  # noqa: S608
        "string_agg(leaf_hash, ''::bytea) FROM ("
        "SELECT leaf_index, leaf_hash, "
        f"pg_catalog.sha256(%s::bytea || pg_catalog.textsend({POSTGRES_LINE_SQL})) AS computed "
        f"FROM {_PLACED} {_IN_BLOCK} ORDER BY leaf_index) AS placed"
    )
    _ROWS = (
        f"SELECT leaf_index, convert_to({POSTGRES_LINE_SQL}, 'UTF8'), leaf_hash FROM {_PLACED} "  # noqa: S608
        f"{_IN_BLOCK} ORDER BY leaf_index"
    )
    _PENDING = (
        f"SELECT id, convert_to({POSTGRES_LINE_SQL}, 'UTF8'), register_entry.leaf_hash FROM {_QUEUED} "  # noqa: S608
        "ORDER BY register_entry.seq"
    )

    READERS = 2
    """Connections reading blocks at once: the database's share of the work (reading and rendering
    rows, sending about 640 bytes each) is larger than the hashing, so two backends keep up."""

    def __init__(self, runtime: Runtime, *, wait: bool = True) -> None:
        super().__init__(runtime)
        # A session-level lock, taken (and committed) before the snapshot, so that a waiting
        # verification reads the register as it is once its turn comes.
        function = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
        try:
            acquired = self._conn.execute(f"SELECT {function}(%s)", (VERIFY_LOCK,)).fetchone()[0]
            self._conn.commit()
        except BaseException:
            self._raws[0].invalidate()  # never hand a connection in an unknown lock state back
            raise
        if acquired is False:
            self._raws[0].close()
            raise VerificationBusy("another verification of the register is running")
        self._locked = True
        try:
            self._begin(runtime)
        except BaseException:
            self.close()
            raise

    def _unlock(self) -> None:
        self._conn.execute("SELECT pg_advisory_unlock(%s)", (VERIFY_LOCK,))
        self._conn.commit()

    def _begin(self, runtime: Runtime) -> None:
        # One snapshot for the whole run, shared by every reader (as pg_dump --jobs does): the
        # sequencer keeps appending meanwhile.
        self._conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        self._conn.execute(_PLANNING)
        snapshot = str(self._conn.execute("SELECT pg_export_snapshot()").fetchone()[0])
        if not _SNAPSHOT_ID.fullmatch(snapshot):
            raise RuntimeError(f"unexpected snapshot id {snapshot!r}")
        for _ in range(self.READERS - 1):
            raw = runtime.engine.raw_connection()
            self._raws.append(raw)
            reader: Any = raw.driver_connection
            reader.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            reader.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")  # no bind parameters in SET
            reader.execute(_PLANNING)
            self._readers.append(reader)

    def block(self, start: int, stop: int, reader: int) -> Block:
        connection = self._readers[reader]
        with connection.cursor(binary=True) as cursor:
            cursor.execute(self._BOUNDS, (start, stop))
            bounds = (start, stop, *cursor.fetchone())
            cursor.execute(self._BLOCK, (LEAF_HASH_PREFIX, *bounds))
            packed, computed, stored = cursor.fetchone()
        tiles = self._tiles(start, stop, connection)
        if packed is None:
            return Block(start, [], [], b"", tiles)
        indexes = array("q")
        indexes.frombytes(packed)
        if sys.byteorder == "little":
            indexes.byteswap()  # int8send is big-endian
        count = len(indexes)
        if len(computed) != HASH * count or len(stored) != HASH * count:
            # A NULL column (sha256 of NULL is NULL, which string_agg skips) or a malformed stored
            # hash: read row by row, so that the verifier locates it.
            return self._rows(bounds, connection, tiles)
        return Block(start, indexes, [], stored, tiles, computed=computed)

    def _rows(self, bounds: tuple[Any, ...], connection: Any, tiles: list[tuple[int, bytes]]) -> Block:
        start = bounds[0]
        with connection.cursor(binary=True) as cursor:
            cursor.execute(self._ROWS, bounds)
            rows = cursor.fetchall()
        return Block(
            start,
            [int(r[0]) for r in rows],
            [LEAF_HASH_PREFIX + bytes(r[1]) if r[1] is not None else _UNREADABLE for r in rows],
            b"".join(_hash_or_blank(r[2]) for r in rows),
            tiles,
        )

    def pending(self) -> list[tuple[str, bytes, bytes]]:
        with self._conn.cursor(binary=True) as cursor:
            cursor.execute(self._PENDING)
            rows = cursor.fetchall()
        return [
            (str(i), LEAF_HASH_PREFIX + bytes(line) if line is not None else _UNREADABLE, bytes(h or b""))
            for i, line, h in rows
        ]


class PortableReader(_DbapiReader):
    """Any database (SQLite): rows are read as stored and rendered by `audit.leaf.render_line`."""

    placeholder = "?"
    _COLUMNS = ", ".join(f"register_entry.{name}" for name in (*HEADER_FIELDS, "body", "leaf_hash"))
    _BLOCK = (
        f"SELECT leaf_index, {_COLUMNS} FROM {_PLACED} "  # noqa: S608
        "WHERE leaf_index >= %s AND leaf_index < %s ORDER BY leaf_index"
    )
    _PENDING = f"SELECT {_COLUMNS} FROM {_QUEUED} ORDER BY register_entry.seq"  # noqa: S608

    def __init__(self, runtime: Runtime, *, wait: bool = True) -> None:
        if not _LOCAL_VERIFY_LOCK.acquire(blocking=wait):
            raise VerificationBusy("another verification of the register is running")
        try:
            super().__init__(runtime)
        except BaseException:
            _LOCAL_VERIFY_LOCK.release()
            raise
        self._locked = True
        try:
            # A deferred read transaction: one WAL snapshot, without taking the write lock.
            self._conn.execute("BEGIN")
        except BaseException:
            self.close()
            raise

    def _render(self, row: Sequence[Any]) -> bytes:
        try:
            header = [
                encode_time(self._time(value)) if name == "occurred_at" else value
                for name, value in zip(HEADER_FIELDS, row, strict=False)
            ]
            return LEAF_HASH_PREFIX + render_line(header, row[len(HEADER_FIELDS)]).encode("utf-8")
        except (TypeError, ValueError, UnicodeError):
            return _UNREADABLE  # a stored value that no honest write produces

    def block(self, start: int, stop: int, reader: int) -> Block:
        rows = self._all(self._BLOCK, (start, stop))
        return Block(
            start,
            [int(r[0]) for r in rows],
            [self._render(r[1:]) for r in rows],
            b"".join(_hash_or_blank(r[-1]) for r in rows),
            self._tiles(start, stop, self._conn),
        )

    def pending(self) -> list[tuple[str, bytes, bytes]]:
        rows = self._all(self._PENDING)
        return [(str(r[0]), self._render(r), bytes(r[-1] or b"")) for r in rows]


def _hash_or_blank(value: Any) -> bytes:
    """A stored leaf hash, kept at 32 bytes so the hashes after it stay aligned."""
    stored = bytes(value) if value is not None else b""
    return stored if len(stored) == HASH else b"\x00" * HASH


def read_blocks(source: Source, spans: Sequence[tuple[int, int]]) -> Generator[Block, None, None]:
    """Blocks in order, read ahead by one thread per reader connection while blocks are hashed.

    Reader `r` reads blocks r, r + R, r + 2R, …; the database driver releases the GIL while it
    waits, so reading overlaps hashing. Each connection is used by its one thread only, until the
    generator is closed (which stops and joins the readers).
    """
    count = source.readers
    queues: list[queue.Queue[Block | BaseException]] = [queue.Queue(maxsize=2) for _ in range(count)]
    stop = threading.Event()

    def read(reader: int) -> None:
        try:
            for number in range(reader, len(spans), count):
                if stop.is_set():
                    return
                queues[reader].put(source.block(*spans[number], reader))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            queues[reader].put(exc)

    threads = [
        threading.Thread(target=read, args=(reader,), name=f"register-verify-reader-{reader}", daemon=True)
        for reader in range(count)
    ]
    for thread in threads:
        thread.start()
    try:
        for number in range(len(spans)):
            item = queues[number % count].get()
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        for reader, thread in enumerate(threads):
            while thread.is_alive():
                with contextlib.suppress(queue.Empty):
                    queues[reader].get(timeout=0.05)
            thread.join()


def open_reader(runtime: Runtime, *, wait: bool = True) -> Source:
    """The reader for the runtime's database, inside its snapshot; `close()` it when done.

    Holds the verification lock until closed; raises `VerificationBusy` if another verification
    holds it and `wait` is False.
    """
    if is_sqlite(runtime.engine):
        return PortableReader(runtime, wait=wait)
    return PostgresReader(runtime, wait=wait)
