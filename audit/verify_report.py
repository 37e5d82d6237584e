"""What a full verification of the register answers (`audit.verify.verify_register`).

The kinds of break (`Finding`) and the report with its one-line summary and JSON form. Kept apart
from the checks: what a report says, and how it reads, does not depend on how the register is checked.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


class Finding:
    """What kind of break a report describes (`VerificationReport.finding`)."""

    HEAD_SIGNATURE = "head_signature"  # a stored head's signature or columns are wrong
    ENTRY_CHANGED = "entry_changed"  # an entry no longer matches its leaf hash (named)
    ENTRY_MISSING = "entry_missing"  # a leaf index is missing or held twice
    TREE_MISMATCH = "tree_mismatch"  # a signed root does not match the entries (a range)
    ENTRIES_DELETED = "entries_deleted"  # a head signs more entries than are stored
    TILE_MISMATCH = "tile_mismatch"  # stored tiles disagree with the entries
    STATE_MISMATCH = "state_mismatch"  # the sequencer's tree state disagrees with the entries
    TRUSTED_CHECKPOINT = "trusted_checkpoint"  # the register does not extend a trusted checkpoint
    NO_SIGNED_HEAD = "no_signed_head"  # entries exist, but no signed tree head
    STALE_CHECKPOINT = "stale_checkpoint"  # the newest head lags the sequenced entries too long


@dataclass(frozen=True)
class VerificationReport:
    ok: bool
    entries: int
    first_bad_entry: str | None
    message: str
    first_bad_leaf_index: int | None = None
    pending: int = 0
    tree_heads: int = 0
    tree_size: int = 0
    root_hash: str | None = None
    seconds: float = 0.0
    finding: str | None = None
    bad_range: tuple[int, int] | None = None  # leaf indexes [start, stop) the break lies in
    trusted_checkpoints: int = 0

    def summary(self) -> str:
        if self.ok:
            trusted = (
                f", consistent with {self.trusted_checkpoints} trusted" if self.trusted_checkpoints else ""
            )
            return (
                f"register OK: {self.entries} entries, {self.tree_heads} signed tree heads{trusted}, "
                f"root {self.root_hash}, {self.pending} awaiting the sequencer ({self.seconds:.2f} s)"
            )
        where = []
        if self.first_bad_entry is not None:
            where.append(f"first bad entry {self.first_bad_entry}")
        if self.first_bad_leaf_index is not None:
            where.append(f"leaf index {self.first_bad_leaf_index}")
        elif self.bad_range is not None:
            where.append(f"somewhere in leaf indexes {self.bad_range[0]}..{self.bad_range[1] - 1}")
        located = f" [{', '.join(where)}]" if where else ""
        return f"register BROKEN ({self.finding}): {self.message}{located}"

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["bad_range"] = list(self.bad_range) if self.bad_range is not None else None
        return values
