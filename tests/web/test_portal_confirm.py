"""From 12 to 16 the youth and the parent ask together (art. 16.2): the portal's confirm buttons."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from playwright.sync_api import expect

from tests.e2e.test_access_requests import signed_consent
from tests.exchange.test_disclosures import register_consent
from tests.support import JGZ, DevEnv, new_bsn
from tests.web.browser import DESKTOP, PHONE, Browser
from tests.web.conftest import WebGateway
from tests.web.test_portal import URL, _visit
from tests.web.test_signin import dev_sign_in

Client = Callable[[str], httpx.Client]


def test_a_fourteen_year_old_joins_a_parents_request_with_one_button(
    web_gateway: WebGateway, browser: Browser, client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    child, parent, stranger = new_bsn(), new_bsn(), new_bsn()
    # The parents signed a consent with their BSN: gezag is evidenced, only the youth must join.
    register_consent(client_for(JGZ), signed_consent(child, 14, parent, new_bsn(), youth=True))
    lodged = anonymous.post(
        URL,
        json={"subject_bsn": child, "relationship": "parent_with_authority"},
        headers=dev_env.citizen_headers(parent),
    )
    assert lodged.status_code == 202, lodged.text
    assert lodged.json()["status"] == "pending_co_requester"
    request_id = lodged.json()["id"]
    base = web_gateway.base_url

    # Someone else's session sees no button and cannot confirm.
    other = browser.page(DESKTOP)
    dev_sign_in(other, base, bsn=stranger)
    answer = other.goto(base + f"/mijn/verzoeken/{request_id}")
    assert answer is not None and answer.status == 404
    other.context.close()

    page = browser.page(PHONE)
    dev_sign_in(page, base, bsn=child)
    page.goto(base + "/mijn/verzoeken")
    expect(page.get_by_text("Wacht op bevestiging", exact=True)).to_be_visible()
    page.get_by_role("link", name=f"Inzage voor uzelf (*****{child[-4:]})").click()
    expect(page.get_by_role("heading", name="Uw ouder of voogd vroeg inzage voor u")).to_be_visible()
    browser.audit(page, "mijn-bevestigen-jongere-phone")
    page.get_by_role("button", name="Ja, ik vraag het samen aan").click()
    expect(page.get_by_text("U heeft het verzoek bevestigd.")).to_be_visible()
    expect(page.get_by_text("In behandeling", exact=True)).to_be_visible()
    page.context.close()
    status = anonymous.get(f"{URL}/{request_id}", headers=dev_env.citizen_headers(parent)).json()
    assert status["status"] == "pending_decision"
    _visit(browser, base, parent, "/mijn/bevestigen", "mijn-bevestigen-ouder-desktop").context.close()
