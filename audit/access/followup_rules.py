"""Pure rules of the follow-up rights asked for after reading a report (art. 11-14).

No I/O and no clock. Who may ask: whoever may read the released report (the requester(s) of
the access request, art. 10 and 16). What they ask must be specific: a correction names one
disclosure in their report and says what is wrong (art. 11.1: "zet in uw verzoek wat er moet
veranderen"). Who handles it: the central privacy officer, or for a correction also the officer
of the partner that sent the disclosure (that partner sends the correction, art. 11.4).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from gateway.problems import RuleViolation


@dataclass(frozen=True)
class FollowUpKind:
    code: str
    article: str
    title_nl: str
    ask_nl: str


KINDS: dict[str, FollowUpKind] = {
    "correction": FollowUpKind(
        "correction",
        "11",
        "Correctie",
        "Wat klopt er niet, en wat moet het zijn? Zet in uw verzoek wat er moet veranderen.",
    ),
    "objection": FollowUpKind(
        "objection", "13", "Bezwaar", "Waarom maakt u bezwaar? Vertel iets over uw persoonlijke situatie."
    ),
    "restriction": FollowUpKind(
        "restriction", "14", "Beperking", "Waarom wilt u dat uw gegevens niet meer gedeeld worden?"
    ),
    "erasure": FollowUpKind(
        "erasure", "12", "Verwijdering", "Welke gegevens wilt u laten verwijderen, en waarom?"
    ),
}
STATUSES = ("received", "handled", "declined")
MIN_EXPLANATION = 10


def follow_up_violations(
    kind: str, explanation: str, entry_id: str | None, report_entries: Collection[str]
) -> list[RuleViolation]:
    """What is missing before a follow-up request can be lodged (art. 11.1, 12-14)."""
    violations = []
    if kind not in KINDS:
        violations.append(
            RuleViolation("unknown_kind", "11", "kind is correction, objection, restriction or erasure")
        )
    if len(explanation.strip()) < MIN_EXPLANATION:
        violations.append(
            RuleViolation(
                "explanation_missing",
                KINDS[kind].article if kind in KINDS else "11",
                "say what you ask and why",
            )
        )
    if kind == "correction" and (entry_id is None or entry_id not in report_entries):
        violations.append(
            RuleViolation(
                "disclosure_unknown", "11", "a correction names one disclosure of the released report"
            )
        )
    return violations


def may_handle(central: bool, org: str | None, kind: str, sender: str | None) -> bool:
    """The central officer handles every follow-up; a partner's officer the corrections of
    disclosures their organisation sent (art. 11.4: the sender passes the correction on)."""
    return central or (kind == "correction" and sender is not None and org == sender)
