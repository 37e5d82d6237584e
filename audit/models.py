"""Tables of the art. 8 register: entries (append-only), tree state, tiles and signed tree heads."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import column_property
from sqlmodel import Field, SQLModel, select

from audit.canonical import rfc3339
from audit.leaf import HEADER_FIELDS, encode_line, header_values, leaf_input


class UtcDateTime(sa.types.TypeDecorator[dt.datetime]):
    """`timestamptz` on PostgreSQL; on SQLite, which keeps no offset, stored as UTC and read back aware.

    Without it SQLite silently drops a non-UTC offset on write and returns naive values on read,
    so the same entry would show different times on the two databases.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


MAX_POSITION = 2**63 - 1
"""The largest tree position or size a query may name (`BIGINT`); a larger one cannot be stored."""


AUDIT_TABLES = frozenset(
    {
        "register_entry",
        "register_position",
        "register_pending",
        "register_tree_state",
        "register_tree_tile",
        "register_tree_head",
    }
)
"""The tables of the `audit` migration branch (gateway/migrations/versions/audit_0001_initial.py on)."""


def decode_categories(stored: str) -> list[str]:
    """Inverse of `audit.service.encode_categories` (`,a,b,` → `["a", "b"]`)."""
    return [code for code in stored.split(",") if code]


VERIFICATION_READS = "kind = 'register_accessed' AND body LIKE '%\"action\":\"verify\"%'"
"""The entries that record a full verification (a `verify` read, `audit.evidence`): the predicate
of the partial index `ix_register_entry_verifications` (audit_0004), spelled in SQL so that a query
using the same text can use the index on SQLite as well as PostgreSQL. The body is canonical JSON,
so the action appears in exactly this spelling."""


class RegisterEntry(SQLModel, table=True):
    """Registratie (art. 8): one registrable event. No code path updates or deletes a row, and the
    database refuses to (triggers of migration audit_0002).

    The indexed columns and `body` (canonical JSON of the rest: actor role, reason, description,
    the full legal basis, professional, details) are together the hashed content, encoded as in
    `audit.leaf`; `content` puts them back together. The tree position (`leaf_index`) is given
    later, once, by the sequencer; it is not hashed, and verification checks that positions form
    the sequence 0..n-1 and reproduce every signed tree head.

    The tree position is not a column: the sequencer writes it into `RegisterPosition` (migration
    audit_0003), so an entry row is written once and never updated. `leaf_index` reads it back
    (a correlated lookup, None while the entry awaits the sequencer); queries that order or filter
    by position join `RegisterPosition` instead.
    """

    __tablename__ = "register_entry"
    __table_args__ = (
        sa.Index("ix_register_entry_subject_time", "subject_hash", "occurred_at"),
        # A trigger on SQLite (audit_0002): a malformed hash would stop the sequencer's tree.
        sa.CheckConstraint("length(leaf_hash) = 32", name="ck_register_entry_leaf_hash_length"),
        # The console's "last verification": without it, finding the newest one scanned every
        # register read back to it (all of them, if the register was never verified).
        sa.Index(
            "ix_register_entry_verifications",
            "seq",
            postgresql_where=sa.text(VERIFICATION_READS),
            sqlite_where=sa.text(VERIFICATION_READS),
        ),
    )

    seq: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    id: str = Field(max_length=36, unique=True)
    kind: str = Field(max_length=40, index=True)
    occurred_at: dt.datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False, index=True))
    actor: str = Field(max_length=200, index=True)
    actor_org: str | None = Field(default=None, max_length=20, index=True)
    sender: str | None = Field(default=None, max_length=20, index=True)
    recipient: str | None = Field(default=None, max_length=20, index=True)
    subject_hash: str | None = Field(default=None, max_length=64)
    categories: str = Field(default="", max_length=1000)
    legal_basis: str | None = Field(default=None, max_length=20, index=True)
    trace_id: str = Field(max_length=55, index=True)
    disclosure_id: str | None = Field(default=None, max_length=36, index=True)
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    leaf_hash: bytes = Field(sa_column=sa.Column(sa.LargeBinary(32), nullable=False))

    if TYPE_CHECKING:
        leaf_index: int | None  # mapped below, once RegisterPosition exists

    @property
    def body_fields(self) -> dict[str, Any]:
        """The decoded `body`: actor_role, reason, description, legal_basis, professional, details."""
        body: dict[str, Any] = json.loads(self.body)
        return body

    @property
    def content(self) -> dict[str, Any]:
        """Everything the register says about the event (the hashed content), as one mapping."""
        body = self.body_fields
        return {
            "id": self.id,
            "kind": self.kind,
            "occurred_at": rfc3339(self.occurred_at),
            "actor": self.actor,
            "actor_role": body.get("actor_role"),
            "actor_org": self.actor_org,
            "sender": self.sender,
            "recipient": self.recipient,
            "subject_hash": self.subject_hash,
            "categories": decode_categories(self.categories),
            "reason": body.get("reason"),
            "description": body.get("description"),
            "legal_basis": body.get("legal_basis"),
            "professional": body.get("professional"),
            "trace_id": self.trace_id,
            "disclosure_id": self.disclosure_id,
            "details": body.get("details", {}),
        }

    @property
    def reason(self) -> str | None:
        value: str | None = self.body_fields.get("reason")
        return value

    @property
    def description(self) -> str | None:
        value: str | None = self.body_fields.get("description")
        return value

    @property
    def actor_role(self) -> str:
        value: str = self.body_fields.get("actor_role", "")
        return value

    def leaf_input(self) -> bytes:
        """The bytes behind `leaf_hash` (see `audit.leaf`), rebuilt from the stored columns."""
        columns = {name: getattr(self, name) for name in HEADER_FIELDS}
        return leaf_input(encode_line(header_values(columns), self.body))


class RegisterPosition(SQLModel, table=True):
    """An entry's place in the tree, written once by the sequencer (append-only, audit_0003).

    A narrow table of its own instead of a column of `register_entry`: setting a column of the
    wide, twelve-index entry row rewrote every entry and all its indexes (PostgreSQL never makes
    that update HOT), which bounded sequencing at about 5,400 entries/s (issue 16).
    """

    __tablename__ = "register_position"

    leaf_index: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False))
    entry_seq: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, unique=True))


class PendingEntry(SQLModel, table=True):
    """An entry awaiting the sequencer: its queue row, in `seq` order.

    A database trigger (audit_0003) adds the row in the same statement that inserts the entry, so no
    code path can store an entry that the sequencer will not place; the sequencer deletes the row
    in the transaction that writes the position, and a trigger refuses any other delete.
    """

    __tablename__ = "register_pending"

    seq: int = Field(
        sa_column=sa.Column(
            sa.BigInteger, sa.ForeignKey("register_entry.seq"), primary_key=True, autoincrement=False
        )
    )
    leaf_hash: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary, nullable=True))


RegisterEntry.__mapper__.add_property(  # type: ignore[attr-defined]
    "leaf_index",
    column_property(
        select(RegisterPosition.leaf_index)
        .where(RegisterPosition.entry_seq == RegisterEntry.seq)
        .correlate_except(RegisterPosition)
        .scalar_subquery()
    ),
)


class TreeState(SQLModel, table=True):
    """The sequencer's current tree: size and right-border hashes (compact range). One row."""

    __tablename__ = "register_tree_state"

    id: int = Field(default=1, primary_key=True)
    size: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, default=0))
    frontier: bytes = Field(default=b"", sa_column=sa.Column(sa.LargeBinary, nullable=False, default=b""))
    updated_at: dt.datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))


class TreeTile(SQLModel, table=True):
    """Hash of a full subtree of 256 leaves (level 8), so proofs never read the whole log."""

    __tablename__ = "register_tree_tile"

    tile_index: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=sa.Column(sa.LargeBinary(32), nullable=False))


class TreeHead(SQLModel, table=True):
    """A signed tree head (checkpoint): size, root hash and time, signed by the gateway (JWS)."""

    __tablename__ = "register_tree_head"

    id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    size: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, index=True))
    root_hash: bytes = Field(sa_column=sa.Column(sa.LargeBinary(32), nullable=False))
    signed_at: dt.datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))
    jws: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
