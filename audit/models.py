"""Tables of the art. 8 register: entries (append-only), tree state, tiles and signed tree heads."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from gateway.sqltypes import JSONColumn, UTCDateTime


class RegisterEntry(SQLModel, table=True):
    """Registratie (art. 8): one registrable event. No code path updates or deletes a row.

    Only `leaf_index` is written after insert, once, by the sequencer; it is not part of the hashed
    content, and verification checks that positions form the sequence 0..n-1.
    """

    __tablename__ = "register_entry"
    __table_args__ = (
        sa.Index("ix_register_entry_subject_time", "subject_hash", "occurred_at"),
        sa.Index("ix_register_entry_unsequenced", "seq", postgresql_where=sa.text("leaf_index IS NULL")),
    )

    seq: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    id: str = Field(max_length=36, unique=True)
    kind: str = Field(max_length=40, index=True)
    occurred_at: dt.datetime = Field(
        sa_column=sa.Column(UTCDateTime(), nullable=False, index=True)
    )
    sender: str | None = Field(default=None, max_length=20, index=True)
    recipient: str | None = Field(default=None, max_length=20, index=True)
    actor: str = Field(max_length=200, index=True)
    actor_role: str = Field(max_length=20)
    actor_org: str | None = Field(default=None, max_length=20, index=True)
    subject_hash: str | None = Field(default=None, max_length=64)
    categories: str = Field(default="", max_length=1000)
    reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    description: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    legal_basis: str | None = Field(default=None, max_length=20, index=True)
    trace_id: str = Field(max_length=55, index=True)
    disclosure_id: str | None = Field(default=None, max_length=36, index=True)
    content: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(JSONColumn, nullable=False))
    leaf_hash: bytes = Field(sa_column=sa.Column(sa.LargeBinary(32), nullable=False))
    leaf_index: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, unique=True, nullable=True)
    )


class TreeState(SQLModel, table=True):
    """The sequencer's current tree: size and right-border hashes (compact range). One row."""

    __tablename__ = "register_tree_state"

    id: int = Field(default=1, primary_key=True)
    size: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, default=0))
    frontier: bytes = Field(default=b"", sa_column=sa.Column(sa.LargeBinary, nullable=False, default=b""))
    updated_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


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
    signed_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    jws: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
