"""Benchmark: consent decision latency with 1,000,000 grants on PostgreSQL (issue 3, part 4).

    python -m bench.consent_decision [--subjects 250000] [--samples 20000]

Creates (drops and re-creates) the database `meerpunt_bench_consent` next to the one named by
`MEERPUNT_BENCH_DATABASE_URL` (default postgresql+psycopg://postgres@127.0.0.1:5432/test), applies the
migrations, bulk-loads the registry with COPY (per subject 2 consents of 2 grants: 4 grants, plus
some withdrawals and restrictions; one consent in five obtained on the sender's behalf), then
measures in one run, interleaved:

- `decide_for_subject` for a random subject, including its query and the pure rules, with the
  sender as exchange/sending.py passes it (the partner that obtained the consents);
- a bare primary-key lookup `SELECT ... FROM consent WHERE id = :id` on the same connection.

Prints a table, writes bench/results/consent_decision.json and drops the database (unless --keep).
Target: decision p99 <= 2 ms and <= 3x the primary-key lookup p99.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import secrets
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from consent import repository
from consent.service import decide_for_subject
from gateway.db import create_db_engine
from gateway.migrate import upgrade
from gateway.pseudonyms import BsnHasher
from gateway.registry import load_categories
from gateway.settings import DEFAULT_DATA_DIR

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DATABASE = "meerpunt_bench_consent"
RESULTS = Path(__file__).parent / "results" / "consent_decision.json"
RECIPIENTS = [f"9999000000000000{n:04d}" for n in (1, 4, 14, 19, 27, 31)]
CONSENTS_PER_SUBJECT = 2
GRANTS_PER_CONSENT = 2

Row = tuple[Any, ...]


def bench_url(base: str) -> tuple[str, str]:
    """(admin URL for psycopg, SQLAlchemy URL of the bench database)."""
    url = make_url(base)
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return admin, url.set(database=DATABASE).render_as_string(hide_password=False)


def recreate_database(admin_url: str) -> None:
    drop_database(admin_url)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{DATABASE}"')


def drop_database(admin_url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


# ------------------------------------------------------------------- loading


def _rows(
    subjects: int, categories: list[str], hasher: BsnHasher, rng: random.Random
) -> Iterator[tuple[str, list[Row], list[Row], list[Row], list[Row]]]:
    """Per subject: (subject_hash, consents, grants, withdrawals, restrictions)."""
    now = dt.datetime.now(dt.UTC)
    signatories = json.dumps([{"role": "parent_with_authority", "name": "A"}] * 2)
    for number in range(subjects):
        subject_hash = hasher(f"{number:09d}")
        consents: list[Row] = []
        grants: list[Row] = []
        withdrawals: list[Row] = []
        restrictions: list[Row] = []
        for _ in range(CONSENTS_PER_SUBJECT):
            consent_id = str(uuid.uuid4())
            given_at = now - dt.timedelta(seconds=rng.randrange(300 * 86400))
            oral = rng.random() < 0.3
            # One in five was obtained by another partner on the sender's behalf (art. 6.3).
            obtained_by, on_behalf_of = (
                (RECIPIENTS[1], RECIPIENTS[0]) if rng.random() < 0.2 else (RECIPIENTS[0], None)
            )
            consents.append(
                (
                    consent_id,
                    subject_hash,
                    dt.date(2015, 1, 1) + dt.timedelta(days=rng.randrange(3000)),
                    obtained_by,
                    on_behalf_of,
                    "oral" if oral else "written",
                    None if oral else secrets.token_hex(32),
                    "Mondeling gegeven, doel uitgelegd." if oral else None,
                    rng.random() < 0.5,
                    given_at,
                    given_at + dt.timedelta(days=365),
                    signatories,
                    None,
                    False,
                    False,
                    None,
                    given_at,
                )
            )
            recipients = rng.sample(RECIPIENTS[1:], GRANTS_PER_CONSENT)
            grant_ids = []
            for position, recipient in enumerate(recipients):
                grant_id = str(uuid.uuid4())
                grant_ids.append(grant_id)
                grants.append(
                    (
                        grant_id,
                        consent_id,
                        position,
                        recipient,
                        json.dumps(rng.sample(categories, rng.randint(2, 5))),
                        "Afstemming van de hulp.",
                        rng.random() < 0.9,
                    )
                )
            if rng.random() < 0.05:
                received_at = given_at + dt.timedelta(days=rng.randrange(1, 30))
                chosen = None if rng.random() < 0.5 else json.dumps(grant_ids[:1])
                withdrawals.append(
                    (
                        str(uuid.uuid4()),
                        consent_id,
                        subject_hash,
                        received_at,
                        chosen,
                        secrets.token_hex(32),
                        RECIPIENTS[0],
                        None,
                        received_at,
                    )
                )
        if rng.random() < 0.005:
            restrictions.append((str(uuid.uuid4()), subject_hash, now, None, "bezwaar", "officer", None))
        yield subject_hash, consents, grants, withdrawals, restrictions


COPY = {
    "consent": "COPY consent (id, subject_hash, subject_birth_date, obtained_by, obtained_on_behalf_of, "
    "form, evidence_sha256, note, explicit, given_at, valid_until, signatories, other_parent_statement, "
    "subject_incapable, legal_representation, professional, created_at) FROM STDIN",
    "consent_grant": "COPY consent_grant (id, consent_id, position, recipient, categories, purpose, granted) "
    "FROM STDIN",
    "consent_withdrawal": "COPY consent_withdrawal (id, consent_id, subject_hash, received_at, grant_ids, "
    "evidence_sha256, registered_by, professional, created_at) FROM STDIN",
    "subject_restriction": "COPY subject_restriction (id, subject_hash, starts_at, ends_at, ground, set_by, "
    "lifted_by) FROM STDIN",
}


def load(database_url: str, subjects: int, seed: int) -> tuple[list[str], list[str], dict[str, int]]:
    """Bulk-load the registry; returns (subject hashes, consent ids, row counts)."""
    rng = random.Random(seed)
    categories = [c.code for c in load_categories(DEFAULT_DATA_DIR / "categories.toml")]
    hasher = BsnHasher(secrets.token_bytes(32))
    consents: list[Row] = []
    grants: list[Row] = []
    withdrawals: list[Row] = []
    restrictions: list[Row] = []
    subject_hashes: list[str] = []
    for subject_hash, c, g, w, r in _rows(subjects, categories, hasher, rng):
        subject_hashes.append(subject_hash)
        consents.extend(c)
        grants.extend(g)
        withdrawals.extend(w)
        restrictions.extend(r)
    consent_ids = [row[0] for row in consents]
    tables = {
        "consent": consents,
        "consent_grant": grants,
        "consent_withdrawal": withdrawals,
        "subject_restriction": restrictions,
    }
    with psycopg.connect(make_url(database_url).set(drivername="postgresql").render_as_string(False)) as conn:
        for table, rows in tables.items():
            with conn.cursor() as cursor, cursor.copy(COPY[table]) as copy:
                for row in rows:
                    copy.write_row(row)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM (ANALYZE) consent, consent_grant, consent_withdrawal, subject_restriction")
    return subject_hashes, consent_ids, {table: len(rows) for table, rows in tables.items()}


# ------------------------------------------------------------------ measuring


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(
    engine: Engine, subject_hashes: list[str], consent_ids: list[str], samples: int, seed: int
) -> tuple[list[float], list[float], str]:
    rng = random.Random(seed + 1)
    special = load_categories(DEFAULT_DATA_DIR / "categories.toml").special_codes
    categories = ["contact", "education", "health"]
    pk_query = text(
        "SELECT id, subject_hash, form, explicit, given_at, valid_until FROM consent WHERE id = :id"
    )
    with Session(engine) as session:
        connection = session.connection()

        def decision() -> None:
            decide_for_subject(
                session,
                subject_hash=rng.choice(subject_hashes),
                recipient=rng.choice(RECIPIENTS[1:]),
                categories=categories,
                at=dt.datetime.now(dt.UTC),
                special_categories=special,
                # As the exchange calls it: the sender is the partner that obtained the consents.
                sender=RECIPIENTS[0],
            )

        def pk_lookup() -> None:
            connection.execute(pk_query, {"id": rng.choice(consent_ids)}).first()

        def timed(call: Callable[[], None]) -> float:
            start = time.perf_counter_ns()
            call()
            return (time.perf_counter_ns() - start) / 1e6

        for _ in range(2000):  # warm-up: caches, prepared statements, compiled SQL
            decision()
            pk_lookup()
        decision_ms: list[float] = []
        pk_ms: list[float] = []
        for index in range(samples):
            # Alternate the order so neither side always runs right after the other.
            if index % 2:
                decision_ms.append(timed(decision))
                pk_ms.append(timed(pk_lookup))
            else:
                pk_ms.append(timed(pk_lookup))
                decision_ms.append(timed(decision))
        statement = repository.decision_facts_statement().params(subject_hash=rng.choice(subject_hashes))
        query = statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
        plan = "\n".join(
            row[0] for row in connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {query}")
        )
    return decision_ms, pk_ms, plan


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subjects", type=int, default=250_000)
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20251123)
    parser.add_argument("--keep", action="store_true", help=f"keep the database {DATABASE} afterwards")
    args = parser.parse_args()

    admin_url, database_url = bench_url(os.environ.get("MEERPUNT_BENCH_DATABASE_URL", DEFAULT_URL))
    recreate_database(admin_url)
    engine = create_db_engine(database_url, pool_size=2)
    upgrade(engine)
    started = time.perf_counter()
    subject_hashes, consent_ids, counts = load(database_url, args.subjects, args.seed)
    load_seconds = time.perf_counter() - started
    print(f"loaded {counts} in {load_seconds:.1f} s")

    decision_ms, pk_ms, plan = measure(engine, subject_hashes, consent_ids, args.samples, args.seed)
    engine.dispose()
    if not args.keep:
        drop_database(admin_url)

    result = {
        "grants": counts["consent_grant"],
        "consents": counts["consent"],
        "subjects": args.subjects,
        "samples": args.samples,
        "decision_p50_ms": round(percentile(decision_ms, 0.50), 4),
        "decision_p99_ms": round(percentile(decision_ms, 0.99), 4),
        "decision_mean_ms": round(statistics.fmean(decision_ms), 4),
        "pk_p50_ms": round(percentile(pk_ms, 0.50), 4),
        "pk_p99_ms": round(percentile(pk_ms, 0.99), 4),
        "pk_mean_ms": round(statistics.fmean(pk_ms), 4),
    }
    result["ratio_p50"] = round(result["decision_p50_ms"] / result["pk_p50_ms"], 2)
    result["ratio_p99"] = round(result["decision_p99_ms"] / result["pk_p99_ms"], 2)
    result["target_met"] = result["decision_p99_ms"] <= 2.0 and result["ratio_p99"] <= 3.0

    print("\nplan of the decision query for one subject:\n" + plan + "\n")
    print(f"{'':28}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    print(
        f"{'decide_for_subject':28}{result['decision_p50_ms']:>10.3f}"
        f"{result['decision_p99_ms']:>10.3f}{result['decision_mean_ms']:>10.3f}"
    )
    print(
        f"{'primary-key lookup':28}{result['pk_p50_ms']:>10.3f}"
        f"{result['pk_p99_ms']:>10.3f}{result['pk_mean_ms']:>10.3f}"
    )
    print(f"{'ratio':28}{result['ratio_p50']:>10.2f}{result['ratio_p99']:>10.2f}")
    print(f"\n{result['grants']:,} grants; target (p99 <= 2 ms, <= 3x lookup) met: {result['target_met']}")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
