"""Background workers started in the app lifespan (register sequencer, push delivery, …)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from gateway.runtime import Runtime

Worker = Callable[[Runtime], Coroutine[Any, Any, None]]


def background_workers() -> list[Worker]:
    from adapters.push import push_worker
    from audit.sequencer import run_sequencer
    from exchange.override_hold import override_worker

    workers: list[Worker] = [push_worker, run_sequencer, override_worker]
    return workers
