"""Background workers started in the app lifespan (register sequencer, push delivery, …)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from gateway.errors import redacted_traceback
from gateway.runtime import Runtime

Worker = Callable[[Runtime], Coroutine[Any, Any, None]]

log = logging.getLogger("meerpunt.gateway")

#: The longest a failing loop waits before it tries again.
MAX_BACKOFF_SECONDS = 60.0


class FailureBackoff:
    """How a background loop lives through an outage (a database restart, say).

    The first failure is logged with its traceback (without the exception's text, which may quote
    personal data: `gateway.errors.redacted_traceback`), later ones in one line each; the wait before
    the next try doubles up to `MAX_BACKOFF_SECONDS`, so a loop polling every 50 ms does not log
    twenty tracebacks a second while PostgreSQL is down. Recovery is logged once.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.failures = 0

    def succeeded(self) -> None:
        if self.failures:
            log.warning("%s recovered after %d failed cycles", self.name, self.failures)
        self.failures = 0

    def failed(self, interval: float, error: BaseException) -> float:
        """Call from the `except` block; returns how long to wait before the next try."""
        self.failures += 1
        if self.failures == 1:
            log.error("%s failed; retrying with backoff\n%s", self.name, redacted_traceback(error))
        else:
            log.warning("%s still failing (%d cycles): %s", self.name, self.failures, type(error).__name__)
        return float(min(MAX_BACKOFF_SECONDS, max(interval, 0.05) * 2 ** min(self.failures, 16)))


async def repeat(
    name: str,
    step: Callable[[], Awaitable[object]],
    interval: Callable[[], float],
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Run `step` every `interval()` seconds until cancelled, backing off while it fails."""
    backoff = FailureBackoff(name)
    while True:
        try:
            await step()
        except Exception as error:  # a background loop must outlive transient failures
            await sleep(backoff.failed(interval(), error))
            continue
        backoff.succeeded()
        await sleep(interval())


def background_workers() -> list[Worker]:
    from adapters.email import email_worker
    from adapters.push import push_worker
    from audit.sequencer import run_sequencer
    from exchange.override_hold import override_worker

    workers: list[Worker] = [push_worker, email_worker, run_sequencer, override_worker]
    return workers
