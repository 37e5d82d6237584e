"""What the officers' console shows of single entries and of the register's integrity.

`entry_detail`: one entry the viewer may see, and whether its inclusion in the latest signed
checkpoint verifies (the audit path reproduces the signed root, and the checkpoint's signature
verifies with the gateway's keyring). `integrity`: the latest checkpoint and its age, and the
outcome of the last full verification (registered as a `verify` read, art. 8). Both reads are
registered like every other read of the register (art. 8, 18.3).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from jose.exceptions import JOSEError
from sqlmodel import Session, col, select

from audit.canonical import rfc3339
from audit.keyring import keyring
from audit.models import VERIFICATION_READS, RegisterEntry
from audit.proofs import RegisterInconsistent, latest_head, prove_inclusion
from audit.register import require_reader
from audit.repository import find_entry
from audit.schemas import entry_view
from audit.sequencer import CHECKPOINT_TYP
from audit.service import record_read
from gateway.principals import Principal
from gateway.problems import NotFound
from gateway.runtime import Runtime


def entry_detail(session: Session, runtime: Runtime, viewer: Principal, entry_id: str) -> dict[str, Any]:
    """`{"entry": …, "inclusion": {"status": verified|pending|failed, …}}`; the read is registered."""
    require_reader(viewer)
    entry = find_entry(session, viewer, entry_id)
    if entry is None:
        raise NotFound("No such register entry.", slug="unknown-entry")
    record_read(
        session,
        viewer,
        at=runtime.clock(),
        action="entry",
        subject_hash=entry.subject_hash,
        entry_ids=[entry.id],
    )
    return {"entry": entry_view(entry), "inclusion": _inclusion(session, runtime, entry)}


def _inclusion(session: Session, runtime: Runtime, entry: RegisterEntry) -> dict[str, Any]:
    head = latest_head(session)
    if head is None or entry.leaf_index is None or entry.leaf_index >= head.size:
        return {"status": "pending"}
    shown: dict[str, Any] = {"tree_size": head.size, "signed_at": rfc3339(head.signed_at)}
    try:
        proof = prove_inclusion(session, entry, head)  # checks the path against the signed root
        kid, claims = keyring(runtime).verify(head.jws, typ=CHECKPOINT_TYP)
    except (RegisterInconsistent, JOSEError):
        return {"status": "failed", **shown}
    if claims.get("size") != head.size:
        return {"status": "failed", **shown}
    return {"status": "verified", "leaf_index": proof.leaf_index, "key_id": kid, **shown}


LAST_VERIFICATION = (
    select(RegisterEntry).where(sa.text(VERIFICATION_READS)).order_by(col(RegisterEntry.seq).desc()).limit(1)
)


def integrity(session: Session, runtime: Runtime, viewer: Principal) -> dict[str, Any]:
    """The latest signed checkpoint (size, time, age) and the last full verification's outcome."""
    require_reader(viewer)
    now = runtime.clock()
    head = latest_head(session)
    checkpoint = None
    if head is not None:
        age = now - head.signed_at
        checkpoint = {
            "size": head.size,
            "signed_at": rfc3339(head.signed_at),
            "age_seconds": age.total_seconds(),
        }
    # A verification is registered as a `verify` read with its verdict (audit.evidence); the
    # predicate is the partial index's own text, so the newest one is one index probe away.
    last = session.exec(LAST_VERIFICATION).first()
    verification = None
    if last is not None:
        details = last.content.get("details") or {}
        verification = {
            "at": rfc3339(last.occurred_at),
            "ok": bool(details.get("ok")),
            "finding": details.get("finding"),
            "tree_size": details.get("tree_size"),
        }
    return {"checkpoint": checkpoint, "verification": verification, "now": rfc3339(now)}


def age_text_nl(seconds: float) -> str:
    """`12 seconden`, `5 minuten`, `3 uur`, `2 dagen`: a checkpoint's age in plain Dutch."""
    if seconds < 120:
        return f"{int(seconds)} seconden"
    if seconds < 2 * 3600:
        return f"{int(seconds // 60)} minuten"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} uur"
    return f"{int(seconds // 86400)} dagen"
