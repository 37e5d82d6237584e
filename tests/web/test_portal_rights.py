"""Follow-up rights from the portal (art. 11-14): a correction request lands in the officers'
worklist, is registered, is handled with the existing correction endpoint, and the correction
reaches the earlier recipient (art. 11.4); the citizen follows its status on "Mijn verzoeken"."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from playwright.sync_api import expect

from tests.exchange.test_disclosures import inbox_item
from tests.exchange.test_rights import correction_body
from tests.support import JGZ, SCHOOL, DevEnv, new_bsn
from tests.web.browser import DESKTOP, PHONE, Browser
from tests.web.conftest import WebGateway
from tests.web.test_portal import URL, _release, _shared_education, _visit
from tests.web.test_signin import dev_sign_in

Client = Callable[[str], httpx.Client]
RIGHTS = "/v1/rights-requests"


def _released_self_request(anonymous: httpx.Client, dev_env: DevEnv, youth: str) -> str:
    lodged = anonymous.post(
        URL, json={"subject_bsn": youth, "relationship": "self"}, headers=dev_env.citizen_headers(youth)
    )
    assert lodged.status_code == 202, lodged.text
    request_id: str = lodged.json()["id"]
    _release(anonymous, dev_env, request_id)
    return request_id


def test_a_correction_request_reaches_the_worklist_and_the_correction_the_earlier_recipient(
    web_gateway: WebGateway, browser: Browser, client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    youth = new_bsn()
    _shared_education(client_for, youth, 17, youth_signs=True)
    school = client_for(SCHOOL)
    [sent] = [
        item["id"]
        for item in school.get("/v1/inbox").json()["items"]
        if item["kind"] == "disclosure" and item["subject"]["bsn"] == youth
    ] or [None]
    assert sent is not None
    assert school.post(f"/v1/inbox/{sent}/ack").status_code == 200
    request_id = _released_self_request(anonymous, dev_env, youth)

    base = web_gateway.base_url
    page = browser.page(PHONE)
    dev_sign_in(page, base, bsn=youth)
    page.goto(base + f"/mijn/verzoeken/{request_id}/overzicht")
    page.get_by_role("link", name="Klopt dit niet? Vraag een correctie").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Correctie vragen")
    browser.audit(page, "mijn-correctie-phone")
    correction_url = page.url.removeprefix(base)
    # Too short an explanation: a Dutch error, nothing lodged.
    page.get_by_label("Uw uitleg").fill("fout")
    page.get_by_role("button", name="Verzoek versturen").click()
    expect(page.get_by_role("alert")).to_contain_text("wat u vraagt en waarom")
    page.get_by_label("Uw uitleg").fill(
        "Mijn school staat verkeerd: ik zit sinds augustus op het Oranje College."
    )
    page.get_by_role("button", name="Verzoek versturen").click()
    expect(page).to_have_url(base + "/mijn/verzoeken?vervolg=1")
    expect(page.get_by_text("Ontvangen, nog niet behandeld")).to_be_visible()
    browser.audit(page, "mijn-verzoeken-vervolg-phone")
    _visit(browser, base, youth, correction_url, "mijn-correctie-desktop").context.close()

    # The officers' worklist: the central officer and the sender's officer, not the recipient's.
    central = dev_env.officer_headers("meerpunt")
    items = anonymous.get(RIGHTS, params={"status": "received"}, headers=central).json()["items"]
    [mine] = [i for i in items if i["disclosure_id"] == sent]
    assert mine["kind"] == "correction" and mine["article"] == "11" and mine["sender"] == JGZ
    assert mine["subject_bsn"] == youth and mine["access_request_id"] == request_id
    assert "Oranje College" in mine["explanation"]
    jgz_items = anonymous.get(RIGHTS, headers=dev_env.officer_headers(JGZ)).json()["items"]
    assert mine["id"] in {i["id"] for i in jgz_items}
    school_items = anonymous.get(RIGHTS, headers=dev_env.officer_headers(SCHOOL)).json()["items"]
    assert mine["id"] not in {i["id"] for i in school_items}
    assert anonymous.get(RIGHTS, headers=dev_env.citizen_headers(youth)).status_code in (401, 403)

    # Registered (art. 8): the request, with its article.
    received = anonymous.get(
        "/v1/register", params={"subject_bsn": youth, "kind": "rights_request_received"}, headers=central
    ).json()["items"]
    assert [e["details"]["rights_request_id"] for e in received] == [mine["id"]]

    # The sender corrects with the existing endpoint; the earlier recipient receives it (art. 11.4).
    corrected = client_for(JGZ).post(f"/v1/disclosures/{sent}/corrections", json=correction_body())
    assert corrected.status_code == 202, corrected.text
    [forwarded] = corrected.json()["corrections"]
    assert forwarded["recipient"] == SCHOOL
    item = inbox_item(school, forwarded["id"])
    assert item["kind"] == "correction" and item["in_reply_to"] == sent

    # The sender's officer records the outcome in the console.
    officer = browser.page()
    dev_sign_in(officer, base, org=JGZ)
    officer.goto(base + "/console/rights-requests")
    card = officer.locator("section", has_text="Oranje College")
    expect(card).to_contain_text("Correctie (art. 11)")
    browser.audit(officer, "console-rights-requests")
    card.get_by_role("button", name="Uitkomst vastleggen").click()  # no outcome chosen
    card = officer.locator("section", has_text="Oranje College")
    expect(card.get_by_role("alert")).to_contain_text("Kies een uitkomst")
    card.get_by_label("Afgehandeld").check()
    card.get_by_label("Toelichting voor de burger").fill("De school is verbeterd en doorgegeven aan OPOZ.")
    card.get_by_role("button", name="Uitkomst vastleggen").click()
    expect(officer.locator("section", has_text="Oranje College")).to_have_count(0)  # off the open list
    officer.goto(base + "/console/rights-requests?list=handled")
    expect(officer.locator("section", has_text="Oranje College")).to_contain_text("afgehandeld")
    officer.context.close()
    outcome = {"status": "handled", "note": "Nog eens."}
    again = anonymous.post(f"{RIGHTS}/{mine['id']}/outcome", json=outcome, headers=central)
    assert again.status_code == 409
    page.reload()
    expect(page.get_by_text("Afgehandeld", exact=True)).to_be_visible()
    expect(page.get_by_text("De school is verbeterd")).to_be_visible()
    page.context.close()
    _visit(browser, base, youth, "/mijn/verzoeken", "mijn-verzoeken-vervolg-desktop").context.close()


def test_objection_restriction_and_erasure_need_a_released_report_of_ones_own(
    web_gateway: WebGateway, browser: Browser, client_for: Client, anonymous: httpx.Client, dev_env: DevEnv
) -> None:
    youth, stranger = new_bsn(), new_bsn()
    _shared_education(client_for, youth, 17, youth_signs=True)
    request_id = _released_self_request(anonymous, dev_env, youth)
    base = web_gateway.base_url

    other = browser.page(DESKTOP)
    dev_sign_in(other, base, bsn=stranger)
    answer = other.goto(base + f"/mijn/verzoeken/{request_id}/vervolg?soort=restriction")
    assert answer is not None and answer.status == 404
    other.goto(base + "/mijn/aanvragen")
    token = other.locator("input[name=csrf_token]").first.get_attribute("value")
    posted = other.request.post(
        base + f"/mijn/verzoeken/{request_id}/vervolg",
        form={"csrf_token": token or "", "kind": "erasure", "explanation": "Wis alles van deze persoon nu."},
        headers={"Origin": base},
    )
    assert posted.status == 404
    other.context.close()

    page = browser.page(PHONE)
    dev_sign_in(page, base, bsn=youth)
    page.goto(base + f"/mijn/verzoeken/{request_id}/overzicht")
    page.get_by_role("link", name="Beperking (artikel 14)").click()
    page.get_by_label("Uw uitleg").fill(
        "Ik wil niet dat mijn gegevens gedeeld worden zolang ik bezwaar maak."
    )
    page.get_by_role("button", name="Verzoek versturen").click()
    expect(page.get_by_text("Beperking", exact=False).first).to_be_visible()
    items = anonymous.get(RIGHTS, headers=dev_env.officer_headers("meerpunt")).json()["items"]
    [restriction] = [i for i in items if i["access_request_id"] == request_id]
    assert restriction["kind"] == "restriction" and restriction["article"] == "14"
    # The officer acts with the existing endpoint, using the BSN the worklist gives.
    restricted = anonymous.post(
        f"/v1/subjects/{restriction['subject_bsn']}/restriction",
        json={"ground": "art14_1_a", "note": "Op verzoek van de betrokkene via Mijn Meerpunt."},
        headers=dev_env.officer_headers("meerpunt"),
    )
    assert restricted.status_code == 201, restricted.text
    page.context.close()
