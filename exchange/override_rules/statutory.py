"""Disclosure on a statutory ground instead of consent (art. 5.1): which grounds, and the reasons.

Not an override: the law replaces consent, so none of art. 7's conditions apply; only the ground
and a written justification are checked.
"""

from __future__ import annotations

from collections.abc import Collection

from exchange.override_rules.types import Violation, ViolationCode
from exchange.override_rules.values import _is_text
from exchange.substantive_text import MIN_DISTINCT_WORDS

DEFAULT_STATUTORY_GROUNDS: tuple[str, ...] = (
    "wet_verplichte_meldcode_veilig_thuis",
    "jeugdwet_7_1_4_raad_voor_de_kinderbescherming",
    "court_order",
)
"""Statutory grounds accepted when configuration does not say otherwise (art. 5.1)."""

STATUTORY_MIN_JUSTIFICATION_CHARS = 20
"""Minimum length of the justification accompanying a statutory ground."""


def validate_statutory(
    ground: object, justification: object, allowed_grounds: Collection[str]
) -> list[Violation]:
    """Check a disclosure on a statutory ground instead of consent (art. 5.1).

    Art. 5.1: each partner processes in accordance with the law, and where the law and
    the regulation conflict, the law prevails. A statutory duty or power (e.g. the
    meldcode, a request of the Raad voor de Kinderbescherming, a court order) therefore
    replaces consent, provided the ground is one the deployment recognises and the
    reasons are written down.
    """
    violations: list[Violation] = []
    if not isinstance(ground, str) or ground not in allowed_grounds:
        allowed = ", ".join(sorted(allowed_grounds)) or "(none configured)"
        violations.append(
            Violation(
                code=ViolationCode.STATUTORY_GROUND_INVALID,
                article="5.1",
                message=f"statutory ground {ground!r} is not recognised; allowed: {allowed}",
            )
        )
    if not _is_text(justification, STATUTORY_MIN_JUSTIFICATION_CHARS):
        violations.append(
            Violation(
                code=ViolationCode.JUSTIFICATION_INSUFFICIENT,
                article="5.1",
                message=(
                    "justification must explain which legal provision applies and why, in at least "
                    f"{STATUTORY_MIN_JUSTIFICATION_CHARS} characters and {MIN_DISTINCT_WORDS} different words"
                ),
            )
        )
    return violations
