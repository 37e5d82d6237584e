"""FastAPI dependencies: `Annotated` aliases so handlers stay one line per input."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from audit.service import bind_traceparent
from gateway.principals import CitizenPrincipal, OfficerPrincipal, PartnerPrincipal, Principal
from gateway.problems import BearerTokenRefused, Problem
from gateway.runtime import Runtime

# Dependencies that do no blocking I/O are `async def`: FastAPI runs a plain `def` dependency in the
# thread pool, and on the disclosure path each such hop cost more CPU than the work it wrapped.


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[Session]:
    """The request's unit of work: commit if the handler returns, roll back if it raises.

    `scope="function"` (below) ends the dependency right after the handler returns, before the
    response is sent: a 2xx answer therefore always means "committed". Opening a session does no
    I/O, so only the end (commit or rollback, and returning the connection) runs in the thread
    pool: one hop instead of one at each end. FastAPI shields this exit from cancellation, so a
    client that disconnects cannot leave a transaction open.
    """
    session = Session(runtime.engine, expire_on_commit=False)
    try:
        yield session
    except Problem as problem:
        await run_in_threadpool(_end, session, commit=problem.commit)
        raise
    except BaseException:
        await run_in_threadpool(_end, session, commit=False)
        raise
    await run_in_threadpool(_end, session, commit=True)


def _end(session: Session, *, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()  # rolls back whatever a failed commit left open


SessionDep = Annotated[Session, Depends(get_session, scope="function")]

T = TypeVar("T")


class UnitOfWork:
    """The request's unit of work run in *one* thread-pool hop: open, work, commit, close.

    For handlers on the hottest path (`POST /v1/disclosures`). `SessionDep` with a plain `def`
    handler costs two hops (the handler, then the commit in `get_session`); under load each hop
    costs more CPU than the statement it waits for. The transaction rules are `get_session`'s:
    commit when the work returns, roll back when it raises, commit first for a `Problem` raised
    with `commit=True`; the work is finished (committed) before the response is sent.
    """

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def run(self, work: Callable[[Session], T]) -> T:
        # A cancelled request (client gone) must not abandon a half-done transaction: the thread
        # finishes the work and ends the transaction either way.
        return await run_in_threadpool(self._run, work)

    def _run(self, work: Callable[[Session], T]) -> T:
        session = Session(self._runtime.engine, expire_on_commit=False)
        try:
            result = work(session)
        except Problem as problem:
            _end(session, commit=problem.commit)
            raise
        except BaseException:
            _end(session, commit=False)
            raise
        _end(session, commit=True)
        return result


async def get_unit_of_work(runtime: RuntimeDep) -> UnitOfWork:
    return UnitOfWork(runtime)


UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]


def _peer_der(request: Request) -> bytes | None:
    tls = request.scope.get("extensions", {}).get("tls") or {}
    der: bytes | None = tls.get("meerpunt.peer_der")
    return der


async def get_partner(request: Request, runtime: RuntimeDep) -> PartnerPrincipal:
    # No blocking I/O: the certificate parse is cached, the CRL check is a stat() (and a re-read
    # of a small file only when it changed).
    principal = runtime.authenticator.authenticate(_peer_der(request), runtime.clock())
    request.state.principal = principal
    bind_traceparent(request.headers.get("traceparent"))  # the caller's trace id for this call's entries
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
        raise BearerTokenRefused(
            "A privacy officer's bearer token is required.", slug="bearer-token-required"
        )
    principal = runtime.tokens.officer(token)
    request.state.principal = principal
    return principal


OfficerDep = Annotated[OfficerPrincipal, Depends(get_officer)]


def get_citizen(request: Request, runtime: RuntimeDep) -> CitizenPrincipal:
    token = _bearer(request)
    if token is None:
        raise BearerTokenRefused("A DigiD bearer token is required.", slug="bearer-token-required")
    principal = runtime.tokens.citizen(token)
    request.state.principal = principal
    return principal


CitizenDep = Annotated[CitizenPrincipal, Depends(get_citizen)]


async def get_any_principal(request: Request, runtime: RuntimeDep) -> Principal:
    """Bearer token if present (officer or citizen), otherwise the client certificate (partner).

    `async`, like `get_partner`: the caller's trace id bound here must reach the handler (a plain
    `def` dependency runs in a copy of the request's context).
    """
    token = _bearer(request)
    if token is None:
        return await get_partner(request, runtime)
    # A provider's keys may have to be fetched (first use, or an unknown `kid`): that is network
    # I/O, so it runs in the thread pool, never on the event loop that serves the partners.
    principal: Principal = await run_in_threadpool(runtime.tokens.person, token)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_any_principal)]
