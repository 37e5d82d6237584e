"""Unit tests of the push adapter: backoff, and webhook answers through `httpx.MockTransport`."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session, select

from adapters.push import backoff_delay, drain_once
from audit.models import RegisterEntry
from exchange.models import OutboxItem
from gateway.runtime import Runtime
from tests.exchange.conftest import Clock
from tests.exchange.test_delivery import send_to, status_of
from tests.support import PUSH_PARTNER

# ------------------------------------------------------------------------------- backoff


@given(
    attempt=st.integers(min_value=0, max_value=60),
    base=st.floats(min_value=0.01, max_value=10),
    cap=st.floats(min_value=0.01, max_value=600),
    draw=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_backoff_stays_between_zero_and_the_capped_exponential(
    attempt: int, base: float, cap: float, draw: float
) -> None:
    delay = backoff_delay(attempt, base, cap, rng=lambda: draw)
    assert 0 <= delay <= min(cap, base * 2 ** max(0, attempt - 1))


def test_backoff_doubles_per_attempt_until_the_cap() -> None:
    ceiling = [backoff_delay(attempt, 1.0, 30.0, rng=lambda: 1.0) for attempt in range(1, 8)]
    assert ceiling == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_backoff_jitter_spreads_retries_over_the_whole_window() -> None:
    """Full jitter: the draw scales the window, so simultaneous failures do not retry in step."""
    draws = iter([0.0, 0.25, 0.5, 0.999])
    delays = [backoff_delay(4, 1.0, 300.0, rng=lambda: next(draws)) for _ in range(4)]
    assert delays == [0.0, 2.0, 4.0, pytest.approx(7.992)]
    assert len(set(delays)) == 4


# ------------------------------------------------------------------- webhook answers


def outcome(isolated_runtime: Runtime, handler: httpx.MockTransport) -> dict[str, object]:
    message_id = send_to(isolated_runtime, PUSH_PARTNER)
    with httpx.Client(transport=handler) as client:
        drain_once(isolated_runtime, client)
    status = status_of(isolated_runtime, message_id)
    with Session(isolated_runtime.engine) as session:
        row = session.exec(select(OutboxItem).where(OutboxItem.message_id == message_id)).one()
        kinds = session.exec(
            select(RegisterEntry.kind).where(RegisterEntry.disclosure_id == message_id)
        ).all()
    return {**status, "outbox": row.state, "next_attempt_at": row.next_attempt_at, "kinds": kinds}


def raising(exc: type[httpx.TransportError]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("simulated", request=request)

    return httpx.MockTransport(handler)


def answering(status: int) -> httpx.MockTransport:
    return httpx.MockTransport(lambda _request: httpx.Response(status))


@pytest.mark.parametrize(
    ("transport", "error"),
    [
        (raising(httpx.ConnectTimeout), "ConnectTimeout: simulated"),
        (raising(httpx.ReadTimeout), "ReadTimeout: simulated"),
        (raising(httpx.ConnectError), "ConnectError: simulated"),  # connection refused
        (answering(500), "HTTP 500"),
        (answering(503), "HTTP 503"),
        (answering(429), "HTTP 429"),  # "not now": retried
        (answering(408), "HTTP 408"),
    ],
)
def test_transient_failures_are_retried_later(
    isolated_runtime: Runtime, clock: Clock, transport: httpx.MockTransport, error: str
) -> None:
    result = outcome(isolated_runtime, transport)
    assert result["status"] == "accepted"
    assert result["outbox"] == "pending"
    assert result["last_error"] == error
    assert result["delivery_attempts"] == 1
    assert isinstance(result["next_attempt_at"], dt.datetime) and result["next_attempt_at"] >= clock.now
    assert "delivery_failed" not in result["kinds"]  # type: ignore[operator]


@pytest.mark.parametrize("status", [400, 403, 404, 422])
def test_a_refusal_by_the_recipients_system_fails_at_once(
    isolated_runtime: Runtime, clock: Clock, status: int
) -> None:
    """A 4xx would come back on every retry: the sender learns at once instead of after eight."""
    result = outcome(isolated_runtime, answering(status))
    assert result["status"] == "failed"
    assert result["outbox"] == "failed"
    assert result["last_error"] == f"HTTP {status}"
    assert result["kinds"] == ["disclosure_sent", "delivery_failed"]


def test_a_message_fails_after_the_attempt_limit_and_is_registered_once(
    isolated_runtime: Runtime, clock: Clock
) -> None:
    transport = answering(503)
    message_id = send_to(isolated_runtime, PUSH_PARTNER)
    with httpx.Client(transport=transport) as client:
        for _ in range(isolated_runtime.settings.push_max_attempts + 2):
            drain_once(isolated_runtime, client)
            clock.advance(seconds=isolated_runtime.settings.push_backoff_max_seconds + 1)
    status = status_of(isolated_runtime, message_id)
    assert status["status"] == "failed"
    assert status["delivery_attempts"] == isolated_runtime.settings.push_max_attempts
    with Session(isolated_runtime.engine) as session:
        kinds = session.exec(
            select(RegisterEntry.kind).where(RegisterEntry.disclosure_id == message_id)
        ).all()
    assert kinds == ["disclosure_sent", "delivery_failed"]


def test_a_2xx_of_any_kind_acknowledges(isolated_runtime: Runtime, clock: Clock) -> None:
    result = outcome(isolated_runtime, answering(202))
    assert result["status"] == "acknowledged"
    assert result["outbox"] == "done"
    assert result["kinds"] == ["disclosure_sent", "disclosure_received"]
