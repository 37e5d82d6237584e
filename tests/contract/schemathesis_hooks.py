"""A check of our own for schemathesis runs (loaded through SCHEMATHESIS_HOOKS).

`positive_data_acceptance` is told to accept 400 and 422 as well: a request can fit the document
and still break a rule of the Privacyreglement that no JSON Schema can state (a BSN's 11-check,
who must sign a consent for a child of 13, a cursor this gateway never gave out). What a
schema-valid request must never get is a refusal *of its shape*: that would be a constraint the
document is missing. This check fails exactly then.
"""

from __future__ import annotations

import json

import schemathesis
from schemathesis import CheckContext, Response

#: Problem types the gateway uses for "the request does not fit the contract".
SHAPE_REFUSALS = ("invalid-request", "malformed-json", "bad-request", "payload-too-large")


@schemathesis.check
def schema_valid_request_not_refused_for_shape(ctx: CheckContext, response: Response, case: object) -> None:
    meta = getattr(case, "meta", None)
    if meta is None or not meta.generation.mode.is_positive or response.status_code not in (400, 422):
        return
    try:
        problem_type = str(json.loads(response.content).get("type", ""))
    except (ValueError, AttributeError):
        problem_type = ""
    if problem_type.endswith(SHAPE_REFUSALS):
        raise AssertionError(
            f"Schema-valid request refused for its shape: {response.status_code} {problem_type} "
            f"({response.content[:300]!r}); the document lacks a constraint the API applies"
        )
