"""Fault scenarios against real processes, with figures (issue 13): `make chaos`.

    python -m bench.chaos [--clients 8] [--seconds 15] [--down 30] [--only NAME ...]

Two `meerpunt-gateway serve` instances on one PostgreSQL database behind HAProxy (TCP, TLS passed
through, deploy/ingress/haproxy.cfg.template), a push partner's real HTTPS webhook, and clients
that send consented disclosures and retry a failed send with the same Idempotency-Key. The
PostgreSQL restart runs on a throw-away cluster of its own (initdb + pg_ctl on a free port), never
on the machine's shared one. Each scenario prints one row:

    sent        disclosures the clients tried to send (one Idempotency-Key each)
    accepted    of which a client received 202
    refused     every non-202 answer the clients saw, by status (retried ones included)
    500s        answers with status 500 (target: zero)
    timeouts    client-side timeouts (no answer within the client's timeout)
    lost        accepted, but message, register entry or outbox row missing afterwards
    duplicated  one Idempotency-Key stored twice, a register entry twice, or a push delivered twice
    undelivered accepted for the push partner but never delivered (after the wait for retries)
    re-offered  push messages POSTed again after the partner had answered 2xx, because the answer
                could not be recorded (instance killed, database down): same Meerpunt-Message-Id
                and Idempotency-Key, so the partner drops the repeat; registered once regardless
    recover_s   seconds from the end of the fault until the service worked again (see each scenario)

The same scenarios run in `make test` with small loads (tests/e2e/test_chaos.py).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.cluster import (
    PULL_RECIPIENT,
    PUSH_RECIPIENT,
    SENDER,
    Environment,
    Gateway,
    HAProxy,
    PostgresCluster,
    Webhook,
    create_database,
    migrate,
    psycopg_url,
)
from bench.load import (
    Load,
    Outcome,
    audit_accepted,
    disclosure_body,
    register_consents,
    same_id_on_retry,
)

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RESULTS = Path(__file__).parent / "results" / "chaos.json"


@dataclass
class Scale:
    clients: int = 4
    seconds: float = 4.0  # load before and after the fault
    down: float = 3.0  # how long a fault lasts (database down, partner down)
    subjects: int = 20


@dataclass
class Row:
    scenario: str
    sent: int = 0
    accepted: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    errors_500: int = 0
    timeouts: int = 0
    connection_errors: int = 0
    lost: int = 0
    duplicated: int = 0
    undelivered: int = 0
    reoffered: int = 0
    recover_s: float | None = None
    register_verified: bool = True
    same_id_on_retry: bool = True
    problem_json: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.lost == 0
            and self.duplicated == 0
            and self.errors_500 == 0
            and self.undelivered == 0
            and self.register_verified
            and self.same_id_on_retry
            and self.problem_json
        )


def tally(row: Row, outcomes: list[Outcome]) -> None:
    refused: Counter[str] = Counter()
    for outcome in outcomes:
        for status in outcome.statuses:
            if status != 202:
                refused[str(status)] += 1
        row.timeouts += outcome.timeouts
        row.connection_errors += outcome.connection_errors
        row.problem_json &= outcome.problems_ok
    row.sent = len(outcomes)
    row.accepted = sum(1 for o in outcomes if o.message_id)
    row.refused = dict(sorted(refused.items()))
    row.errors_500 = refused.get("500", 0)


def first_accept_after(outcomes: list[Outcome], moment: float) -> float | None:
    times = [o.accepted_at for o in outcomes if o.accepted_at is not None and o.accepted_at >= moment]
    return round(min(times) - moment, 2) if times else None


# ------------------------------------------------------------------------------ the cluster


@dataclass
class Cluster:
    """Two gateway instances on one database behind HAProxy, and the push partner's webhook."""

    env: Environment
    database_url: str
    gateways: list[Gateway]
    balancer: HAProxy
    webhook: Webhook
    subjects: list[str]

    def load(self, scale: Scale) -> Load:
        return Load(self.env, self.balancer.base_url, self.subjects, clients=scale.clients)

    def restart(self, gateway: Gateway) -> None:
        gateway.stop()
        gateway.start().wait_ready()


@contextmanager
def cluster(directory: Path, admin_url: str, instances: int = 2, subjects: int = 20) -> Iterator[Cluster]:
    with ExitStack() as stack:
        env = Environment.create(directory)
        database_url, drop = create_database(admin_url, "meerpunt_chaos")
        stack.callback(drop)
        migrate(env, database_url)
        webhook = Webhook(env).start()
        stack.callback(webhook.stop)
        gateways = [Gateway(env, database_url, f"gw{n + 1}", {}) for n in range(instances)]
        for gateway in gateways:
            gateway.start()
            stack.callback(gateway.stop)
        for gateway in gateways:
            gateway.wait_ready()
        balancer = HAProxy(directory, gateways).start()
        stack.callback(balancer.stop)
        wait_balanced(balancer, env)
        balancer.wait_all_up()
        names = register_consents(env, balancer.base_url, subjects, seed=13)
        yield Cluster(env, database_url, gateways, balancer, webhook, names)


def wait_balanced(balancer: HAProxy, env: Environment, timeout: float = 30.0) -> None:
    """Until HAProxy's health checks have marked a backend up (the first /readyz)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=balancer.base_url, verify=env.client_context(), timeout=3) as client:
        while time.monotonic() < deadline:
            try:
                if client.get("/readyz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    raise RuntimeError("HAProxy has no live backend")


def finish(row: Row, c: Cluster, outcomes: list[Outcome], *, webhook: bool = True) -> Row:
    tally(row, outcomes)
    stopped = time.monotonic()
    checked = audit_accepted(c.env, c.database_url, outcomes, c.webhook if webhook else None)
    pushed = [o.message_id for o in outcomes if o.message_id and o.body["recipient"] == PUSH_RECIPIENT]
    arrivals = [c.webhook.first_at[mid] for mid in pushed if mid in c.webhook.first_at]
    if arrivals and max(arrivals) - stopped > 1:
        row.notes.append(f"push backlog drained {max(arrivals) - stopped:.1f} s after the load stopped")
    row.lost = len(checked.lost)
    row.duplicated = len(checked.duplicated)
    row.undelivered = len(checked.undelivered)
    row.reoffered = len(checked.reoffered)
    row.register_verified = checked.register_verified
    row.same_id_on_retry = same_id_on_retry(c.balancer.base_url, c.env, outcomes)
    return row


# ------------------------------------------------------------------------------ scenarios


def several_instances(c: Cluster, scale: Scale) -> Row:
    """No fault: load through the balancer onto both instances. recover_s: not applicable."""
    c.balancer.wait_all_up()  # a scenario before this one may have restarted an instance
    before = c.balancer.sessions()
    load = c.load(scale).start()
    time.sleep(2 * scale.seconds)
    load.stop()
    row = finish(Row("several instances (no fault)"), c, load.outcomes)
    after = c.balancer.sessions()
    spread = {name: after[name] - before.get(name, 0) for name in after}
    row.notes.append("connections per instance: " + ", ".join(f"{k} {v}" for k, v in sorted(spread.items())))
    if not all(spread.values()):
        row.notes.append("an instance got no connection")
    return row


def kill_instance(c: Cluster, scale: Scale) -> Row:
    """kill -9 of one instance under load. recover_s: from the kill to the first 202 after it."""
    load = c.load(scale).start()
    time.sleep(scale.seconds)
    victim = c.gateways[0]
    killed_at = time.monotonic()
    victim.kill()
    time.sleep(scale.seconds)
    load.stop()
    row = finish(Row("kill -9 one instance"), c, load.outcomes)
    row.recover_s = first_accept_after(load.outcomes, killed_at)
    pushed = [o.message_id for o in load.outcomes if o.message_id and o.body["recipient"] == PUSH_RECIPIENT]
    arrivals = [c.webhook.first_at[mid] for mid in pushed if mid in c.webhook.first_at]
    if arrivals:
        # The killed instance's claimed pushes wait for their lease to run out.
        row.notes.append(f"last push delivered {max(arrivals) - killed_at:.1f} s after the kill")
    c.restart(victim)
    return row


def sigterm_instance(c: Cluster, scale: Scale) -> Row:
    """SIGTERM to one instance under load (a rollout): in-flight requests finish, the balancer
    sends new ones elsewhere. recover_s: from the signal until the process has exited."""
    load = c.load(scale).start()
    time.sleep(scale.seconds)
    victim = c.gateways[1]
    signalled = time.monotonic()
    victim.terminate()
    assert victim.process is not None
    try:
        victim.process.wait(timeout=30)
        exited: float | None = round(time.monotonic() - signalled, 2)
    except Exception:
        exited = None
    time.sleep(max(0.0, scale.seconds - (time.monotonic() - signalled)))
    load.stop()
    row = finish(Row("SIGTERM one instance"), c, load.outcomes)
    row.recover_s = exited
    if exited is None:
        row.notes.append("the instance did not exit within 30 s of SIGTERM")
    c.restart(victim)
    return row


def push_partner_down(c: Cluster, scale: Scale) -> Row:
    """The push partner answers 500, then times out, then recovers. recover_s: from its recovery
    until the last disclosure accepted meanwhile was delivered (each once, with its time in the
    register)."""
    load = c.load(scale).start()
    c.webhook.mode = "error"
    time.sleep(scale.down / 2)
    c.webhook.mode = "timeout"
    time.sleep(scale.down / 2)
    up_at = time.monotonic()
    c.webhook.mode = "ok"
    load.stop()
    row = finish(Row("push partner down (500, then timeouts)"), c, load.outcomes)
    pushed = [o.message_id for o in load.outcomes if o.message_id and o.body["recipient"] == PUSH_RECIPIENT]
    arrivals = [c.webhook.first_at[mid] for mid in pushed if mid in c.webhook.first_at]
    if arrivals:
        row.recover_s = round(max(0.0, max(arrivals) - up_at), 2)
    row.notes.append(f"{len(pushed)} pushed, {c.webhook.attempts} webhook attempts in all")
    return row


def unopenable_payload(c: Cluster, scale: Scale, count: int = 5) -> Row:
    """One stored payload cannot be unwrapped (its wrapped data key damaged): the recipient's
    inbox still lists every message, and only that one reports an error (`payload_error`, issue 13
    part B). lost: messages the inbox did not list."""
    row = Row("unopenable payload in an inbox")
    ids: list[str] = []
    with httpx.Client(
        base_url=c.balancer.base_url, verify=c.env.client_context(SENDER), timeout=30
    ) as client:
        for n in range(count):
            response = client.post(
                "/v1/disclosures",
                json=disclosure_body(c.subjects[n % len(c.subjects)], PULL_RECIPIENT),
                headers={"Idempotency-Key": f"unopenable-{time.time_ns()}-{n}"},
            )
            row.sent += 1
            if response.status_code == 202:
                ids.append(str(response.json()["id"]))
    row.accepted = len(ids)
    damaged = ids[len(ids) // 2]
    with psycopg.connect(psycopg_url(c.database_url)) as connection:
        connection.execute(
            "UPDATE exchange_payload SET wrapped_key = %s WHERE message_id = %s", (b"\x00" * 40, damaged)
        )
    listed, statuses, flagged = inbox_ids(c, PULL_RECIPIENT)
    row.refused = {str(s): n for s, n in Counter(statuses).items() if s != 200}
    row.errors_500 = row.refused.get("500", 0)
    row.lost = sum(1 for mid in ids if mid not in listed)
    if damaged not in flagged:
        row.notes.append("the damaged message was not reported as an error item")
        row.lost = max(row.lost, 1)
    return row


def inbox_ids(c: Cluster, oin: str) -> tuple[set[str], list[int], set[str]]:
    """Every id the recipient's inbox lists (all pages), the statuses seen, and the ids listed
    with an error instead of a payload."""
    listed: set[str] = set()
    flagged: set[str] = set()
    statuses: list[int] = []
    cursor: str | None = None
    with httpx.Client(base_url=c.balancer.base_url, verify=c.env.client_context(oin), timeout=30) as client:
        for _ in range(1000):
            params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            try:
                response = client.get("/v1/inbox", params=params)
            except httpx.TransportError:
                statuses.append(0)  # no answer at all
                break
            statuses.append(response.status_code)
            if response.status_code != 200:
                break
            page = response.json()
            for item in page["items"]:
                listed.add(str(item["id"]))
                if item.get("error") or item.get("errors") or item.get("payload_error"):
                    flagged.add(str(item["id"]))
            cursor = page.get("next_cursor")
            if not cursor:
                break
    return listed, statuses, flagged


def postgres_restart(directory: Path, scale: Scale) -> Row:
    """PostgreSQL (a cluster of our own) stopped under load for `down` seconds, then started.
    While it is down: 503 problem+json with Retry-After, never a 500 nor a hang past the client's
    timeout. recover_s: from PostgreSQL accepting connections again to the first 202."""
    row = Row("PostgreSQL restarted")
    pg = PostgresCluster()
    pg.start()
    try:
        admin = pg.database_url("postgres")
        with cluster(directory / "cluster", admin, instances=1, subjects=scale.subjects) as c:
            # Straight to the instance: through the balancer a client would see closed connections
            # once /readyz fails, and this scenario is about the gateway's own answers.
            instance = c.gateways[0].base_url
            load = Load(c.env, instance, c.subjects, clients=scale.clients, give_up_seconds=120)
            load.start()
            time.sleep(scale.seconds)
            pg.stop()
            time.sleep(scale.down)
            pg.start()
            up_at = time.monotonic()
            time.sleep(scale.seconds)
            load.stop()
            row = finish(row, c, load.outcomes)
            row.recover_s = first_accept_after(load.outcomes, up_at)
    finally:
        pg.remove()
    return row


SCENARIOS: dict[str, Callable[[Cluster, Scale], Row]] = {
    "several_instances": several_instances,
    "kill9": kill_instance,
    "push_down": push_partner_down,
    "sigterm": sigterm_instance,
    "unopenable": unopenable_payload,
}


# ------------------------------------------------------------------------------ the table


def format_table(rows: list[Row]) -> str:
    header = (
        "scenario",
        "sent",
        "accepted",
        "refused (status: n)",
        "500s",
        "timeouts",
        "conn. errors",
        "lost",
        "duplicated",
        "undelivered",
        "re-offered",
        "recover_s",
        "register",
        "ok",
    )
    lines = [header]
    for r in rows:
        refused = ", ".join(f"{k}: {v}" for k, v in r.refused.items()) or "-"
        lines.append(
            (
                r.scenario,
                str(r.sent),
                str(r.accepted),
                refused,
                str(r.errors_500),
                str(r.timeouts),
                str(r.connection_errors),
                str(r.lost),
                str(r.duplicated),
                str(r.undelivered),
                str(r.reoffered),
                "-" if r.recover_s is None else f"{r.recover_s:.2f}",
                "verifies" if r.register_verified else "BROKEN",
                "yes" if r.ok else "NO",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = [
        "| " + " | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) + " |"
        for line in lines
    ]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    notes = [f"- {r.scenario}: {note}" for r in rows for note in r.notes]
    return "\n".join(out + (["", *notes] if notes else []))


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--down", type=float, default=30.0)
    parser.add_argument("--database-url", default=DEFAULT_URL, help="where the cluster's database is created")
    parser.add_argument("--only", nargs="*", default=None, help=f"{[*SCENARIOS, 'postgres']}")
    args = parser.parse_args(argv)
    scale = Scale(clients=args.clients, seconds=args.seconds, down=args.down, subjects=50)
    wanted = args.only or [*SCENARIOS, "postgres"]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="meerpunt-chaos-") as temporary:
        directory = Path(temporary)
        shared = [name for name in SCENARIOS if name in wanted]
        if shared:
            with cluster(directory / "shared", args.database_url, subjects=scale.subjects) as c:
                for name in shared:
                    print(f"running {name} …", flush=True)
                    rows.append(SCENARIOS[name](c, scale))
        if "postgres" in wanted:
            print("running postgres …", flush=True)
            rows.append(postgres_restart(directory, scale))
    print()
    print(format_table(rows))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps([{**asdict(r), "ok": r.ok} for r in rows], indent=2))
    return rows


def as_dict(row: Row) -> dict[str, Any]:
    return {**asdict(row), "ok": row.ok}


if __name__ == "__main__":
    main()
