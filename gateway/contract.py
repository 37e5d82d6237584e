"""Shared constraints of the API contract: one definition for the document and the checks.

Each type below is used by the request models *and* rendered into the OpenAPI document, so what
a generated client is told and what the gateway refuses cannot drift apart. Where the gateway
refuses with a rule of the Privacyreglement naming its article (a BSN's 11-check, an unknown
partner), the document states the shape (`pattern`, `minItems`) and the service keeps the
refusal, so the partner still learns *which* article a value breaks.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import Header, Query
from pydantic import AwareDatetime, BeforeValidator, Field

BSN_PATTERN = r"^[0-9]{9}$"
OIN_PATTERN = r"^[0-9]{20}$"
CATEGORY_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{0,500}$"
#: A header value of 1-200 characters with no control characters and not only spaces, as
#: `audit.service.professional_from_headers` checks it (art. 18.3).
HEADER_TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f\x85\xa0][^\x00-\x1f\x7f]*$"
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,200}$"

BSN_DESCRIPTION = (
    "Burgerservicenummer: 9 digits passing the 11-check (9·d1 + 8·d2 + … + 2·d8 − 1·d9 is a "
    "multiple of 11, and not 000000000). A number failing the 11-check is refused with 422 naming the rule."
)
OIN_DESCRIPTION = "Organisatie-identificatienummer (OIN) of a Meerpunt partner: 20 digits."
CATEGORY_DESCRIPTION = "Code of a data category of the taxonomy (`GET /v1/categories`)."


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339_text(value: Any) -> Any:
    """Only RFC 3339 text with an offset (NL API Design Rules /core/date-time): pydantic would
    otherwise read `0.5` as seconds since 1970, which the document's `date-time` does not allow."""
    if isinstance(value, str) and not _RFC3339.fullmatch(value):
        raise ValueError("expected an RFC 3339 date-time with offset, e.g. 2026-01-31T12:00:00Z")
    return value


#: A moment as RFC 3339 `date-time` with an offset (`Z` or `+01:00`).
Rfc3339 = Annotated[dt.datetime, AwareDatetime, BeforeValidator(_rfc3339_text)]


def _schema(pattern: str, description: str, **more: Any) -> dict[str, Any]:
    return {"pattern": pattern, "description": description, **more}


#: In bodies. `max_length` stays generous: the service names the article of a wrong value.
Bsn = Annotated[str, Field(max_length=32, json_schema_extra=_schema(BSN_PATTERN, BSN_DESCRIPTION))]
Oin = Annotated[str, Field(max_length=40, json_schema_extra=_schema(OIN_PATTERN, OIN_DESCRIPTION))]
CategoryCode = Annotated[
    str, Field(max_length=64, json_schema_extra=_schema(CATEGORY_PATTERN, CATEGORY_DESCRIPTION))
]


def categories(max_items: int) -> Any:
    """A non-empty list of category codes (art. 5.2: a disclosure declares what it carries)."""
    return Field(max_length=max_items, json_schema_extra={"minItems": 1, "uniqueItems": False})


#: In query strings.
BsnQuery = Annotated[
    str | None, Query(max_length=32, json_schema_extra=_schema(BSN_PATTERN, BSN_DESCRIPTION))
]
OinQuery = Annotated[
    str | None, Query(max_length=40, json_schema_extra=_schema(OIN_PATTERN, OIN_DESCRIPTION))
]
CategoryQuery = Annotated[
    str | None, Query(max_length=64, json_schema_extra=_schema(CATEGORY_PATTERN, CATEGORY_DESCRIPTION))
]
Cursor = Annotated[
    str | None,
    Query(
        max_length=500,
        # In the document only: a cursor of any other shape is refused like a forged one (400
        # `invalid-cursor`), as before.
        json_schema_extra={"pattern": CURSOR_PATTERN},
        description="Opaque cursor from a previous page's `next_cursor` (absent or empty: the first page); "
        "one not given out is refused (400).",
    ),
]


def professional_header(suffix: str, what: str) -> Any:
    """`Meerpunt-Professional-<suffix>`."""
    return Header(
        alias=f"Meerpunt-Professional-{suffix}",
        description=f"The acting professional's {what} (art. 18.3); 1-200 characters, no control characters.",
        json_schema_extra={"pattern": HEADER_TEXT_PATTERN, "minLength": 1, "maxLength": 200},
    )


IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Chosen by the sender per send (e.g. a UUID); a retry with the same key and body "
        "returns the first answer and never sends twice.",
    ),
]


def bsn_schema() -> dict[str, Any]:
    return _schema(BSN_PATTERN, BSN_DESCRIPTION)
