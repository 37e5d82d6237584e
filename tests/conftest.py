"""Test fixtures: a development environment, a real database (SQLite or PostgreSQL), a real TLS server.

`MEERPUNT_TEST_DATABASE_URL` selects the database: unset means SQLite in a temporary directory; a
PostgreSQL URL (postgresql+psycopg://user@host:port/db) means a fresh database is created for this
test session (one per xdist worker), migrated with Alembic, and dropped at the end.

Tests share one database and one server per session and never depend on a table being empty: each
test works with its own subjects (random BSNs). Tests that tamper with stored rows use
`isolated_runtime`, which has a database of its own.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import psycopg
import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import Engine, make_url

from gateway.app import create_app
from gateway.db import create_db_engine
from gateway.migrate import upgrade
from gateway.pki import init_dev_environment
from gateway.runtime import Runtime, build_runtime
from gateway.settings import load_settings
from tests.mail_support import SmtpServer, SmtpSink, make_smime_identity
from tests.support import (
    EMAIL_SMIME,
    SMIME_ADDRESS,
    DevEnv,
    ServerThread,
    WebhookReceiver,
    free_port,
    partner_client,
    partners_toml_for_tests,
)

TEST_DB_ENV = "MEERPUNT_TEST_DATABASE_URL"

# Hypothesis' per-example deadline measures the machine, not the code: on a shared 2-core runner a
# sub-millisecond rule check was once timed at 600 ms and failed the build. Speed is measured by
# the benchmarks in bench/, never by timing assertions in tests.
hypothesis_settings.register_profile("meerpunt", deadline=None)
hypothesis_settings.load_profile("meerpunt")


def _postgres_database(base_url: str) -> tuple[str, Callable[[], None]]:
    url = make_url(base_url)
    name = f"meerpunt_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], str]]:
    """Make a new empty database URL of the configured kind; all are dropped at session end."""
    drops: list[Callable[[], None]] = []
    base = os.environ.get(TEST_DB_ENV, "")

    def make() -> str:
        if base.startswith("postgresql"):
            url, drop = _postgres_database(base)
            drops.append(drop)
            return url
        path = tmp_path_factory.mktemp("db") / "meerpunt.db"
        return f"sqlite:///{path}"

    yield make
    for drop in drops:
        drop()


@pytest.fixture(scope="session")
def dev_env(tmp_path_factory: pytest.TempPathFactory, database_factory: Callable[[], str]) -> DevEnv:
    directory = tmp_path_factory.mktemp("dev")
    source = directory / "test-partners.toml"
    webhook_port = free_port()
    source.write_text(partners_toml_for_tests(webhook_port))
    # The e-mail partner's S/MIME certificate (its private key stays with the "partner": the tests).
    make_smime_identity(directory / "smime", EMAIL_SMIME, SMIME_ADDRESS)
    env = init_dev_environment(directory, partners_source=source)
    settings = load_settings(
        env.config_file,
        database_url=database_factory(),
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        smtp_security="starttls",
        smtp_ca_file=directory / "pki" / "ca.pem",
        smtp_username="gateway",
        smtp_password=secrets.token_urlsafe(16),
        smtp_timeout_seconds=5.0,
        pickup_url="https://127.0.0.1/ophalen",
        sequencer_interval_seconds=0.05,
        checkpoint_interval_seconds=0.2,
        outbox_poll_seconds=0.05,
        push_backoff_base_seconds=0.05,
        push_backoff_max_seconds=0.2,
    )
    return DevEnv(directory=directory, settings=settings, webhook_port=webhook_port)


@pytest.fixture(scope="session")
def smtp(dev_env: DevEnv) -> Iterator[SmtpSink]:
    """The mail relay: a real SMTP server requiring STARTTLS and AUTH, on this session's port."""
    settings = dev_env.settings
    assert settings.smtp_username is not None and settings.smtp_password is not None
    pki = dev_env.directory / "pki"
    with SmtpServer(
        settings.smtp_port,
        pki / "server.pem",
        pki / "server.key",
        settings.smtp_username,
        settings.smtp_password.get_secret_value(),
    ) as sink:
        yield sink


@pytest.fixture(scope="session")
def webhook(dev_env: DevEnv) -> Iterator[WebhookReceiver]:
    """The push partner's webhook endpoint, a real HTTPS server requiring the gateway's certificate."""
    with WebhookReceiver(dev_env, dev_env.webhook_port) as receiver:
        yield receiver


@pytest.fixture(scope="session")
def engine(dev_env: DevEnv) -> Iterator[Engine]:
    engine = create_db_engine(dev_env.settings.database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def runtime(dev_env: DevEnv, engine: Engine) -> Runtime:
    return build_runtime(dev_env.settings, engine)


@pytest.fixture(scope="session")
def server(dev_env: DevEnv, runtime: Runtime) -> Iterator[ServerThread]:
    app = create_app(dev_env.settings, runtime)
    with ServerThread(app, dev_env.settings) as running:
        yield running


@pytest.fixture
def client_for(dev_env: DevEnv, server: ServerThread) -> Iterator[Callable[[str], httpx.Client]]:
    """`client_for(oin)`: an httpx client presenting that partner's certificate (keep-alive)."""
    opened: list[AbstractContextManager[httpx.Client]] = []

    def make(oin: str) -> httpx.Client:
        manager = partner_client(dev_env, server.base_url, oin)
        opened.append(manager)
        return manager.__enter__()

    yield make
    for manager in opened:
        manager.__exit__(None, None, None)


@pytest.fixture
def anonymous(dev_env: DevEnv, server: ServerThread) -> Iterator[httpx.Client]:
    """A client without a certificate (officers and citizens use bearer tokens)."""
    from tests.support import client_context

    with httpx.Client(base_url=server.base_url, verify=client_context(dev_env), timeout=30) as client:
        yield client


@pytest.fixture
def isolated_runtime(dev_env: DevEnv, database_factory: Callable[[], str]) -> Iterator[Runtime]:
    """A runtime with a database of its own, for tests that tamper with stored rows."""
    settings = load_settings(dev_env.directory / "gateway.toml", database_url=database_factory())
    engine = create_db_engine(settings.database_url)
    upgrade(engine)
    runtime = build_runtime(settings, engine)
    yield runtime
    runtime.dispose()


def pytest_report_header() -> str:
    url = os.environ.get(TEST_DB_ENV)
    return f"database: {'PostgreSQL ' + make_url(url).render_as_string() if url else 'SQLite'}"


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
