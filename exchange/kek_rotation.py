"""Rotation of the key-encryption key (payloads at rest) while the gateway runs.

`rotate_kek` re-wraps the per-message data keys still under an older KEK with the current one, in
small batches, each its own short transaction. Only the wrapped data key and its `kek_id` change;
nonce and ciphertext stay, so a reader sees either the old pair or the new pair, both of which the
keyring opens. Every row is updated conditionally (`WHERE kek_id = old AND wrapped_key = old`):
a payload crypto-shredded (art. 12) or deleted after delivery in the meantime matches nothing and
stays shredded, never resurrected by the rotation. Progress is the table itself, so an interrupted
run simply runs again. `kek_status` counts, per key id, the payloads that still need that key: when
an old id shows 0 it can leave the configuration (consents' sealed BSNs, consent/sealing.py, are
moved and counted the same way), and with it every backup's copy of that key
becomes useless for payloads erased since (docs/operations.md, "Key rotation").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from consent.models import Consent
from consent.sealing import reseal_bsn
from exchange.crypto import KekRing, PayloadUnavailable, rewrap_data_key
from exchange.models import StoredPayload

log = logging.getLogger("meerpunt.keys")

_PAYLOADS: sa.Table = StoredPayload.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _Target:
    """A column of secrets under a KEK: which table, and how one value moves to the current KEK."""

    table: sa.Table
    key: sa.Column[Any]
    kek_id: sa.Column[Any]
    secret: sa.Column[Any]
    move: Callable[[KekRing, str, str, bytes], bytes]


def _rewrap(ring: KekRing, message_id: str, kek_id: str, wrapped: bytes) -> bytes:
    return rewrap_data_key(ring, message_id, kek_id, wrapped)


def _reseal(ring: KekRing, consent_id: str, kek_id: str, sealed: bytes) -> bytes:
    return reseal_bsn(ring, consent_id, kek_id, sealed)[1]


_CONSENTS: sa.Table = Consent.__table__  # type: ignore[attr-defined]
PAYLOADS = _Target(_PAYLOADS, _PAYLOADS.c.message_id, _PAYLOADS.c.kek_id, _PAYLOADS.c.wrapped_key, _rewrap)
#: Consents keep their subject's BSN sealed under a key derived from the KEK (consent/sealing.py).
CONSENT_BSNS = _Target(
    _CONSENTS, _CONSENTS.c.id, _CONSENTS.c.subject_bsn_kek_id, _CONSENTS.c.subject_bsn_sealed, _reseal
)


@dataclass(frozen=True)
class RotationResult:
    #: Payload data keys re-wrapped, and consents' sealed BSNs re-sealed, under the current KEK.
    rewrapped: int
    resealed: int
    #: Rows left under an old key because they cannot be opened (their KEK is not configured, or
    #: does not open them): message or consent ids, for the operator to look into.
    failed: list[str]
    #: Rows that changed under the rotation (shredded, deleted) and were left as they now are.
    skipped: int


def rotate_kek(engine: Engine, ring: KekRing, *, batch_size: int = 500) -> RotationResult:
    """Move every live secret not under `ring.current` to it; resumable and safe to run alongside
    the gateway (and alongside another rotation: the loser of a race skips the row)."""
    failed: list[str] = []
    rewrapped, skipped_payloads = _rotate(engine, ring, PAYLOADS, batch_size, failed)
    resealed, skipped_consents = _rotate(engine, ring, CONSENT_BSNS, batch_size, failed)
    return RotationResult(rewrapped, resealed, failed, skipped_payloads + skipped_consents)


def _rotate(
    engine: Engine, ring: KekRing, target: _Target, batch_size: int, failed: list[str]
) -> tuple[int, int]:
    moved, skipped = 0, 0
    after = ""  # keyset pagination by id: a row that fails is passed, not retried forever
    while True:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(target.key, target.kek_id, target.secret)
                .where(target.secret.is_not(None), target.kek_id != ring.current, target.key > after)
                .order_by(target.key)
                .limit(batch_size)
            ).all()
        if not rows:
            return moved, skipped
        after = rows[-1][0]
        updates = []
        for row_id, kek_id, secret in rows:
            try:
                updates.append((row_id, kek_id, secret, target.move(ring, row_id, kek_id, secret)))
            except PayloadUnavailable as exc:
                log.error("KEK rotation: %s", exc)
                failed.append(row_id)
        with engine.begin() as connection:
            for row_id, kek_id, secret, new_secret in updates:
                result = connection.execute(
                    sa.update(target.table)
                    .where(target.key == row_id, target.kek_id == kek_id, target.secret == secret)
                    .values({target.secret.name: new_secret, target.kek_id.name: ring.current})
                )
                if result.rowcount == 1:
                    moved += 1
                else:
                    skipped += 1
        log.info("KEK rotation of %s: %d moved so far (up to %s)", target.table.name, moved, after)


@dataclass(frozen=True)
class KekUsage:
    kek_id: str
    payloads: int
    consents: int
    configured: bool
    current: bool


def _counts(engine: Engine, target: _Target) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(target.kek_id, sa.func.count())
            .where(target.secret.is_not(None))
            .group_by(target.kek_id)
        ).all()
    return {str(kek_id): int(count) for kek_id, count in rows}


def kek_status(engine: Engine, ring: KekRing) -> list[KekUsage]:
    """Per key id, how many stored payloads (and consents' sealed BSNs) still depend on it
    (shredded and deleted payloads do not).

    Every configured key is listed, also at 0 (that is the one that may now be removed), and so is
    every id found in the tables but missing from the configuration (those cannot be opened).
    """
    payloads, consents = _counts(engine, PAYLOADS), _counts(engine, CONSENT_BSNS)
    ids = sorted(set(payloads) | set(consents) | set(ring.keys))
    return [
        KekUsage(
            kek_id,
            payloads.get(kek_id, 0),
            consents.get(kek_id, 0),
            kek_id in ring.keys,
            kek_id == ring.current,
        )
        for kek_id in ids
    ]
