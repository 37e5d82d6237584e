"""The officers' console in a real browser: sign in through the provider, search the register,
open an entry, export, review an override, decide an access request, read the overview, sign out.

Data comes in the way partners send it (mTLS API); the officer works only through pages. Every
page is checked with axe-core and photographed for docs/img/console-*.png.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from audit.sequencer import checkpoint_now
from tests.e2e.test_access_requests import birth_date
from tests.exchange.test_disclosures import consent_body, disclosure_body, register_consent, send
from tests.exchange.test_overrides import override_basis
from tests.support import JGZ, MUNICIPALITY, SCHOOL, YOUTH_CARE, DevEnv, new_bsn
from tests.web.browser import Browser
from tests.web.conftest import WebGateway
from tests.web.test_signin import dev_sign_in

Client = Callable[[str], httpx.Client]
HOSTILE_REASON = '<script>alert("xss")</script> Afstemming <b>gezinsplan</b>'


def _case(client_for: Client, anonymous: httpx.Client, dev_env: DevEnv) -> dict[str, Any]:
    """A youth of 17: a consented disclosure (with a hostile reason text), an override, and the
    youth's own access request."""
    youth = new_bsn()
    municipality, school = client_for(MUNICIPALITY), client_for(SCHOOL)
    consent = consent_body(youth, SCHOOL, ["contact"], birth_date=birth_date(17))
    consent["signatories"] = [{"role": "youth", "name": "Jongere Zelf"}]  # 16+: the youth signs (art. 6.8)
    register_consent(municipality, consent)
    sent = send(municipality, disclosure_body(youth, SCHOOL, ["contact"], reason=HOSTILE_REASON))
    assert sent.status_code == 202, sent.text
    override = send(school, disclosure_body(youth, YOUTH_CARE, ["safety"], legal_basis=override_basis()))
    assert override.status_code == 202, override.text
    lodged = anonymous.post(
        "/v1/subject-access-requests",
        json={"subject_bsn": youth, "relationship": "self"},
        headers=dev_env.citizen_headers(youth),
    )
    assert lodged.status_code == 202, lodged.text
    return {
        "bsn": youth,
        "disclosure": sent.json(),
        "override": override.json()["id"],
        "request": lodged.json()["id"],
    }


def _provider_sign_in(page: Page, gateway: WebGateway, login: str) -> None:
    page.goto(gateway.base_url + "/console")
    page.get_by_role("link", name="Inloggen met uw organisatie-account").click()
    page.get_by_label("Account").select_option(login)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(gateway.base_url + "/console")


def test_an_officer_works_through_the_console(
    web_gateway: WebGateway, browser: Browser, client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    case = _case(client_for, anonymous, dev_env)
    page = browser.page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _provider_sign_in(page, web_gateway, "officer-central")
    expect(page.get_by_role("heading", name="Overzicht", level=1)).to_be_visible()
    browser.audit(page, "console-overview")

    # Register search: the BSN is posted, never in the URL.
    page.get_by_role("link", name="Register", exact=True).click()
    page.get_by_label("Burgerservicenummer").fill(case["bsn"])
    page.get_by_label("Soort vastlegging").select_option("disclosure_sent")
    page.get_by_role("button", name="Zoeken").click()
    expect(page).to_have_url(re.compile(r".*/console/register\?search=[\w-]+$"))
    assert case["bsn"] not in page.url
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)  # the consented disclosure and the override
    # The professional's text is shown as text, never run as markup.
    expect(page.get_by_text(HOSTILE_REASON)).to_be_visible()
    assert page.locator("tbody script").count() == 0 and page.locator("tbody b").count() == 0
    browser.audit(page, "console-register")

    # Export of the current filter.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download als CSV").click()
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert {row["id"] for row in exported} >= {case["disclosure"]["register_entry"]}
    assert all(row["kind"] == "disclosure_sent" for row in exported)

    # An entry, with its inclusion in the signed checkpoint verified (a checkpoint is signed now,
    # as `meerpunt-gateway audit checkpoint` does, rather than waiting for the background one).
    checkpoint_now(web_gateway.runtime)
    page.locator("tbody tr").first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Gegevens verstrekt")
    expect(page.get_by_text("Gecontroleerd", exact=True)).to_be_visible()
    expect(page.get_by_text("geldig", exact=True)).to_be_visible()  # the sender's signed receipt
    browser.audit(page, "console-entry")

    # Override review.
    page.get_by_role("link", name="Zonder toestemming", exact=True).click()
    browser.audit(page, "console-overrides")
    page.goto(f"{web_gateway.base_url}/console/overrides/{case['override']}")
    expect(page.get_by_text("De vijf voorwaarden (art. 7 lid 3)")).to_be_visible()
    expect(page.get_by_text("Karin Jansen (aandachtsfunctionaris)", exact=False)).to_be_visible()
    browser.audit(page, "console-override")
    page.get_by_role("button", name="Oordeel vastleggen").click()  # nothing chosen: told what is missing
    expect(page.get_by_role("alert")).to_contain_text("Kies of de verstrekking terecht was.")
    page.get_by_label("Terecht", exact=True).check()
    page.get_by_label("Toelichting").fill("Acuut gevaar, overleg met aandachtsfunctionaris vastgelegd.")
    page.get_by_role("button", name="Oordeel vastleggen").click()
    expect(page.get_by_role("status")).to_contain_text("Terecht")

    # Access request: worklist, preview, decision.
    page.get_by_role("link", name="Inzageverzoeken", exact=True).click()
    browser.audit(page, "console-access-requests")
    page.goto(f"{web_gateway.base_url}/console/access-requests/{case['request']}")
    expect(page.get_by_text("Wacht op besluit")).to_be_visible()
    browser.audit(page, "console-access-request")
    page.get_by_role("link", name="Bekijk het overzicht dat de aanvrager krijgt").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Overzicht van verstrekte gegevens")
    browser.audit(page, "console-access-preview")
    page.go_back()
    page.get_by_label("Weigeren", exact=True).check()
    page.get_by_role("button", name="Besluit vastleggen").click()  # refusing needs ground and motivation
    expect(page.get_by_role("alert")).to_contain_text("10.6")
    page.get_by_label("Vrijgeven", exact=True).check()
    page.get_by_label("Grond (bij weigeren of achterhouden)").select_option("")
    page.get_by_role("button", name="Besluit vastleggen").click()
    expect(page.get_by_text("Vrijgegeven", exact=False).first).to_be_visible()
    decided = anonymous.get(
        f"/v1/subject-access-requests/{case['request']}", headers=dev_env.citizen_headers(case["bsn"])
    )
    assert decided.json()["status"] == "released"

    # Overview after the work, then verify the register from the console, then sign out.
    page.get_by_role("link", name="Overzicht", exact=True).click()
    page.get_by_role("button", name="Controleer het register nu").click()
    expect(page.get_by_role("status")).to_contain_text("Het register is in orde.")
    expect(page.locator("svg.mp-chart").first).to_be_visible()
    browser.audit(page, "console-overview-verified")
    page.get_by_role("button", name="Uitloggen").click()
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(page).to_have_url(web_gateway.base_url + "/auth/signed-out")
    assert dialogs == []
    page.context.close()


def test_an_officer_of_another_partner_sees_none_of_it(
    web_gateway: WebGateway, browser: Browser, client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    case = _case(client_for, anonymous, dev_env)
    base = web_gateway.base_url
    page = browser.page()
    dev_sign_in(page, base, org=JGZ)  # the JGZ sent, received and did nothing in this case
    expect(page).to_have_url(base + "/console")
    page.goto(base + "/console/register")
    page.get_by_label("Burgerservicenummer").fill(case["bsn"])
    page.get_by_role("button", name="Zoeken").click()
    expect(page.get_by_text("Niets gevonden met deze filters.")).to_be_visible()
    search_url = page.url
    with page.expect_download() as download:
        page.get_by_role("link", name="Download als CSV").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    assert case["disclosure"]["register_entry"] not in exported and case["disclosure"]["id"] not in exported
    for path in (
        f"/console/register/{case['disclosure']['register_entry']}",
        f"/console/overrides/{case['override']}",
        f"/console/access-requests/{case['request']}",
        f"/console/access-requests/{case['request']}/preview",
    ):
        answer = page.goto(base + path)
        assert answer is not None and answer.status == 404, path
    # Another officer's search id is unknown to this session too.
    other = browser.page()
    dev_sign_in(other, base, org=SCHOOL)
    answer = other.goto(search_url)
    assert answer is not None and answer.status == 404
    # The school's officer does see the school's own entries.
    other.goto(base + "/console/register")
    other.get_by_label("Burgerservicenummer").fill(case["bsn"])
    other.get_by_role("button", name="Zoeken").click()
    expect(other.locator("tbody tr")).to_have_count(2)  # the disclosure it received, the override it sent
    page.context.close()
    other.context.close()


@pytest.mark.parametrize("path", ["/console/register", "/console/verify"])
def test_a_console_form_without_csrf_token_is_refused(
    web_gateway: WebGateway, browser: Browser, path: str
) -> None:
    page = browser.page()
    dev_sign_in(page, web_gateway.base_url, org="meerpunt")
    refused = page.request.post(web_gateway.base_url + path, form={"bsn": "111222333"})
    assert refused.status == 403
    assert "Dit formulier is niet aangenomen" in refused.text()
    page.context.close()


def test_the_register_search_works_with_the_keyboard_alone(web_gateway: WebGateway, browser: Browser) -> None:
    page = browser.page()
    dev_sign_in(page, web_gateway.base_url, org="meerpunt")
    page.goto(web_gateway.base_url + "/console/register")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Direct naar de inhoud")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()  # visible when focused (WCAG 2.4.1, 2.4.7)
    page.keyboard.press("Enter")
    for _ in range(10):  # from the content: the first form field is a few tabs away
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "f-bsn":
            break
    expect(page.get_by_label("Burgerservicenummer")).to_be_focused()
    page.keyboard.type("111222333")
    page.keyboard.press("Enter")  # submits the search
    expect(page).to_have_url(re.compile(r".*/console/register\?search=[\w-]+$"))
    page.context.close()


def test_a_malformed_search_is_refused_in_dutch_and_stores_nothing(
    web_gateway: WebGateway, browser: Browser
) -> None:
    page = browser.page()
    dev_sign_in(page, web_gateway.base_url, org="meerpunt")
    page.goto(web_gateway.base_url + "/console/register")
    page.get_by_label("Burgerservicenummer").fill("123456789")  # fails the 11-check
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Zoeken").click()
    assert answer.value.status == 422
    expect(page.get_by_role("alert")).to_contain_text("elfproef")
    assert "search=" not in page.url and "123456789" not in page.url
    expect(page.get_by_label("Burgerservicenummer")).to_have_value("")  # the BSN is not echoed back
    page.context.close()
