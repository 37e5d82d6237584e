"""Unexpected errors: the client gets a generic problem, the log the fault without its text."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request

from gateway import errors
from gateway.middleware import AnsweredErrorMiddleware

ROW = "Failing row contains (111222333, Telefoonnummer ouders 079-1234567)"


class _DriverError(Exception):
    sqlstate = "23514"


def _insert_message() -> None:
    try:
        raise _DriverError(f"new row violates check constraint\nDETAIL:  {ROW}")
    except _DriverError as driver:
        raise IntegrityError("INSERT INTO exchange_message …", None, driver) from driver


def _request() -> Request:
    scope = {"type": "http", "method": "POST", "path": "/v1/subjects/111222333/erasure", "headers": []}
    return Request(scope)


def test_an_unexpected_error_is_logged_without_its_text(caplog: pytest.LogCaptureFixture) -> None:
    try:
        _insert_message()
    except IntegrityError as error:
        with caplog.at_level(logging.ERROR, logger="meerpunt.gateway"):
            response = asyncio.run(errors._on_unexpected(_request(), error))
    assert response.status_code == 500
    assert json.loads(bytes(response.body))["type"].endswith("/internal-error")
    assert "111222333" not in caplog.text.replace("/v1/subjects/111222333", "")
    assert "079-1234567" not in caplog.text and "Failing row" not in caplog.text
    # What the operator needs: where it failed, what kind of error, the SQLSTATE.
    assert "_insert_message" in caplog.text
    assert "IntegrityError" in caplog.text and "_DriverError" in caplog.text
    assert "23514" in caplog.text


def test_the_redacted_traceback_follows_the_chain_as_python_does() -> None:
    bsn = "111222333"
    try:
        try:
            raise KeyError(bsn)
        except KeyError:
            raise ValueError(bsn) from None
    except ValueError as error:
        text = errors.redacted_traceback(error)
    assert "ValueError" in text and "KeyError" not in text  # `from None` hides the context
    assert bsn not in text


def test_a_response_that_fails_half_way_is_ended_without_the_servers_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A streamed answer (the register's CSV export) that fails after its first rows: the gateway
    logs it once, redacted, and nothing reaches uvicorn, which would log the exception's text."""
    app = FastAPI()
    errors.install(app)

    @app.get("/export.csv")
    def export() -> StreamingResponse:
        def rows() -> Iterator[str]:
            yield "id,kind\n"
            _insert_message()

        return StreamingResponse(rows(), media_type="text/csv")

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": "/export.csv",
        "raw_path": b"/export.csv",
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "server": ("127.0.0.1", 8443),
        "client": ("127.0.0.1", 50000),
    }
    with caplog.at_level(logging.ERROR, logger="meerpunt.gateway"):
        asyncio.run(AnsweredErrorMiddleware(app)(scope, receive, send))  # does not raise
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200
    assert not any(m.get("more_body") is False and m.get("body") for m in sent[1:])  # left incomplete
    assert "unhandled error on GET /export.csv" in caplog.text
    assert "Failing row" not in caplog.text


def test_the_processes_log_formatter_redacts_every_exception() -> None:
    """Whoever logs the exception (SQLAlchemy's pool, uvicorn, the gateway), its text stays out."""
    import logging
    import sys

    formatter = errors.RedactingFormatter("%(levelname)s %(name)s %(message)s")
    row = "(Moeder in behandeling bij GGZ)"  # not in the source line the traceback shows
    try:
        raise ValueError("Failing row contains " + row)
    except ValueError:
        record = logging.LogRecord(
            "sqlalchemy.pool", logging.ERROR, __file__, 1, "pool error", (), sys.exc_info()
        )
    text = formatter.format(record)
    assert "pool error" in text and "ValueError" in text
    assert "GGZ" not in text
