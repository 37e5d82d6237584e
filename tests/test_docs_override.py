"""docs/override.md stays in step with exchange.override_rules.

Professionals read that page at night under stress; a ground, condition or field the
gateway knows but the page does not mention is a request they cannot get right.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from exchange.override_rules import (
    CONDITIONS,
    DEFAULT_STATUTORY_GROUNDS,
    Consulted,
    OverrideClaim,
    OverrideGround,
    WaiverGround,
    approval_violations,
    validate_override,
    validate_statutory,
)

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "override.md"
SEEDS = ROOT.parent / "shared" / "seeds"

FIELDS = (
    "legal_basis.type",
    "override",
    "statutory",
    "ground",
    "justification",
    "conditions",
    "consulted",
    "name",
    "role",
    "consulted_at",
    "inform_subject",
    "planned",
    "waived",
    "waiver_ground",
    "explanation",
    "professional",
    "verdict",
    "justified",
    "not_justified",
    "note",
    "informed_at",
    "how",
    "by",
)
ENDPOINTS = (
    "POST /v1/overrides/{id}/approve",
    "POST /v1/overrides/{id}/subject-informed",
    "POST /v1/overrides/{id}/review",
)
REVIEW_STATUSES = ("pending_review", "overdue", "reviewed", "awaiting_approval")


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def sections() -> dict[str, str]:
    """The level-2 sections of the page, by heading."""
    parts = re.split(r"^## +(.+)$", doc_text(), flags=re.MULTILINE)
    return {heading.strip(): body for heading, body in zip(parts[1::2], parts[2::2], strict=True)}


def code_spans(markdown: str) -> set[str]:
    without_blocks = re.sub(r"^```.*?^```", "", markdown, flags=re.MULTILINE | re.DOTALL)
    return set(re.findall(r"`([^`\n]+)`", without_blocks))


def all_violation_codes() -> set[str]:
    """Every code the rules can produce, found by breaking every rule once."""
    empty = OverrideClaim(
        ground=None,
        justification=None,
        conditions={},
        consulted=[],
        inform_planned=False,
        inform_waived=False,
        waiver_ground=None,
        waiver_explanation=None,
    )
    broken_consultation = OverrideClaim(
        ground=None,
        justification=None,
        conditions={},
        consulted=[Consulted(name="me", role="", consulted_at=None)],
        inform_planned=False,
        inform_waived=True,
        waiver_ground=None,
        waiver_explanation=None,
    )
    at = datetime(2025, 1, 1)
    violations = [
        *validate_override(empty, acting_professional_id="me", acting_professional_name="Me", at=at),
        *validate_override(
            broken_consultation, acting_professional_id="me", acting_professional_name="Me", at=at
        ),
        *validate_statutory(None, None, ()),
        *approval_violations("p", "p", "a", "b"),
    ]
    return {v.code for v in violations}


@pytest.mark.parametrize("language", ["English", "Nederlands"])
def test_every_value_and_field_is_documented_in_both_languages(language: str) -> None:
    spans = code_spans(sections()[language])
    required = {
        *(g.value for g in OverrideGround),
        *(g.value for g in WaiverGround),
        *CONDITIONS,
        *DEFAULT_STATUTORY_GROUNDS,
        *FIELDS,
        *ENDPOINTS,
        *(f"GET /v1/overrides?status={status}" for status in REVIEW_STATUSES),
        *all_violation_codes(),
    }
    missing = sorted(required - spans)
    assert not missing, f"not in backticks in the {language} section of docs/override.md: {missing}"


def test_violation_codes_cover_every_rule() -> None:
    # Guards the helper above: if a rule is added, it must be broken there too.
    assert all_violation_codes() == {
        "override_ground_invalid",
        "justification_insufficient",
        "condition_not_affirmed",
        "consultation_missing",
        "consultation_incomplete",
        "consulted_self",
        "inform_subject_missing",
        "waiver_ground_invalid",
        "waiver_explanation_missing",
        "statutory_ground_invalid",
        "four_eyes_same_professional",
        "four_eyes_other_partner",
    }


def test_the_page_starts_with_a_checklist() -> None:
    for language in ("English", "Nederlands"):
        first_heading = re.search(r"^### +(.+)$", sections()[language], flags=re.MULTILINE)
        assert first_heading is not None
        assert first_heading.group(1).strip() == "Checklist"


def json_blocks() -> list[Any]:
    return [json.loads(block) for block in re.findall(r"^```json\n(.*?)^```", doc_text(), re.M | re.S)]


def test_the_example_request_passes_the_rules() -> None:
    body = json_blocks()[0]
    basis = body["legal_basis"]
    assert basis["type"] == "override"
    assert set(basis["conditions"]) == set(CONDITIONS)
    consulted = [
        Consulted(
            name=c["name"],
            role=c["role"],
            consulted_at=datetime.fromisoformat(c["consulted_at"].replace("Z", "+00:00")),
        )
        for c in basis["consulted"]
    ]
    inform = basis["inform_subject"]
    claim = OverrideClaim(
        ground=basis["ground"],
        justification=basis["justification"],
        conditions=basis["conditions"],
        consulted=consulted,
        inform_planned=inform.get("planned") is True,
        inform_waived=inform.get("waived") is True,
        waiver_ground=inform.get("waiver_ground"),
        waiver_explanation=inform.get("explanation"),
    )
    decided_at = max(c.consulted_at for c in consulted if c.consulted_at is not None)
    professional = body["professional"]
    assert (
        validate_override(
            claim,
            acting_professional_id=professional["id"],
            acting_professional_name=professional["name"],
            at=decided_at,
        )
        == []
    )


def test_the_example_waiver_and_statutory_bodies_pass_the_rules() -> None:
    _, waiver, statutory = json_blocks()
    claim = OverrideClaim(
        ground=OverrideGround.ART7_5_NOT_ASKED_SAFETY.value,
        justification=json_blocks()[0]["legal_basis"]["justification"],
        conditions=dict.fromkeys(CONDITIONS, True),
        consulted=[Consulted(name="Jan Bakker", role="teamleider", consulted_at=datetime(2025, 1, 1))],
        inform_planned=False,
        inform_waived=waiver["waived"],
        waiver_ground=waiver["waiver_ground"],
        waiver_explanation=waiver["explanation"],
    )
    at = datetime(2025, 1, 1)
    assert validate_override(claim, acting_professional_id="p", acting_professional_name="P", at=at) == []
    assert statutory["type"] == "statutory"
    assert (
        validate_statutory(statutory["ground"], statutory["justification"], DEFAULT_STATUTORY_GROUNDS) == []
    )


def test_article_7_is_quoted_word_for_word() -> None:
    seeds = sorted(SEEDS.glob("001_*.txt"))
    if not seeds:
        pytest.skip("regulation text (../shared/seeds/001_*.txt) not available")
    regulation = seeds[0].read_text(encoding="utf-8")
    article = re.search(r"^Artikel 7 .*?\n(.*?)^Artikel 8 ", regulation, flags=re.MULTILINE | re.DOTALL)
    assert article is not None
    quote_section = next(body for heading, body in sections().items() if "artikel 7" in heading.lower())
    quoted = "\n".join(line[1:] for line in quote_section.splitlines() if line.startswith(">"))
    assert re.findall(r"\w+", quoted) == re.findall(r"\w+", article.group(1))
