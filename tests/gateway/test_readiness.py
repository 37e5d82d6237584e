"""`/readyz` reports the register sequencer (gateway/readiness.py): a stalled one makes it 503."""

from __future__ import annotations

import dataclasses
import datetime as dt

import httpx

from audit.sequencer import sequence_pending
from gateway.app import create_app
from gateway.runtime import Runtime
from tests.audit.builders import make_draft, record_all
from tests.support import DevEnv, ServerThread, client_context


def test_a_stalled_sequencer_makes_readyz_503_with_a_clear_body(
    dev_env: DevEnv, isolated_runtime: Runtime
) -> None:
    now = [dt.datetime.now(dt.UTC)]
    runtime = dataclasses.replace(isolated_runtime, clock=lambda: now[0], extensions={})
    settings = runtime.settings.model_copy(update={"background_workers": False})  # nobody sequences
    runtime = dataclasses.replace(runtime, settings=settings)
    with (
        ServerThread(create_app(settings, runtime), settings) as server,
        httpx.Client(base_url=server.base_url, verify=client_context(dev_env), timeout=10) as client,
    ):
        assert client.get("/readyz").json()["sequencer"]["stalled"] is False  # empty register
        record_all(runtime.engine, [make_draft() for _ in range(3)])
        now[0] += dt.timedelta(minutes=10)
        runtime.extensions.clear()  # the cached health
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "retry-after" in response.headers
        body = response.json()
        assert body["type"].endswith("sequencer-stalled")
        assert "register sequencer is stalled: 3 entries await a tree position" in body["detail"]
        assert body["sequencer"]["backlog"] == 3 and body["sequencer"]["stalled"] is True
        assert client.get("/healthz").status_code == 200  # alive: a restart would not help

        sequence_pending(runtime, sign=True)
        runtime.extensions.clear()
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["sequencer"]["tree_size"] == 3
