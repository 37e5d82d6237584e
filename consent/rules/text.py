"""Checks on free text and document hashes shared by the signatory, statement and withdrawal rules.

One spelling of "has a name / note" and of "is a SHA-256", so that every rule accepts the same input.
"""

from __future__ import annotations

import re

#: Lowercase only: the API schemas lowercase hashes on input, so a stored hash
#: has one spelling and compares equal to the same document's hash given in capitals.
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def _has_text(value: str | None) -> bool:
    return value is not None and bool(value.strip())
