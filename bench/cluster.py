"""Real processes for the fault scenarios (bench/chaos.py) and their tests: gateway instances,
HAProxy, nginx, a throw-away PostgreSQL cluster and a push partner's webhook (the clients and the
checks are in bench/load.py).

Everything runs on free ports in a temporary directory, as the invoking user (PostgreSQL as user
`postgres` when invoked as root, since `initdb` refuses root). Nothing here touches a system
service: the PostgreSQL that `restart` stops is one this module created.
"""

from __future__ import annotations

import http.server
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
from contextlib import contextmanager
from dataclasses import dataclass
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
    """Once, before the instances start, so that their start-up times measure serving alone."""
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
        self.socket = directory / "haproxy.sock"
        values = {
            "LISTEN_PORT": str(self.port),
            "STATS_SOCKET": str(self.socket),
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

    def _servers(self) -> list[dict[str, str]]:
        """The stats socket's `show stat` rows of the gateway instances."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.socket))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        lines = data.decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
        return [
            row
            for row in rows
            if row.get("pxname") == "meerpunt_gateways" and row["svname"] not in ("BACKEND", "FRONTEND")
        ]

    def sessions(self) -> dict[str, int]:
        """Connections each instance has been given so far (`stot`)."""
        return {row["svname"]: int(row["stot"] or 0) for row in self._servers()}

    def states(self) -> dict[str, str]:
        """Each instance's check state as HAProxy routes by it: "UP", "DOWN", "UP 1/2", ..."""
        return {row["svname"]: row["status"] for row in self._servers()}

    def wait_all_up(self, timeout: float = 30.0) -> None:
        """Until every instance is fully UP: a scenario that spreads load needs all of them."""
        deadline = time.monotonic() + timeout
        while (states := self.states()) and any(state != "UP" for state in states.values()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"HAProxy backends not all up: {states}")
            time.sleep(0.1)

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
            protocol_version = "HTTP/1.1"  # keep-alive, as a partner's web server would

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
                    self.send_header("Content-Length", "0")
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
