"""The production image (deploy/Dockerfile) holds every package the gateway imports.

The image builds its wheel from the directories the Dockerfile copies, so a package left out of
the COPY lines is missing from the image and `serve` dies at import, although every other test
passes (they run from the checkout). `web` and `coordination` were once missing this way.

The same kind of drift, checked statically below: data files (templates, static files, the
migrations' template, data/*.toml) that pyproject's package-data would leave out of the wheel; and
what deploy/ says to the gateway — MEERPUNT_* variables, settings, CLI commands and options,
ports and probe paths — against the code.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NOT_SHIPPED = {"tests", "bench"}  # test and benchmark code stays out of the image


def _product_packages() -> set[str]:
    return {path.parent.name for path in ROOT.glob("*/__init__.py") if path.parent.name not in NOT_SHIPPED}


def _copied_by_dockerfile() -> set[str]:
    text = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    return set(re.findall(r"^COPY (\w+) \./\1$", text, flags=re.MULTILINE))


def _found_by_setuptools() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["packages"]["find"]["include"]
    return {pattern.removesuffix("*") for pattern in patterns}


def test_the_image_copies_every_package_of_the_gateway() -> None:
    packages = _product_packages()
    assert {"gateway", "web", "coordination"} <= packages  # the glob found the checkout's packages
    missing = packages - _copied_by_dockerfile()
    assert not missing, f"deploy/Dockerfile does not COPY {sorted(missing)}: the image could not import them"


def test_the_wheel_includes_every_package_of_the_gateway() -> None:
    missing = _product_packages() - _found_by_setuptools()
    assert not missing, f"pyproject.toml's packages.find does not include {sorted(missing)}"


# --- Package data: every file the code loads at run time is in the wheel -------------------------
#
# The image installs a wheel, not the checkout: a template, stylesheet, migration or data file that
# no `[tool.setuptools.package-data]` pattern names is missing from the image, and the page that
# loads it fails there only (the tests run from the checkout, where every file is present).


def _package_data_patterns() -> dict[str, list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns: dict[str, list[str]] = config["tool"]["setuptools"].get("package-data", {})
    return patterns


def _shipped_by_package_data(package: str, patterns: dict[str, list[str]]) -> set[Path]:
    # setuptools expands package-data patterns with glob(recursive=True), as Path.glob does.
    return {path for pattern in patterns.get(package, []) for path in (ROOT / package).glob(pattern)}


def _data_files(package: str) -> set[Path]:
    """The package's files that are not Python modules (and not byte code)."""
    return {
        path
        for path in (ROOT / package).rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    }


def _not_in_wheel(patterns: dict[str, list[str]]) -> list[str]:
    return sorted(
        str(path.relative_to(ROOT))
        for package in _product_packages()
        for path in _data_files(package) - _shipped_by_package_data(package, patterns)
    )


def test_package_data_ships_every_data_file_of_the_packages() -> None:
    found = {str(p.relative_to(ROOT)) for package in _product_packages() for p in _data_files(package)}
    # The glob found what the code loads: templates, static files, migrations' template, data.
    assert {
        "web/templates/base.html",
        "web/static/css/meerpunt.css",
        "audit/access/templates/page.html",
        "gateway/migrations/script.py.mako",
        "gateway/data/partners.toml",
    } <= found
    missing = _not_in_wheel(_package_data_patterns())
    assert not missing, f"pyproject.toml's package-data does not ship {missing}: the image would lack them"


def test_package_data_check_fails_without_a_pattern() -> None:
    """The check above can fail: drop the static files' pattern and it names them."""
    patterns = _package_data_patterns()
    patterns["web"] = [p for p in patterns["web"] if not p.startswith("static")]
    assert "web/static/css/meerpunt.css" in _not_in_wheel(patterns)


# --- What deploy/ tells the gateway: settings, CLI commands, probes, ports -----------------------

DEPLOY = ROOT / "deploy"


def _deploy_texts() -> dict[str, str]:
    return {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for path in sorted(DEPLOY.rglob("*"))
        if path.is_file()
    }


def _unknown_env_names(texts: dict[str, str]) -> list[str]:
    from gateway import cli
    from gateway.settings import Settings

    known = {f"MEERPUNT_{name.upper()}" for name in Settings.model_fields}
    known |= {cli.CONFIG_ENV, cli.LOG_LEVEL_ENV, cli.GRACE_ENV}
    unknown = []
    for file, text in texts.items():
        for name in re.findall(r"\bMEERPUNT_[A-Z0-9_]+", text):
            # A nested setting: MEERPUNT_KEKS__<id> sets keks[<id>] (env_nested_delimiter "__").
            if name.split("__")[0] not in known:
                unknown.append(f"{file}: {name}")
    return sorted(set(unknown))


def test_deploy_files_name_only_environment_variables_the_gateway_reads() -> None:
    """Settings ignore unknown MEERPUNT_* variables (extra="ignore"): a misspelt one in an env file
    or a manifest would silently leave the default in force."""
    texts = _deploy_texts()
    assert "MEERPUNT_KEK" in texts["deploy/gateway.env.example"]
    assert not _unknown_env_names(texts)
    broken = {"deploy/kubernetes.yaml": texts["deploy/kubernetes.yaml"].replace("_WORKERS", "_WORKER")}
    assert _unknown_env_names(broken) == ["deploy/kubernetes.yaml: MEERPUNT_BACKGROUND_WORKER"]


def _settings_problems(texts: dict[str, str]) -> list[str]:
    """`key = "value"` in deploy/'s comments and prose: the key is a setting, a Literal's value valid."""
    import typing

    from gateway.settings import Settings

    problems = []
    for file, text in texts.items():
        for key, value in re.findall(r'\b([a-z_]+) = ("[^"\n]*"|\[[^\]\n]*\])', text):
            field = Settings.model_fields.get(key)
            if field is None:
                problems.append(f"{file}: unknown setting {key!r}")
                continue
            allowed = typing.get_args(field.annotation)
            literal = typing.get_origin(field.annotation) is typing.Literal
            if literal and value.startswith('"') and value.strip('"') not in allowed:
                problems.append(f"{file}: {key} = {value} is not one of {allowed}")
    return problems


def test_settings_named_in_deploy_files_exist() -> None:
    texts = _deploy_texts()
    assert 'trusted_proxy_cert_format = "nginx-escaped-pem"' in texts["deploy/ingress/nginx.conf.template"]
    assert not _settings_problems(texts)
    broken = {"deploy/README.md": texts["deploy/README.md"].replace('"required"', '"require"', 1)}
    assert _settings_problems(broken) == [
        "deploy/README.md: tls_client_auth = \"require\" is not one of ('optional', 'required')"
    ]


def _dockerfile_arrays() -> dict[str, list[str]]:
    """The exec-form arrays of deploy/Dockerfile: ENTRYPOINT, CMD and the HEALTHCHECK's CMD."""
    import json

    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    arrays: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = re.match(r"^(ENTRYPOINT|CMD|HEALTHCHECK)\b.*?(\[.*\])\s*$", line)
        if match:
            arrays[match.group(1)] = json.loads(match.group(2))
    return arrays


def _kubernetes_containers() -> list[dict[str, Any]]:
    import yaml

    docs = list(yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text(encoding="utf-8")))
    return [
        c
        for doc in docs
        if doc["kind"] == "Deployment"
        for c in doc["spec"]["template"]["spec"]["containers"]
    ]


def _readme_command_lines() -> list[list[str]]:
    """`meerpunt-gateway …` as deploy/README.md writes it, in code blocks and inline code."""
    import shlex

    text = (DEPLOY / "README.md").read_text(encoding="utf-8")
    lines = []
    for match in re.finditer(r"meerpunt-gateway ([a-z][^`\n]*)", text):
        words = shlex.split(match.group(1).replace("[", " ").replace("]", " ").replace("|", " "))
        lines.append(words)
    return lines


def _cli_problems(invocations: list[list[str]]) -> list[str]:
    """Each invocation (argv after `meerpunt-gateway`) names an existing command and its options."""
    import typer

    from gateway.cli import app

    problems = []
    for argv in invocations:
        # Typer builds on its own copy of click: walk its command tree by attributes, not by class.
        command: Any = typer.main.get_command(app)
        words = list(argv)
        while hasattr(command, "commands") and words and not words[0].startswith("-"):
            command = command.commands.get(words.pop(0))
            if command is None:
                problems.append(f"no command in {argv}")
                break
        if command is None:
            continue
        if hasattr(command, "commands"):
            problems.append(f"no command in {argv}")
            continue
        options = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
        problems += [
            f"{argv[0]}: no option {word}"
            for word in words
            if word.startswith("--") and word.split("=")[0] not in options
        ]
    return problems


def _deploy_invocations() -> list[list[str]]:
    arrays = _dockerfile_arrays()
    assert arrays["ENTRYPOINT"] == ["meerpunt-gateway"], arrays
    invocations = [arrays["CMD"]]
    healthcheck = arrays["HEALTHCHECK"]
    assert healthcheck[0] == "meerpunt-gateway", healthcheck
    invocations.append(healthcheck[1:])
    for container in _kubernetes_containers():
        invocations.append(container["args"])  # the image's entry point is meerpunt-gateway
    invocations += _readme_command_lines()
    return invocations


def test_cli_commands_and_options_in_deploy_files_exist() -> None:
    invocations = _deploy_invocations()
    commands = {argv[0] for argv in invocations}
    assert {"serve", "healthcheck", "deliver", "init"} <= commands, commands
    assert not _cli_problems(invocations)
    assert _cli_problems([["serve", "--config", "x", "--listen", "0.0.0.0"]]) == ["serve: no option --listen"]
    assert _cli_problems([["worker", "--config", "x"]]) == ["no command in ['worker', '--config', 'x']"]
    assert _cli_problems([["audit", "--config", "x"]]) == ["no command in ['audit', '--config', 'x']"]


def _option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def test_ports_and_probe_paths_agree_with_the_gateway() -> None:
    from gateway.api import router

    routes = {getattr(route, "path", None) for route in router.routes}
    # The Dockerfile: the port served, exposed and probed is one port.
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    arrays = _dockerfile_arrays()
    exposed = re.findall(r"^EXPOSE (\d+)$", text, flags=re.MULTILINE)
    assert exposed == [_option(arrays["CMD"], "--port")] == [_option(arrays["HEALTHCHECK"], "--port")]
    assert _option(arrays["HEALTHCHECK"], "--path") in (None, *routes)
    # Kubernetes: probes on the port `serve` listens on, on paths the gateway answers.
    api = next(c for c in _kubernetes_containers() if c["args"][0] == "serve")
    port = int(_option(api["args"], "--port") or 0)
    assert _option(api["args"], "--host") == "0.0.0.0"  # a probe comes from the kubelet, not 127.0.0.1
    assert [p["containerPort"] for p in api["ports"]] == [port]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        check = api[probe]["httpGet"]
        assert check["port"] == port and check["scheme"] == "HTTPS", (probe, check)
        assert check["path"] in routes, (probe, check["path"])
    assert {"/healthz", "/readyz"} <= routes
    # HAProxy checks a path the gateway answers.
    haproxy = (DEPLOY / "ingress" / "haproxy.cfg.template").read_text(encoding="utf-8")
    assert set(re.findall(r"option httpchk GET (\S+)", haproxy)) <= routes


def test_secrets_the_deploy_readme_creates_are_not_committed() -> None:
    """deploy/README.md has the compose stack's keys and passwords written into the checkout."""
    import shutil
    import subprocess

    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        import pytest

        pytest.skip("not a git checkout")
    created = ["deploy/meerpunt/pki/server.key", "deploy/gateway.env", "deploy/db_password.txt"]
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    assert all(path.split("/pki/")[0] in readme for path in created)
    result = subprocess.run(
        [git, "check-ignore", "--no-index", *created], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert set(result.stdout.split()) == set(created), f"not in .gitignore: {result.stdout!r}"
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {"deploy/meerpunt", "deploy/gateway.env", "deploy/db_password.txt", ".dev", ".venv"} <= set(
        ignored
    )
