"""The fault scenarios of `make chaos` (bench/chaos.py), with small loads, against real processes:
two `meerpunt-gateway serve` instances on one PostgreSQL database behind HAProxy (TLS passed
through), a push partner's real HTTPS webhook, and, for the restart, a PostgreSQL cluster of the
test's own. Targets in every scenario: nothing lost, nothing duplicated, no 500.

PostgreSQL only: several instances on one SQLite file are not a supported set-up (deploy/README.md).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.chaos import (
    Cluster,
    Row,
    Scale,
    cluster,
    kill_instance,
    postgres_restart,
    push_partner_down,
    several_instances,
    sigterm_instance,
    unopenable_payload,
)
from tests.conftest import TEST_DB_ENV

BASE_URL = os.environ.get(TEST_DB_ENV, "")

pytestmark = [
    pytest.mark.skipif(not BASE_URL.startswith("postgresql"), reason="several instances need PostgreSQL"),
    pytest.mark.skipif(
        shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists(),
        reason="haproxy not installed",
    ),
]

SMALL = Scale(clients=2, seconds=1.5, down=2.0, subjects=6)


@pytest.fixture(scope="module")
def chaos_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with cluster(tmp_path_factory.mktemp("chaos"), BASE_URL, subjects=SMALL.subjects) as running:
        yield running


def _assert_targets(row: Row) -> None:
    assert row.accepted > 0, row
    assert row.lost == 0, row
    assert row.duplicated == 0, row
    assert row.errors_500 == 0, row
    assert row.undelivered == 0, row
    assert row.problem_json, row
    assert row.register_verified, row
    assert row.same_id_on_retry, row


def test_several_instances_register_and_deliver_each_disclosure_once(chaos_cluster: Cluster) -> None:
    row = several_instances(chaos_cluster, SMALL)
    _assert_targets(row)
    assert "an instance got no connection" not in row.notes, row.notes  # both took a share
    assert row.refused == {}, row  # no fault: every disclosure was accepted at the first try


def test_kill_9_of_one_instance_loses_nothing(chaos_cluster: Cluster) -> None:
    _assert_targets(kill_instance(chaos_cluster, SMALL))


def test_push_partner_down_is_delivered_once_after_recovery(chaos_cluster: Cluster) -> None:
    row = push_partner_down(chaos_cluster, SMALL)
    _assert_targets(row)
    assert row.recover_s is not None  # the pushes accepted during the outage arrived, with a time


def test_sigterm_of_one_instance_under_load_loses_nothing(chaos_cluster: Cluster) -> None:
    row = sigterm_instance(chaos_cluster, SMALL)
    _assert_targets(row)
    assert row.recover_s is not None, row.notes  # the process exited


def test_one_unopenable_payload_leaves_the_rest_of_the_inbox_readable(chaos_cluster: Cluster) -> None:
    row = unopenable_payload(chaos_cluster, SMALL)
    assert row.errors_500 == 0, row
    assert row.lost == 0, row


def test_postgres_restart_gives_503_and_recovers(tmp_path: Path) -> None:
    row = postgres_restart(tmp_path, SMALL)
    _assert_targets(row)
    assert row.timeouts == 0, row  # never a hang past the client's timeout
    assert row.refused.get("503", 0) > 0, row  # the outage was seen, as 503 problem+json
    assert set(row.refused) <= {"503"}, row
    assert row.recover_s is not None, row
