"""Background loops outlive outages without flooding the log (one traceback, then one line each)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from gateway import workers


def test_a_failing_loop_backs_off_logs_once_and_recovers(caplog: pytest.LogCaptureFixture) -> None:
    waits: list[float] = []
    outcomes = [OSError("db down")] * 4 + [None, None]

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == len(outcomes):
            raise asyncio.CancelledError

    async def step() -> None:
        outcome = outcomes[len(waits)]
        if outcome is not None:
            raise outcome

    with caplog.at_level(logging.INFO, logger="meerpunt.gateway"), pytest.raises(asyncio.CancelledError):
        asyncio.run(workers.repeat("test loop", step, lambda: 0.1, sleep=fake_sleep))
    assert waits == [0.2, 0.4, 0.8, 1.6, 0.1, 0.1]
    # Only this loop's records: the test server's own workers log to the same logger.
    records = [r for r in caplog.records if r.getMessage().startswith("test loop")]
    assert sum("Traceback (most recent call last)" in r.getMessage() for r in records) == 1
    assert sum("still failing" in r.getMessage() for r in records) == 3
    assert sum("recovered after 4 failed cycles" in r.getMessage() for r in records) == 1


def test_backoff_is_capped() -> None:
    backoff = workers.FailureBackoff("sequencer")
    try:
        raise OSError("down")
    except OSError as error:
        delays = [backoff.failed(0.25, error) for _ in range(30)]
    assert max(delays) == workers.MAX_BACKOFF_SECONDS
    assert delays == sorted(delays)


def test_the_first_failure_is_logged_without_the_exceptions_text(caplog: pytest.LogCaptureFixture) -> None:
    """PostgreSQL's DETAIL quotes the failing row; the log gets the frames, never that text."""
    backoff = workers.FailureBackoff("push delivery")
    try:
        _store_row()
    except OSError as error:
        with caplog.at_level(logging.INFO, logger="meerpunt.gateway"):
            backoff.failed(0.5, error)
    assert "111222333" not in caplog.text and "Jansen" not in caplog.text
    assert "_store_row" in caplog.text and "OSError" in caplog.text


ROW = 'Failing row contains (111222333, "zorgen over gezin Jansen")'


def _store_row() -> None:
    raise OSError(ROW)


def test_a_stopped_worker_finishes_the_step_it_is_in() -> None:
    """At shutdown a worker ends between steps: a transaction in its thread is never abandoned."""
    import threading

    release = threading.Event()
    steps: list[str] = []

    def step() -> None:
        steps.append("started")
        release.wait(5)
        steps.append("finished")

    async def main() -> None:
        loop = workers.repeat("test step", lambda: workers.in_thread(step), lambda: 0.01)
        task = asyncio.create_task(loop)
        while not steps:
            await asyncio.sleep(0.01)
        stopping = asyncio.create_task(workers.stop_workers([task], timeout=5))
        await asyncio.sleep(0.1)
        assert not stopping.done()  # waiting for the step, not cutting it off
        release.set()
        await stopping
        assert task.cancelled()

    asyncio.run(main())
    assert steps == ["started", "finished"]


def test_a_worker_stuck_in_a_step_is_abandoned_after_the_timeout(caplog: pytest.LogCaptureFixture) -> None:
    import threading

    release = threading.Event()
    started = threading.Event()

    def step() -> None:
        started.set()
        release.wait(5)

    async def main() -> None:
        loop = workers.repeat("stuck step", lambda: workers.in_thread(step), lambda: 0.01)
        task = asyncio.create_task(loop)
        await asyncio.to_thread(started.wait, 5)
        await workers.stop_workers([task], timeout=0.2)
        assert not task.done() or task.cancelled()
        release.set()

    with caplog.at_level(logging.INFO, logger="meerpunt.gateway"):
        asyncio.run(main())
    assert any("still busy" in r.getMessage() for r in caplog.records)
