"""Sign-in and sign-out pages: `/auth/*` (SPEC §9).

`/console` and `/mijn` send a person without a session to `/auth/login`, which offers the
configured provider (and, in development only, the development sign-in page). The provider
answers at `/auth/callback`; sign-out ends the session here and at the provider.
"""

from __future__ import annotations

import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from consent.bsn import is_valid_bsn
from gateway.deps import RuntimeDep, SessionDep
from gateway.principals import CENTRAL_ORG, CitizenPrincipal, OfficerPrincipal, ProfessionalPrincipal
from gateway.runtime import Runtime
from web import signin
from web.pages import PageRefused, check_form, current_session, page, redirect
from web.sessions import SESSION_COOKIE, end_session, start_session, token_hash

log = logging.getLogger("meerpunt.web")

router = APIRouter(prefix="/auth", include_in_schema=False)

DEV_COOKIE = "__Host-meerpunt_dev"
DEV_ISSUER = "development"
HOME = {"officers": "/console", "citizens": "/mijn", "professionals": "/"}
GroupParam = Annotated[str, Query(alias="as", pattern="^(officers|citizens|professionals)$")]
NextParam = Annotated[str | None, Query(alias="next", max_length=500)]


def _base_url(request: Request, runtime: Runtime) -> str:
    return runtime.settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")


def _group(value: str) -> signin.UserGroup:
    return "citizens" if value == "citizens" else "professionals" if value == "professionals" else "officers"


def _set_cookie(response: Response, name: str, value: str, *, max_age: int | None = None) -> None:
    # __Host-: Secure, path /, no Domain: no sibling host can set or read it.
    response.set_cookie(name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="lax")


def _with_session(response: Response, token: str) -> Response:
    _set_cookie(response, SESSION_COOKIE, token)
    response.delete_cookie(signin.SIGN_IN_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    group: GroupParam = "officers",
    next_: NextParam = None,
) -> Response:
    """The sign-in page: the provider for this group, and the development sign-in where allowed."""
    user_group = _group(group)
    return_to = signin.safe_return_to(next_, HOME[user_group])
    if current_session(request, db, runtime) is not None:
        return redirect(return_to)
    issuer = signin.browser_issuer(runtime, user_group)
    return page(
        request,
        "auth/login.html",
        title="Inloggen",
        group=user_group,
        return_to=return_to,
        has_provider=issuer is not None,
        development=runtime.settings.environment == "development",
    )


@router.get("/start")
def start(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    group: GroupParam = "officers",
    next_: NextParam = None,
) -> Response:
    """Send the browser to the provider (authorization code flow with PKCE)."""
    user_group = _group(group)
    issuer = signin.browser_issuer(runtime, user_group)
    if issuer is None:
        raise StarletteHTTPException(404)
    try:
        outgoing = signin.begin(
            db,
            runtime,
            issuer,
            group=user_group,
            return_to=signin.safe_return_to(next_, HOME[user_group]),
            redirect_uri=_base_url(request, runtime) + "/auth/callback",
        )
    except signin.SignInFailed:
        return page(request, "auth/failed.html", status=503, title="Inloggen lukt nu niet", reason="provider")
    response = RedirectResponse(outgoing.url, status_code=303)
    _set_cookie(response, signin.SIGN_IN_COOKIE, outgoing.browser_token, max_age=600)
    return response


@router.get("/callback")
def callback(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    state: Annotated[str | None, Query(max_length=200)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The provider's answer: sign the person in, or explain in Dutch why not."""
    if error is not None or code is None or state is None:
        return page(
            request, "auth/failed.html", status=400, title="Inloggen is niet gelukt", reason="cancelled"
        )
    try:
        signed_in, return_to = signin.complete(
            db,
            runtime,
            state=state,
            code=code,
            browser_token=request.cookies.get(signin.SIGN_IN_COOKIE),
            redirect_uri=_base_url(request, runtime) + "/auth/callback",
        )
    except signin.SignInFailed as failed:
        cause = failed.__cause__
        log.warning(
            "sign-in failed: %s (%s)", failed.reason, f"{type(cause).__name__}: {cause}" if cause else "-"
        )
        status = {"no_access": 403, "assurance": 403, "provider": 503}.get(failed.reason, 400)
        return page(
            request, "auth/failed.html", status=status, title="Inloggen is niet gelukt", reason=failed.reason
        )
    token = start_session(db, runtime, signed_in.person, issuer=signed_in.issuer, acr=signed_in.acr)
    return _with_session(redirect(return_to), token)


@router.post("/logout")
def logout(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    csrf_token: Annotated[str | None, Form(max_length=100)] = None,
) -> Response:
    """End the session here, then at the provider (RP-initiated logout)."""
    session = current_session(request, db, runtime)
    target = "/auth/signed-out"
    if session is not None:
        check_form(request, session, csrf_token)
        end_session(db, runtime, session.id_hash)
        issuer = runtime.tokens.issuers.get(session.issuer)
        if issuer is not None and issuer.config.browser_sign_in:
            target = signin.logout_url(issuer, _base_url(request, runtime) + "/auth/signed-out") or target
    response = redirect(target)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
    return response


@router.get("/signed-out", response_class=HTMLResponse)
def signed_out(request: Request) -> Response:
    return page(request, "auth/signed_out.html", title="U bent uitgelogd")


# -- development sign-in: `environment = "development"` only ---------------------------------------


def _development_only(runtime: Runtime) -> None:
    if runtime.settings.environment != "development":
        raise StarletteHTTPException(404)  # in production this page does not exist at all


@router.get("/dev", response_class=HTMLResponse)
def dev_page(
    request: Request, runtime: RuntimeDep, group: GroupParam = "officers", next_: NextParam = None
) -> Response:
    """Pick a role and an organisation, or a BSN: for a newcomer's `make run`, never in production."""
    _development_only(runtime)
    user_group = _group(group)
    form_token = secrets.token_urlsafe(32)
    response = _dev_form(
        request, runtime, user_group, signin.safe_return_to(next_, HOME[user_group]), form_token
    )
    _set_cookie(response, DEV_COOKIE, token_hash(form_token), max_age=3600)
    return response


def _dev_form(
    request: Request,
    runtime: Runtime,
    group: signin.UserGroup,
    return_to: str,
    form_token: str,
    *,
    error: str | None = None,
) -> Response:
    return page(
        request,
        "auth/dev.html",
        status=422 if error else 200,
        title="Inloggen voor ontwikkeling",
        group=group,
        return_to=return_to,
        partners=sorted(runtime.partners.partners.values(), key=lambda p: p.name),
        central_org=CENTRAL_ORG,
        form_token=form_token,
        error=error,
    )


@router.post("/dev")
def dev_sign_in(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    role: Annotated[str, Form(pattern="^(privacy_officer|citizen|professional)$")],
    form_token: Annotated[str, Form(max_length=100)],
    org: Annotated[str | None, Form(max_length=40)] = None,
    bsn: Annotated[str | None, Form(max_length=20)] = None,
    name: Annotated[str | None, Form(max_length=100)] = None,
    next_: Annotated[str | None, Form(alias="next", max_length=500)] = None,
) -> Response:
    _development_only(runtime)
    import hmac

    cookie = request.cookies.get(DEV_COOKIE, "")
    if not hmac.compare_digest(cookie.encode(), token_hash(form_token).encode()):
        raise PageRefused("csrf", "The development sign-in form was not sent from this browser.")
    person: OfficerPrincipal | CitizenPrincipal | ProfessionalPrincipal
    if role == "professional":
        if org is None or runtime.partners.get(org) is None:
            raise PageRefused("csrf", "Unknown organisation.", status=400)
        label = (name or "").strip() or "Ontwikkelaar"
        person = ProfessionalPrincipal(subject=f"dev:professional:{org}:{label}", org=org, name=label)
        home = "/"
    elif role == "privacy_officer":
        if org != CENTRAL_ORG and (org is None or runtime.partners.get(org) is None):
            raise PageRefused("csrf", "Unknown organisation.", status=400)
        label = (name or "").strip() or "Ontwikkelaar"
        person = OfficerPrincipal(subject=f"dev:officer:{org}:{label}", org=str(org), name=label)
        home = "/console"
    else:
        bsn = (bsn or "").strip()
        if not is_valid_bsn(bsn):
            error = "Vul een geldig burgerservicenummer in: 9 cijfers die de elfproef doorstaan."
            return _dev_form(
                request, runtime, "citizens", signin.safe_return_to(next_, "/mijn"), form_token, error=error
            )
        person = CitizenPrincipal(subject="dev:citizen:" + runtime.bsn_hash(bsn)[:16], bsn=bsn)
        home = "/mijn"
    token = start_session(db, runtime, person, issuer=DEV_ISSUER)
    response = _with_session(redirect(signin.safe_return_to(next_, home)), token)
    response.delete_cookie(DEV_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
    return response
