"""API shapes of the register (SPEC §6 "Register entry"), the CSV export, checkpoints and proofs."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from audit.canonical import rfc3339
from audit.models import RegisterEntry, TreeHead
from audit.proofs import ConsistencyProof, InclusionProof


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def entry_view(entry: RegisterEntry) -> dict[str, Any]:
    """`{id, kind, occurred_at, sender, recipient, actor, categories, reason, description,
    legal_basis, professional, trace_id, …}` plus the entry's place in the tree."""
    view = entry.content
    view["leaf_index"] = entry.leaf_index
    view["leaf_hash"] = b64(entry.leaf_hash)
    return view


CSV_COLUMNS = (
    "id",
    "kind",
    "occurred_at",
    "sender",
    "recipient",
    "actor",
    "actor_role",
    "actor_org",
    "subject_hash",
    "categories",
    "reason",
    "description",
    "legal_basis",
    "legal_basis_detail",
    "professional",
    "trace_id",
    "disclosure_id",
    "details",
    "leaf_index",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    # Officers open exports in a spreadsheet: a reason starting with "=" would run as a formula
    # (CSV injection), so such cells are prefixed with an apostrophe, which spreadsheets hide.
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_row(entry: RegisterEntry) -> list[str]:
    content = entry.content
    legal_basis = content["legal_basis"] or {}
    values: dict[str, Any] = {
        **content,
        "categories": ";".join(content["categories"]),
        "legal_basis": legal_basis.get("type"),
        "legal_basis_detail": content["legal_basis"],
        "leaf_index": "" if entry.leaf_index is None else str(entry.leaf_index),
    }
    return [_cell(values[name]) for name in CSV_COLUMNS]


def csv_chunks(pages: Iterable[list[RegisterEntry]]) -> Iterable[str]:
    """The export as text chunks: a header row, then one chunk per page of entries."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    for page in pages:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(csv_row(entry) for entry in page)
        yield buffer.getvalue()


def checkpoint_view(head: TreeHead, public_jwk: dict[str, Any]) -> dict[str, Any]:
    return {
        "size": head.size,
        "root_hash": b64(head.root_hash),
        "signed_at": rfc3339(head.signed_at),
        "jws": head.jws,
        "key": public_jwk,
    }


def proof_view(proof: InclusionProof) -> dict[str, Any]:
    return {
        "entry_id": proof.entry_id,
        "leaf_index": proof.leaf_index,
        "leaf_hash": b64(proof.leaf_hash),
        "tree_size": proof.head.size,
        "root_hash": b64(proof.head.root_hash),
        "proof": [b64(node) for node in proof.path],
        "checkpoint_jws": proof.head.jws,
    }


def consistency_view(
    proof: ConsistencyProof, *, old_key: dict[str, Any], new_key: dict[str, Any]
) -> dict[str, Any]:
    """RFC 9162 §2.1.4 proof that the tree of `from` is a prefix of the tree of `to`, with both heads."""
    return {
        "from": checkpoint_view(proof.old, old_key),
        "to": checkpoint_view(proof.new, new_key),
        "proof": [b64(node) for node in proof.path],
    }
