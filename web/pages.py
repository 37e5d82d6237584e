"""What every page handler shares: the signed-in person, rendering, redirects, refusals.

Page handlers are plain functions of the request's unit of work (`SessionDep`), like the API's:
they call the same services, so scoping and the registration of reads (art. 8, 18.3) are the
API's own, not a copy.
"""

from __future__ import annotations

import logging
from typing import Any, Literal
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway import errors as api_errors
from gateway.principals import CitizenPrincipal, OfficerPrincipal, ProfessionalPrincipal
from gateway.problems import Problem
from gateway.runtime import Runtime
from web.security import same_origin
from web.sessions import SESSION_COOKIE, PageSession, find_session
from web.templating import render

log = logging.getLogger("meerpunt.web")

PAGE_PREFIXES = ("/console", "/mijn", "/auth", "/ophalen")
UserGroup = Literal["officers", "citizens", "professionals"]


class SignInRequired(Problem):
    """No live session: the person is sent to sign in and brought back afterwards."""

    status, slug, title = 401, "sign-in-required", "Sign-in required"

    def __init__(self, group: UserGroup, return_to: str) -> None:
        super().__init__("Sign in first.", commit=True)
        self.group = group
        self.return_to = return_to


class PageRefused(Problem):
    """A page this person may not use; `page` names the Dutch explanation to show."""

    status, slug, title = 403, "forbidden", "Forbidden"

    def __init__(self, page: str, detail: str = "Not for this person.", *, status: int = 403) -> None:
        super().__init__(detail, status=status, commit=True)
        self.page = page


def is_page_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PAGE_PREFIXES)


def current_session(request: Request, db: Session, runtime: Runtime) -> PageSession | None:
    cached: PageSession | None = getattr(request.state, "page_session", None)
    if cached is None:
        cached = find_session(db, runtime, request.cookies.get(SESSION_COOKIE))
        request.state.page_session = cached
    return cached


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def require_officer(request: Request, db: Session, runtime: Runtime) -> tuple[PageSession, OfficerPrincipal]:
    """The console is for privacy officers only: a citizen's session never opens it (SPEC §9)."""
    session = current_session(request, db, runtime)
    if session is None:
        raise SignInRequired("officers", _here(request))
    if session.officer is None:
        raise PageRefused("not_for_citizens", "A citizen's session cannot open the console.")
    request.state.principal = session.officer
    return session, session.officer


def require_citizen(request: Request, db: Session, runtime: Runtime) -> tuple[PageSession, CitizenPrincipal]:
    session = current_session(request, db, runtime)
    if session is None:
        raise SignInRequired("citizens", _here(request))
    if session.citizen is None:
        raise PageRefused("not_for_officers", "This portal is for citizens.")
    request.state.principal = session.citizen
    return session, session.citizen


def require_professional(
    request: Request, db: Session, runtime: Runtime
) -> tuple[PageSession, ProfessionalPrincipal]:
    """The pickup page: a professional of a partner (an officer of that partner may read too)."""
    session = current_session(request, db, runtime)
    if session is None:
        raise SignInRequired("professionals", _here(request))
    person = session.professional
    if person is None and session.officer is not None and runtime.partners.get(session.officer.org):
        person = ProfessionalPrincipal(session.officer.subject, session.officer.org, session.officer.name)
    if person is None:
        raise PageRefused("not_for_citizens", "This page is for professionals of a Meerpunt partner.")
    return session, person


def check_form(request: Request, session: PageSession, csrf_token: str | None) -> None:
    """Every state-changing form carries the session's CSRF token and comes from this site."""
    if not same_origin(request.headers, request.headers.get("host")) or not session.csrf_ok(csrf_token):
        raise PageRefused("csrf", "The form was not sent from this session's page (CSRF check).")


def active_link(path: str, navigation: tuple[tuple[str, str], ...]) -> str:
    """The navigation entry a path belongs to: the longest link that is the path or a parent of it."""
    matches = [href for href, _ in navigation if path == href or path.startswith(href + "/")]
    return max(matches, key=len, default=navigation[0][0])


def page(
    request: Request,
    template: str,
    *,
    status: int = 200,
    session: PageSession | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    if session is None:
        session = getattr(request.state, "page_session", None)
    if "navigation" in context:
        context.setdefault("active", active_link(request.url.path, context["navigation"]))
    html = render(template, request_path=request.url.path, session=session, **context)
    return HTMLResponse(html, status_code=status, headers=headers)


def redirect(url: str) -> RedirectResponse:
    # 303: after a form post the browser fetches the next page with GET.
    return RedirectResponse(url, status_code=303)


# -- errors on page paths: Dutch pages, never JSON or a stack trace ------------------------------

_STATUS_PAGES = {
    400: "Het formulier of de link klopt niet.",
    404: "Deze pagina bestaat niet, of u mag hem niet zien.",
    405: "Deze pagina werkt zo niet.",
    409: "Dit kan nu niet, omdat de situatie intussen veranderd is.",
    413: "Wat u stuurde is te groot.",
    422: "Wat u invulde klopt nog niet.",
    503: "Dit onderdeel is even niet bereikbaar. Probeer het over een paar minuten opnieuw.",
}


def _error_page(request: Request, status: int, message: str, detail: Problem | None = None) -> HTMLResponse:
    violations = list(detail.violations) if detail is not None else []
    return page(
        request,
        "error.html",
        status=status,
        title="Dat lukt niet",
        message=message,
        violations=violations,
        headers=detail.headers if detail is not None else None,
    )


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    if not is_page_path(request.url.path):
        return await api_errors._on_problem(request, exc)
    if isinstance(exc, SignInRequired):
        group = exc.group
        return redirect(f"/auth/login?as={group}&next={quote(exc.return_to, safe='')}")
    if isinstance(exc, PageRefused):
        return page(request, f"refused/{exc.page}.html", status=exc.status, title="Geen toegang")
    message = _STATUS_PAGES.get(exc.status, "Dat lukt niet.")
    return _error_page(request, exc.status, message, exc)


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if not is_page_path(request.url.path):
        return await api_errors._on_http(request, exc)
    return _error_page(request, exc.status_code, _STATUS_PAGES.get(exc.status_code, "Dat lukt niet."))


async def _on_validation(request: Request, exc: Exception) -> Response:
    if not is_page_path(request.url.path):
        return await api_errors._on_validation(request, exc)
    return _error_page(request, 400, _STATUS_PAGES[400])


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    if not is_page_path(request.url.path):
        return await api_errors._on_unexpected(request, exc)
    route = getattr(request.scope.get("route"), "path", "unmatched")
    log.error("unhandled error on page %s %s\n%s", request.method, route, api_errors.redacted_traceback(exc))
    return _error_page(request, 500, "Er ging iets mis aan onze kant. Er is niets veranderd.")


def install(app: FastAPI) -> None:
    """Replace the API's handlers by ones that answer page paths with Dutch pages."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(Exception, _on_unexpected)
