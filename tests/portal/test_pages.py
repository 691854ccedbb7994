"""The privacy center's pages, through HTTP (TestClient), on both databases: sign-in with the
e-mailed code, what the customer sees, consents, rights, complaint and survey, CSRF, languages,
and what the pages must never contain (third-party URLs, inline scripts or styles)."""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_date
from babel.messages.extract import extract
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from httpx import Response
from jinja2.ext import babel_extract
from markupsafe import escape

from confiance import deadlines
from confiance.actors import Actor
from confiance.consent.rules import SALE_SHARING, State
from confiance.deadlines import Jurisdiction
from confiance.manifest.schemas import LegalBasis, Manifest
from confiance.portal.views import field_label
from confiance.rights.export_text import CATALOG
from confiance.runtime import Runtime
from confiance.staff.roles import actor_for
from confiance.web import i18n
from confiance.web.app import create_app
from tests.portal.test_service import code_sent_to
from tests.rights.test_service import mails_to
from tests.support import manifest_of

OPERATOR = Actor.operator("test")
EMAIL = "louise.perrin@courriel.example"
OTHER_EMAIL = "marc.leroy@courriel.example"
FR = i18n.translations("fr").gettext
TEMPLATES = Path(__file__).resolve().parents[2] / "src/confiance/web/templates/portal"
PORTAL_SRC = Path(__file__).resolve().parents[2] / "src/confiance/portal"


def esc(text: str) -> str:
    """A text as the templates write it (Jinja's escaping)."""
    return str(escape(text))


# -- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture
def customers(runtime: Runtime, make_record: Any) -> dict[str, Any]:
    """Louise (who signs in) and Marc (whose data must never show up on her pages)."""
    made: dict[str, Any] = {}
    for name, email in (("louise", EMAIL), ("marc", OTHER_EMAIL)):
        record = make_record()
        record["email"] = email
        with runtime.unit(OPERATOR) as s:
            made[name] = runtime.vault.collect(
                s, actor=OPERATOR, purposes=make_record.purposes, values=record
            ).id
        made[f"{name}_record"] = record
    return made


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime))


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None, "the page has no CSRF token"
    return match.group(1)


def sign_in(client: TestClient, runtime: Runtime, email: str = EMAIL) -> list[Response]:
    """Sign in through the pages; returns the responses, for the tests that look at them."""
    home = client.get("/privacy")
    asked = client.post(
        "/privacy/sign-in",
        data={"email": email, "csrf": csrf_of(home.text)},
        follow_redirects=False,
    )
    assert asked.status_code == 303 and asked.headers["location"] == "/privacy/code"
    form = client.get("/privacy/code")
    assert form.status_code == 200
    done = client.post(
        "/privacy/code",
        data={"code": code_sent_to(runtime, email), "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )
    return [home, asked, form, done]


def states_of(runtime: Runtime, customer: uuid.UUID) -> dict[str, Any]:
    with runtime.db.transaction() as s:
        return runtime.consent.states(s, customer_id=customer)


def consent_purposes(manifest: Manifest) -> list[str]:
    return [p.key for p in manifest.purposes if p.legal_basis is LegalBasis.CONSENT]


class _Page(HTMLParser):
    """What the checks below need from a page: URLs, styles, scripts, labels, headings."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.styles: list[str] = []
        self.scripts = 0
        self.labels: set[str] = set()
        self.inputs: list[dict[str, str | None]] = []
        self.headings: list[int] = []
        self.current: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href", "action", "srcset", "poster", "data"):
            if found.get(name):
                self.urls.append(str(found[name]))
        if "style" in found:
            self.styles.append(tag)
        if tag in ("script", "style"):
            self.scripts += 1
        if tag == "label" and found.get("for"):
            self.labels.add(str(found["for"]))
        if tag in ("input", "select", "textarea") and found.get("type") not in ("hidden", "submit"):
            self.inputs.append(found)
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if found.get("aria-current") == "page":
            self.current.append(str(found.get("href")))


def check_page(page: str) -> _Page:
    """Nothing from another site, no inline script or style, labels tied to inputs, headings
    in order."""
    parsed = _Page()
    parsed.feed(page)
    for url in parsed.urls:
        assert not re.match(r"^([a-z][a-z0-9+.-]*:|//)", url, re.I), url
    assert parsed.styles == [], "style= attributes are refused by the CSP"
    assert parsed.scripts == 0, "no <script> or <style> element"
    for field in parsed.inputs:
        assert field.get("id") in parsed.labels, f"input without a label: {field}"
    assert parsed.headings and parsed.headings[0] == 1 and parsed.headings.count(1) == 1
    for before, after in zip(parsed.headings, parsed.headings[1:], strict=False):
        assert after <= before + 1, f"heading level skipped: h{before} then h{after}"
    return parsed


# -- sign-in -------------------------------------------------------------------------------------


def test_a_customer_signs_in_with_the_code_from_the_mail(
    runtime: Runtime, client: TestClient, customers: dict[str, Any]
) -> None:
    _, asked, _, done = sign_in(client, runtime)
    assert done.status_code == 303 and done.headers["location"] == "/privacy/me"
    session_cookie = done.headers["set-cookie"]
    assert session_cookie.startswith("privacy=")
    assert "HttpOnly" in session_cookie and "samesite=strict" in session_cookie.lower()
    # The address typed is in no URL, and the pending cookie holds it sealed, not in clear.
    pending = asked.headers["set-cookie"]
    assert EMAIL not in pending and "louise" not in pending.lower()
    for response in (asked, done):
        assert EMAIL not in response.headers["location"]
    me = client.get("/privacy/me")
    assert me.status_code == 200
    record = customers["louise_record"]
    assert esc(record["last_name"]) in me.text
    assert esc(customers["marc_record"]["last_name"]) not in me.text


def test_on_https_the_session_cookie_is_secure_and_host_prefixed(
    runtime: Runtime, customers: dict[str, Any]
) -> None:
    client = TestClient(create_app(runtime), base_url="https://testserver")
    *_, done = sign_in(client, runtime)
    cookie = done.headers["set-cookie"]
    assert cookie.startswith("__Host-privacy=")
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
    assert client.get("/privacy/me").status_code == 200


def test_the_same_answer_whatever_the_address(
    runtime: Runtime, client: TestClient, customers: dict[str, Any]
) -> None:
    token = csrf_of(client.get("/privacy").text)
    known = client.post("/privacy/sign-in", data={"email": EMAIL, "csrf": token})
    unknown = client.post("/privacy/sign-in", data={"email": "x@nulle-part.example", "csrf": token})
    assert known.status_code == unknown.status_code == 200
    assert known.url.path == unknown.url.path == "/privacy/code"
    assert known.text == unknown.text


def test_a_wrong_code_says_how_many_attempts_are_left(
    runtime: Runtime, client: TestClient, customers: dict[str, Any]
) -> None:
    home = client.get("/privacy")
    client.post("/privacy/sign-in", data={"email": EMAIL, "csrf": csrf_of(home.text)})
    code = code_sent_to(runtime, EMAIL)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    form = client.get("/privacy/code")
    rejected = client.post(
        "/privacy/code", data={"code": wrong, "csrf": csrf_of(form.text)}, follow_redirects=False
    )
    assert rejected.status_code == 400
    left = runtime.settings.rights.code_attempts - 1
    assert esc(FR("Attempts left: %(num)s.") % {"num": left}) in rejected.text
    assert 'aria-invalid="true"' in rejected.text
    assert (
        'aria-describedby="code-hint code-error"' in rejected.text
        and 'id="code-error"' in rejected.text
    )
    assert "privacy=" not in rejected.headers.get("set-cookie", "")
    ok = client.post(
        "/privacy/code", data={"code": code, "csrf": csrf_of(rejected.text)}, follow_redirects=False
    )
    assert ok.headers["location"] == "/privacy/me"


def test_an_address_nobody_has_gets_a_clear_page_and_no_session(
    runtime: Runtime, client: TestClient, customers: dict[str, Any]
) -> None:
    *_, done = sign_in(client, runtime, "personne@courriel.example")
    assert done.status_code == 404
    title = FR("We hold no data about this address")
    assert title != "We hold no data about this address"
    assert esc(title) in done.text
    assert "privacy=" not in done.headers.get("set-cookie", "").replace("privacy_pending=", "")
    assert client.get("/privacy/me", follow_redirects=False).headers["location"] == (
        "/privacy/sign-in"
    )


@pytest.mark.parametrize(
    "path",
    [
        "/privacy/me",
        "/privacy/consents",
        "/privacy/rights",
        "/privacy/rights/correct",
        "/privacy/rights/erase",
        "/privacy/requests",
        "/privacy/survey",
    ],
)
def test_pages_need_a_session(runtime: Runtime, client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/privacy/sign-in"
    client.cookies.set("privacy", "not-a-session")
    response = client.get(path, follow_redirects=False)
    assert response.headers["location"] == "/privacy/sign-in"


def test_signing_out_ends_the_session(
    runtime: Runtime, client: TestClient, customers: dict[str, Any]
) -> None:
    sign_in(client, runtime)
    page = client.get("/privacy/me")
    token = client.cookies.get("privacy")
    out = client.post(
        "/privacy/sign-out", data={"csrf": csrf_of(page.text)}, follow_redirects=False
    )
    assert out.headers["location"] == "/privacy?done=signed-out"
    # Even a copy of the old cookie no longer opens anything.
    client.cookies.set("privacy", str(token))
    assert client.get("/privacy/me", follow_redirects=False).status_code == 303


# -- CSRF ----------------------------------------------------------------------------------------


def test_cross_site_or_tokenless_posts_are_refused_and_change_nothing(
    runtime: Runtime, client: TestClient, customers: dict[str, Any]
) -> None:
    louise = customers["louise"]
    sign_in(client, runtime)
    token = csrf_of(client.get("/privacy/consents").text)
    attempts: list[tuple[dict[str, str], dict[str, str]]] = [
        ({"answer": "given"}, {}),
        ({"answer": "given", "csrf": "forged"}, {}),
        ({"answer": "given", "csrf": token}, {"Sec-Fetch-Site": "cross-site"}),
        ({"answer": "given", "csrf": token}, {"Origin": "https://attaquant.example"}),
    ]
    for data, headers in attempts:
        refused = client.post("/privacy/consents/all", data=data, headers=headers)
        assert refused.status_code == 403
        assert states_of(runtime, louise) == {}
    # The sign-in form too: no code is sent for a forged post.
    before = len(mails_to(runtime, OTHER_EMAIL))
    client.post(
        "/privacy/sign-in",
        data={"email": OTHER_EMAIL, "csrf": "forged"},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert len(mails_to(runtime, OTHER_EMAIL)) == before
    # The same post, from the page itself, works.
    accepted = client.post(
        "/privacy/consents/all",
        data={"answer": "given", "csrf": token},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert accepted.status_code == 200 and states_of(runtime, louise)


# -- consents ------------------------------------------------------------------------------------


def test_nothing_is_pre_ticked_and_saved_switches_change_the_ledger(
    runtime: Runtime, client: TestClient, customers: dict[str, Any]
) -> None:
    louise = customers["louise"]
    manifest = manifest_of(runtime)
    consent_keys = consent_purposes(manifest)
    sign_in(client, runtime)
    page = client.get("/privacy/consents")
    assert page.status_code == 200
    for key in consent_keys:
        switch = re.search(rf'<input[^>]*id="choice-{key}"[^>]*>', page.text)
        assert switch is not None and " checked" not in switch.group(0)
        benefit = manifest.purposes_by_key[key].benefit
        if benefit is not None:
            assert esc(benefit.fr) in page.text
    chosen, *others = consent_keys
    objected = next(
        p.key for p in manifest.purposes if p.legal_basis is LegalBasis.LEGITIMATE_INTEREST
    )
    saved = client.post(
        "/privacy/consents",
        data={"csrf": csrf_of(page.text), "given": [chosen], "object": [objected]},
        follow_redirects=False,
    )
    assert saved.headers["location"] == "/privacy/consents?done=saved"
    states = states_of(runtime, louise)
    assert states[chosen].state == State.GIVEN and states[chosen].channel == "privacy_center"
    assert all(states[k].state == State.REFUSED for k in others)
    assert states[objected].state == State.REFUSED
    with runtime.db.transaction() as s:
        history = runtime.consent.history(s, customer_id=louise, actor=Actor.system("t"))
        allowed = runtime.consent.verdicts(s, customer_id=louise, actor=Actor.system("t"))
    assert all(len(e.evidence) == 64 for e in history)
    assert allowed[chosen].allowed and not allowed[objected].allowed
    page = client.get("/privacy/consents")
    switch = re.search(rf'<input[^>]*id="choice-{chosen}"[^>]*>', page.text)
    assert switch is not None and " checked" in switch.group(0)
    # Unticking withdraws it, at once.
    client.post("/privacy/consents", data={"csrf": csrf_of(page.text)})
    assert states_of(runtime, louise)[chosen].state == State.WITHDRAWN
    assert states_of(runtime, louise)[objected].state == State.GIVEN
    # Every change gave a signed receipt the customer can download.
    page = client.get("/privacy/consents")
    links = re.findall(r'href="(/privacy/consents/receipts/[^"]+)"', page.text)
    assert len(links) == 2
    receipt = client.get(links[0])
    assert receipt.headers["content-type"].startswith("application/jose")
    assert receipt.text.count(".") == 2


def test_accept_all_and_refuse_all_have_equal_weight(
    runtime: Runtime, client: TestClient, customers: dict[str, Any]
) -> None:
    louise = customers["louise"]
    keys = consent_purposes(manifest_of(runtime))
    sign_in(client, runtime)
    page = client.get("/privacy/consents")
    form = re.search(r'<form[^>]*action="/privacy/consents/all".*?</form>', page.text, re.S)
    assert form is not None
    buttons = re.findall(r"<button([^>]*)>", form.group(0))
    assert len(buttons) == 2
    # The same element, the same attributes but the value: neither is nudged.
    assert [re.sub(r'value="\w+"', "", b) for b in buttons] == [
        re.sub(r'value="\w+"', "", buttons[0])
    ] * 2
    client.post("/privacy/consents/all", data={"csrf": csrf_of(page.text), "answer": "given"})
    assert all(states_of(runtime, louise)[k].state == State.GIVEN for k in keys)
    done = client.post(
        "/privacy/consents/all", data={"csrf": csrf_of(page.text), "answer": "refused"}
    )
    assert all(states_of(runtime, louise)[k].state == State.WITHDRAWN for k in keys)
    assert esc(FR("You refused every use of your data that needs your consent.")) in (done.text)


def test_a_gpc_signal_is_honoured_and_shown(
    runtime: Runtime, client: TestClient, customers: dict[str, Any]
) -> None:
    louise = customers["louise"]
    sign_in(client, runtime)
    assert SALE_SHARING not in states_of(runtime, louise)
    page = client.get("/privacy/consents", headers={"Sec-GPC": "1"})
    row = states_of(runtime, louise)[SALE_SHARING]
    assert row.state == State.REFUSED and row.channel == "gpc"
    shown = FR(
        "Your browser's Global Privacy Control signal was honoured: your data is not sold or "
        "shared, and no advertising is targeted from it."
    )
    assert esc(shown) in page.text
    # Without the header the page still says so (the opt-out stays), and the switch is on.
    again = client.get("/privacy/consents")
    assert esc(shown) in again.text
    switch = re.search(r'<input[^>]*name="sale_opt_out"[^>]*>', again.text)
    assert switch is not None and " checked" in switch.group(0)


# -- my data -------------------------------------------------------------------------------------


def test_my_data_says_what_why_since_when_and_who_accessed_it(
    runtime: Runtime, client: TestClient, customers: dict[str, Any]
) -> None:
    louise = customers["louise"]
    manifest = manifest_of(runtime)
    sign_in(client, runtime)
    page = client.get("/privacy/me").text
    with runtime.db.transaction() as s:
        values = runtime.vault.subject_values(s, actor=OPERATOR, customer_id=louise, reason="test")
    for name in values:
        spec = manifest.fields_by_name[name]
        assert esc(spec.reason.fr) in page, name
    for purpose in manifest.purposes:
        if set(purpose.fields) & set(values) and purpose.description is not None:
            assert esc(purpose.description.fr) in page
        for r in purpose.recipients:
            assert esc(r.name) in page
    for basis in {p.legal_basis.value for p in manifest.purposes}:
        assert esc(CATALOG["fr"][f"basis.{basis}"]) in page
    # The picture is drawn by the server and described for screen readers.
    svg = re.search(r"<svg[^>]*>.*?</svg>", page, re.S)
    assert svg is not None
    assert 'role="img"' in svg.group(0) and "<title" in svg.group(0) and "<desc" in svg.group(0)
    assert "stroke-dasharray" in svg.group(0)  # consent purposes not given are drawn dashed
    # Who accessed it: in words, the customer's own visits included, no internal ids.
    access = page[page.index('id="access"') :]
    assert esc(FR("Signed in to the privacy center")) in access
    assert esc(FR("You")) in access
    assert "customer:" not in page and "system:" not in page and str(louise) not in page


# -- rights --------------------------------------------------------------------------------------


def test_download_returns_a_zip_of_this_customer_only(
    runtime: Runtime, client: TestClient, customers: dict[str, Any]
) -> None:
    sign_in(client, runtime)
    page = client.get("/privacy/rights")
    archive = client.post("/privacy/rights/download", data={"csrf": csrf_of(page.text)})
    assert archive.status_code == 200
    assert archive.headers["content-type"] == "application/zip"
    assert "attachment" in archive.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zf:
        data = json.loads(zf.read("data.json"))
        everything = b"".join(zf.read(n) for n in zf.namelist())
    assert data["customer"]["id"] == str(customers["louise"])
    assert EMAIL.encode() in everything
    assert OTHER_EMAIL.encode() not in everything
    assert str(customers["marc"]).encode() not in everything
    with runtime.db.transaction() as s:
        [request] = runtime.rights.past_requests(s, customer_pid=str(customers["louise"]))
    assert request.kind == "access" and request.status == "completed"


def test_erasure_page_says_what_is_kept_then_creates_the_request(
    runtime: Runtime, client: TestClient, customers: dict[str, Any]
) -> None:
    louise = customers["louise"]
    manifest = manifest_of(runtime)
    held = set(customers["louise_record"])
    kept = {
        f
        for p in manifest.purposes
        if p.legal_basis is LegalBasis.LEGAL_OBLIGATION and p.retention is not None
        for f in p.fields
        if f in held
    }
    assert kept and held - kept
    sign_in(client, runtime)
    page = client.get("/privacy/rights/erase")
    assert page.status_code == 200
    erased_part = page.text[: page.text.index(esc(FR("What we must keep, and why")))]
    kept_part = page.text[len(erased_part) :]
    for name in kept:
        assert f'<th scope="row">{esc(field_label(FR, name))}</th>' in kept_part
    for name in held - kept:
        assert f"<li>{esc(field_label(FR, name))}</li>" in erased_part
    created = client.post(
        "/privacy/rights/erase", data={"csrf": csrf_of(page.text)}, follow_redirects=True
    )
    assert created.url.path == "/privacy/requests"
    with runtime.db.transaction() as s:
        [request] = runtime.rights.past_requests(s, customer_pid=str(louise))
    assert request.kind == "erasure" and request.status == "verified"
    due = format_date(
        request.due_at.astimezone(deadlines.zone_of(Jurisdiction.GDPR)).date(), "long", locale="fr"
    )
    assert request.reference in created.text and esc(due) in created.text
    # Asking twice is not offered: the page shows the pending request instead.
    again = client.get("/privacy/rights/erase")
    assert request.reference in again.text and 'action="/privacy/rights/erase"' not in again.text


def test_a_correction_becomes_a_request_for_staff(
    runtime: Runtime, client: TestClient, customers: dict[str, Any]
) -> None:
    sign_in(client, runtime)
    page = client.get("/privacy/rights/correct")
    refused = client.post(
        "/privacy/rights/correct",
        data={"csrf": csrf_of(page.text), "field": "payment_token", "value": "x"},
    )
    assert refused.status_code == 422
    assert 'aria-describedby="field-error"' in refused.text and 'href="#field"' in refused.text
    sent = client.post(
        "/privacy/rights/correct",
        data={"csrf": csrf_of(page.text), "field": "city", "value": "Villeurbanne"},
    )
    assert sent.url.path == "/privacy/requests"
    with runtime.db.transaction() as s:
        [request] = runtime.rights.past_requests(s, customer_pid=str(customers["louise"]))
    assert request.kind == "rectification" and request.status == "verified"


def test_opting_out_of_sale_takes_effect_at_once(
    runtime: Runtime, client: TestClient, customers: dict[str, Any]
) -> None:
    sign_in(client, runtime)
    page = client.get("/privacy/rights")
    client.post("/privacy/rights/opt-out", data={"csrf": csrf_of(page.text)})
    row = states_of(runtime, customers["louise"])[SALE_SHARING]
    assert row.state == State.REFUSED and row.channel == "rights_request"
    assert 'action="/privacy/rights/opt-out"' not in client.get("/privacy/rights").text


# -- complaint and survey ------------------------------------------------------------------------


def test_a_complaint_with_markup_is_stored_as_typed_and_shown_escaped(
    runtime: Runtime, client: TestClient
) -> None:
    text = '<script>alert("x")</script> Vous avez partagé mes données !'
    form = client.get("/privacy/complaint")
    assert form.status_code == 200
    invalid = client.post(
        "/privacy/complaint", data={"csrf": csrf_of(form.text), "topic": "weather", "text": text}
    )
    assert invalid.status_code == 422
    assert "<script>alert" not in invalid.text and "&lt;script&gt;alert" in invalid.text
    done = client.post(
        "/privacy/complaint", data={"csrf": csrf_of(form.text), "topic": "consent", "text": text}
    )
    assert done.status_code == 200 and "<script" not in done.text
    with runtime.db.transaction() as s:
        [complaint] = runtime.portal.complaints(s, actor=actor_for("dpo", "d"))
    assert complaint.text == text and complaint.customer_pid is None


def test_the_survey_stores_three_scores(
    runtime: Runtime, client: TestClient, customers: dict[str, Any]
) -> None:
    sign_in(client, runtime)
    page = client.get("/privacy/survey")
    missing = client.post("/privacy/survey", data={"csrf": csrf_of(page.text), "trust": "4"})
    assert missing.status_code == 422
    assert (
        'id="clarity-error"' in missing.text and 'aria-describedby="clarity-error"' in missing.text
    )
    assert 'value="4" checked' in missing.text
    client.post(
        "/privacy/survey",
        data={"csrf": csrf_of(page.text), "trust": "4", "clarity": "5", "control": "2"},
    )
    with runtime.db.transaction() as s:
        summary = runtime.portal.survey_summary(s, actor=actor_for("dpo", "d"))
    assert summary["answers"] == 1 and summary["clarity"] == 5.0 and summary["control"] == 2.0


# -- languages, assets, accessibility -------------------------------------------------------------


def test_french_and_english(runtime: Runtime, client: TestClient) -> None:
    french = client.get("/privacy")
    assert '<html lang="fr">' in french.text
    assert esc(FR("Your privacy center")) in french.text
    assert FR("Your privacy center") != "Your privacy center"
    english = client.get("/privacy", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in english.text and "Your privacy center" in english.text
    switched = client.get("/privacy?lang=en")
    assert "Your privacy center" in switched.text
    assert "Your privacy center" in client.get("/privacy").text  # the switch sticks


def test_every_page_is_self_contained_and_accessible(
    runtime: Runtime, client: TestClient, customers: dict[str, Any]
) -> None:
    pages = [client.get("/privacy"), client.get("/privacy/complaint")]
    sign_in(client, runtime)
    client.get("/privacy/consents", headers={"Sec-GPC": "1"})
    nav = {
        "/privacy/me": "/privacy/me",
        "/privacy/consents": "/privacy/consents",
        "/privacy/rights": "/privacy/rights",
        "/privacy/rights/correct": "/privacy/rights",
        "/privacy/rights/erase": "/privacy/rights",
        "/privacy/requests": "/privacy/requests",
        "/privacy/complaint": "/privacy/complaint",
        "/privacy/survey": "/privacy/survey",
    }
    for language in ("fr", "en"):
        for path, current in nav.items():
            page = client.get(path, headers={"Accept-Language": language})
            assert page.status_code == 200, path
            assert f'<html lang="{language}">' in page.text
            parsed = check_page(page.text)
            assert parsed.current == [current], path
            pages.append(page)
    for page in pages:
        check_page(page.text)
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def _template_messages() -> set[str]:
    found: set[str] = set()
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    for path in TEMPLATES.glob("*.html"):
        with path.open("rb") as f:
            for _, message, _, _ in extract(babel_extract, f, keywords=keywords):
                found.update([message] if isinstance(message, str) else message)
    for path in PORTAL_SRC.glob("*.py"):
        with path.open("rb") as f:
            for _, message, _, _ in extract("python", f, keywords={"N_": None, "gettext": None}):
                found.update([message] if isinstance(message, str) else message)
    return {m for m in found if m}


def test_the_french_catalog_translates_every_text_of_the_pages() -> None:
    catalog: dict[str, bool] = {}
    for name in ("messages", "portal"):
        with i18n.catalog_path("fr", name).open("rb") as f:
            for m in read_po(f, locale="fr"):
                ids = [m.id] if isinstance(m.id, str) else list(m.id)
                strings = [m.string] if isinstance(m.string, str) else list(m.string)
                for key in ids:
                    if key:
                        catalog[key] = all(strings)
    messages = _template_messages()
    assert len(messages) > 100
    missing = sorted(m for m in messages if not catalog.get(m))
    assert missing == []
