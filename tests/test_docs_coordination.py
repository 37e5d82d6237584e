"""docs/coordination.md stays in step with the code and quotes the seeds word for word."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from coordination import api, rules
from coordination.schemas import CoordinatorIn

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "coordination.md").read_text(encoding="utf-8")
SEEDS = ROOT.parent / "shared" / "seeds"


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_every_route_notice_type_form_and_step_is_documented() -> None:
    for route in api.router.routes:
        assert isinstance(route, APIRoute)
        for method in route.methods:
            assert f"{method} {route.path}" in DOC, route.path
    for notice_type, field in rules.NOTICE_TYPES.items():
        assert f"`{notice_type}`" in DOC and (field is None or f"`{field}`" in DOC)
    for form in CoordinatorIn.model_fields["form"].annotation.__args__:  # type: ignore[union-attr]
        assert f"`{form}`" in DOC
    for code in ("no_coordinator", "consent_denied", "coordination_designated", "coordination_handed_over"):
        assert code in DOC


def test_the_checklist_is_bijlage_vi_word_for_word() -> None:
    for _step, text in rules.CHECKLIST:
        assert len(text) > 40
    quoted = [line[4:] for line in DOC.splitlines() if line.startswith("> - ")]
    texts = [text for _step, text in rules.CHECKLIST]
    assert all(q in texts for q in quoted if q.startswith(("De problematiek", "Er is", "De hulp en")))


def test_quotes_are_verbatim_from_the_seeds() -> None:
    seeds = sorted(SEEDS.glob("001_*.txt"))
    if not seeds:
        pytest.skip("the seeds are not next to this checkout")
    source = _words(seeds[0].read_text(encoding="utf-8"))
    quotes = [line[2:].removeprefix("- ") for line in DOC.splitlines() if line.startswith("> ")]
    assert len(quotes) >= 10
    for quote in quotes:
        assert _words(quote) in source, quote
    for _step, text in rules.CHECKLIST:
        assert _words(text) in source, text
