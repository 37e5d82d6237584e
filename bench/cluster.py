"""Real processes for the fault scenarios (bench/chaos.py) and their tests: gateway instances,
HAProxy, nginx, a throw-away PostgreSQL cluster, a partner's webhook, and a load generator.

Everything runs on free ports in a temporary directory, as the invoking user (PostgreSQL as user
`postgres` when invoked as root, since `initdb` refuses root). Nothing here touches a system
service: the PostgreSQL that `restart` stops is one this module created.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

from gateway.pki import init_dev_environment
from gateway.tls import build_client_ssl_context

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy" / "ingress"
NGINX_TEMPLATE = DEPLOY / "nginx.conf.template"
HAPROXY_TEMPLATE = DEPLOY / "haproxy.cfg.template"

SENDER = "99990000000000000001"
PULL_RECIPIENT = "99990000000000000004"
PUSH_RECIPIENT = "99990000000000000031"
CATEGORIES = ["contact", "help_request"]

PARTNERS = """
[[partners]]
oin = "99990000000000000001"
name = "Gemeente Zoetermeer Jeugd- en Gezinshulp (JGH)"
sector = "municipality"
delivery = "pull"

[[partners]]
oin = "99990000000000000004"
name = "Stichting Jeugdgezondheidszorg Zuid-Holland West"
sector = "health_care"
delivery = "pull"

[[partners]]
oin = "99990000000000000031"
name = "De Drie Ballonnen"
sector = "childcare"
delivery = "push"
webhook_url = "https://localhost:{port}/webhook"
"""

#: Fast loops, so that faults and recoveries fit in seconds; push retries back off to 2 s.
FAST_ENV = {
    "MEERPUNT_SEQUENCER_INTERVAL_SECONDS": "0.05",
    "MEERPUNT_CHECKPOINT_INTERVAL_SECONDS": "0.5",
    "MEERPUNT_OUTBOX_POLL_SECONDS": "0.1",
    "MEERPUNT_PUSH_BACKOFF_BASE_SECONDS": "0.2",
    "MEERPUNT_PUSH_BACKOFF_MAX_SECONDS": "2",
    "MEERPUNT_PUSH_TIMEOUT_SECONDS": "1",
    "MEERPUNT_PUSH_LEASE_MARGIN_SECONDS": "2",
    "MEERPUNT_PUSH_MAX_ATTEMPTS": "1000",
    "MEERPUNT_DATABASE_POOL_SIZE": "8",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def render(template: Path, values: dict[str, str]) -> str:
    """envsubst with a named list: only `${NAME}` for the given names; nginx's `$vars` stay."""
    text = template.read_text()
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    return text


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def psycopg_url(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def new_bsn(rng: random.Random) -> str:
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(7)]
        last = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if last <= 9:
            return "".join(map(str, digits)) + str(last)


# ------------------------------------------------------------------------------ the environment


@dataclass
class Environment:
    """A development PKI and gateway.toml whose push partner posts to `webhook_port`."""

    directory: Path
    webhook_port: int

    @classmethod
    def create(cls, directory: Path) -> Environment:
        port = free_port()
        directory.mkdir(parents=True, exist_ok=True)
        source = directory / "partners-source.toml"
        source.write_text(PARTNERS.replace("{port}", str(port)))
        init_dev_environment(directory, partners_source=source)
        return cls(directory=directory, webhook_port=port)

    @property
    def config(self) -> Path:
        return self.directory / "gateway.toml"

    @property
    def ca_file(self) -> Path:
        return self.directory / "pki" / "ca.pem"

    def partner_cert(self, oin: str) -> tuple[str, str]:
        base = self.directory / "pki" / "partners" / oin
        return str(base.with_suffix(".pem")), str(base.with_suffix(".key"))

    def client_context(self, oin: str | None = None) -> ssl.SSLContext:
        cert = self.partner_cert(oin) if oin else (None, None)
        return build_client_ssl_context(str(self.ca_file), *cert)


# ------------------------------------------------------------------------------ PostgreSQL


def _as_postgres(command: list[str]) -> list[str]:
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _pg_bin(name: str) -> str:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/" + name))
    if versions:
        return str(versions[-1])
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found (Debian package postgresql)")
    return found


class PostgresCluster:
    """A throw-away PostgreSQL cluster (initdb + pg_ctl) on a free port: ours to stop and start."""

    def __init__(self) -> None:
        # Its own directory under the system's temporary directory: user postgres must reach it.
        self.directory = directory = Path(tempfile.mkdtemp(prefix="meerpunt-pg-"))
        self.data = directory / "data"
        self.port = free_port()
        self.log = directory / "postgres.log"
        if os.geteuid() == 0:
            shutil.chown(directory, "postgres", "postgres")
        subprocess.run(
            _as_postgres(
                [_pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"]
            ),
            check=True,
            capture_output=True,
        )

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_postgres(
                [_pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start"]
            ),
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
            check=False,
            capture_output=True,
        )

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.database_url(name)


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.remove()


def create_database(admin_url: str, prefix: str) -> tuple[str, Any]:
    """A fresh database next to `admin_url` (SQLAlchemy URL); returns (url, drop)."""
    url = make_url(admin_url)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = psycopg_url(admin_url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url.set(database=name).render_as_string(hide_password=False), drop


def migrate(env: Environment, database_url: str) -> None:
    """Once, before the instances start: two `serve` processes must not migrate at the same time."""
    subprocess.run(
        [sys.executable, "-m", "gateway", "migrate", "--config", str(env.config)],
        env={**os.environ, "MEERPUNT_DATABASE_URL": database_url},
        check=True,
        capture_output=True,
    )


# ------------------------------------------------------------------------------ processes


class Gateway:
    """One `meerpunt-gateway serve` process."""

    def __init__(self, env: Environment, database_url: str, name: str, extra_env: dict[str, str]) -> None:
        self.env = env
        self.name = name
        self.port = free_port()
        self.log = env.directory / f"{name}.log"
        self._environ = {**os.environ, **FAST_ENV, "MEERPUNT_DATABASE_URL": database_url, **extra_env}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> Gateway:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gateway",
                    "serve",
                    "--config",
                    str(self.env.config),
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                env=self._environ,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, verify=self.env.client_context(), timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-3000:]}")
                try:
                    if client.get("/healthz").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """kill -9: no shutdown at all, as when a node dies."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def terminate(self) -> None:
        """SIGTERM, what Kubernetes sends on every rollout."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class HAProxy:
    """HAProxy in TCP mode, TLS passed through, configured from deploy/ingress/haproxy.cfg.template."""

    def __init__(self, directory: Path, gateways: list[Gateway]) -> None:
        self.port = free_port()
        self.config = directory / "haproxy.cfg"
        backends = "\n".join(
            f"    server {g.name} 127.0.0.1:{g.port} check check-ssl verify none" for g in gateways
        )
        values = {
            "LISTEN_PORT": str(self.port),
            "STATS_SOCKET": str(directory / "haproxy.sock"),
            "BACKENDS": backends,
        }
        self.config.write_text(render(HAPROXY_TEMPLATE, values))
        self.log = directory / "haproxy.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> HAProxy:
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [haproxy, "-db", "-f", str(self.config)], stdout=out, stderr=subprocess.STDOUT
            )
        try:
            wait_for_port(self.port)
        except RuntimeError:
            raise RuntimeError(f"haproxy did not start: {self.log.read_text()[-2000:]}") from None
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class Nginx:
    """nginx terminating TLS like ingress-nginx, configured from deploy/ingress/nginx.conf.template."""

    def __init__(self, directory: Path, pki: Path, upstream_port: int) -> None:
        """`pki`: a development PKI (`meerpunt-gateway init`): its server certificate and CA."""
        self.prefix = directory
        self.port = free_port()
        values = {
            "NGINX_PREFIX": str(directory),
            "LISTEN_PORT": str(self.port),
            "SERVER_CERT": str(pki / "server.pem"),
            "SERVER_KEY": str(pki / "server.key"),
            "CLIENT_CA": str(pki / "ca.pem"),
            "UPSTREAM": f"127.0.0.1:{upstream_port}",
            "UPSTREAM_CA": str(pki / "ca.pem"),
        }
        self.config = directory / "nginx.conf"
        self.config.write_text(render(NGINX_TEMPLATE, values))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> Nginx:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.process = subprocess.Popen(
            [
                nginx,
                "-p",
                str(self.prefix),
                "-c",
                str(self.config),
                "-e",
                str(self.prefix / "error.log"),
                "-g",
                "daemon off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


# ------------------------------------------------------------------------------ the push partner


class Webhook:
    """The push partner's HTTPS endpoint (mTLS, the gateway's client certificate).

    `mode`: "ok" answers 204, "error" 500, "timeout" holds the request past the gateway's push
    timeout. Counts 2xx answers per message id (a duplicate delivery shows as a count above one)
    and when each first arrived.
    """

    def __init__(self, env: Environment) -> None:
        self.mode = "ok"
        self.delivered: Counter[str] = Counter()
        self.first_at: dict[str, float] = {}
        self.attempts = 0
        self._lock = threading.Lock()
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                self.rfile.read(length)
                message_id = self.headers.get("Meerpunt-Message-Id", "")
                mode = hook.mode
                with hook._lock:
                    hook.attempts += 1
                if mode == "timeout":
                    time.sleep(3)
                    status = 504
                elif mode == "error":
                    status = 500
                else:
                    status = 204
                    with hook._lock:
                        hook.delivered[message_id] += 1
                        hook.first_at.setdefault(message_id, time.monotonic())
                try:
                    self.send_response(status)
                    self.end_headers()
                except OSError:
                    pass  # the gateway gave up waiting

            def log_message(self, *args: object) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        pki = env.directory / "pki"
        context.load_cert_chain(str(pki / "server.pem"), str(pki / "server.key"))
        context.load_verify_locations(cafile=str(pki / "ca.pem"))
        context.verify_mode = ssl.CERT_REQUIRED
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", env.webhook_port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> Webhook:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ------------------------------------------------------------------------------ the load


def consent_body(bsn: str) -> dict[str, Any]:
    return {
        "subject": {"bsn": bsn, "birth_date": "2017-03-01"},
        "form": "written",
        "explicit": True,
        "evidence_sha256": "ab" * 32,
        "given_at": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat(),
        "signatories": [
            {"role": "parent_with_authority", "name": "Ouder Een"},
            {"role": "parent_with_authority", "name": "Ouder Twee"},
        ],
        "grants": [
            {"recipient": recipient, "categories": CATEGORIES, "purpose": "Afstemming", "granted": True}
            for recipient in (PULL_RECIPIENT, PUSH_RECIPIENT)
        ],
    }


def disclosure_body(bsn: str, recipient: str) -> dict[str, Any]:
    return {
        "recipient": recipient,
        "subject": {"bsn": bsn},
        "categories": CATEGORIES,
        "reason": "Afstemming gezinsplan na signaal school",
        "description": "Contactgegevens ouders en hulpvraag",
        "professional": {"id": "p-100", "name": "Anna de Vries", "role": "jeugdverpleegkundige"},
        "payload": {"summary": "Gezin met drie kinderen", "phone": "079-1234567"},
    }


def register_consents(env: Environment, base_url: str, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    subjects = [new_bsn(rng) for _ in range(count)]
    with httpx.Client(base_url=base_url, verify=env.client_context(SENDER), timeout=30) as client:
        for bsn in subjects:
            response = client.post("/v1/consents", json=consent_body(bsn))
            if response.status_code != 201:
                raise RuntimeError(f"consent refused: {response.status_code} {response.text}")
    return subjects


@dataclass
class Outcome:
    """One disclosure as a client saw it, across its retries with one Idempotency-Key."""

    key: str
    body: dict[str, Any]
    statuses: list[int] = field(default_factory=list)
    timeouts: int = 0
    connection_errors: int = 0
    message_id: str | None = None
    accepted_at: float | None = None
    problems_ok: bool = True  # every non-2xx answer was problem+json (and a 503 had Retry-After)


@dataclass
class Load:
    """Clients sending disclosures through `base_url` until stopped; each retries a failed send
    with the same Idempotency-Key (after connection errors, timeouts and 502/503), as SPEC §6 lets
    a partner do, until it gets an answer or `give_up_seconds` pass."""

    env: Environment
    base_url: str
    subjects: list[str]
    clients: int = 4
    client_timeout: float = 10.0
    give_up_seconds: float = 60.0
    pause: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Load:
        for number in range(self.clients):
            thread = threading.Thread(target=self._run, args=(number,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.give_up_seconds + self.client_timeout + 5)

    def _client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            verify=self.env.client_context(SENDER),
            timeout=self.client_timeout,
            limits=httpx.Limits(max_keepalive_connections=1),
        )

    def _run(self, number: int) -> None:
        rng = random.Random(number)
        client = self._client()
        try:
            while not self._stop.is_set():
                recipient = PUSH_RECIPIENT if rng.random() < 0.5 else PULL_RECIPIENT
                outcome = Outcome(str(uuid.uuid4()), disclosure_body(rng.choice(self.subjects), recipient))
                with self._lock:
                    self.outcomes.append(outcome)
                client = self.send(client, outcome)
                if self.pause:
                    time.sleep(self.pause)
        finally:
            client.close()

    def send(self, client: httpx.Client, outcome: Outcome) -> httpx.Client:
        deadline = time.monotonic() + self.give_up_seconds
        while True:
            retry = False
            try:
                response = client.post(
                    "/v1/disclosures", json=outcome.body, headers={"Idempotency-Key": outcome.key}
                )
            except httpx.TimeoutException:
                outcome.timeouts += 1
                retry = True
            except httpx.TransportError:
                outcome.connection_errors += 1
                retry = True
            else:
                outcome.statuses.append(response.status_code)
                if response.status_code == 202:
                    outcome.message_id = str(response.json()["id"])
                    outcome.accepted_at = time.monotonic()
                    return client
                outcome.problems_ok &= response.headers.get("content-type", "").startswith(
                    "application/problem+json"
                ) and (response.status_code != 503 or "retry-after" in response.headers)
                retry = response.status_code in (502, 503, 504)
            if not retry or time.monotonic() > deadline:
                return client
            if outcome.connection_errors or outcome.timeouts:
                client.close()  # a new connection: the balancer picks a live instance
                client = self._client()
            time.sleep(0.2)


# ------------------------------------------------------------------------------ the checks


@dataclass
class Audit:
    """What the database (and the webhook) hold for the accepted disclosures."""

    lost: list[str]
    duplicated: list[str]
    undelivered: list[str]
    #: Push messages offered again after the receiver had answered 2xx (its answer was not
    #: recorded before a crash or outage): same Meerpunt-Message-Id and Idempotency-Key, so the
    #: receiver drops the repeat; registered once all the same.
    reoffered: list[str]
    register_verified: bool
    delivered_at: dict[str, dt.datetime]


def audit_accepted(
    env: Environment,
    database_url: str,
    outcomes: list[Outcome],
    webhook: Webhook | None,
    *,
    deliveries_within: float = 20.0,
) -> Audit:
    """Every 202 has its message, one register entry and an outbox row; push messages reach the
    webhook and are registered as received (waiting while that progresses); the register verifies."""
    accepted = {o.message_id: o for o in outcomes if o.message_id}
    pushed = {mid for mid, o in accepted.items() if o.body["recipient"] == PUSH_RECIPIENT}
    # Wait while deliveries make progress: under a heavy load the push backlog drains for a while
    # after the load stops; `deliveries_within` seconds without progress end the wait.
    last_progress, last_done = time.monotonic(), -1
    while True:
        state = _stored(database_url)
        received = state["received"]
        done = sum(1 for mid in pushed if mid in received and (webhook is None or webhook.delivered[mid]))
        if done == len(pushed):
            break
        if done > last_done:
            last_progress, last_done = time.monotonic(), done
        elif time.monotonic() - last_progress > deliveries_within:
            break
        time.sleep(0.5)
    messages, ids, sent, outbox = state["messages"], state["ids"], state["sent"], state["outbox"]
    lost = [mid for mid in accepted if mid not in ids or sent[mid] == 0 or mid not in outbox]
    duplicated = [o.key for o in accepted.values() if messages.get(o.key, 0) > 1]
    duplicated += [mid for mid in accepted if sent[mid] > 1]
    reoffered = [mid for mid in pushed if webhook is not None and webhook.delivered[mid] > 1]
    undelivered = [mid for mid in pushed if webhook is None or not webhook.delivered[mid]]
    undelivered += [mid for mid in pushed if mid not in received]
    return Audit(
        lost=lost,
        duplicated=duplicated,
        undelivered=sorted(set(undelivered)),
        reoffered=reoffered,
        register_verified=verify_register(env, database_url),
        delivered_at={mid: received[mid] for mid in pushed if mid in received},
    )


def _stored(database_url: str) -> dict[str, Any]:
    with psycopg.connect(psycopg_url(database_url)) as connection:
        messages = dict(
            connection.execute(
                "SELECT idempotency_key, count(*) FROM exchange_message "
                "WHERE kind = 'disclosure' GROUP BY idempotency_key"
            ).fetchall()
        )
        ids = {row[0] for row in connection.execute("SELECT id FROM exchange_message").fetchall()}
        sent = Counter(
            row[0]
            for row in connection.execute(
                "SELECT disclosure_id FROM register_entry WHERE kind = 'disclosure_sent'"
            ).fetchall()
        )
        received = dict(
            connection.execute(
                "SELECT disclosure_id, min(occurred_at) FROM register_entry "
                "WHERE kind = 'disclosure_received' GROUP BY disclosure_id"
            ).fetchall()
        )
        outbox = {row[0] for row in connection.execute("SELECT message_id FROM exchange_outbox").fetchall()}
    return {"messages": messages, "ids": ids, "sent": sent, "received": received, "outbox": outbox}


def verify_register(env: Environment, database_url: str, timeout: float = 60.0) -> bool:
    """`meerpunt-gateway audit verify`, once the sequencer has caught up (retried briefly)."""
    deadline = time.monotonic() + timeout
    while True:
        result = subprocess.run(
            [sys.executable, "-m", "gateway", "audit", "verify", "--config", str(env.config)],
            env={**os.environ, "MEERPUNT_DATABASE_URL": database_url},
            capture_output=True,
        )
        if result.returncode == 0:
            return True
        if time.monotonic() > deadline:
            sys.stderr.write(result.stdout.decode()[-2000:] + result.stderr.decode()[-2000:])
            return False
        time.sleep(1.0)


def same_id_on_retry(base_url: str, env: Environment, outcomes: list[Outcome], sample: int = 10) -> bool:
    """A client that sends an accepted disclosure again with its Idempotency-Key gets the same id."""
    accepted = [o for o in outcomes if o.message_id][:sample]
    with httpx.Client(base_url=base_url, verify=env.client_context(SENDER), timeout=30) as client:
        for outcome in accepted:
            response = client.post(
                "/v1/disclosures", json=outcome.body, headers={"Idempotency-Key": outcome.key}
            )
            if response.status_code != 202 or response.json()["id"] != outcome.message_id:
                return False
    return True


@contextmanager
def started(*things: Any) -> Iterator[None]:
    """Start each (its `start()`), stop all in reverse order at the end."""
    with ExitStack() as stack:
        for thing in things:
            thing.start()
            stack.callback(thing.stop)
        yield


def dump(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=str))
