"""Benchmark: KEK rotation while payloads are being read (issue 13, part 4).

    python -m bench.kek_rotation [--payloads 50000] [--batch-size 500] [--rounds 2] [--keep]

Creates (drops and re-creates) the database `meerpunt_bench_kek` next to the one named by
`MEERPUNT_BENCH_DATABASE_URL` (default postgresql+psycopg://postgres@127.0.0.1:5432/test), applies the
migrations, stores `--payloads` sealed payloads (2 KB JWE-sized content each) and measures, in one
run, rounds alternating between:

1. **rotation**: `exchange.kek_rotation.rotate_kek` re-wrapping every data key under a new KEK
   (unwrap + wrap + a conditional UPDATE per row, one transaction per batch);
2. **plain UPDATE**: the same keyset batches writing 40 random bytes into `wrapped_key` by primary
   key, without reading, unwrapping or conditions: what rewriting that many rows costs at all.

Meanwhile a reader thread opens 50 random payloads at a time (`exchange.envelope.open_payloads`, as
`GET /v1/inbox` does) and records the latency and any payload it could not open, idle and during
each rotation: readers must see zero failures, and their latency says what a rotation costs the
running gateway. Prints a table, writes bench/results/kek_rotation.json, drops the database
(unless --keep). Target: zero reader failures; rotation >= 25% of the plain UPDATE's rate.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import statistics
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from exchange.crypto import LEGACY_KEK_ID, KekRing, PayloadVault
from exchange.envelope import open_payloads
from exchange.kek_rotation import rotate_kek
from exchange.models import StoredPayload
from gateway.db import create_db_engine
from gateway.migrate import upgrade

DATABASE = "meerpunt_bench_kek"
RESULTS = Path(__file__).parent / "results" / "kek_rotation.json"
_PAYLOADS: sa.Table = StoredPayload.__table__  # type: ignore[attr-defined]


def bench_urls(base: str) -> tuple[str, str]:
    url = make_url(base)
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return admin, url.set(database=DATABASE).render_as_string(hide_password=False)


def recreate(admin: str, drop_only: bool = False) -> None:
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        if not drop_only:
            connection.execute(f"CREATE DATABASE \"{DATABASE}\" ENCODING 'UTF8' TEMPLATE template0")


def fill(engine: Engine, ring: KekRing, count: int) -> list[str]:
    vault = PayloadVault(ring)
    jwe_like = base64.urlsafe_b64encode(os.urandom(1500)).decode()
    ids: list[str] = []
    rows: list[dict[str, Any]] = []
    for _ in range(count):
        message_id = str(uuid.uuid4())
        sealed = vault.seal(message_id, {"bsn": "123456782", "payload_jwe": jwe_like})
        ids.append(message_id)
        rows.append(
            {
                "message_id": message_id,
                "subject_hash": uuid.uuid4().hex * 2,
                "wrapped_key": sealed.wrapped_key,
                "kek_id": sealed.kek_id,
                "nonce": sealed.nonce,
                "ciphertext": sealed.ciphertext,
            }
        )
        if len(rows) == 2000:
            with engine.begin() as connection:
                connection.execute(_PAYLOADS.insert(), rows)
            rows = []
    if rows:
        with engine.begin() as connection:
            connection.execute(_PAYLOADS.insert(), rows)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE exchange_payload")
    return ids


def plain_update(engine: Engine, batch_size: int) -> int:
    """The baseline: the same keyset batches, each row's wrapped key overwritten by primary key."""
    after, written = "", 0
    while True:
        with engine.connect() as connection:
            ids = (
                connection.execute(
                    sa.select(_PAYLOADS.c.message_id)
                    .where(_PAYLOADS.c.message_id > after)
                    .order_by(_PAYLOADS.c.message_id)
                    .limit(batch_size)
                )
                .scalars()
                .all()
            )
        if not ids:
            return written
        after = ids[-1]
        with engine.begin() as connection:
            for message_id in ids:
                connection.execute(
                    sa.update(_PAYLOADS)
                    .where(_PAYLOADS.c.message_id == message_id)
                    .values(wrapped_key=os.urandom(40))
                )
                written += 1


class Reader(threading.Thread):
    """Opens 50 random payloads at a time with whatever ring is current, like the inbox does."""

    def __init__(self, engine: Engine, ids: list[str]) -> None:
        super().__init__(daemon=True)
        self.engine, self.ids = engine, ids
        self.ring: KekRing | None = None
        self.phase = "idle"
        self.latencies: dict[str, list[float]] = {}
        self.failures: dict[str, int] = {}
        self.stop = threading.Event()
        self.rng = random.Random(7)

    def run(self) -> None:
        while not self.stop.is_set():
            ring, phase = self.ring, self.phase
            if ring is None or phase == "pause":
                time.sleep(0.01)
                continue
            sample = self.rng.sample(self.ids, 50)
            started = time.perf_counter()
            with Session(self.engine) as session:
                opened = open_payloads(session, PayloadVault(ring), sample)
            self.latencies.setdefault(phase, []).append((time.perf_counter() - started) * 1000)
            self.failures[phase] = self.failures.get(phase, 0) + len(opened.failed)
            time.sleep(0.005)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--payloads", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    admin, url = bench_urls(
        os.environ.get("MEERPUNT_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    )
    recreate(admin)
    engine = create_db_engine(url, pool_size=4)
    try:
        upgrade(engine)
        keys = {LEGACY_KEK_ID: os.urandom(32)}
        ring = KekRing(dict(keys), LEGACY_KEK_ID)
        ids = fill(engine, ring, args.payloads)
        reader = Reader(engine, ids)
        reader.ring = ring
        reader.start()
        time.sleep(3)  # idle readers first
        rotation_rates: list[float] = []
        plain_rates: list[float] = []
        for number in range(1, args.rounds + 1):
            new_id = f"k{number}"
            keys[new_id] = os.urandom(32)
            ring = KekRing(dict(keys), new_id)
            reader.ring, reader.phase = ring, "rotation"
            started = time.perf_counter()
            result = rotate_kek(engine, ring, batch_size=args.batch_size)
            rotation_rates.append(result.rewrapped / (time.perf_counter() - started))
            assert result.rewrapped == args.payloads and not result.failed, result
            reader.phase = "pause"  # the baseline writes garbage keys: nobody may read them
            time.sleep(0.1)
            with engine.connect() as connection:
                saved = connection.execute(sa.select(_PAYLOADS.c.message_id, _PAYLOADS.c.wrapped_key)).all()
            started = time.perf_counter()
            written = plain_update(engine, args.batch_size)
            plain_rates.append(written / (time.perf_counter() - started))
            with engine.begin() as connection:  # put the real wrapped keys back
                connection.execute(
                    sa.update(_PAYLOADS)
                    .where(_PAYLOADS.c.message_id == sa.bindparam("b_id"))
                    .values(wrapped_key=sa.bindparam("b_key")),
                    [{"b_id": row.message_id, "b_key": row.wrapped_key} for row in saved],
                )
            reader.phase = "idle"
            time.sleep(2)
        reader.stop.set()
        reader.join()
    finally:
        engine.dispose()
        if not args.keep:
            recreate(admin, drop_only=True)
    rotation = statistics.median(rotation_rates)
    plain = statistics.median(plain_rates)
    results = {
        "payloads": args.payloads,
        "batch_size": args.batch_size,
        "rounds": args.rounds,
        "rotation_rows_per_s": round(rotation),
        "plain_update_rows_per_s": round(plain),
        "ratio": round(rotation / plain, 2),
        "reader": {
            phase: {
                "batches": len(values),
                "p50_ms": round(pct(values, 0.5), 2),
                "p99_ms": round(pct(values, 0.99), 2),
                "failures": reader.failures.get(phase, 0),
            }
            for phase, values in reader.latencies.items()
        },
    }
    print(f"{'':34} {'rows/s':>10}")
    print(f"{'rotate_kek (unwrap, wrap, cond.)':34} {rotation:>10.0f}")
    print(f"{'plain UPDATE by primary key':34} {plain:>10.0f}")
    print(f"{'ratio':34} {rotation / plain:>10.2f}")
    print(f"\n{'reader (50 payloads)':22} {'batches':>8} {'p50 ms':>8} {'p99 ms':>8} {'failures':>9}")
    for phase, row in results["reader"].items():  # type: ignore[union-attr]
        print(f"{phase:22} {row['batches']:>8} {row['p50_ms']:>8} {row['p99_ms']:>8} {row['failures']:>9}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
