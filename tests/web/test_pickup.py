"""The pickup page of `notify` e-mail delivery (art. 19.2) in a real browser: the mail carries only
a link; a professional of the recipient signs in at their organisation's provider and opens the
message once; opening is the registered acknowledgement (art. 8.2)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import httpx
from playwright.sync_api import expect
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from audit.models import RegisterEntry
from tests.adapters.test_email import disclose
from tests.mail_support import SmtpSink
from tests.support import EMAIL_NOTIFY, NOTIFY_ADDRESS, SCHOOL, new_bsn
from tests.web.browser import Browser
from tests.web.conftest import WebGateway

Client = Callable[[str], httpx.Client]


def _pickup_path(smtp: SmtpSink, message_id: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for received in smtp.to(NOTIFY_ADDRESS):
            body = received.message.get_payload(decode=True).decode("utf-8")
            found = re.search(rf"https://[^\s]+(/ophalen/{message_id})", body)
            if found:
                return found.group(1)
        time.sleep(0.1)
    raise AssertionError("no notification mail arrived")


def test_a_professional_opens_a_notified_message_once(
    web_gateway: WebGateway, browser: Browser, client_for: Client, smtp: SmtpSink, engine: Engine
) -> None:
    bsn = new_bsn()
    _sender, message_id = disclose(client_for, EMAIL_NOTIFY, bsn)
    path = _pickup_path(smtp, message_id)
    base = web_gateway.base_url

    # A professional of another organisation cannot open it.
    stranger = browser.page()
    stranger.goto(base + "/auth/dev")
    stranger.get_by_label("Organisatie van de professional").select_option(SCHOOL)
    stranger.get_by_role("button", name="Inloggen als professional").click()
    stranger.goto(base + path)
    with stranger.expect_response(lambda r: r.request.method == "POST") as answer:
        stranger.get_by_role("button", name="Bericht openen").click()
    assert answer.value.status == 404
    stranger.context.close()

    page = browser.page()
    page.goto(base + path)
    expect(page).to_have_url(re.compile(r".*/auth/login\?as=professionals.*"))
    page.get_by_role("link", name="Inloggen met uw organisatie-account").click()
    page.get_by_label("Account").select_option("professional-practice")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(base + path)
    expect(page.get_by_role("heading", level=1)).to_have_text("Er staat een bericht voor u klaar")
    browser.audit(page, "pickup-ready")
    page.get_by_role("button", name="Bericht openen").click()
    expect(page.get_by_text("079-1234567")).to_be_visible()
    expect(page.get_by_text(bsn)).to_be_visible()
    browser.audit(page, "pickup-message")

    # Once only: the next attempt finds it gone.
    page.goto(base + path)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Bericht openen").click()
    assert answer.value.status == 410
    expect(page.get_by_role("heading", level=1)).to_have_text("Dit bericht is al geopend")
    browser.audit(page, "pickup-gone")
    page.context.close()

    with Session(engine) as db:
        read = db.exec(
            select(RegisterEntry).where(
                RegisterEntry.disclosure_id == message_id, RegisterEntry.kind == "disclosure_received"
            )
        ).one()
    assert read.content["details"]["channel"] == "email_pickup"
    assert read.content["professional"]["name"] == "Pim Praktijk"
