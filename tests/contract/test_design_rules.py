"""The NL API Design Rules 2.x (Logius, ADR 2.2) checked on the served document and responses.

Spectral (from npm, tests/spectral) lints the document with tests/spectral/adr.yaml when Node is
there (`make test` installs it); the same rules, and the ones a linter cannot see (headers on real
responses, the 405's `Allow`), are also checked here in Python so they hold without Node too.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI

from gateway import routes
from gateway.contract import BSN_PATTERN, OIN_PATTERN
from gateway.openapi import API_PREFIX, API_VERSION, api_routes
from gateway.problems import PROBLEM_JSON
from tests.support import DevEnv, client_context

SPECTRAL = Path(__file__).parents[1] / "spectral" / "node_modules" / ".bin" / "spectral"
RULESET = Path(__file__).parents[1] / "spectral" / "adr.yaml"


@pytest.fixture(scope="module")
def document(dev_env: DevEnv, server: Any) -> dict[str, Any]:
    with httpx.Client(base_url=server.base_url, verify=client_context(dev_env), timeout=30) as client:
        response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()]


def test_publish_openapi_json_and_yaml_at_the_root_and_under_the_version(anonymous: httpx.Client) -> None:
    """/core/publish-openapi: the same document as JSON and YAML, readable cross-origin."""
    as_json = anonymous.get("/v1/openapi.json")
    for path in ("/openapi.json", "/openapi.yaml", "/v1/openapi.yaml"):
        response = anonymous.get(path)
        assert response.status_code == 200, path
        assert response.headers["access-control-allow-origin"] == "*"
        loaded = yaml.safe_load(response.text) if path.endswith("yaml") else response.json()
        assert loaded == as_json.json(), path
    assert as_json.json()["openapi"].startswith("3.")


def test_uri_version_semver_and_version_header(document: dict[str, Any], anonymous: httpx.Client) -> None:
    """/core/uri-version, /core/semver, /core/version-header (documented and sent, errors too)."""
    assert [s["url"] for s in document["servers"]] == [API_PREFIX]
    assert re.fullmatch(r"\d+\.\d+\.\d+", document["info"]["version"])
    for path, method, op in _operations(document):
        for code, response in op["responses"].items():
            assert "API-Version" in response.get("headers", {}), (path, method, code)
    for path in ("/v1/partners", "/v1/no-such-thing", "/openapi.json", "/healthz"):
        assert anonymous.get(path).headers["api-version"] == API_VERSION, path


def test_no_trailing_slash_kebab_case_and_standard_methods(document: dict[str, Any]) -> None:
    """/core/no-trailing-slash, /core/path-segments-kebab-case, /core/http-methods."""
    for path, method, _op in _operations(document):
        assert not path.endswith("/"), path
        assert re.fullmatch(r"(/([a-z0-9-]+(\.[a-z0-9]+)?|\{[a-z_]+\}))+", path), path
        assert method in {"get", "post", "put", "patch", "delete"}, (path, method)


def test_contact_is_complete(document: dict[str, Any]) -> None:
    """/core/doc-openapi-contact."""
    assert set(document["info"]["contact"]) >= {"name", "url", "email"}


def test_errors_are_problem_json_with_the_shared_schema(document: dict[str, Any]) -> None:
    """/core/error-handling/problem-details and /invalid-input."""
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) >= {"status", "title", "detail"}
    assert {"type", "instance", "violations"} <= set(problem["properties"])
    for path, method, op in _operations(document):
        codes = set(op["responses"])
        assert {"405", "500", "503"} <= codes, (path, method)
        if method in {"post", "put", "patch"} or op.get("parameters"):
            assert "400" in codes, (path, method)
        for code, response in op["responses"].items():
            if code[0] in "45":
                assert list(response["content"]) == [PROBLEM_JSON], (path, method, code)


def test_security_follows_the_dependencies(document: dict[str, Any]) -> None:
    """Partner operations: mutualTLS; officer and citizen ones: openIdConnect with discovery."""
    schemes = document["components"]["securitySchemes"]
    assert schemes["mutualTLS"]["type"] == "mutualTLS"
    assert schemes["openIdConnect"]["openIdConnectUrl"].endswith("/.well-known/openid-configuration")
    ops = {(p, m): op for p, m, op in _operations(document)}
    assert ops[("/partners", "get")]["security"] == [{"mutualTLS": []}]
    assert ops[("/subjects/{bsn}/erasure", "post")]["security"] == [{"openIdConnect": []}]
    assert ops[("/register", "get")]["security"] == [{"mutualTLS": []}, {"openIdConnect": []}]
    for (path, method), op in ops.items():
        assert op.get("security"), (path, method)
        assert {"401", "403"} <= set(op["responses"]), (path, method)


def test_constraints_come_from_the_shared_types(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    assert BSN_PATTERN.replace("\\", "\\\\") in text and OIN_PATTERN.replace("\\", "\\\\") in text
    send = document["paths"]["/disclosures"]["post"]
    key = next(p for p in send["parameters"] if p["name"] == "Idempotency-Key")
    assert key["required"] is True and key["schema"]["maxLength"] == 200


def test_every_api_route_lives_under_the_major_version(dev_env: DevEnv) -> None:
    """A route added outside /v1 must be a page (include_in_schema=False), not a silent omission."""
    app = FastAPI()
    routes.include_all(app, dev_env.settings)
    outside = [r.path for r in api_routes(app) if not r.path.startswith(API_PREFIX + "/")]
    assert outside == []


def test_allow_names_every_method_of_the_path(anonymous: httpx.Client) -> None:
    response = anonymous.put("/v1/subjects/111222333/restriction")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["allow"] == "DELETE, POST"


@pytest.mark.skipif(shutil.which("node") is None or not SPECTRAL.exists(), reason="spectral not installed")
def test_spectral_with_the_design_rules(document: dict[str, Any], tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    target.write_text(json.dumps(document))
    clean = subprocess.run(
        [str(SPECTRAL), "lint", "-r", str(RULESET), "--fail-severity", "warn", str(target)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr
    # The ruleset can fail: a document breaking three rules is refused, naming them.
    broken = json.loads(json.dumps(document))
    broken["servers"] = [{"url": "/"}]
    broken["paths"]["/partners"]["get"]["responses"]["200"]["headers"] = {}
    broken["paths"]["/partners/"] = broken["paths"]["/partners"]
    target.write_text(json.dumps(broken))
    failed = subprocess.run(
        [str(SPECTRAL), "lint", "-r", str(RULESET), str(target)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert failed.returncode != 0
    for rule in ("adr-uri-version", "adr-version-header", "adr-no-trailing-slash"):
        assert rule in failed.stdout, failed.stdout
