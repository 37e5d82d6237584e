"""Trusted checkpoints: tree heads saved outside the database, handed to the verifier to extend.

Reading one is a check of its own (the JWS or the checkpoint endpoint's JSON, signed by one of this
gateway's keys) that happens before any entry is read, and fails with its own error.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json

from jose.exceptions import JOSEError

from audit.keyring import Keyring
from audit.sequencer import CHECKPOINT_TYP
from audit.verify_reader import HASH, Head


class TrustedCheckpointError(ValueError):
    """A trusted checkpoint handed to the verifier is not a valid checkpoint of this gateway."""


def parse_trusted_checkpoint(text: str, ring: Keyring, *, number: int = 0) -> Head:
    """A checkpoint saved by a partner or officer: the JWS, or `GET /v1/audit/checkpoint`'s JSON.

    Raises `TrustedCheckpointError` if it is not a checkpoint signed by one of this gateway's keys.
    """
    token = text.strip()
    if token.startswith("{"):
        try:
            token = str(json.loads(token)["jws"])
        except (ValueError, KeyError, TypeError, RecursionError) as exc:  # RecursionError: deep nesting
            raise TrustedCheckpointError("a JSON checkpoint must carry its `jws`") from exc
    try:
        _kid, claims = ring.verify(token, typ=CHECKPOINT_TYP)
        size, root_text, signed_at = claims["size"], claims["root_hash"], claims["signed_at"]
        if not isinstance(size, int) or size < 0:
            raise ValueError("size")
        root = base64.b64decode(root_text, validate=True)
        if len(root) != HASH:
            raise ValueError("root_hash")
        moment = dt.datetime.fromisoformat(str(signed_at).replace("Z", "+00:00"))
    except (JOSEError, KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise TrustedCheckpointError(f"not a checkpoint of this gateway: {exc}") from exc
    return Head(id=-1 - number, size=size, root_hash=root, signed_at=moment, jws=token, trusted=True)
