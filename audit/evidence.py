"""What readers of the register can check for themselves: checkpoints, proofs, keys, verification.

Tamper evidence that lives only in the gateway's database can be rewritten by whoever controls
that database. Partners and officers close the gap by keeping evidence outside it: the signed
checkpoints they fetch (`GET /v1/audit/checkpoint`), the leaf hash in each receipt, and the proofs
served here, with which they check that today's register still contains their entries
(`GET /v1/audit/proof/{entry_id}?tree_size=`) and extends the checkpoints they kept
(`GET /v1/audit/consistency?from=&to=`). See docs/security.md, "The register's threat model".
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from jose import jws
from sqlmodel import Session

from audit.keyring import keyring
from audit.models import TreeHead
from audit.proofs import RegisterInconsistent, head_of_size, latest_head, prove_consistency, prove_inclusion
from audit.register import require_reader
from audit.repository import find_entry
from audit.schemas import checkpoint_view, consistency_view, proof_view
from audit.sequencer import checkpoint_now
from audit.service import record_read
from audit.verify import TrustedCheckpointError, VerificationBusy, VerificationReport, verify_register
from gateway.principals import OfficerPrincipal, Principal
from gateway.problems import Forbidden, NotFound, Problem, RuleBroken, RuleViolation
from gateway.runtime import Runtime

__all__ = [
    "consistency",
    "current_checkpoint",
    "inclusion",
    "on_demand_checkpoint",
    "verification",
    "verification_keys",
]

log = logging.getLogger("meerpunt.audit.evidence")

_ARTICLE = "art. 8, 18.3"


def _inconsistent() -> Problem:
    return Problem(
        "The stored tree does not reproduce the signed tree head; the operators are alerted.",
        status=500,
        slug="register-inconsistent",
        title="Register inconsistent",
    )


def _key_of(runtime: Runtime, head: TreeHead) -> dict[str, Any]:
    kid = jws.get_unverified_header(head.jws).get("kid")
    return keyring(runtime).jwk(str(kid)) or runtime.signer.public_jwk


def current_checkpoint(session: Session, runtime: Runtime, viewer: Principal) -> dict[str, Any]:
    """The latest signed tree head, with the public key that signed it."""
    require_reader(viewer)
    head = latest_head(session)
    if head is None:
        raise NotFound("No tree head has been signed yet.", slug="no-checkpoint")
    return checkpoint_view(head, _key_of(runtime, head))


def verification_keys(runtime: Runtime, viewer: Principal) -> dict[str, Any]:
    """Every key that signed, or signs, the register's checkpoints (JWKS), the current one first."""
    require_reader(viewer)
    return {"keys": keyring(runtime).jwks()}


def _signed_head(session: Session, size: int) -> TreeHead:
    head = head_of_size(session, size)
    if head is None:
        raise NotFound(f"No signed tree head of size {size} is stored.", slug="no-such-tree-size")
    return head


def inclusion(
    session: Session,
    runtime: Runtime,
    viewer: Principal,
    entry_id: str,
    *,
    tree_size: int | None = None,
    professional: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Inclusion proof of an entry `viewer` may see, against the latest signed tree head or the one
    of `tree_size` (a checkpoint the caller kept). The read is registered."""
    require_reader(viewer)
    entry = find_entry(session, viewer, entry_id)
    if entry is None:
        raise NotFound("No such register entry.", slug="unknown-entry")
    record_read(
        session,
        viewer,
        at=runtime.clock(),
        action="proof",
        subject_hash=entry.subject_hash,
        entry_ids=[entry.id],
        professional=professional,
        details={"tree_size": tree_size} if tree_size is not None else None,
    )
    head = latest_head(session) if tree_size is None else _signed_head(session, tree_size)
    if head is None or entry.leaf_index is None or entry.leaf_index >= head.size:
        if tree_size is not None:  # a checkpoint the caller kept, which came before the entry
            raise RuleBroken(
                f"The entry is not in the tree of size {tree_size}: it was sequenced after it (or "
                "is awaiting the sequencer); ask for a later tree size.",
                violations=[RuleViolation("not_in_tree", _ARTICLE, "the entry is not in that tree")],
                commit=True,
            )
        wait = math.ceil(
            runtime.settings.checkpoint_interval_seconds + runtime.settings.sequencer_interval_seconds
        )
        raise Problem(
            "The entry is registered but not yet covered by a signed tree head; retry shortly.",
            status=409,
            slug="not-yet-in-checkpoint",
            title="Not yet in a checkpoint",
            headers={"Retry-After": str(wait)},
            commit=True,
        )
    try:
        return proof_view(prove_inclusion(session, entry, head))
    except RegisterInconsistent:
        raise _inconsistent() from None


def consistency(
    session: Session, runtime: Runtime, viewer: Principal, *, from_size: int, to_size: int | None
) -> dict[str, Any]:
    """Consistency proof between two stored signed tree heads (`to`: the latest when omitted).

    Proofs contain only hashes, of no one's entries in particular, so they are not registered.
    """
    require_reader(viewer)
    new = latest_head(session) if to_size is None else _signed_head(session, to_size)
    if new is None:
        raise NotFound("No tree head has been signed yet.", slug="no-checkpoint")
    if from_size > new.size:
        raise RuleBroken(
            f"from ({from_size}) must not exceed to ({new.size}).",
            violations=[RuleViolation("invalid_range", _ARTICLE, "from must not exceed to")],
        )
    old = _signed_head(session, from_size)
    try:
        proof = prove_consistency(session, old, new)
    except RegisterInconsistent:
        raise _inconsistent() from None
    return consistency_view(proof, old_key=_key_of(runtime, old), new_key=_key_of(runtime, new))


def _visible_entry(session: Session, viewer: OfficerPrincipal, entry_id: str | None) -> str | None:
    if entry_id is None or viewer.is_central:
        return entry_id
    return entry_id if find_entry(session, viewer, entry_id) is not None else None


def verification(
    session: Session,
    runtime: Runtime,
    officer: OfficerPrincipal,
    *,
    trusted_checkpoints: list[str],
) -> dict[str, Any]:
    """Verify the whole register for a privacy officer (one verification at a time; registered).

    Every officer gets the verdict, the finding, the tree size and the leaf index range; the id of
    the first bad entry only if it is one of the officer's own organisation's entries (the central
    officer sees all). The verification reads the whole register, so a second one while one runs
    is refused (409, Retry-After) rather than queued.
    """
    try:
        report = verify_register(runtime, trusted_checkpoints=trusted_checkpoints, wait=False)
    except VerificationBusy:
        raise Problem(
            "A verification of the register is already running; retry when it has finished.",
            status=409,
            slug="verification-running",
            title="Verification running",
            headers={"Retry-After": "30"},
        ) from None
    except TrustedCheckpointError as exc:
        raise RuleBroken(
            "A trusted checkpoint is not a checkpoint of this gateway.",
            violations=[RuleViolation("invalid_checkpoint", _ARTICLE, str(exc))],
        ) from None
    if not report.ok:
        log.error("register verification failed: %s", report.summary())
    shown = report.as_dict()
    shown["first_bad_entry"] = _visible_entry(session, officer, report.first_bad_entry)
    record_read(
        session,
        officer,
        at=runtime.clock(),
        action="verify",
        details=_verdict(report),
        reason="register verified",
    )
    return shown


def _verdict(report: VerificationReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "finding": report.finding,
        "tree_size": report.tree_size,
        "trusted_checkpoints": report.trusted_checkpoints,
    }


def on_demand_checkpoint(session: Session, runtime: Runtime, officer: OfficerPrincipal) -> dict[str, Any]:
    """Sequence what is pending and sign a tree head now (the central officer; registered)."""
    if not officer.is_central:
        raise Forbidden(
            "Only the central Meerpunt privacy officer triggers a checkpoint.", slug="central-officer-only"
        )
    head = checkpoint_now(runtime)
    record_read(
        session,
        officer,
        at=runtime.clock(),
        action="checkpoint",
        details={"tree_size": head.size},
        reason="register checkpoint signed",
    )
    return checkpoint_view(head, _key_of(runtime, head))
