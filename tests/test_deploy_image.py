"""The production image (deploy/Dockerfile) holds every package the gateway imports.

The image builds its wheel from the directories the Dockerfile copies, so a package left out of
the COPY lines is missing from the image and `serve` dies at import, although every other test
passes (they run from the checkout). `web` and `coordination` were once missing this way.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

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
