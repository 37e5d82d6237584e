"""The citizens' portal (/mijn) in a real browser: ask, follow, read, print and download.

Chromium at a phone (375x812) and a desktop viewport; axe-core on every page (no serious or
critical violation); screenshots to docs/img/mijn-*.png. Test data goes in through the partner
API (mTLS) and the officer API (development officer token), as partners and officers would.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.exchange.test_disclosures import consent_body, disclosure_body, register_consent, send
from tests.support import JGZ, SCHOOL, DevEnv, new_bsn
from tests.web.browser import DESKTOP, PHONE, Browser
from tests.web.conftest import WebGateway
from tests.web.test_signin import dev_sign_in
from web.portal import rules

URL = "/v1/subject-access-requests"
DESK = {"id": "d-1", "name": "Baliemedewerker JGZ", "role": "baliemedewerker"}
EDUCATION = "Onderwijs, schoolverzuim en leerplicht"
Client = Callable[[str], httpx.Client]


def birth_date(years: int) -> str:
    today = dt.date.today()
    return (today.replace(year=today.year - years) - dt.timedelta(days=30)).isoformat()


def _shared_education(client_for: Client, subject: str, age: int, *, youth_signs: bool) -> None:
    """JGZ shares the subject's school data with the school, under a consent (art. 6)."""
    jgz = client_for(JGZ)
    body = consent_body(subject, SCHOOL, ["education"], birth_date=birth_date(age))
    if youth_signs:
        body["signatories"] = [{"role": "youth", "name": "Jongere"}]
    register_consent(jgz, body)
    sent = send(jgz, disclosure_body(subject, SCHOOL, ["education"]))
    assert sent.status_code == 202, sent.text


def _release(anonymous: httpx.Client, dev_env: DevEnv, request_id: str) -> None:
    released = anonymous.post(
        f"{URL}/{request_id}/decision",
        json={"decision": "release"},
        headers=dev_env.officer_headers("meerpunt"),
    )
    assert released.status_code == 200, released.text


def _lodge_in_browser(page: Page, base_url: str, *, child: str | None = None) -> str:
    page.goto(base_url + "/mijn")
    name = "Inzage aanvragen voor mijn kind" if child else "Inzage aanvragen voor mijzelf"
    page.get_by_role("link", name=name).click()
    if child:
        page.get_by_label("Burgerservicenummer (BSN) van uw kind").fill(child)
        page.get_by_label("Ouder met gezag").check()
    page.get_by_label("Ik heb gelezen wie het mag aanvragen").check()
    page.get_by_role("button", name="Verzoek versturen").click()
    expect(page.get_by_text("Uw verzoek is verstuurd.")).to_be_visible()
    match = re.search(r"/mijn/verzoeken/([0-9a-f-]{36})", page.url)
    assert match, page.url
    return match.group(1)


def _visit(browser: Browser, base_url: str, bsn: str, path: str, name: str) -> Page:
    """The same page at the desktop viewport, in its own signed-in context, audited."""
    page = browser.page(DESKTOP)
    dev_sign_in(page, base_url, bsn=bsn)
    page.goto(base_url + path)
    browser.audit(page, name)
    return page


def test_a_seventeen_year_old_asks_and_reads_the_released_report(
    web_gateway: WebGateway, browser: Browser, client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    youth = new_bsn()
    _shared_education(client_for, youth, 17, youth_signs=True)
    base = web_gateway.base_url
    page = browser.page(PHONE)
    page.goto(base + "/mijn")
    expect(page).to_have_url(re.compile(re.escape(base + "/auth/login?as=citizens")))
    dev_sign_in(page, base, bsn=youth)
    page.goto(base + "/mijn")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mijn Meerpunt")
    expect(page.get_by_role("link", name="Inzage aanvragen voor mijn kind")).to_be_visible()
    browser.audit(page, "mijn-start-phone")
    page.get_by_role("link", name="Inzage aanvragen voor mijzelf").click()
    expect(page.get_by_text("16 jaar of ouder", exact=True)).to_be_visible()
    browser.audit(page, "mijn-aanvragen-phone")

    # Sending without ticking that the rules were read: a Dutch error, nothing lodged.
    page.get_by_role("button", name="Verzoek versturen").click()
    expect(page.get_by_role("alert")).to_contain_text("Zet een vinkje")
    request_id = _lodge_in_browser(page, base)
    assert youth not in page.url
    expect(page.get_by_text("In behandeling", exact=True)).to_be_visible()
    expect(page.get_by_text("De functionaris gegevensbescherming van Meerpunt.", exact=True)).to_be_visible()
    browser.audit(page, "mijn-verzoek-in-behandeling-phone")

    _release(anonymous, dev_env, request_id)
    page.get_by_role("link", name="Mijn verzoeken", exact=True).click()
    expect(page.get_by_text("Klaar: u kunt het overzicht lezen", exact=True).first).to_be_visible()
    browser.audit(page, "mijn-verzoeken-phone")
    page.get_by_role("link", name=re.compile("Inzage voor uzelf")).click()
    page.get_by_role("link", name="Overzicht lezen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Overzicht van verstrekte gegevens")
    expect(page.get_by_text(EDUCATION).first).to_be_visible()
    assert youth not in page.content()
    browser.audit(page, "mijn-overzicht-phone")
    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Mijn Meerpunt")).to_be_hidden()
    page.context.close()

    for path, name in (
        ("/mijn", "mijn-start-desktop"),
        ("/mijn/aanvragen?voor=mij", "mijn-aanvragen-desktop"),
        ("/mijn/verzoeken", "mijn-verzoeken-desktop"),
        (f"/mijn/verzoeken/{request_id}/overzicht", "mijn-overzicht-desktop"),
    ):
        _visit(browser, base, youth, path, name).context.close()

    # Every read of the report through the portal is registered (art. 8, 18.3).
    reads = anonymous.get(
        "/v1/register",
        params={"subject_bsn": youth, "kind": "register_accessed"},
        headers=dev_env.officer_headers("meerpunt"),
    ).json()["items"]
    formats = [e["details"]["format"] for e in reads if e["details"].get("action") == "access_report"]
    assert formats.count("portal") >= 2


def test_a_parent_asks_for_an_eight_year_old_waits_for_verification_then_downloads_the_pdf(
    web_gateway: WebGateway,
    browser: Browser,
    client_for: Client,
    anonymous: httpx.Client,
    dev_env: DevEnv,
    tmp_path: Path,
) -> None:
    child, parent, stranger = new_bsn(), new_bsn(), new_bsn()
    _shared_education(client_for, child, 8, youth_signs=False)
    base = web_gateway.base_url
    page = browser.page(PHONE)
    dev_sign_in(page, base, bsn=parent)
    page.goto(base + "/mijn/aanvragen?voor=kind")
    expect(page.get_by_text("Jonger dan 12 jaar", exact=True)).to_be_visible()
    expect(page.get_by_text("wacht op controle", exact=True)).to_be_visible()
    browser.audit(page, "mijn-aanvragen-kind-phone")
    # A BSN that fails the 11-check: a Dutch message, the number not echoed back, nothing lodged.
    page.get_by_label("Burgerservicenummer (BSN) van uw kind").fill("123456789")
    page.get_by_label("Ik heb gelezen wie het mag aanvragen").check()
    page.get_by_role("button", name="Verzoek versturen").click()
    expect(page.get_by_role("alert")).to_contain_text("Dit burgerservicenummer klopt niet")
    assert "123456789" not in page.content()
    browser.audit(page, "mijn-aanvragen-fout-phone")
    request_id = _lodge_in_browser(page, base, child=child)
    assert child not in page.url and child not in page.content()
    expect(page.get_by_text("Wacht op controle", exact=True)).to_be_visible()
    expect(page.get_by_text("identiteitsbewijs").first).to_be_visible()
    browser.audit(page, "mijn-verzoek-wacht-op-controle-phone")
    _visit(browser, base, parent, f"/mijn/verzoeken/{request_id}", "mijn-verzoek-wacht-op-controle-desktop")
    _visit(browser, base, parent, "/mijn/aanvragen?voor=kind", "mijn-aanvragen-kind-desktop")

    # Not released yet: the report page sends the parent back to the request's page.
    page.goto(base + f"/mijn/verzoeken/{request_id}/overzicht")
    expect(page).to_have_url(base + f"/mijn/verzoeken/{request_id}")

    # A stranger's session cannot open the request, its report or its PDF.
    other = browser.page(PHONE)
    dev_sign_in(other, base, bsn=stranger)
    for suffix in ("", "/overzicht", "/overzicht.pdf"):
        answer = other.goto(base + f"/mijn/verzoeken/{request_id}{suffix}")
        assert answer is not None and answer.status == 404, suffix
    expect(other.get_by_role("heading", level=1)).to_have_text("Dat lukt niet")
    browser.audit(other, "mijn-niet-gevonden-phone")
    other.goto(base + "/mijn/verzoeken")
    expect(other.get_by_text("U heeft nog niets aangevraagd.")).to_be_visible()
    other.context.close()

    verified = client_for(JGZ).post(
        f"{URL}/{request_id}/verification", json={"professional": DESK, "representative_bsn": parent}
    )
    assert verified.status_code == 200, verified.text
    _release(anonymous, dev_env, request_id)
    page.reload()
    expect(page.get_by_text("Klaar: u kunt het overzicht lezen", exact=True).first).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name="Overzicht downloaden (PDF)").click()
    target = tmp_path / "overzicht.pdf"
    info.value.save_as(target)
    text = "\n".join(p.extract_text() for p in PdfReader(target).pages)
    assert EDUCATION in text
    assert "Overzicht van verstrekte gegevens" in text and child not in text
    page.context.close()


def test_portal_forms_need_the_sessions_csrf_token(web_gateway: WebGateway, browser: Browser) -> None:
    page = browser.page(PHONE)
    dev_sign_in(page, web_gateway.base_url, bsn=new_bsn())
    page.goto(web_gateway.base_url + "/mijn/aanvragen?voor=mij")
    answer = page.request.post(
        web_gateway.base_url + "/mijn/aanvragen",
        form={"csrf_token": "not-the-token", "voor": "mij", "understood": "ja"},
        headers={"Origin": web_gateway.base_url},
    )
    assert answer.status == 403
    page.goto(web_gateway.base_url + "/mijn/verzoeken")
    expect(page.get_by_text("U heeft nog niets aangevraagd.")).to_be_visible()
    page.context.close()


def test_an_officers_session_does_not_open_the_portal(web_gateway: WebGateway, browser: Browser) -> None:
    page = browser.page(DESKTOP)
    dev_sign_in(page, web_gateway.base_url, org="meerpunt")
    answer = page.goto(web_gateway.base_url + "/mijn")
    assert answer is not None and answer.status == 403
    page.context.close()


def test_lodging_is_rate_limited_per_person() -> None:
    assert rules.lodging_allowed(0) and rules.lodging_allowed(rules.LODGING_LIMIT - 1)
    assert not rules.lodging_allowed(rules.LODGING_LIMIT)
    now = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC)
    assert rules.window_start(now) == now - dt.timedelta(hours=24)


def _sign_in_at_digid(page: Page, gateway: WebGateway, login: str) -> None:
    assert gateway.citizen_idp is not None
    page.goto(gateway.base_url + "/mijn/verzoeken")
    page.get_by_role("link", name="Inloggen met DigiD").click()
    expect(page).to_have_url(re.compile(re.escape(gateway.citizen_idp.issuer + "/interaction/")))
    page.get_by_label("Account").select_option(login)
    page.get_by_role("button", name="Sign in").click()


def test_a_citizen_signs_in_at_the_citizens_issuer_with_substantial_assurance(
    web_gateway: WebGateway, browser: Browser
) -> None:
    page = browser.page(PHONE)
    _sign_in_at_digid(page, web_gateway, "citizen-substantial")
    expect(page).to_have_url(web_gateway.base_url + "/mijn/verzoeken")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mijn verzoeken")
    assert web_gateway.citizen_users is not None
    # The BSN came from the provider's `bsn` claim: the request is lodged for that person.
    request_id = _lodge_in_browser(page, web_gateway.base_url)
    expect(
        page.get_by_text("*****" + web_gateway.citizen_users["citizen-substantial"]["bsn"][-4:])
    ).to_be_visible()
    assert request_id
    page.context.close()


def test_a_sign_in_below_substantial_gets_a_dutch_page_saying_why(
    web_gateway: WebGateway, browser: Browser
) -> None:
    page = browser.page(PHONE)
    _sign_in_at_digid(page, web_gateway, "citizen-low")
    expect(page.get_by_text("U bent ingelogd met een te laag beveiligingsniveau.")).to_be_visible()
    browser.audit(page, "mijn-te-laag-niveau-phone")
    answer = page.goto(web_gateway.base_url + "/mijn")
    assert answer is not None
    expect(page).to_have_url(re.compile(re.escape(web_gateway.base_url + "/auth/login?as=citizens")))
    page.context.close()


def test_a_refused_request_shows_the_letter_with_its_ground_and_the_complaint_route(
    web_gateway: WebGateway, browser: Browser, client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    youth = new_bsn()
    _shared_education(client_for, youth, 17, youth_signs=True)
    lodged = anonymous.post(
        URL, json={"subject_bsn": youth, "relationship": "self"}, headers=dev_env.citizen_headers(youth)
    )
    assert lodged.status_code == 202, lodged.text
    request_id = lodged.json()["id"]
    refused = anonymous.post(
        f"{URL}/{request_id}/decision",
        json={
            "decision": "refuse",
            "ground": "art10_6_e",
            "motivation": "Het overzicht zou de veiligheid van een ander gezinslid in gevaar brengen.",
        },
        headers=dev_env.officer_headers("meerpunt"),
    )
    assert refused.status_code == 200, refused.text
    base = web_gateway.base_url
    page = browser.page(PHONE)
    dev_sign_in(page, base, bsn=youth)
    page.goto(base + "/mijn/verzoeken")
    expect(page.get_by_text("Afgewezen", exact=True)).to_be_visible()
    page.get_by_role("link", name=re.compile("Inzage voor uzelf")).click()
    expect(page.get_by_role("heading", name="Besluit op uw verzoek om inzage")).to_be_visible()
    expect(page.get_by_text("artikel 10 lid 6 onder e")).to_be_visible()
    expect(page.get_by_text("veiligheid van een ander gezinslid")).to_be_visible()
    expect(
        page.get_by_role("link", name="Klacht indienen bij de Autoriteit Persoonsgegevens")
    ).to_be_visible()
    browser.audit(page, "mijn-brief-afgewezen-phone")
    # No report for a refused request: its page and PDF lead back to the letter.
    page.goto(base + f"/mijn/verzoeken/{request_id}/overzicht.pdf")
    expect(page).to_have_url(base + f"/mijn/verzoeken/{request_id}")
    page.context.close()
    _visit(
        browser, base, youth, f"/mijn/verzoeken/{request_id}", "mijn-brief-afgewezen-desktop"
    ).context.close()
