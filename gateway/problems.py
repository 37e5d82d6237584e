"""RFC 9457 problem details: the one error shape of the API (SPEC §6).

Domain code raises `Problem` (or a subclass naming its rule); one exception handler renders it as
`application/problem+json`. Rule violations carry `violations: [{code, article, message}]` so a
partner's system can show the professional exactly which article a request breaks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

PROBLEM_BASE = "https://meerpunt.invalid/problems/"
PROBLEM_JSON = "application/problem+json"


class ViolationLike(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def article(self) -> str: ...
    @property
    def message(self) -> str: ...


@dataclass(frozen=True)
class RuleViolation:
    code: str
    article: str
    message: str


class Problem(Exception):
    """An error the client can act on; `slug` becomes the problem `type` URI."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"
    #: True when the work done before the refusal must still commit (e.g. the register entry that
    #: records the refusal itself, or the expiry of a held override).
    commit: bool = False

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        slug: str | None = None,
        title: str | None = None,
        violations: Iterable[ViolationLike] = (),
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        commit: bool = False,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        if slug is not None:
            self.slug = slug
        if title is not None:
            self.title = title
        self.violations: Sequence[ViolationLike] = tuple(violations)
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})
        self.commit = commit

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.violations:
            body["violations"] = [
                {"code": v.code, "article": v.article, "message": v.message} for v in self.violations
            ]
        body.update(self.extra)
        return body


class NotAuthenticated(Problem):
    status, slug, title = 401, "not-authenticated", "Not authenticated"


class BearerTokenRefused(NotAuthenticated):
    """401 for officer and citizen routes, with the challenge RFC 6750 (and RFC 9110) require."""

    def __init__(self, detail: str, *, slug: str, invalid: bool = False) -> None:
        challenge = 'Bearer realm="meerpunt-gateway"' + (', error="invalid_token"' if invalid else "")
        super().__init__(detail, slug=slug, headers={"WWW-Authenticate": challenge})


class Forbidden(Problem):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(Problem):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(Problem):
    status, slug, title = 409, "conflict", "Conflict"


class RuleBroken(Problem):
    """A request that is well-formed but breaks a rule of the Privacyreglement (422)."""

    status, slug, title = 422, "rule-violation", "The request breaks a rule of the Privacyreglement Meerpunt"


class PayloadTooLarge(Problem):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class ShuttingDown(Problem):
    """503 for a request the shutdown grace period ran out on (docs/operations.md, "Shutdown")."""

    status, slug, title = 503, "shutting-down", "The gateway is shutting down"
