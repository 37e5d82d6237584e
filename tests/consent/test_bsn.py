import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent.bsn import is_valid_bsn


@pytest.mark.parametrize("value", ["111222333", "123456782", "999999990", "010000008"])
def test_valid_bsns(value: str) -> None:
    assert is_valid_bsn(value)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("123456789", "fails the 11-check"),
        ("111222334", "one digit off"),
        ("12345678", "8 digits"),
        ("1234567820", "10 digits"),
        ("", "empty"),
        ("12345678a", "letter"),
        ("abcdefghi", "letters"),
        ("000000000", "all zeros passes the sum but is not a BSN"),
        (" 11122233", "leading space"),
        ("111222333 ", "trailing space"),
        ("１１１２２２３３３", "full-width digits"),
        ("١١١٢٢٢٣٣٣", "Arabic-Indic digits"),
        ("-11222333", "sign"),
    ],
)
def test_invalid_bsns(value: str, why: str) -> None:
    assert not is_valid_bsn(value), why


def test_last_digit_weighs_minus_one() -> None:
    # With weight +1 instead of -1, 123456789 would be the valid one (sum 165).
    assert is_valid_bsn("123456782")
    assert not is_valid_bsn("123456789")


def _eleven_check(digits: str) -> bool:
    weights = (9, 8, 7, 6, 5, 4, 3, 2, -1)
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 == 0


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_nine_digits_valid_iff_eleven_check(digits: str) -> None:
    expected = _eleven_check(digits) and digits != "000000000"
    assert is_valid_bsn(digits) == expected


@given(st.text(max_size=12).filter(lambda s: not (len(s) == 9 and s.isascii() and s.isdigit())))
def test_anything_else_is_invalid(value: str) -> None:
    assert not is_valid_bsn(value)
