"""The register over HTTP: scoping matrix, filters, pagination, CSV, access logging, checkpoints, proofs.

Inclusion proofs and leaf hashes are checked here with an independent transcription of RFC 9162
§2.1.3.2 and of the documented leaf format, sharing no code with `audit`.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from jose import jws
from sqlmodel import Session, col, select

from audit.models import RegisterEntry
from audit.sequencer import sequence_pending
from audit.service import EntryKind, record
from gateway.app import create_app
from gateway.db import is_sqlite, unit_of_work
from gateway.runtime import Runtime
from tests.audit.builders import make_draft, record_all
from tests.support import (
    FOUR_EYES,
    JGZ,
    MUNICIPALITY,
    SCHOOL,
    YOUTH_CARE,
    DevEnv,
    ServerThread,
    client_context,
    new_bsn,
    partner_client,
)

A, B, C, D, UNINVOLVED = MUNICIPALITY, JGZ, SCHOOL, YOUTH_CARE, FOUR_EYES

Client = Callable[[str], httpx.Client]


def exchange(runtime: Runtime, bsn: str, sender: str, recipient: str, **overrides: Any) -> RegisterEntry:
    draft = make_draft(
        sender=sender, recipient=recipient, actor_org=sender, subject_hash=runtime.bsn_hash(bsn), **overrides
    )
    return record_all(runtime.engine, [draft])[0]


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items", "next_cursor"}
    return [item["id"] for item in body["items"] if item["kind"] != EntryKind.REGISTER_ACCESSED]


# --- independent checks (no audit imports) -------------------------------------------------------


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion_proof(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes | None:
    """RFC 9162 §2.1.3.2, step by step."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def leaf_input_from_view(view: dict[str, Any]) -> bytes:
    """The documented version-2 leaf input, rebuilt from the API's view of an entry."""
    moment = dt.datetime.fromisoformat(view["occurred_at"].replace("Z", "+00:00"))
    micros = (moment - dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
    categories = view["categories"]
    header = [
        view["id"],
        view["kind"],
        micros.to_bytes(8, "big", signed=True).hex(),
        view["actor"],
        view["actor_org"] or "",
        view["sender"] or "",
        view["recipient"] or "",
        view["subject_hash"] or "",
        "," + ",".join(categories) + "," if categories else "",
        (view["legal_basis"] or {}).get("type") or "",
        view["trace_id"],
        view["disclosure_id"] or "",
    ]
    rest = {
        k: view[k] for k in ("actor_role", "reason", "description", "legal_basis", "professional", "details")
    }
    body = json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return b"\x02" + "\x1f".join([*header, body]).encode("utf-8")


# --- scoping ---------------------------------------------------------------------------------------


@pytest.fixture
def two_exchanges(runtime: Runtime) -> tuple[str, RegisterEntry, RegisterEntry]:
    bsn = new_bsn()
    return bsn, exchange(runtime, bsn, A, B), exchange(runtime, bsn, C, D)


def test_scoping_matrix(
    two_exchanges: tuple[str, RegisterEntry, RegisterEntry],
    client_for: Client,
    anonymous: httpx.Client,
    dev_env: DevEnv,
) -> None:
    bsn, a_to_b, c_to_d = two_exchanges
    params = {"subject_bsn": bsn, "kind": EntryKind.DISCLOSURE_SENT}

    assert ids(anonymous.get("/v1/register", params=params, headers=dev_env.officer_headers(A))) == [
        a_to_b.id
    ]
    assert ids(anonymous.get("/v1/register", params=params, headers=dev_env.officer_headers(B))) == [
        a_to_b.id
    ]
    assert ids(client_for(C).get("/v1/register", params=params)) == [c_to_d.id]
    assert ids(client_for(D).get("/v1/register", params=params)) == [c_to_d.id]
    assert ids(anonymous.get("/v1/register", params=params, headers=dev_env.officer_headers("meerpunt"))) == [
        a_to_b.id,
        c_to_d.id,
    ]
    assert (
        ids(anonymous.get("/v1/register", params=params, headers=dev_env.officer_headers(UNINVOLVED))) == []
    )
    assert ids(client_for(UNINVOLVED).get("/v1/register", params=params)) == []

    citizen = anonymous.get("/v1/register", params=params, headers=dev_env.citizen_headers(bsn))
    assert citizen.status_code == 403
    assert citizen.headers["content-type"] == "application/problem+json"
    assert anonymous.get("/v1/register").status_code == 401  # neither a token nor a certificate


def test_partner_filter_is_also_scoped(
    two_exchanges: tuple[str, RegisterEntry, RegisterEntry], anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    bsn, _, c_to_d = two_exchanges
    headers = dev_env.officer_headers(A)
    assert (
        ids(anonymous.get("/v1/register", params={"subject_bsn": bsn, "partner": C}, headers=headers)) == []
    )
    central = dev_env.officer_headers("meerpunt")
    assert ids(anonymous.get("/v1/register", params={"subject_bsn": bsn, "partner": D}, headers=central)) == [
        c_to_d.id
    ]


def test_entry_shape(two_exchanges: tuple[str, RegisterEntry, RegisterEntry], client_for: Client) -> None:
    bsn, a_to_b, _ = two_exchanges
    items = (
        client_for(A)
        .get("/v1/register", params={"subject_bsn": bsn, "kind": "disclosure_sent"})
        .json()["items"]
    )
    item = items[0]
    expected = {
        "id",
        "kind",
        "occurred_at",
        "sender",
        "recipient",
        "actor",
        "categories",
        "reason",
        "description",
    }
    assert expected | {"legal_basis", "professional", "trace_id", "leaf_index"} <= set(item)
    assert item["id"] == a_to_b.id
    assert item["occurred_at"] == "2025-11-23T18:28:00.123456Z"
    assert item["categories"] == ["identification", "care_progress"]
    assert item["legal_basis"]["type"] == "consent"
    assert item["professional"]["name"] == "Anna de Vries"
    assert bsn not in json.dumps(items)
    assert hashlib.sha256(b"\x00" + leaf_input_from_view(item)).digest() == base64.b64decode(
        item["leaf_hash"]
    )


# --- filters and pages -----------------------------------------------------------------------------


def test_filters(runtime: Runtime, anonymous: httpx.Client, dev_env: DevEnv) -> None:
    bsn = new_bsn()
    early = exchange(
        runtime, bsn, A, B, occurred_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC), categories=["health"]
    )
    override = exchange(
        runtime,
        bsn,
        A,
        D,
        occurred_at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC),
        legal_basis={"type": "override"},
    )
    consent = exchange(runtime, bsn, B, A, kind=EntryKind.CONSENT_REGISTERED, disclosure_id=None)
    headers = dev_env.officer_headers(A)

    def query(**params: str) -> list[str]:
        return ids(anonymous.get("/v1/register", params={"subject_bsn": bsn, **params}, headers=headers))

    assert query() == [early.id, override.id, consent.id]
    assert query(category="health") == [early.id]
    assert query(category="care_progress") == [override.id, consent.id]
    assert query(legal_basis="override") == [override.id]
    assert query(kind="consent_registered") == [consent.id]
    assert query(partner=D) == [override.id]
    assert query(partner=B) == [early.id, consent.id]
    assert query(**{"from": "2025-03-01T00:00:00Z", "to": "2025-07-01T00:00:00+02:00"}) == [override.id]
    assert query(to="2025-06-01T00:00:00Z") == [early.id]  # `to` is exclusive


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"subject_bsn": "123456789"}, 422),
        ({"category": "gossip"}, 422),
        ({"kind": "nothing"}, 422),
        ({"partner": "not-an-oin"}, 422),
        ({"from": "2025-02-01T00:00:00Z", "to": "2025-01-01T00:00:00Z"}, 422),
        ({"from": "0001-01-01T00:00:00+02:00"}, 422),  # before the first instant UTC can express
        ({"to": "9999-12-31T23:59:59-05:00"}, 422),
        ({"limit": "0"}, 422),
        ({"limit": "1001"}, 422),
        ({"cursor": "%%%"}, 400),
        ({"cursor": base64.urlsafe_b64encode(b"-5").decode()}, 400),
        ({"cursor": base64.urlsafe_b64encode(b"L9999999999999999999:0").decode()}, 400),
        ({"cursor": base64.urlsafe_b64encode(b"L0:9999999999999999999").decode()}, 400),
    ],
)
def test_invalid_filters_are_problems(client_for: Client, params: dict[str, str], status: int) -> None:
    response = client_for(A).get("/v1/register", params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_cursor_pagination(runtime: Runtime, client_for: Client) -> None:
    bsn = new_bsn()
    created = [exchange(runtime, bsn, A, B).id for _ in range(5)]
    sequence_pending(runtime, sign=False)  # pages of sequenced entries (the sequencer also runs)
    client = client_for(A)
    seen: list[str] = []
    params: dict[str, Any] = {"subject_bsn": bsn, "kind": "disclosure_sent", "limit": 2}
    pages = 0
    while True:
        body = client.get("/v1/register", params=params).json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert seen == created
    assert pages == 3


# --- access logging --------------------------------------------------------------------------------


def test_every_query_is_registered_without_the_bsn(
    two_exchanges: tuple[str, RegisterEntry, RegisterEntry],
    runtime: Runtime,
    anonymous: httpx.Client,
    dev_env: DevEnv,
) -> None:
    bsn, _, _ = two_exchanges
    headers = dev_env.officer_headers(A, name="F. G. Bescherming")
    anonymous.get("/v1/register", params={"subject_bsn": bsn, "category": "care_progress"}, headers=headers)
    with Session(runtime.engine) as session:
        accesses = session.exec(
            select(RegisterEntry).where(
                col(RegisterEntry.subject_hash) == runtime.bsn_hash(bsn),
                col(RegisterEntry.kind) == EntryKind.REGISTER_ACCESSED,
            )
        ).all()
    assert len(accesses) == 1
    access = accesses[0]
    assert access.actor_org == A
    assert access.actor_role == "privacy_officer"
    details = access.content["details"]
    assert details["action"] == "list"
    assert details["returned"] == 1
    assert details["actor_name"] == "F. G. Bescherming"
    assert details["filter"] == {"subject_hash": runtime.bsn_hash(bsn), "category": "care_progress"}
    assert bsn not in access.body

    # The officer's own organisation sees that access in its register; another organisation does not.
    mine = anonymous.get(
        "/v1/register", params={"subject_bsn": bsn, "kind": "register_accessed"}, headers=headers
    )
    assert [item["id"] for item in mine.json()["items"]] == [access.id]
    theirs = anonymous.get(
        "/v1/register",
        params={"subject_bsn": bsn, "kind": "register_accessed"},
        headers=dev_env.officer_headers(C),
    )
    assert theirs.json()["items"] == []  # C's own access is registered after its answer


# --- CSV export ------------------------------------------------------------------------------------


def test_csv_export_is_scoped_logged_and_safe_for_spreadsheets(
    runtime: Runtime, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    bsn = new_bsn()
    mine = exchange(runtime, bsn, A, B, reason='=HYPERLINK("http://evil","klik")')
    exchange(runtime, bsn, C, D)
    response = anonymous.get(
        "/v1/register/export.csv",
        params={"subject_bsn": bsn, "kind": "disclosure_sent"},
        headers=dev_env.officer_headers(A),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["id"] for row in rows] == [mine.id]
    assert rows[0]["reason"].startswith("'=HYPERLINK")
    assert rows[0]["categories"] == "identification;care_progress"
    assert json.loads(rows[0]["professional"])["id"] == "p-17"
    with Session(runtime.engine) as session:
        logged = session.exec(
            select(RegisterEntry).where(
                col(RegisterEntry.subject_hash) == runtime.bsn_hash(bsn),
                col(RegisterEntry.kind) == "register_accessed",
            )
        ).one()
    assert logged.content["details"]["action"] == "export"


def test_csv_export_streams_every_page(runtime: Runtime, client_for: Client) -> None:
    bsn = new_bsn()
    drafts = [
        make_draft(
            sender=A, recipient=B, actor_org=A, subject_hash=runtime.bsn_hash(bsn), reason=f"reden {i}"
        )
        for i in range(1005)
    ]
    record_all(runtime.engine, drafts)
    response = client_for(B).get(
        "/v1/register/export.csv", params={"subject_bsn": bsn, "kind": "disclosure_sent"}
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["reason"] for row in rows] == [f"reden {i}" for i in range(1005)]


# --- checkpoints and proofs ------------------------------------------------------------------------


def test_checkpoint_is_a_verifiable_signed_tree_head(runtime: Runtime, client_for: Client) -> None:
    exchange(runtime, new_bsn(), A, B)
    sequence_pending(runtime, sign=True)
    body = client_for(B).get("/v1/audit/checkpoint").json()
    assert set(body) == {"size", "root_hash", "signed_at", "jws", "key"}
    assert "d" not in body["key"]
    claims = json.loads(jws.verify(body["jws"], body["key"], algorithms=["ES256"]))
    assert claims["size"] == body["size"] >= 1
    assert claims["root_hash"] == body["root_hash"]
    assert claims["signed_at"] == body["signed_at"]
    assert jws.get_unverified_header(body["jws"])["typ"] == "meerpunt-checkpoint+jws"


def test_inclusion_proof_verifies_independently(
    runtime: Runtime, client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    bsn = new_bsn()
    entries = [exchange(runtime, bsn, A, B) for _ in range(3)]
    sequence_pending(runtime, sign=True)
    key = client_for(A).get("/v1/audit/checkpoint").json()["key"]
    view = (
        client_for(A)
        .get("/v1/register", params={"subject_bsn": bsn, "kind": "disclosure_sent"})
        .json()["items"][1]
    )

    for client in (client_for(A), client_for(B)):
        proof = client.get(f"/v1/audit/proof/{entries[1].id}").json()
        assert proof["entry_id"] == entries[1].id
        leaf = base64.b64decode(proof["leaf_hash"])
        assert leaf == hashlib.sha256(b"\x00" + leaf_input_from_view(view)).digest()
        path = [base64.b64decode(node) for node in proof["proof"]]
        root = root_from_inclusion_proof(leaf, proof["leaf_index"], proof["tree_size"], path)
        assert root is not None and base64.b64encode(root).decode() == proof["root_hash"]
        claims = json.loads(jws.verify(proof["checkpoint_jws"], key, algorithms=["ES256"]))
        assert (claims["size"], claims["root_hash"]) == (proof["tree_size"], proof["root_hash"])

    central = anonymous.get(f"/v1/audit/proof/{entries[0].id}", headers=dev_env.officer_headers("meerpunt"))
    assert central.status_code == 200


def test_proofs_of_other_organisations_entries_are_not_found(
    two_exchanges: tuple[str, RegisterEntry, RegisterEntry],
    runtime: Runtime,
    client_for: Client,
    anonymous: httpx.Client,
    dev_env: DevEnv,
) -> None:
    bsn, _, c_to_d = two_exchanges
    sequence_pending(runtime, sign=True)
    assert client_for(A).get(f"/v1/audit/proof/{c_to_d.id}").status_code == 404
    assert (
        anonymous.get(f"/v1/audit/proof/{c_to_d.id}", headers=dev_env.officer_headers(A)).status_code == 404
    )
    assert client_for(C).get("/v1/audit/proof/00000000-0000-0000-0000-000000000000").status_code == 404
    assert (
        anonymous.get(f"/v1/audit/proof/{c_to_d.id}", headers=dev_env.citizen_headers(bsn)).status_code == 403
    )


def test_proof_before_the_next_checkpoint_is_a_conflict(isolated_runtime: Runtime, dev_env: DevEnv) -> None:
    settings = isolated_runtime.settings.model_copy(update={"background_workers": False})
    headers = dev_env.officer_headers("meerpunt")
    entry = exchange(isolated_runtime, new_bsn(), A, B)
    with (
        ServerThread(create_app(settings, isolated_runtime), settings) as server,
        httpx.Client(base_url=server.base_url, verify=client_context(dev_env), headers=headers) as client,
    ):
        assert client.get("/v1/audit/checkpoint").status_code == 404  # nothing signed yet
        early = client.get(f"/v1/audit/proof/{entry.id}")
        assert early.status_code == 409
        assert early.json()["type"].endswith("/not-yet-in-checkpoint")
        assert int(early.headers["retry-after"]) >= 1
        sequence_pending(isolated_runtime, sign=False)
        assert client.get(f"/v1/audit/proof/{entry.id}").status_code == 409  # sequenced, not yet signed
        sequence_pending(isolated_runtime, sign=True)
        proof = client.get(f"/v1/audit/proof/{entry.id}").json()
        # The entry is leaf 0; the two refused reads above were registered too (leaves 1 and 2).
        assert (proof["leaf_index"], proof["tree_size"]) == (0, 3)
        leaf = base64.b64decode(proof["leaf_hash"])
        root = root_from_inclusion_proof(leaf, 0, 3, [base64.b64decode(node) for node in proof["proof"]])
        assert root is not None and base64.b64encode(root).decode() == proof["root_hash"]


def test_verify_endpoint_is_for_officers(
    client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    assert client_for(A).post("/v1/audit/verify").status_code == 401
    report = anonymous.post("/v1/audit/verify", headers=dev_env.officer_headers("meerpunt")).json()
    assert report["ok"] is True, report
    assert report["first_bad_entry"] is None
    assert report["entries"] >= 0


# --- paging against concurrent writers -------------------------------------------------------------


def _page_through(client: httpx.Client, params: dict[str, Any]) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(100):
        body = client.get("/v1/register", params={**params, **({"cursor": cursor} if cursor else {})}).json()
        seen += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("paging did not end")


def test_paging_never_skips_an_entry_that_commits_late(isolated_runtime: Runtime, dev_env: DevEnv) -> None:
    """Two concurrent transactions on PostgreSQL: the one with the lower `seq` commits last."""
    if is_sqlite(isolated_runtime.engine):
        pytest.skip("SQLite has one writer at a time: seq order is commit order")
    runtime = isolated_runtime
    bsn = new_bsn()
    draft = make_draft(sender=A, recipient=B, actor_org=A, subject_hash=runtime.bsn_hash(bsn))
    settings = runtime.settings.model_copy(update={"background_workers": False})
    params = {"subject_bsn": bsn, "kind": "disclosure_sent", "limit": 1}
    with (
        ServerThread(create_app(settings, runtime), settings) as server,
        partner_client(dev_env, server.base_url, A) as client,
        unit_of_work(runtime.engine) as slow,  # its INSERT takes the lower seq and commits last
    ):
        late = record(slow, draft)
        early = record_all(runtime.engine, [draft, draft])
        sequence_pending(runtime, sign=False)
        first = client.get("/v1/register", params=params).json()
        assert [item["id"] for item in first["items"]] == [early[0].id]
        assert late.seq is not None and early[0].seq is not None and late.seq < early[0].seq
        slow.commit()
        sequence_pending(runtime, sign=False)
        rest = _page_through(client, {**params, "cursor": first["next_cursor"]})
    assert [item["id"] for item in rest] == [early[1].id, late.id]  # seq paging lost `late`


def test_entries_awaiting_the_sequencer_come_last(isolated_runtime: Runtime, dev_env: DevEnv) -> None:
    runtime = isolated_runtime
    bsn = new_bsn()
    sequenced = exchange(runtime, bsn, A, B)
    sequence_pending(runtime, sign=False)
    waiting = [exchange(runtime, bsn, A, B).id for _ in range(3)]
    settings = runtime.settings.model_copy(update={"background_workers": False})
    params: dict[str, Any] = {"subject_bsn": bsn, "kind": "disclosure_sent"}
    with (
        ServerThread(create_app(settings, runtime), settings) as server,
        partner_client(dev_env, server.base_url, A) as client,
    ):
        page = client.get("/v1/register", params=params).json()
        assert [item["id"] for item in page["items"]] == [sequenced.id, *waiting]
        assert [item["leaf_index"] for item in page["items"]] == [0, None, None, None]
        assert page["next_cursor"] is None
        for limit in (1, 2, 3):  # a backlog larger than a page is paged through, never cut off
            seen = [item["id"] for item in _page_through(client, {**params, "limit": limit})]
            assert seen == [sequenced.id, *waiting]


def test_a_read_names_the_entries_it_showed_while_they_awaited_the_sequencer(
    isolated_runtime: Runtime, dev_env: DevEnv
) -> None:
    """The leaf range with the filter says which placed entries were shown; the others by id."""
    runtime = isolated_runtime
    bsn = new_bsn()
    placed = exchange(runtime, bsn, A, B)
    sequence_pending(runtime, sign=False)
    waiting = [exchange(runtime, bsn, A, B).id for _ in range(2)]
    settings = runtime.settings.model_copy(update={"background_workers": False})
    params = {"subject_bsn": bsn, "kind": "disclosure_sent"}
    with (
        ServerThread(create_app(settings, runtime), settings) as server,
        partner_client(dev_env, server.base_url, A) as client,
    ):
        listed = client.get("/v1/register", params=params)
        exported = client.get("/v1/register/export.csv", params=params)
    assert ids(listed) == [placed.id, *waiting]
    assert [row["id"] for row in csv.DictReader(io.StringIO(exported.text))] == [placed.id, *waiting]
    reads = [entry.content["details"] for entry in access_entries(runtime, bsn)]
    assert [read["action"] for read in reads] == ["list", "export"]
    assert reads[0]["leaf_range"] == [0, 0] and reads[0]["entry_ids"] == waiting
    assert reads[1]["leaf_range"][0] == 0 and reads[1]["entry_ids"] == waiting
    assert reads[1]["returned"] == 3


def test_old_seq_cursors_are_refused(client_for: Client) -> None:
    response = client_for(A).get("/v1/register", params={"cursor": base64.urlsafe_b64encode(b"12").decode()})
    assert response.status_code == 400


# --- who read: professionals, the central officer, exports, traces ---------------------------------


def test_a_partner_read_records_the_acting_professional_and_trace(
    two_exchanges: tuple[str, RegisterEntry, RegisterEntry], runtime: Runtime, client_for: Client
) -> None:
    bsn, a_to_b, _ = two_exchanges
    trace = "0af7651916cd43dd8448eb211c80319c"
    headers = {
        "Meerpunt-Professional-Id": "p-42",
        "Meerpunt-Professional-Name": "Mirjam Bakker",
        "Meerpunt-Professional-Role": "jeugdconsulent",
        "traceparent": f"00-{trace}-b7ad6b7169203331-01",
    }
    listed = client_for(A).get("/v1/register", params={"subject_bsn": bsn}, headers=headers)
    assert a_to_b.id in ids(listed)
    [read] = access_entries(runtime, bsn)
    assert read.actor == A and read.actor_org == A
    assert read.content["professional"] == {"id": "p-42", "name": "Mirjam Bakker", "role": "jeugdconsulent"}
    assert read.trace_id == trace
    assert read.content["details"]["returned"] == 1  # C and D's exchange is not A's to see
    shown = read.content["details"].get("leaf_range")  # absent while the entry awaits the sequencer
    if shown is None:
        assert read.content["details"]["entry_ids"] == [a_to_b.id]
    else:
        assert shown == [a_to_b_view_index(client_for(A), bsn)] * 2


@pytest.mark.parametrize(
    "headers",
    [
        {"Meerpunt-Professional-Name": "zonder id"},
        {"Meerpunt-Professional-Id": "x" * 201},
        {"Meerpunt-Professional-Id": "p-1", "Meerpunt-Professional-Role": "r" * 201},
    ],
)
def test_malformed_professional_headers_are_refused(client_for: Client, headers: dict[str, str]) -> None:
    response = client_for(A).get("/v1/register", headers=headers)
    assert response.status_code == 422
    assert response.json()["violations"][0]["article"] == "18.3"


def test_a_control_character_in_a_professional_header_is_refused(client_for: Client) -> None:
    """httptools refuses it before the gateway sees it (400); the gateway's own check (422) is there
    for a parser that lets it through."""
    response = client_for(A).get(
        "/v1/register", headers={"Meerpunt-Professional-Id": "p-1", "Meerpunt-Professional-Role": "a\x7fb"}
    )
    assert response.status_code in (400, 422)


def test_the_central_officer_acts_for_no_partner(
    two_exchanges: tuple[str, RegisterEntry, RegisterEntry],
    runtime: Runtime,
    anonymous: httpx.Client,
    dev_env: DevEnv,
) -> None:
    bsn, _, _ = two_exchanges
    anonymous.get("/v1/register", params={"subject_bsn": bsn}, headers=dev_env.officer_headers("meerpunt"))
    [read] = access_entries(runtime, bsn)
    assert read.actor_org is None and read.content["details"]["central"] is True


def test_the_csv_export_records_how_many_entries_it_holds(
    runtime: Runtime, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    bsn = new_bsn()
    for _ in range(3):
        exchange(runtime, bsn, A, B)
    sequence_pending(runtime, sign=False)
    exchange(runtime, bsn, A, B)  # perhaps still awaiting the sequencer: counted all the same
    response = anonymous.get(
        "/v1/register/export.csv", params={"subject_bsn": bsn}, headers=dev_env.officer_headers(A)
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    [export] = access_entries(runtime, bsn)
    assert export.content["details"]["returned"] == len(rows) == 4


def a_to_b_view_index(client: httpx.Client, bsn: str) -> int:
    items = client.get("/v1/register", params={"subject_bsn": bsn, "kind": "disclosure_sent"}).json()["items"]
    return int(items[0]["leaf_index"])


def access_entries(runtime: Runtime, bsn: str) -> list[RegisterEntry]:
    with Session(runtime.engine) as session:
        return list(
            session.exec(
                select(RegisterEntry)
                .where(
                    col(RegisterEntry.subject_hash) == runtime.bsn_hash(bsn),
                    col(RegisterEntry.kind) == EntryKind.REGISTER_ACCESSED,
                )
                .order_by(col(RegisterEntry.seq))
            ).all()
        )
