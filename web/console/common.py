"""What every console page shares: the navigation, the Dutch labels, the officer."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from gateway.runtime import Runtime
from web.console import labels
from web.pages import page
from web.sessions import PageSession

NAVIGATION = (
    ("/console", "Overzicht"),
    ("/console/register", "Register"),
    ("/console/overrides", "Zonder toestemming"),
    ("/console/access-requests", "Inzageverzoeken"),
    ("/console/rights-requests", "Verzoeken van burgers"),
)


def console_page(
    request: Request,
    runtime: Runtime,
    session: PageSession,
    template: str,
    *,
    title: str,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    return page(
        request,
        template,
        status=status,
        session=session,
        title=title,
        navigation=NAVIGATION,
        navigation_label="Console",
        labels=labels,
        org_label=lambda oin: labels.org_name(runtime, oin),
        category_labels=lambda codes: ", ".join(runtime.categories.label(code) for code in codes or ()),
        **context,
    )
