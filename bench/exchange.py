"""Benchmark: consented disclosures through `meerpunt-gateway serve` on PostgreSQL (issue 4, part 8).

    python -m bench.exchange [--clients 32] [--seconds 15] [--workers 2] [--rounds 2]

Creates (drops and re-creates) the database `meerpunt_bench_exchange` next to the one named by
`MEERPUNT_BENCH_DATABASE_URL` (default postgresql+psycopg://postgres@127.0.0.1:5432/test), runs
`meerpunt-gateway init` into a temporary directory, starts `meerpunt-gateway serve` on it with
`MEERPUNT_BENCHMARK_ENDPOINTS=true`, registers consents for a pool of subjects through the API,
and then drives N concurrent partner clients (httpx, keep-alive, mTLS, each its own partner
certificate) through alternating phases of `--seconds` each:

    baseline, disclosures, baseline, disclosures, ...   (`--rounds` of each)

- disclosures: `POST /v1/disclosures`, consented, with a JSON payload the gateway encrypts (JWE);
- baseline:    `POST /v1/_bench/baseline`, the same app, auth and unit of work, one plain INSERT.

Each figure is the median over its phases (this machine is small and noisy). Every answer that
is not 202 is an error; afterwards the database is checked: every counted 202 must have its
message, register entry and outbox row (and every baseline 202 its row).

Client and server share this machine: the clients run in this process, outside the server, and
the CPU time of clients, server and PostgreSQL is measured per phase and reported per request, so
the table shows where the cores went. Writes bench/results/exchange.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import resource
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

from gateway.bench_api import BASELINE_DDL, BASELINE_TABLE
from gateway.tls import build_client_ssl_context

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DATABASE = "meerpunt_bench_exchange"
RESULTS = Path(__file__).parent / "results" / "exchange.json"
CATEGORIES = ["contact", "help_request"]
DISCLOSURES = "/v1/disclosures"
BASELINE = "/v1/_bench/baseline"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# ----------------------------------------------------------------- set-up


def bench_url(base: str) -> tuple[str, str]:
    """(admin URL for psycopg, SQLAlchemy URL of the bench database)."""
    url = make_url(base)
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return admin, url.set(database=DATABASE).render_as_string(hide_password=False)


def recreate_database(admin_url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DATABASE}"')


def drop_database(admin_url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def psycopg_url(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def gateway_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "gateway", *args]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def new_bsn(rng: random.Random) -> str:
    """A random BSN passing the 11-check."""
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(7)]
        last = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if last <= 9:
            return "".join(map(str, digits)) + str(last)


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path


@contextmanager
def serve(directory: Path, database_url: str, workers: int, extra_env: dict[str, str]) -> Iterator[Server]:
    port = free_port()
    env = {
        **os.environ,
        "MEERPUNT_DATABASE_URL": database_url,
        "MEERPUNT_BENCHMARK_ENDPOINTS": "true",
        **extra_env,
    }
    log = directory / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            gateway_cli(
                "serve",
                "--config",
                str(directory / "gateway.toml"),
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"https://127.0.0.1:{port}", log)
    try:
        wait_ready(server, directory / "pki" / "ca.pem")
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_ready(server: Server, ca_file: Path) -> None:
    context = build_client_ssl_context(str(ca_file))
    deadline = time.monotonic() + 60
    with httpx.Client(base_url=server.base_url, verify=context, timeout=2) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"serve exited: {server.log.read_text()[-2000:]}")
            try:
                if client.get("/readyz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    raise RuntimeError("serve did not become ready")


# ---------------------------------------------------------------- workload


def consent_body(bsn: str, recipient: str) -> dict[str, Any]:
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
            {
                "recipient": recipient,
                "categories": CATEGORIES,
                "purpose": "Afstemming van hulp",
                "granted": True,
            }
        ],
    }


def disclosure_body(bsn: str, recipient: str) -> bytes:
    body = {
        "recipient": recipient,
        "subject": {"bsn": bsn},
        "categories": CATEGORIES,
        "reason": "Afstemming gezinsplan na signaal school",
        "description": "Contactgegevens ouders en hulpvraag",
        "professional": {"id": "p-100", "name": "Anna de Vries", "role": "jeugdverpleegkundige"},
        "payload": {"summary": "Gezin met drie kinderen", "phone": "079-1234567"},
    }
    return json.dumps(body).encode()


@dataclass
class PartnerClient:
    """One partner system: its own certificate, one keep-alive connection, its own subjects."""

    sender: str
    recipient: str
    client: httpx.Client | None = None
    async_client: httpx.AsyncClient | None = None
    bodies: list[bytes] = field(default_factory=list)
    turn: int = 0

    def request(self, kind: str) -> tuple[str, bytes, dict[str, str]]:
        if kind == "baseline":
            return BASELINE, b"", {}
        self.turn += 1
        return DISCLOSURES, self.bodies[self.turn % len(self.bodies)], {"Idempotency-Key": str(uuid.uuid4())}


@dataclass
class Tally:
    """One client's results in one phase (one per client: no locks on the hot path)."""

    accepted: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def count(self, status: int, elapsed: float) -> None:
        if status == 202:
            self.accepted += 1
            self.latencies_ms.append(elapsed * 1000)
        else:
            self.errors[f"HTTP {status}"] += 1


class LoadGenerator:
    """N partner clients, as threads with `httpx.Client` (default) or tasks with `httpx.AsyncClient`.

    Threads are the default because they cost the client less CPU per request (measured on this
    machine: ~0.75 against ~1.05 ms), and every client millisecond is taken from the server's cores.
    Async clients live on one event loop in a background thread, so the same connections serve
    every phase.
    """

    def __init__(self, base_url: str, directory: Path, oins: list[str], count: int, mode: str) -> None:
        self.mode = mode
        pki = directory / "pki"
        self.clients: list[PartnerClient] = []
        options: dict[str, Any] = {
            "base_url": base_url,
            "timeout": 60,
            "limits": httpx.Limits(max_connections=1, max_keepalive_connections=1),
            "headers": {"content-type": "application/json"},
        }
        self.loop: asyncio.AbstractEventLoop | None = None
        if mode == "async":
            self.loop = asyncio.new_event_loop()
            threading.Thread(target=self.loop.run_forever, daemon=True).start()
        for index in range(count):
            sender = oins[index % len(oins)]
            context = build_client_ssl_context(
                str(pki / "ca.pem"),
                str(pki / "partners" / f"{sender}.pem"),
                str(pki / "partners" / f"{sender}.key"),
            )
            partner = PartnerClient(sender, oins[(index + 1) % len(oins)])
            if mode == "async":
                partner.async_client = self._on_loop(_make_async_client(context, options))
            else:
                partner.client = httpx.Client(verify=context, **options)
            self.clients.append(partner)

    def _on_loop(self, coroutine: Any) -> Any:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def register_consents(self, subjects: int, seed: int) -> None:
        """Each client registers consents for its own subjects, granting its recipient the categories."""
        rng = random.Random(seed)
        for partner in self.clients:
            for _ in range(subjects):
                bsn = new_bsn(rng)
                partner.bodies.append(disclosure_body(bsn, partner.recipient))
                body = json.dumps(consent_body(bsn, partner.recipient)).encode()
                if partner.client is not None:
                    response = partner.client.post("/v1/consents", content=body)
                else:
                    assert partner.async_client is not None
                    response = self._on_loop(partner.async_client.post("/v1/consents", content=body))
                if response.status_code != 201:
                    raise RuntimeError(f"consent registration failed: {response.status_code} {response.text}")

    def run(self, kind: str, seconds: float) -> list[Tally]:
        """Every client sends `kind` requests back to back until the deadline."""
        tallies = [Tally() for _ in self.clients]
        deadline = time.perf_counter() + seconds
        if self.mode == "async":
            self._on_loop(_run_async(self.clients, tallies, kind, deadline))
            return tallies
        threads = [
            threading.Thread(target=_run_sync, args=(partner, tally, kind, deadline))
            for partner, tally in zip(self.clients, tallies, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return tallies

    def close(self) -> None:
        for partner in self.clients:
            if partner.client is not None:
                partner.client.close()
            if partner.async_client is not None:
                self._on_loop(partner.async_client.aclose())
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.loop.stop)


async def _make_async_client(context: ssl.SSLContext, options: dict[str, Any]) -> httpx.AsyncClient:
    return httpx.AsyncClient(verify=context, **options)


def _run_sync(partner: PartnerClient, tally: Tally, kind: str, deadline: float) -> None:
    assert partner.client is not None
    while time.perf_counter() < deadline:
        path, content, headers = partner.request(kind)
        started = time.perf_counter()
        try:
            response = partner.client.post(path, content=content, headers=headers)
        except httpx.HTTPError as exc:
            tally.errors[type(exc).__name__] += 1
            continue
        tally.count(response.status_code, time.perf_counter() - started)


async def _run_async(clients: list[PartnerClient], tallies: list[Tally], kind: str, deadline: float) -> None:
    async def one(partner: PartnerClient, tally: Tally) -> None:
        assert partner.async_client is not None
        while time.perf_counter() < deadline:
            path, content, headers = partner.request(kind)
            started = time.perf_counter()
            try:
                response = await partner.async_client.post(path, content=content, headers=headers)
            except httpx.HTTPError as exc:
                tally.errors[type(exc).__name__] += 1
                continue
            tally.count(response.status_code, time.perf_counter() - started)

    await asyncio.gather(*(one(partner, tally) for partner, tally in zip(clients, tallies, strict=True)))


# ------------------------------------------------------------- measurement


def _stat(pid: str) -> tuple[str, int, float] | None:
    """(comm, ppid, cpu seconds) of a process, from /proc."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    rest = raw[raw.rindex(")") + 2 :].split()
    return comm, int(rest[1]), (int(rest[11]) + int(rest[12])) / CLK_TCK


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def cpu_snapshot(server_pid: int) -> dict[str, Any]:
    """CPU seconds so far, per process: the server's process tree and the bench database's
    PostgreSQL backends (other work on this machine uses PostgreSQL too); plus this process and
    the whole machine."""
    stats = {pid: _stat(pid) for pid in os.listdir("/proc") if pid.isdigit()}
    children: dict[int, list[int]] = {}
    for pid, stat in stats.items():
        if stat is not None:
            children.setdefault(stat[1], []).append(int(pid))
    server: dict[str, float] = {}
    todo = [server_pid]
    while todo:
        process = todo.pop()
        found = stats.get(str(process))
        if found is not None:
            server[str(process)] = found[2]
        todo += children.get(process, [])
    postgres = {
        pid: stat[2]
        for pid, stat in stats.items()
        if stat is not None and stat[0] == "postgres" and DATABASE.encode() in _cmdline(pid)
    }
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open("/proc/stat") as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return {
        "server": server,
        "postgres": postgres,
        "client": usage.ru_utime + usage.ru_stime,
        "machine_busy": (sum(fields[:8]) - idle) / CLK_TCK,
        "machine_total": sum(fields[:8]) / CLK_TCK,
        "wall": time.perf_counter(),
    }


def cpu_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    """Per process, so that processes starting or ending during a phase do not skew the sums
    (the CPU time of a process that ended during the phase is lost: an undercount)."""
    delta = {name: after[name] - before[name] for name in ("client", "machine_busy", "machine_total", "wall")}
    for name in ("server", "postgres"):
        delta[name] = sum(cpu - before[name].get(pid, 0.0) for pid, cpu in after[name].items())
    return delta


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass
class Phase:
    kind: str
    seconds: float
    accepted: int
    errors: dict[str, int]
    latencies_ms: list[float]
    cpu: dict[str, float]

    @property
    def per_s(self) -> float:
        return self.accepted / self.seconds

    def summary(self) -> dict[str, Any]:
        per_request = {
            name: round(self.cpu[name] * 1000 / max(1, self.accepted), 3)
            for name in ("client", "server", "postgres")
        }
        return {
            "kind": self.kind,
            "seconds": round(self.seconds, 3),
            "accepted": self.accepted,
            "per_s": round(self.per_s, 1),
            "p50_ms": round(percentile(self.latencies_ms, 0.50), 2) if self.latencies_ms else None,
            "p99_ms": round(percentile(self.latencies_ms, 0.99), 2) if self.latencies_ms else None,
            "errors": self.errors,
            "cpu_ms_per_request": per_request,
            "machine_cpu_busy": round(self.cpu["machine_busy"] / self.cpu["machine_total"], 3),
            # Cores busy with something else than this benchmark (other jobs on a shared machine).
            "other_load_cores": round(
                (self.cpu["machine_busy"] - self.cpu["client"] - self.cpu["server"] - self.cpu["postgres"])
                / self.seconds,
                2,
            ),
            "client_cpu_share_of_one_core": round(self.cpu["client"] / self.seconds, 3),
        }


def run_phase(load: LoadGenerator, kind: str, seconds: float, server_pid: int) -> Phase:
    before = cpu_snapshot(server_pid)
    tallies = load.run(kind, seconds)
    cpu = cpu_delta(before, cpu_snapshot(server_pid))
    errors: Counter[str] = Counter()
    for tally in tallies:
        errors.update(tally.errors)
    return Phase(
        kind,
        cpu["wall"],
        sum(tally.accepted for tally in tallies),
        dict(errors),
        [latency for tally in tallies for latency in tally.latencies_ms],
        cpu,
    )


def verify(database_url: str, disclosures: int, baseline: int) -> dict[str, Any]:
    """Every counted 202 left its rows: message, sender-side register entry, outbox row."""
    with psycopg.connect(psycopg_url(database_url)) as connection:
        counts = {
            "messages": "SELECT count(*) FROM exchange_message "
            "WHERE kind = 'disclosure' AND status = 'accepted' AND receipt IS NOT NULL",
            "payloads": "SELECT count(*) FROM exchange_payload",
            "register_entries": "SELECT count(*) FROM register_entry WHERE kind = 'disclosure_sent'",
            "outbox_rows": "SELECT count(*) FROM exchange_outbox",
            "baseline_rows": f"SELECT count(*) FROM {BASELINE_TABLE}",
        }
        found = {name: connection.execute(sql).fetchone()[0] for name, sql in counts.items()}  # type: ignore[index]
    expected = {
        "messages": disclosures,
        "payloads": disclosures,
        "register_entries": disclosures,
        "outbox_rows": disclosures,
        "baseline_rows": baseline,
    }
    return {"ok": found == expected, "expected": expected, "found": found}


def drive(
    server: Server, directory: Path, oins: list[str], args: argparse.Namespace
) -> tuple[list[Phase], dict[str, int]]:
    load = LoadGenerator(server.base_url, directory, oins, args.clients, args.client_mode)
    try:
        load.register_consents(args.subjects, args.seed)
        pid = server.process.pid
        totals = {"disclosures": 0, "baseline": 0}
        for kind in ("baseline", "disclosures"):  # warm-up: connections, pools, caches, both workers
            totals[kind] += run_phase(load, kind, args.warmup, pid).accepted
        phases = []
        for _ in range(args.rounds):
            for kind in ("baseline", "disclosures"):
                phase = run_phase(load, kind, args.seconds, pid)
                totals[kind] += phase.accepted
                phases.append(phase)
                print(f"  {kind:12} {phase.per_s:8.1f}/s  errors {phase.errors or 0}", flush=True)
        if args.profile:
            totals["disclosures"] += profiled_phase(load, args, pid)
        return phases, totals
    finally:
        load.close()


def profiled_phase(load: LoadGenerator, args: argparse.Namespace, server_pid: int) -> int:
    """One extra, unmeasured disclosure phase under py-spy (all server processes; samples only
    threads holding the GIL, a proxy for Python CPU time). Writes collapsed stacks."""
    py_spy = shutil.which("py-spy") or os.environ.get("PY_SPY", "")
    if not py_spy:
        raise SystemExit("--profile needs py-spy on PATH (or PY_SPY=/path/to/py-spy)")
    output = args.output.with_name(args.output.stem + "-profile.txt")
    seconds = max(5, int(args.seconds))
    command = [py_spy, "record", "--pid", str(server_pid), "--subprocesses", "--gil", "--nonblocking"]
    command += ["--format", "raw", "--rate", "250", "--duration", str(seconds), "--output", str(output)]
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # let py-spy attach
    phase = run_phase(load, "disclosures", seconds - 1.5, server_pid)
    spy.wait()
    print(f"  profile of {phase.accepted} disclosures in {output}", flush=True)
    return phase.accepted


def median_of(phases: list[Phase], kind: str, key: str) -> float:
    values = [phase.summary()[key] for phase in phases if phase.kind == kind]
    return round(float(statistics.median(v for v in values if v is not None)), 2)


def median_cpu(phases: list[Phase], kind: str) -> dict[str, float]:
    mine = [phase.summary()["cpu_ms_per_request"] for phase in phases if phase.kind == kind]
    return {name: round(statistics.median(m[name] for m in mine), 3) for name in mine[0]}


def summarise(phases: list[Phase], args: argparse.Namespace, verified: dict[str, Any]) -> dict[str, Any]:
    errors: Counter[str] = Counter()
    for phase in phases:
        errors.update(phase.errors)
    disclosures = median_of(phases, "disclosures", "per_s")
    baseline = median_of(phases, "baseline", "per_s")
    cpu = {kind: median_cpu(phases, kind) for kind in ("disclosures", "baseline")}
    cores = os.cpu_count() or 1
    return {
        "disclosures_per_s": round(disclosures, 1),
        "baseline_per_s": round(baseline, 1),
        "ratio": round(disclosures / baseline, 3),
        "p50_ms": median_of(phases, "disclosures", "p50_ms"),
        "p99_ms": median_of(phases, "disclosures", "p99_ms"),
        "baseline_p50_ms": median_of(phases, "baseline", "p50_ms"),
        "baseline_p99_ms": median_of(phases, "baseline", "p99_ms"),
        "clients": args.clients,
        "workers": args.workers,
        "client_mode": args.client_mode,
        "seconds_per_phase": args.seconds,
        "rounds": args.rounds,
        "errors": dict(errors),
        "all_accepted_and_stored": verified["ok"] and not errors,
        "verification": verified,
        "cpu_ms_per_request": cpu,
        # What the cores could do if this benchmark had them to itself: cores / CPU per request.
        # An estimate that ignores waits and contention, for judging what bounds the figures.
        "capacity_per_s_if_cores_dedicated": {
            kind: round(1000 * cores / sum(cpu[kind].values()), 1) for kind in cpu
        },
        "other_load_cores": statistics.median(phase.summary()["other_load_cores"] for phase in phases),
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "note": "client, server and PostgreSQL share these cores; see cpu_ms_per_request",
        },
        "target": {"ratio": 0.5, "disclosures_per_s": 500, "p99_ms": 100, "clients": 32},
        "target_met": disclosures / baseline >= 0.5
        and disclosures >= 500
        and median_of(phases, "disclosures", "p99_ms") <= 100,
        "phases": [phase.summary() for phase in phases],
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def print_table(result: dict[str, Any]) -> None:
    cpu = result["cpu_ms_per_request"]
    print(
        f"\nexchange: {result['clients']} clients, {result['workers']} workers, "
        f"{result['machine']['cores']} cores shared by clients, server and PostgreSQL; "
        f"median of {result['rounds']} phases of {result['seconds_per_phase']} s each"
    )
    header = f"{'':26}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}   CPU ms/request: client server postgres"
    print(header)
    for label, kind, per_s, p50, p99 in (
        ("POST /v1/_bench/baseline", "baseline", "baseline_per_s", "baseline_p50_ms", "baseline_p99_ms"),
        ("POST /v1/disclosures", "disclosures", "disclosures_per_s", "p50_ms", "p99_ms"),
    ):
        c = cpu[kind]
        print(
            f"{label:26}{result[per_s]:>9.1f}{result[p50]:>9.1f}{result[p99]:>9.1f}"
            f"{c['client']:>24.2f}{c['server']:>7.2f}{c['postgres']:>9.2f}"
        )
    print(f"{'ratio (disclosures/baseline)':30}{result['ratio']:>5.2f}")
    capacity = result["capacity_per_s_if_cores_dedicated"]
    print(
        f"other work on the machine used {result['other_load_cores']:.2f} cores (median); with all "
        f"{result['machine']['cores']} cores to itself this stack could do ~{capacity['baseline']:.0f} "
        f"baseline/s and ~{capacity['disclosures']:.0f} disclosures/s (CPU-bound estimate)"
    )
    verification = result["verification"]
    print(
        f"errors: {result['errors'] or 'none'}; every 202 stored (message, payload, register entry, "
        f"outbox): {verification['ok']}"
    )
    print(f"target (ratio >= 0.5, >= 500/s, p99 <= 100 ms at 32 clients) met: {result['target_met']}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=15, help="length of each measured phase")
    parser.add_argument("--rounds", type=int, default=2, help="baseline+disclosure phase pairs")
    parser.add_argument("--warmup", type=float, default=3, help="warm-up seconds per endpoint")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--subjects", type=int, default=16, help="consented subjects per client")
    parser.add_argument("--seed", type=int, default=20251123)
    parser.add_argument("--keep", action="store_true", help="keep the database and the directory")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--profile", action="store_true", help="add a disclosure phase under py-spy")
    parser.add_argument("--client-mode", choices=("threads", "async"), default="threads")
    args = parser.parse_args(argv)

    admin_url, database_url = bench_url(os.environ.get("MEERPUNT_BENCH_DATABASE_URL", DEFAULT_URL))
    recreate_database(admin_url)
    directory = Path(tempfile.mkdtemp(prefix="meerpunt-bench-"))
    try:
        subprocess.run(gateway_cli("init", "--dir", str(directory)), check=True, capture_output=True)
        registry = tomllib.loads((directory / "partners.toml").read_text())
        oins = [str(partner["oin"]) for partner in registry["partners"]]
        if args.clients > len(oins):
            print(f"note: {args.clients} clients share {len(oins)} partner certificates")
        with psycopg.connect(psycopg_url(database_url), autocommit=True) as connection:
            connection.execute(BASELINE_DDL)
        with serve(directory, database_url, args.workers, {}) as server:
            print(f"serving on {server.base_url} (pid {server.process.pid}); measuring…", flush=True)
            phases, totals = drive(server, directory, oins, args)
        verified = verify(database_url, totals["disclosures"], totals["baseline"])
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
            drop_database(admin_url)
        else:
            print(f"kept {directory} and database {DATABASE}")
    result = summarise(phases, args, verified)
    print_table(result)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")
    return result


if __name__ == "__main__":
    main()
