"""Ophalen: the page where a professional reads a message sent to their organisation by e-mail
notification (art. 19.2). Opening is the acknowledgement (art. 8.2) and happens once: the GET
page only says a message is waiting; the POST opens it (`exchange.pickup.pick_up`)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from exchange.pickup import AlreadyPickedUp, pick_up
from gateway.deps import RuntimeDep, SessionDep
from gateway.problems import NotFound
from web.pages import check_form, page, require_professional

router = APIRouter(prefix="/ophalen", include_in_schema=False)


def _message_id(value: str) -> str:
    if len(value) > 36:
        raise NotFound("No such message for your organisation.")
    return value


@router.get("/{message_id}", response_class=HTMLResponse)
def ready(request: Request, message_id: str, db: SessionDep, runtime: RuntimeDep) -> Response:
    session, person = require_professional(request, db, runtime)
    partner = runtime.partners.get(person.org)
    return page(
        request,
        "pickup/ready.html",
        title="Bericht ophalen",
        session=session,
        person=person,
        org_name=partner.name if partner else person.org,
        message_id=_message_id(message_id),
    )


@router.post("/{message_id}", response_class=HTMLResponse)
def open_message(
    request: Request,
    message_id: str,
    db: SessionDep,
    runtime: RuntimeDep,
    csrf_token: Annotated[str | None, Form(max_length=100)] = None,
) -> Response:
    session, person = require_professional(request, db, runtime)
    check_form(request, session, csrf_token)
    professional = {
        "id": person.subject[:100],
        "name": person.name or person.subject[:100],
        "role": "professional",
    }
    try:
        message = pick_up(
            db,
            runtime,
            message_id=_message_id(message_id),
            organisation=person.org,
            professional=professional,
        )
    except AlreadyPickedUp:
        return page(request, "pickup/gone.html", status=410, title="Al geopend", session=session)
    payload = message.get("payload")
    return page(
        request,
        "pickup/message.html",
        title="Bericht",
        session=session,
        message=message,
        payload_text=json.dumps(payload, indent=2, ensure_ascii=False) if payload is not None else None,
    )
