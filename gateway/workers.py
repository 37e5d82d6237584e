"""Background workers started in the app lifespan (register sequencer, push delivery, …)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from gateway.runtime import Runtime

Worker = Callable[[Runtime], Coroutine[Any, Any, None]]


def background_workers() -> list[Worker]:
    workers: list[Worker] = []
    return workers
