"""Fixtures of the exchange tests."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.runtime import Runtime


class Clock:
    """A clock the test moves: the runtime reads it wherever it asks for the time."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock(isolated_runtime: Runtime) -> Clock:
    clock = Clock()
    isolated_runtime.clock = clock
    return clock
