"""The whole journey in a real browser: a customer signs in with the code the local SMTP server
received, refuses everything, downloads their data and asks for erasure; the DPO signs in with
a TOTP code and carries the erasure out; the customer can no longer sign in. Every page on the
way is checked with axe-core (no serious or critical violation) and makes no request outside
Confiance.

(The documentation's screenshots come from ``scripts/screenshots.py``, on the demo's data.)
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pyotp

from confiance.actors import Actor
from confiance.consent.rules import State
from confiance.consent.service import ConsentContext
from confiance.demo.generator import CustomerFactory
from tests.browser.conftest import LiveServer, axe_violations

OPERATOR = Actor.operator("journey")
EMAIL = "margaux.lefebvre@courriel.example"
DPO_EMAIL = "dpo@maison-exemple.example"
DPO_PASSWORD = "Journey-dpo-Password-2026"


class Visit:
    """The browser tab, checking each page it lands on."""

    def __init__(self, page: Any, live: LiveServer, axe: str, shots: Path) -> None:
        self.page = page
        self.live = live
        self.axe = axe
        self.shots = shots
        self.outside: list[str] = []
        self.checked: list[str] = []
        page.on(
            "request",
            lambda r: None if r.url.startswith((live.url, "data:")) else self.outside.append(r.url),
        )

    def check(self, name: str | None = None) -> None:
        path = self.page.url.removeprefix(self.live.url)
        violations = axe_violations(self.page, self.axe)
        assert violations == [], f"{path}: {json.dumps(violations, indent=1)}"
        self.checked.append(path)
        if name:
            self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def goto(self, path: str, name: str | None = None) -> None:
        self.page.goto(self.live.url + path)
        self.check(name)


def last_code(live: LiveServer, email: str) -> str:
    """The code in the newest sign-in mail to ``email``, once the outbox is sent."""
    assert live.deliver_mail() >= 1
    mine = [m for m in live.smtp.messages if m["To"] == email and "code" in m["Subject"].lower()]
    body = mine[-1].get_body(("plain",))
    assert body is not None
    match = re.search(r"\b(\d{6})\b", body.get_content())
    assert match is not None
    return match.group(1)


def test_customer_and_dpo_journey(
    live: LiveServer, browser: Any, axe_script: str, tmp_path: Path
) -> None:
    runtime = live.runtime
    factory = CustomerFactory(seed=21)
    record = {
        k: v
        for k, v in factory.customer().items()
        if k
        in (
            "first_name",
            "last_name",
            "phone",
            "street_address",
            "postal_code",
            "city",
            "orders",
            "payment_token",
        )
    }
    record["email"] = EMAIL
    with runtime.unit(OPERATOR) as s:
        customer = runtime.vault.collect(
            s, actor=OPERATOR, purposes=["order_fulfilment"], values=record
        ).id
        runtime.consent.record_all(
            s,
            customer_id=customer,
            answer=State.GIVEN,
            context=ConsentContext(channel="privacy_center"),
            actor=OPERATOR,
        )
        dpo = runtime.staff.create(
            s,
            email=DPO_EMAIL,
            display_name="Claire DPO",
            role="dpo",
            password=DPO_PASSWORD,
            actor=OPERATOR,
        )
        secret = runtime.staff.enrol_now(s, user_id=dpo.id, actor=OPERATOR)

    context = browser.new_context(locale="en-GB", accept_downloads=True)
    visit = Visit(context.new_page(), live, axe_script, tmp_path)
    page = visit.page

    # -- the customer signs in with the code the SMTP server received ----------------------
    visit.goto("/privacy", "privacy-sign-in")
    page.get_by_label(re.compile("e-mail", re.I)).fill(EMAIL)
    page.get_by_role("button", name="Send me a code").click()
    visit.check()
    page.get_by_label(re.compile("code", re.I)).fill(last_code(live, EMAIL))
    page.get_by_role("button", name="Sign in").click()
    assert page.url.endswith("/privacy/me")
    visit.check("privacy-my-data")
    assert record["city"] in page.content()

    # -- refuses everything, in one click of the same weight as accepting ------------------
    visit.goto("/privacy/consents")
    accept = page.get_by_role("button", name="Accept all")
    refuse = page.get_by_role("button", name="Refuse all")
    a, r = accept.bounding_box(), refuse.bounding_box()
    assert (
        a
        and r
        and (round(a["width"]), round(a["height"]))
        == (
            round(r["width"]),
            round(r["height"]),
        )
    )
    refuse.click()
    visit.check("privacy-consents")
    with runtime.db.transaction() as s:
        states = runtime.consent.states(s, customer_id=customer)
    given = [t for t, row in states.items() if row.state == State.GIVEN]
    assert given == []

    # -- downloads their data ---------------------------------------------------------------
    visit.goto("/privacy/rights", "privacy-rights")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download my data").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download_info.value.path()).read_bytes()))
    assert EMAIL in archive.read("data.json").decode()

    # -- asks for erasure, after reading what is kept and why --------------------------------
    visit.goto("/privacy/rights/erase", "privacy-erase")
    assert "invoic" in page.content().lower()
    page.get_by_role("button", name="Erase my account").click()
    visit.check()
    visit.goto("/privacy/requests", "privacy-requests")
    assert "erasure" in page.content().lower()
    for path in ("/privacy/complaint", "/privacy/survey", "/privacy/rights/correct"):
        visit.goto(path)

    # -- the DPO signs in with password and TOTP, and carries the erasure out ---------------
    staff = browser.new_context(locale="en-GB")
    console = Visit(staff.new_page(), live, axe_script, tmp_path)
    desk = console.page
    console.goto("/console/login", "console-login")
    desk.get_by_label(re.compile("e-mail", re.I)).fill(DPO_EMAIL)
    desk.get_by_label(re.compile("password", re.I)).fill(DPO_PASSWORD)
    desk.get_by_role("button", name="Continue").click()
    console.check()
    desk.get_by_label(re.compile("code", re.I)).fill(pyotp.TOTP(secret).now())
    desk.get_by_role("button", name="Sign in").click()
    console.check("console-home")
    console.goto("/console/requests", "console-requests")
    desk.get_by_role("link", name=re.compile("R-")).first.click()
    console.check("console-request")
    desk.get_by_role("button", name="Approve and carry out").click()
    console.check()
    assert "completed" in desk.content().lower()
    for path, shot in (
        ("/console/analytics", "console-analytics"),
        ("/console/data-map", "console-data-map"),
        ("/console/audit", "console-audit"),
        ("/console/customers", None),
        ("/console/manifest", None),
        ("/console/webhooks", None),
        ("/console/complaints", None),
        ("/console/password", None),
    ):
        console.goto(path, shot)

    # -- the customer can no longer sign in --------------------------------------------------
    # The session ended with the erasure: the page sends the browser to sign in.
    page.goto(live.url + "/privacy/me")
    assert page.url.endswith("/privacy/sign-in")
    visit.goto("/privacy")
    page.get_by_label(re.compile("e-mail", re.I)).fill(EMAIL)
    page.get_by_role("button", name="Send me a code").click()
    page.get_by_label(re.compile("code", re.I)).fill(last_code(live, EMAIL))
    page.get_by_role("button", name="Sign in").click()
    visit.check()
    assert not page.url.endswith("/privacy/me")
    assert "no data" in page.content().lower()

    assert visit.outside == [] and console.outside == []
    context.close()
    staff.close()
