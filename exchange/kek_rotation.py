"""Rotation of the key-encryption key (payloads at rest) while the gateway runs.

`rotate_kek` re-wraps the per-message data keys still under an older KEK with the current one, in
small batches, each its own short transaction. Only the wrapped data key and its `kek_id` change;
nonce and ciphertext stay, so a reader sees either the old pair or the new pair, both of which the
keyring opens. Every row is updated conditionally (`WHERE kek_id = old AND wrapped_key = old`):
a payload crypto-shredded (art. 12) or deleted after delivery in the meantime matches nothing and
stays shredded, never resurrected by the rotation. Progress is the table itself, so an interrupted
run simply runs again. `kek_status` counts, per key id, the payloads that still need that key: when
an old id shows 0 it can leave the configuration, and with it every backup's copy of that key
becomes useless for payloads erased since (docs/operations.md, "Key rotation").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from exchange.crypto import KekRing, PayloadUnavailable, rewrap_data_key
from exchange.models import StoredPayload

log = logging.getLogger("meerpunt.keys")

_PAYLOADS: sa.Table = StoredPayload.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class RotationResult:
    rewrapped: int
    #: Rows left under an old key because they cannot be unwrapped (their KEK is not configured,
    #: or does not open them): message ids, for the operator to look into.
    failed: list[str]
    #: Rows that changed under the rotation (shredded, deleted) and were left as they now are.
    skipped: int


def rotate_kek(engine: Engine, ring: KekRing, *, batch_size: int = 500) -> RotationResult:
    """Re-wrap every live data key not under `ring.current`; resumable and safe to run alongside
    the gateway (and alongside another rotation: the loser of a race skips the row)."""
    rewrapped, skipped = 0, 0
    failed: list[str] = []
    after = ""  # keyset pagination by message id: a row that fails is passed, not retried forever
    while True:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(_PAYLOADS.c.message_id, _PAYLOADS.c.kek_id, _PAYLOADS.c.wrapped_key)
                .where(
                    _PAYLOADS.c.wrapped_key.is_not(None),
                    _PAYLOADS.c.kek_id != ring.current,
                    _PAYLOADS.c.message_id > after,
                )
                .order_by(_PAYLOADS.c.message_id)
                .limit(batch_size)
            ).all()
        if not rows:
            break
        after = rows[-1].message_id
        updates = []
        for row in rows:
            try:
                new_key = rewrap_data_key(ring, row.message_id, row.kek_id, row.wrapped_key)
            except PayloadUnavailable as exc:
                log.error("KEK rotation: %s", exc)
                failed.append(row.message_id)
                continue
            updates.append((row, new_key))
        with engine.begin() as connection:
            for row, new_key in updates:
                result = connection.execute(
                    sa.update(_PAYLOADS)
                    .where(
                        _PAYLOADS.c.message_id == row.message_id,
                        _PAYLOADS.c.kek_id == row.kek_id,
                        _PAYLOADS.c.wrapped_key == row.wrapped_key,
                    )
                    .values(wrapped_key=new_key, kek_id=ring.current)
                )
                if result.rowcount == 1:
                    rewrapped += 1
                else:
                    skipped += 1
        log.info("KEK rotation: %d re-wrapped so far (up to message %s)", rewrapped, after)
    return RotationResult(rewrapped, failed, skipped)


@dataclass(frozen=True)
class KekUsage:
    kek_id: str
    payloads: int
    configured: bool
    current: bool


def kek_status(engine: Engine, ring: KekRing) -> list[KekUsage]:
    """Per key id, how many stored payloads still depend on it (shredded and deleted ones do not).

    Every configured key is listed, also at 0 (that is the one that may now be removed), and so is
    every id found in the table but missing from the configuration (those payloads cannot be opened).
    """
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(_PAYLOADS.c.kek_id, sa.func.count())
            .where(_PAYLOADS.c.wrapped_key.is_not(None))
            .group_by(_PAYLOADS.c.kek_id)
        ).all()
    counts: dict[str, int] = {str(kek_id): int(count) for kek_id, count in rows}
    ids = sorted(set(counts) | set(ring.keys))
    return [
        KekUsage(kek_id, counts.get(kek_id, 0), kek_id in ring.keys, kek_id == ring.current) for kek_id in ids
    ]
