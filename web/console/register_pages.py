"""Register search (art. 8, 18.3): filter, page through, open an entry, export the filter as CSV.

The search form is posted; the filter is stored server-side (`WebSearch`) with the subject as its
keyed hash, and the result URL carries only the search id: a BSN never appears in a URL, a
browser history or an access log. Every list, entry and export is a registered read, through the
same services as `GET /v1/register`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from jose.exceptions import JOSEError
from sqlmodel import Session

from audit import overview, register
from audit.keyring import keyring
from audit.register import RegisterQuery
from audit.service import EntryKind
from consent.bsn import is_valid_bsn
from consent.rules import LOCAL_TZ
from exchange.receipts import RECEIPT_TYP, receipt_of
from gateway.deps import RuntimeDep, SessionDep
from gateway.problems import NotFound, RuleBroken
from gateway.runtime import Runtime
from web.console import labels
from web.console.common import console_page
from web.models import WebSearch
from web.pages import check_form, redirect, require_officer
from web.sessions import PageSession

router = APIRouter()
PAGE_SIZE = 50
FILTER_FIELDS = ("sender", "recipient", "category", "legal_basis", "kind", "from", "to")


def _local_day_start(day: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), tzinfo=LOCAL_TZ)


def _query(filters: dict[str, Any]) -> RegisterQuery:
    """The stored filter as the register service's query (dates are whole local days)."""
    day_to = filters.get("to")
    return RegisterQuery(
        subject_hash=filters.get("subject_hash"),
        sender=filters.get("sender"),
        recipient=filters.get("recipient"),
        category=filters.get("category"),
        legal_basis=filters.get("legal_basis"),
        kind=filters.get("kind"),
        occurred_from=_local_day_start(filters["from"]) if filters.get("from") else None,
        occurred_to=_local_day_start(day_to) + dt.timedelta(days=1) if day_to else None,
    )


def _search(db: Session, session: PageSession, search_id: str | None) -> WebSearch | None:
    if not search_id:
        return None
    found = db.get(WebSearch, search_id)
    # A search id from another session (a shared link) is simply unknown here.
    if found is None or found.session_hash != session.id_hash:
        raise NotFound("No such search.")
    return found


def _form_context(runtime: Runtime, filters: dict[str, Any], errors: list[str]) -> dict[str, Any]:
    return {
        "filters": filters,
        "errors": errors,
        "partners": sorted(runtime.partners.partners.values(), key=lambda p: p.name),
        "categories": sorted(runtime.categories.categories.values(), key=lambda c: c.label),
        "kinds": sorted(EntryKind.all(), key=lambda k: labels.ENTRY_KINDS.get(k, k)),
    }


@router.get("/register", response_class=HTMLResponse)
def register_page(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    search: Annotated[str | None, Query(max_length=43)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    session, officer = require_officer(request, db, runtime)
    stored = _search(db, session, search)
    filters = dict(stored.filters) if stored else {}
    result = register.list_register(db, runtime, officer, _query(filters), cursor=cursor, limit=PAGE_SIZE)
    return console_page(
        request,
        runtime,
        session,
        "console/register.html",
        title="Register",
        entries=result["items"],
        next_cursor=result["next_cursor"],
        search_id=stored.id if stored else None,
        paged=cursor is not None,
        basis_type=labels.basis_type,
        **_form_context(runtime, filters, []),
    )


@router.post("/register", response_class=HTMLResponse)
def search_register(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    csrf_token: Annotated[str | None, Form(max_length=100)] = None,
    bsn: Annotated[str, Form(max_length=20)] = "",
    sender: Annotated[str, Form(max_length=20)] = "",
    recipient: Annotated[str, Form(max_length=20)] = "",
    category: Annotated[str, Form(max_length=40)] = "",
    legal_basis: Annotated[str, Form(max_length=20)] = "",
    kind: Annotated[str, Form(max_length=40)] = "",
    day_from: Annotated[str, Form(alias="from", max_length=10)] = "",
    day_to: Annotated[str, Form(alias="to", max_length=10)] = "",
) -> Response:
    session, _officer = require_officer(request, db, runtime)
    check_form(request, session, csrf_token)
    given = {
        "sender": sender,
        "recipient": recipient,
        "category": category,
        "legal_basis": legal_basis,
        "kind": kind,
        "from": day_from,
        "to": day_to,
    }
    filters: dict[str, Any] = {key: value.strip() for key, value in given.items() if value.strip()}
    errors = []
    bsn = bsn.strip()
    if bsn and not is_valid_bsn(bsn):
        errors.append("Het burgerservicenummer klopt niet: 9 cijfers die de elfproef doorstaan.")
    for key, text in (("from", "vanaf"), ("to", "tot en met")):
        if key in filters:
            try:
                dt.date.fromisoformat(filters[key])
            except ValueError:
                errors.append(f"De datum '{text}' klopt niet; gebruik de vorm jjjj-mm-dd.")
                filters.pop(key)
    if not errors:
        if bsn:
            filters["subject_hash"] = runtime.bsn_hash(bsn)
        try:
            register.validate_query(runtime, _query(filters))
        except RuleBroken as refused:
            errors.extend(v.message for v in refused.violations)
    if errors:
        filters.pop("subject_hash", None)
        return console_page(
            request,
            runtime,
            session,
            "console/register.html",
            title="Register",
            status=422,
            entries=None,
            next_cursor=None,
            search_id=None,
            paged=False,
            basis_type=labels.basis_type,
            **_form_context(runtime, filters, errors),
        )
    search_id = secrets.token_urlsafe(32)
    db.add(WebSearch(id=search_id, session_hash=session.id_hash, filters=filters, created_at=runtime.clock()))
    return redirect(f"/console/register?search={search_id}")


@router.get("/register/export.csv")
def export_register(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    search: Annotated[str | None, Query(max_length=43)] = None,
) -> Response:
    """The current filter as CSV (a registered export, like `GET /v1/register/export.csv`)."""
    session, officer = require_officer(request, db, runtime)
    stored = _search(db, session, search)
    chunks = register.export_register(db, runtime, officer, _query(dict(stored.filters) if stored else {}))
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="register.csv"'},
    )


@router.get("/register/{entry_id}", response_class=HTMLResponse)
def entry_page(request: Request, entry_id: str, db: SessionDep, runtime: RuntimeDep) -> Response:
    session, officer = require_officer(request, db, runtime)
    if len(entry_id) > 36:
        raise NotFound("No such register entry.")
    detail = overview.entry_detail(db, runtime, officer, entry_id)
    receipt = _receipt(db, runtime, detail["entry"].get("disclosure_id"), detail["entry"]["id"])
    return console_page(
        request,
        runtime,
        session,
        "console/entry.html",
        title="Vastlegging",
        entry=detail["entry"],
        inclusion=detail["inclusion"],
        receipt=receipt,
        basis_type=labels.basis_type,
    )


def _receipt(db: Session, runtime: Runtime, message_id: str | None, entry_id: str) -> dict[str, Any] | None:
    """The sender's signed receipt for this entry's message, checked against the gateway's keys."""
    token = receipt_of(db, message_id) if message_id else None
    if not token:
        return None
    try:
        _kid, claims = keyring(runtime).verify(token, typ=RECEIPT_TYP)
    except JOSEError:
        return {"valid": False}
    return {"valid": True, "for_this_entry": claims.get("register_entry") == entry_id, **claims}
