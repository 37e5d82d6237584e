"""W3C Trace Context: the caller's `traceparent` links its own logs to the register's entries."""

from __future__ import annotations

import pytest

from audit.service import new_trace_id, parse_traceparent, traceparent

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"00-{TRACE}-00f067aa0ba902b7-01", TRACE),
        (f"00-{TRACE}-00f067aa0ba902b7-00", TRACE),  # not sampled: still the same trace
        (f" 00-{TRACE}-00f067aa0ba902b7-01 ", TRACE),  # optional whitespace around the value
        (f"cc-{TRACE}-00f067aa0ba902b7-01-future-field", TRACE),  # a later version may add fields
        (f"cc-{TRACE}-00f067aa0ba902b7-01", TRACE),
        (None, None),
        ("", None),
        (f"00-{TRACE}-00f067aa0ba902b7-01-extra", None),  # version 00 has exactly four fields
        (f"ff-{TRACE}-00f067aa0ba902b7-01", None),  # version ff is invalid
        (f"00-{'0' * 32}-00f067aa0ba902b7-01", None),  # all-zero trace id
        (f"00-{TRACE}-{'0' * 16}-01", None),  # all-zero parent id
        (f"00-{TRACE.upper()}-00f067aa0ba902b7-01", None),  # lowercase hex only
        (f"00-{TRACE[:-1]}-00f067aa0ba902b7-01", None),
        (f"00-{TRACE}-00f067aa0ba902b7-1", None),
        (f"cc-{TRACE}-00f067aa0ba902b7-01x", None),  # a later version's extra field needs a dash
        (f"00_{TRACE}_00f067aa0ba902b7_01", None),
        ("00-" + "a" * 600, None),
    ],
)
def test_traceparent_headers_are_parsed_strictly(header: str | None, expected: str | None) -> None:
    assert parse_traceparent(header) == expected


def test_a_traceparent_made_here_parses_back() -> None:
    trace = new_trace_id()
    assert parse_traceparent(traceparent(trace)) == trace
    assert traceparent(trace) != traceparent(trace)  # a new span for each delivery
