"""FastAPI dependencies: `Annotated` aliases so handlers stay one line per input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from gateway.principals import CitizenPrincipal, OfficerPrincipal, PartnerPrincipal, Principal
from gateway.problems import NotAuthenticated, Problem
from gateway.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """The request's unit of work: commit if the handler returns, roll back if it raises.

    `scope="function"` (below) ends the dependency right after the handler returns, before the
    response is sent: a 2xx answer therefore always means "committed".
    """
    session = Session(runtime.engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except Problem as problem:
        if problem.commit:
            session.commit()
        else:
            session.rollback()
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _peer_der(request: Request) -> bytes | None:
    tls = request.scope.get("extensions", {}).get("tls") or {}
    der: bytes | None = tls.get("meerpunt.peer_der")
    return der


def get_partner(request: Request, runtime: RuntimeDep) -> PartnerPrincipal:
    principal = runtime.authenticator.authenticate(_peer_der(request), runtime.clock())
    request.state.principal = principal
    return principal


PartnerDep = Annotated[PartnerPrincipal, Depends(get_partner)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return token.strip()


def get_officer(request: Request, runtime: RuntimeDep) -> OfficerPrincipal:
    token = _bearer(request)
    if token is None:
        raise NotAuthenticated("A privacy officer's bearer token is required.", slug="bearer-token-required")
    principal = runtime.tokens.officer(token)
    request.state.principal = principal
    return principal


OfficerDep = Annotated[OfficerPrincipal, Depends(get_officer)]


def get_citizen(request: Request, runtime: RuntimeDep) -> CitizenPrincipal:
    token = _bearer(request)
    if token is None:
        raise NotAuthenticated("A DigiD bearer token is required.", slug="bearer-token-required")
    principal = runtime.tokens.citizen(token)
    request.state.principal = principal
    return principal


CitizenDep = Annotated[CitizenPrincipal, Depends(get_citizen)]


def get_any_principal(request: Request, runtime: RuntimeDep) -> Principal:
    """Bearer token if present (officer or citizen), otherwise the client certificate (partner)."""
    token = _bearer(request)
    principal: Principal
    if token is not None:
        claims = runtime.tokens.claims(token)
        principal = (
            runtime.tokens.citizen(token)
            if claims.get("role") == "citizen"
            else runtime.tokens.officer(token)
        )
    else:
        principal = runtime.authenticator.authenticate(_peer_der(request), runtime.clock())
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_any_principal)]
