"""Evidence readers keep outside the gateway: receipts with leaf hashes, checkpoints, proofs, keys.

And the officer-facing operations around it: verification (registered, redacted, one at a time)
and on-demand checkpoints. Proofs are checked with independent transcriptions of RFC 9162
§2.1.3.2 and §2.1.4.2 that share no code with `audit`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jose import jws
from sqlmodel import Session, col, select

from audit.models import RegisterEntry
from audit.overview import LAST_VERIFICATION
from audit.sequencer import checkpoint_now
from audit.service import EntryKind
from audit.verify_reader import open_reader
from gateway.app import create_app
from gateway.runtime import Runtime
from tests.audit.builders import make_draft, record_all
from tests.audit.tamper import delete_from, remove_guards, sql
from tests.audit.test_api import root_from_inclusion_proof
from tests.exchange.test_disclosures import consent_body, disclosure_body, register_consent
from tests.support import (
    JGZ,
    MUNICIPALITY,
    SCHOOL,
    DevEnv,
    ServerThread,
    client_context,
    idempotency_key,
    new_bsn,
    partner_client,
)

Client = Callable[[str], httpx.Client]


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def consistent(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2, step by step (0 < old_size < new_size)."""
    if old_size & (old_size - 1) == 0:
        proof = [old_root, *proof]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = _node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


def accesses(runtime: Runtime, **where: Any) -> list[RegisterEntry]:
    with Session(runtime.engine) as session:
        query = select(RegisterEntry).where(col(RegisterEntry.kind) == EntryKind.REGISTER_ACCESSED)
        for name, value in where.items():
            query = query.where(getattr(RegisterEntry, name) == value)
        return list(session.exec(query.order_by(col(RegisterEntry.seq))).all())


@pytest.fixture
def own_server(isolated_runtime: Runtime, dev_env: DevEnv) -> Iterator[tuple[Runtime, str]]:
    """A server on a database of its own, without the background sequencer (tests drive it)."""
    settings = isolated_runtime.settings.model_copy(update={"background_workers": False})
    with ServerThread(create_app(settings, isolated_runtime), settings) as server:
        yield isolated_runtime, server.base_url


def officer(dev_env: DevEnv, base_url: str, org: str) -> httpx.Client:
    return httpx.Client(
        base_url=base_url, verify=client_context(dev_env), headers=dev_env.officer_headers(org), timeout=30
    )


# --- receipts and trace context --------------------------------------------------------------------


def test_the_receipt_carries_the_leaf_hash_and_the_callers_trace(
    client_for: Client, runtime: Runtime
) -> None:
    bsn = new_bsn()
    sender = client_for(JGZ)
    register_consent(sender, consent_body(bsn, SCHOOL, ["contact", "help_request"]))
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    response = sender.post(
        "/v1/disclosures",
        json=disclosure_body(bsn, SCHOOL, ["contact", "help_request"]),
        headers={"Idempotency-Key": idempotency_key(), "traceparent": f"00-{trace}-00f067aa0ba902b7-01"},
    )
    assert response.status_code == 202, response.text
    receipt = runtime.signer.verify(response.json()["receipt"])
    assert receipt["trace_id"] == trace
    with Session(runtime.engine) as session:
        entry = session.exec(select(RegisterEntry).where(RegisterEntry.id == receipt["register_entry"])).one()
    assert entry.trace_id == trace
    assert base64.b64decode(receipt["leaf_hash"]) == entry.leaf_hash
    checkpoint_now(runtime)
    proof = sender.get(f"/v1/audit/proof/{entry.id}").json()
    assert proof["leaf_hash"] == receipt["leaf_hash"]  # the partner's own copy matches the register
    path = [base64.b64decode(node) for node in proof["proof"]]
    root = root_from_inclusion_proof(entry.leaf_hash, proof["leaf_index"], proof["tree_size"], path)
    assert root is not None and base64.b64encode(root).decode() == proof["root_hash"]


def test_a_malformed_traceparent_starts_a_trace_of_its_own(client_for: Client, runtime: Runtime) -> None:
    bsn = new_bsn()
    sender = client_for(JGZ)
    register_consent(sender, consent_body(bsn, SCHOOL, ["contact", "help_request"]))
    response = sender.post(
        "/v1/disclosures",
        json=disclosure_body(bsn, SCHOOL, ["contact", "help_request"]),
        headers={
            "Idempotency-Key": idempotency_key(),
            "traceparent": "00-" + "0" * 32 + "-00f067aa0ba902b7-01",
        },
    )
    trace = runtime.signer.verify(response.json()["receipt"])["trace_id"]
    assert len(trace) == 32 and trace != "0" * 32


# --- proofs -----------------------------------------------------------------------------------------


def test_consistency_proofs_between_signed_sizes_verify_independently(
    own_server: tuple[Runtime, str], dev_env: DevEnv
) -> None:
    runtime, base_url = own_server
    record_all(runtime.engine, (make_draft() for _ in range(5)))
    old = checkpoint_now(runtime)
    record_all(runtime.engine, (make_draft() for _ in range(300)))
    new = checkpoint_now(runtime)
    with partner_client(dev_env, base_url, MUNICIPALITY) as client:
        body = client.get("/v1/audit/consistency", params={"from": old.size, "to": new.size}).json()
        assert (body["from"]["size"], body["to"]["size"]) == (old.size, new.size)
        for head in (body["from"], body["to"]):
            claims = json.loads(jws.verify(head["jws"], head["key"], algorithms=["ES256"]))
            assert (claims["size"], claims["root_hash"]) == (head["size"], head["root_hash"])
        proof = [base64.b64decode(node) for node in body["proof"]]
        roots = [base64.b64decode(body[name]["root_hash"]) for name in ("from", "to")]
        assert consistent(old.size, new.size, roots[0], roots[1], proof)
        assert not consistent(old.size, new.size, roots[0], b"\x00" * 32, proof)

        latest = client.get("/v1/audit/consistency", params={"from": old.size}).json()
        assert latest["to"]["size"] == new.size  # `to` defaults to the latest head
        assert client.get("/v1/audit/consistency", params={"from": 4}).status_code == 404  # never signed
        backwards = client.get("/v1/audit/consistency", params={"from": new.size, "to": old.size})
        assert backwards.status_code == 422
        assert backwards.headers["content-type"] == "application/problem+json"
        beyond = str(2**63)  # no tree size can be that large (the column is a BIGINT)
        for params in ({"from": beyond}, {"from": "0", "to": beyond}):
            too_large = client.get("/v1/audit/consistency", params=params)
            assert too_large.status_code == 422, too_large.text
            assert too_large.headers["content-type"] == "application/problem+json"
        proof = client.get(f"/v1/audit/proof/{uuid.uuid4()}", params={"tree_size": beyond})
        assert proof.status_code == 422


def test_inclusion_against_an_older_signed_tree_size(
    own_server: tuple[Runtime, str], dev_env: DevEnv
) -> None:
    runtime, base_url = own_server
    entries = record_all(runtime.engine, (make_draft() for _ in range(3)))
    old = checkpoint_now(runtime)
    later = record_all(runtime.engine, [make_draft()])[0]
    checkpoint_now(runtime)
    with partner_client(dev_env, base_url, MUNICIPALITY) as client:
        proof = client.get(f"/v1/audit/proof/{entries[1].id}", params={"tree_size": old.size}).json()
        assert (proof["tree_size"], proof["root_hash"]) == (
            old.size,
            base64.b64encode(old.root_hash).decode(),
        )
        assert proof["checkpoint_jws"] == old.jws
        path = [base64.b64decode(node) for node in proof["proof"]]
        root = root_from_inclusion_proof(entries[1].leaf_hash, 1, old.size, path)
        assert root == old.root_hash
        too_new = client.get(f"/v1/audit/proof/{later.id}", params={"tree_size": old.size})
        assert too_new.status_code == 422
        assert client.get(f"/v1/audit/proof/{later.id}", params={"tree_size": 2}).status_code == 404
    reads = [a for a in accesses(runtime, actor=MUNICIPALITY) if a.content["details"]["action"] == "proof"]
    # Answered and refused reads are registered; one that fails on an unknown size answers nothing.
    assert [a.content["details"]["entry_ids"] for a in reads] == [[entries[1].id], [later.id]]


def test_every_checkpoint_key_is_published(own_server: tuple[Runtime, str], dev_env: DevEnv) -> None:
    runtime, base_url = own_server
    with partner_client(dev_env, base_url, JGZ) as client:
        keys = client.get("/v1/audit/keys").json()["keys"]
    assert [key["kid"] for key in keys] == [runtime.signer.key_id]
    assert all("d" not in key for key in keys)


# --- verification and checkpoints on demand ----------------------------------------------------------


def test_verification_is_registered_and_names_only_the_officers_own_entries(
    own_server: tuple[Runtime, str], dev_env: DevEnv
) -> None:
    runtime, base_url = own_server
    theirs = record_all(runtime.engine, [make_draft(sender=SCHOOL, actor_org=SCHOOL, recipient=JGZ)])[0]
    checkpoint_now(runtime)
    remove_guards(runtime.engine)
    sql(runtime.engine, "UPDATE register_entry SET kind = 'erasure' WHERE id = %s", theirs.id)
    with (
        officer(dev_env, base_url, MUNICIPALITY) as partner_officer,
        officer(dev_env, base_url, "meerpunt") as central,
    ):
        redacted = partner_officer.post("/v1/audit/verify").json()
        full = central.post("/v1/audit/verify").json()
    assert redacted["ok"] is False and redacted["finding"] == "entry_changed"
    assert redacted["first_bad_leaf_index"] == 0 and redacted["first_bad_entry"] is None
    assert theirs.id not in json.dumps(redacted)
    assert full["first_bad_entry"] == theirs.id
    logged = [a for a in accesses(runtime) if a.content["details"]["action"] == "verify"]
    assert [a.actor_org for a in logged] == [MUNICIPALITY, None]  # the central officer acts for no partner
    assert logged[1].content["details"]["central"] is True
    assert logged[0].content["details"]["ok"] is False
    # The console's "last verification" finds the newest of them among all register reads.
    with Session(runtime.engine) as session:
        newest = session.exec(LAST_VERIFICATION).first()
    assert newest is not None and newest.id == logged[-1].id


def test_a_second_verification_gets_a_conflict(own_server: tuple[Runtime, str], dev_env: DevEnv) -> None:
    runtime, base_url = own_server
    running = open_reader(runtime)
    try:
        with officer(dev_env, base_url, "meerpunt") as central:
            busy = central.post("/v1/audit/verify")
    finally:
        running.close()
    assert busy.status_code == 409
    assert busy.headers["content-type"] == "application/problem+json"
    assert busy.json()["type"].endswith("/verification-running")
    assert "retry-after" in busy.headers


def test_verification_accepts_trusted_checkpoints(own_server: tuple[Runtime, str], dev_env: DevEnv) -> None:
    runtime, base_url = own_server
    record_all(runtime.engine, (make_draft() for _ in range(4)))
    saved = checkpoint_now(runtime).jws
    with officer(dev_env, base_url, "meerpunt") as central:
        report = central.post("/v1/audit/verify", json={"trusted_checkpoints": [saved]}).json()
        assert report["ok"] is True and report["trusted_checkpoints"] == 1
        refused = central.post("/v1/audit/verify", json={"trusted_checkpoints": [saved[:-4] + "AAAA"]})
        assert refused.status_code == 422


def test_only_the_central_officer_signs_a_checkpoint_on_demand(
    own_server: tuple[Runtime, str], dev_env: DevEnv
) -> None:
    runtime, base_url = own_server
    record_all(runtime.engine, (make_draft() for _ in range(2)))
    with (
        officer(dev_env, base_url, MUNICIPALITY) as partner_officer,
        officer(dev_env, base_url, "meerpunt") as central,
    ):
        assert partner_officer.post("/v1/audit/checkpoint").status_code == 403
        head = central.post("/v1/audit/checkpoint").json()
        assert head["size"] == 2  # both pending entries were sequenced first
        assert central.get("/v1/audit/checkpoint").json()["jws"] == head["jws"]
    assert [a.content["details"]["action"] for a in accesses(runtime)] == ["checkpoint"]


def test_cli_checkpoint_and_verify_against_a_saved_checkpoint(
    isolated_runtime: Runtime, dev_env: DevEnv, tmp_path: Path
) -> None:
    record_all(isolated_runtime.engine, (make_draft() for _ in range(3)))
    env = {**os.environ, "MEERPUNT_DATABASE_URL": isolated_runtime.settings.database_url}
    config = str(dev_env.directory / "gateway.toml")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "gateway", "audit", *args, "--config", config]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)

    signed = cli("checkpoint")
    assert signed.returncode == 0, signed.stderr
    saved = tmp_path / "checkpoint.json"
    saved.write_text(signed.stdout)
    assert json.loads(signed.stdout)["size"] == 3
    intact = cli("verify", "--trusted-checkpoint", str(saved))
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "consistent with 1 trusted" in intact.stdout

    remove_guards(isolated_runtime.engine)
    sql(isolated_runtime.engine, "DELETE FROM register_tree_head")
    delete_from(isolated_runtime.engine, 2)
    sql(isolated_runtime.engine, "UPDATE register_tree_state SET size = 2")
    broken = cli("verify", "--trusted-checkpoint", str(saved))
    assert broken.returncode == 1
    assert "trusted_checkpoint" in broken.stdout
