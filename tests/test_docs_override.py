"""docs/override.md stays in step with the code of the override path.

Professionals read that page at night under stress; a ground, condition, field, status, code or
setting the gateway knows but the page does not mention is a request they cannot get right. So
everything checked here is *taken from the code*: the API models' JSON schemas, the status filter,
the settings, the registries of violation codes and 409 problem types, the metric families.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from exchange.legal_basis import override_claim
from exchange.override_hold import ApprovalIn
from exchange.override_metrics import families
from exchange.override_rules import (
    CONDITIONS,
    DEFAULT_STATUTORY_GROUNDS,
    ConflictSlug,
    OverrideGround,
    ViolationCode,
    WaiverGround,
    parse_moment,
    validate_override,
    validate_statutory,
)
from exchange.overrides import ReviewIn, StatusFilter, SubjectInformedIn
from exchange.schemas import DisclosureIn, LegalBasisIn
from gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "override.md"
ARTICLE_COPY = ROOT / "docs" / "sources" / "privacyreglement-art7.txt"
SEEDS = ROOT.parent / "shared" / "seeds"

#: The request bodies of the override path, as the API parses them.
BODY_MODELS: tuple[type[BaseModel], ...] = (LegalBasisIn, ApprovalIn, SubjectInformedIn, ReviewIn)
ENDPOINTS = (
    "POST /v1/overrides/{id}/approve",
    "POST /v1/overrides/{id}/subject-informed",
    "POST /v1/overrides/{id}/review",
)
EXCHANGE = ROOT / "exchange"


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def sections() -> dict[str, str]:
    """The level-2 sections of the page, by heading."""
    parts = re.split(r"^## +(.+)$", doc_text(), flags=re.MULTILINE)
    return {heading.strip(): body for heading, body in zip(parts[1::2], parts[2::2], strict=True)}


def code_spans(markdown: str) -> set[str]:
    without_blocks = re.sub(r"^```.*?^```", "", markdown, flags=re.MULTILINE | re.DOTALL)
    return set(re.findall(r"`([^`\n]+)`", without_blocks))


def _schema_words(node: Any) -> Iterator[str]:
    """Property names and literal values anywhere in a JSON schema (including its `$defs`)."""
    if isinstance(node, dict):
        for name, value in node.get("properties", {}).items():
            yield name
            yield from _schema_words(value)
        for key in ("enum",):
            for value in node.get(key, []):
                if isinstance(value, str):
                    yield value
        if isinstance(node.get("const"), str):
            yield node["const"]
        for key, value in node.items():
            if key != "properties":
                yield from _schema_words(value)
    elif isinstance(node, list):
        for item in node:
            yield from _schema_words(item)


def api_words() -> set[str]:
    return {word for model in BODY_MODELS for word in _schema_words(model.model_json_schema())}


def override_settings() -> set[str]:
    return {name for name in Settings.model_fields if name.startswith("override_")} | {"statutory_grounds"}


def default_statutory_grounds() -> list[str]:
    factory = Settings.model_fields["statutory_grounds"].default_factory
    assert factory is not None
    return list(factory())  # type: ignore[call-arg]


def metric_names() -> set[str]:
    # A counter family named x is exposed as x_total.
    return {family.name + ("_total" if family.type == "counter" else "") for family in families([])}


def required_terms() -> set[str]:
    return {
        *api_words(),
        "legal_basis.type",
        *(g.value for g in OverrideGround),
        *(g.value for g in WaiverGround),
        *CONDITIONS,
        *default_statutory_grounds(),
        *ENDPOINTS,
        *(f"GET /v1/overrides?status={status}" for status in get_args(StatusFilter)),
        *(code.value for code in ViolationCode),
        *(slug.value for slug in ConflictSlug),
        *override_settings(),
        *metric_names(),
    }


@pytest.mark.parametrize("language", ["English", "Nederlands"])
def test_every_value_field_code_and_setting_is_documented_in_both_languages(language: str) -> None:
    spans = code_spans(sections()[language])
    # A field written with its path (`legal_basis.type`) documents the field (`type`).
    spans |= {span.rsplit(".", 1)[-1] for span in spans if "." in span and " " not in span}
    missing = sorted(required_terms() - spans)
    assert not missing, f"not in backticks in the {language} section of docs/override.md: {missing}"


def test_the_derived_terms_see_new_fields_and_values() -> None:
    # Guards the derivation itself: fields of nested models and literal values are found.
    words = api_words()
    assert {"consulted_at", "waiver_ground", "refusal_discussion", "summary", "professional"} <= words
    assert {"override", "statutory", "justified", "not_justified"} <= words
    assert set(get_args(StatusFilter)) >= {"pending_review", "overdue", "expired"}


def test_settings_use_the_one_list_of_default_statutory_grounds() -> None:
    assert default_statutory_grounds() == list(DEFAULT_STATUTORY_GROUNDS)


def _modules() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(EXCHANGE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def test_every_violation_of_the_override_rules_uses_the_code_registry() -> None:
    """A code written as a bare string would escape the registry, and therefore the docs check."""
    calls = [
        (path, node)
        for path in sorted((EXCHANGE / "override_rules").glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Violation"
    ]
    assert calls, "no Violation(...) found in exchange/override_rules/"
    for path, node in calls:
        code = node.args[0] if node.args else next(k.value for k in node.keywords if k.arg == "code")
        assert isinstance(code, ast.Attribute) and getattr(code.value, "id", None) == "ViolationCode", (
            f"override_rules/{path.name} line {node.lineno}: use ViolationCode, not {ast.unparse(code)}"
        )


def _is_conflict_details(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.AnnAssign | ast.Assign) and "CONFLICT_DETAILS" in {
        target.id
        for target in (statement.targets if isinstance(statement, ast.Assign) else [statement.target])
        if isinstance(target, ast.Name)
    }


def test_every_registered_code_and_slug_is_used() -> None:
    """No dead entries: each code and 409 type in the registries is raised somewhere."""
    used = {
        (node.value.id, node.attr)
        for _, module in _modules()
        for statement in module.body
        if not _is_conflict_details(statement)  # naming every slug, it would prove nothing
        for node in ast.walk(statement)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
    }
    for registry in (ViolationCode, ConflictSlug):
        dead = [member.name for member in registry if (registry.__name__, member.name) not in used]
        assert not dead, f"{registry.__name__} members never used: {dead}"


def test_the_page_starts_with_a_checklist() -> None:
    for language in ("English", "Nederlands"):
        first_heading = re.search(r"^### +(.+)$", sections()[language], flags=re.MULTILINE)
        assert first_heading is not None
        assert first_heading.group(1).strip() == "Checklist"


def json_blocks() -> list[Any]:
    return [json.loads(block) for block in re.findall(r"^```json\n(.*?)^```", doc_text(), re.M | re.S)]


def _decided_at(body: dict[str, Any]) -> dt.datetime:
    moments = [parse_moment(c["consulted_at"])[0] for c in body["legal_basis"]["consulted"]]
    return max(m for m in moments if m is not None)


def test_the_example_request_passes_the_api_and_the_rules() -> None:
    body = DisclosureIn.model_validate(json_blocks()[0])
    assert body.legal_basis.type == "override"
    assert set(body.legal_basis.conditions) == set(CONDITIONS)
    violations = validate_override(
        override_claim(body.legal_basis),
        acting_professional_id=body.professional.id,
        acting_professional_name=body.professional.name,
        at=_decided_at(json_blocks()[0]),
    )
    assert violations == []


def test_the_example_variants_pass_the_api_and_the_rules() -> None:
    request, waiver, discussion, statutory, *_ = json_blocks()
    at = _decided_at(request)
    for change in ({"inform_subject": waiver}, {"refusal_discussion": discussion}):
        variant = dict(request, legal_basis={**request["legal_basis"], **change})
        body = DisclosureIn.model_validate(variant)
        assert (
            validate_override(
                override_claim(body.legal_basis),
                acting_professional_id=body.professional.id,
                acting_professional_name=body.professional.name,
                at=at,
            )
            == []
        ), change
    parsed = LegalBasisIn.model_validate(statutory)
    assert parsed.type == "statutory"
    assert validate_statutory(parsed.ground, parsed.justification, DEFAULT_STATUTORY_GROUNDS) == []


def test_the_follow_up_examples_match_the_api() -> None:
    blocks = json_blocks()[4:]
    assert [sorted(b) for b in blocks] == [
        sorted(ApprovalIn.model_json_schema()["properties"]),
        sorted(SubjectInformedIn.model_json_schema()["properties"]),
        sorted(ReviewIn.model_json_schema()["properties"]),
    ]
    ApprovalIn.model_validate(blocks[0])
    SubjectInformedIn.model_validate(blocks[1])
    ReviewIn.model_validate(blocks[2])


def _article_text() -> str:
    copy = ARTICLE_COPY.read_text(encoding="utf-8").split("---\n", 1)[1]
    article = re.search(r"^Artikel 7 .*?\n(.*)", copy, flags=re.MULTILINE | re.DOTALL)
    assert article is not None
    return article.group(1)


def test_article_7_is_quoted_word_for_word() -> None:
    quote_section = next(body for heading, body in sections().items() if "artikel 7" in heading.lower())
    quoted = "\n".join(line[1:] for line in quote_section.splitlines() if line.startswith(">"))
    assert re.findall(r"\w+", quoted) == re.findall(r"\w+", _article_text())


def test_the_copy_of_article_7_matches_the_regulation() -> None:
    seeds = sorted(SEEDS.glob("001_*.txt"))
    if not seeds:
        pytest.skip("regulation text (../shared/seeds/001_*.txt) not available; the copy is checked above")
    regulation = seeds[0].read_text(encoding="utf-8")
    article = re.search(r"^Artikel 7 .*?\n(.*?)^Artikel 8 ", regulation, flags=re.MULTILINE | re.DOTALL)
    assert article is not None
    assert article.group(1).strip() == _article_text().strip()
