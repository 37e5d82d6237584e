"""Burgerservicenummer (BSN) checks: pure, no I/O."""

from __future__ import annotations

# Weights of the Dutch "elfproef" for a BSN: the last digit counts negatively,
# which is what distinguishes the BSN check from the bank-account check.
_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def is_valid_bsn(value: str) -> bool:
    """Geldig burgerservicenummer: 9 digits passing the 11-check (SPEC §1, §8).

    Only ASCII digits count: ``str.isdigit`` alone would accept e.g. Arabic-Indic
    or full-width digits, which would let look-alike BSNs past the index.
    """
    if len(value) != len(_WEIGHTS) or not (value.isascii() and value.isdigit()):
        return False
    if value == "0" * len(_WEIGHTS):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(value, _WEIGHTS, strict=True))
    return total % 11 == 0
