"""The console's "done when": a newcomer's `make run` (the real `init` and `serve` commands), the
README's example disclosure, then /console in a browser through the development sign-in page."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import ssl
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from playwright.sync_api import expect

from tests.support import free_port
from tests.web.browser import Browser

CLI = [sys.executable, "-m", "gateway"]
MUNICIPALITY, SCHOOL = "99990000000000000001", "99990000000000000027"


def test_a_newcomer_finds_the_readme_disclosure_in_the_console(tmp_path: Path, browser: Browser) -> None:
    subprocess.run([*CLI, "init", "--dir", str(tmp_path)], check=True, capture_output=True, timeout=120)
    port = free_port()
    env = {**os.environ, "MEERPUNT_DATABASE_URL": f"sqlite:///{tmp_path}/newcomer.db"}
    process = subprocess.Popen(
        [*CLI, "serve", "--config", str(tmp_path / "gateway.toml"), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"https://127.0.0.1:{port}"
    try:
        context = ssl.create_default_context(cafile=str(tmp_path / "pki" / "ca.pem"))
        partners = tmp_path / "pki" / "partners"
        context.load_cert_chain(str(partners / f"{MUNICIPALITY}.pem"), str(partners / f"{MUNICIPALITY}.key"))
        with httpx.Client(base_url=base, verify=context, timeout=10) as municipality:
            deadline = time.monotonic() + 30
            while True:
                try:
                    municipality.get("/healthz")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise
                    time.sleep(0.2)
            # The README's two calls: the consent, then the disclosure.
            consent = municipality.post(
                "/v1/consents",
                json={
                    "subject": {"bsn": "111222333", "birth_date": "2017-03-01"},
                    "form": "written",
                    "evidence_sha256": hashlib.sha256(b"form").hexdigest(),
                    "explicit": True,
                    "given_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "signatories": [
                        {"role": "parent_with_authority", "name": "Ouder Een"},
                        {"role": "parent_with_authority", "name": "Ouder Twee"},
                    ],
                    "grants": [
                        {
                            "recipient": SCHOOL,
                            "categories": ["contact"],
                            "purpose": "Afstemming hulp",
                            "granted": True,
                        }
                    ],
                },
            )
            assert consent.status_code == 201, consent.text
            sent = municipality.post(
                "/v1/disclosures",
                headers={"Idempotency-Key": f"readme-{uuid.uuid4()}"},
                json={
                    "recipient": SCHOOL,
                    "subject": {"bsn": "111222333"},
                    "categories": ["contact"],
                    "reason": "Afstemming gezinsplan",
                    "description": "Telefoonnummer ouders",
                    "professional": {"id": "p-1", "name": "Anna de Vries", "role": "jeugdverpleegkundige"},
                    "payload": {"phone": "079-1234567"},
                },
            )
            assert sent.status_code == 202, sent.text

        page = browser.page()
        page.goto(base + "/console")
        page.get_by_role("link", name="Inloggen voor ontwikkeling").click()
        page.get_by_label("Organisatie", exact=True).select_option("meerpunt")
        page.get_by_role("button", name="Inloggen als privacyfunctionaris").click()
        expect(page).to_have_url(base + "/console")
        page.get_by_role("link", name="Register", exact=True).click()
        page.get_by_label("Burgerservicenummer").fill("111222333")
        page.get_by_role("button", name="Zoeken").click()
        row = page.locator("tbody tr", has_text="Afstemming gezinsplan")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Gegevens verstrekt")
        expect(row).to_contain_text("Toestemming")
        page.context.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
