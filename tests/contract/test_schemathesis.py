"""schemathesis (a property-based API tester) against a real `serve`: the document is the contract.

As a partner (client certificate), as the central privacy officer and as a citizen (`dev-token`
bearer tokens), with `--checks all`, a fixed seed and a bounded number of examples, so `make test`
stays short; `make fuzz` runs the same with many more (MEERPUNT_FUZZ_EXAMPLES). Any failure
(an undocumented status or media type, a schema-valid request refused for its shape, a 5xx, an
`Allow` that disagrees with the document, …) fails the test with schemathesis's report.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import free_port

CLI = [sys.executable, "-m", "gateway"]
HERE = Path(__file__).parent
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
PARTNER = "99990000000000000001"
EXAMPLES = int(os.environ.get("MEERPUNT_FUZZ_EXAMPLES", "5"))
SEED = os.environ.get("MEERPUNT_FUZZ_SEED", "20261204")


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, database_factory: Callable[[], str]
) -> Iterator[tuple[str, Path]]:
    home = tmp_path_factory.mktemp("contract")
    subprocess.run([*CLI, "init", "--dir", str(home)], check=True, capture_output=True, timeout=120)
    port = free_port()
    # SQLite or PostgreSQL, as the suite runs (a database of its own, dropped at the end).
    env = {**os.environ, "MEERPUNT_DATABASE_URL": database_factory()}
    process = subprocess.Popen(
        [*CLI, "serve", "--config", str(home / "gateway.toml"), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/healthz", verify=str(home / "pki" / "ca.pem"), timeout=5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        yield base, home
    finally:
        process.terminate()
        process.wait(timeout=30)


def _token(home: Path, *args: str) -> str:
    done = subprocess.run(
        [*CLI, "dev-token", "--config", str(home / "gateway.toml"), *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout.strip()


def _run(base: str, home: Path, *credentials: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        f"{base}/v1/openapi.json",
        "--checks",
        "all",
        "--tls-verify",
        str(home / "pki" / "ca.pem"),
        "--seed",
        SEED,
        "--max-examples",
        str(EXAMPLES),
        "--phases",
        "examples,coverage,fuzzing",
        "--workers",
        "1",
        "--no-color",
        *credentials,
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.contract.schemathesis_hooks", "PYTHONPATH": os.getcwd()}
    return subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, check=False)


def _assert_clean(done: subprocess.CompletedProcess[str]) -> None:
    report = done.stdout[-20000:] + done.stderr[-5000:]
    # The numbers (shown with `pytest -s`, as `make fuzz` runs it).
    print("\n".join(line for line in done.stdout.splitlines() if "generated" in line or " in " in line[-12:]))
    assert done.returncode == 0, report
    assert "No issues found" in done.stdout or " passed" in done.stdout or "0 failures" in done.stdout, report


def test_as_partner_with_a_client_certificate(served: tuple[str, Path]) -> None:
    base, home = served
    key = home / "pki" / "partners" / PARTNER
    _assert_clean(_run(base, home, "--request-cert", f"{key}.pem", "--request-cert-key", f"{key}.key"))


def test_as_the_central_privacy_officer(served: tuple[str, Path]) -> None:
    base, home = served
    token = _token(home, "--role", "privacy_officer", "--org", "meerpunt")
    _assert_clean(_run(base, home, "--header", f"Authorization: Bearer {token}"))


def test_as_a_citizen(served: tuple[str, Path]) -> None:
    base, home = served
    token = _token(home, "--role", "citizen", "--bsn", "111222333")
    _assert_clean(_run(base, home, "--header", f"Authorization: Bearer {token}"))
