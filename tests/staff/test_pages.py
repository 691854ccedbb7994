"""The staff console in a browser's shoes (HTTP through the app, both databases): sign-in with
a password and a TOTP code, sessions, CSRF, what each role may open, and the DPO's work."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from confiance.actors import Actor
from confiance.audit.models import AuditEntry
from confiance.config import Settings, StaffSettings
from confiance.consent.rules import State
from confiance.consent.service import Change, ConsentContext
from confiance.demo.generator import CustomerFactory
from confiance.rights.models import RightsRequest
from confiance.runtime import Runtime
from confiance.staff.models import StaffSession
from confiance.vault.errors import CustomerNotFound
from confiance.vault.models import Customer
from confiance.web import i18n
from confiance.web.app import create_app
from tests.support import ManualClock, manifest_of

OPERATOR = Actor.operator("test")
PASSWORD = "velours-Tilleul-29-orage"
SRC = Path(__file__).resolve().parents[2] / "src" / "confiance"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Cheaper password hashing than production's: these tests sign in many times."""
    return Settings(
        data_dir=tmp_path / "data",
        staff=StaffSettings(argon2_time_cost=1, argon2_memory_kib=8192, argon2_parallelism=1),
    )


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as test_client:
        yield test_client


def make_staff(runtime: Runtime, role: str, email: str | None = None) -> str:
    address = email or f"{role}-{uuid.uuid4().hex[:6]}@maison-exemple.example"
    with runtime.db.transaction() as s:
        runtime.staff.create(
            s,
            email=address,
            display_name=f"Agent {role}",
            role=role,
            password=PASSWORD,
            actor=OPERATOR,
        )
    return address


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def password_step(client: TestClient, email: str, password: str = PASSWORD) -> Any:
    form = client.get("/console/login")
    assert form.status_code == 200
    return client.post(
        "/console/login",
        data={"email": email, "password": password, "csrf": csrf_of(form.text)},
    )


def sign_in(client: TestClient, email: str) -> pyotp.TOTP:
    """Password, then enrolment read from the page, then a code: the console's home."""
    page = password_step(client, email)
    assert page.url.path == "/console/totp"
    secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page.text)
    assert secret, "the enrolment page shows the key to type by hand"
    totp = pyotp.TOTP(secret.group(1).replace(" ", ""))
    home = client.post("/console/totp", data={"code": totp.now(), "csrf": csrf_of(page.text)})
    assert home.status_code == 200 and home.url.path == "/console"
    return totp


# -- sign-in ----------------------------------------------------------------------------------
def test_sign_in_with_password_and_totp_through_the_pages(
    runtime: Runtime, client: TestClient
) -> None:
    email = make_staff(runtime, "dpo")
    page = password_step(client, email)
    assert page.status_code == 200 and page.url.path == "/console/totp"
    # First sign-in: the QR code is drawn inline, as an SVG the CSP accepts (no style).
    svg = re.search(r"<svg[^>]*>.*?</svg>", page.text, flags=re.S)
    assert svg and 'role="img"' in svg.group(0) and "style" not in svg.group(0)
    assert "<path" in svg.group(0)
    key = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page.text)
    assert key
    # Reloading shows the same key: the QR code scanned a moment ago still works.
    again = client.get("/console/totp")
    assert key.group(1) in again.text
    totp = pyotp.TOTP(key.group(1).replace(" ", ""))
    home = client.post("/console/totp", data={"code": totp.now(), "csrf": csrf_of(page.text)})
    assert home.url.path == "/console"
    assert "Agent dpo" in home.text
    assert 'href="/console/requests"' in home.text
    # Enrolled: the session opens the console pages.
    assert client.get("/console/requests").status_code == 200


def test_second_sign_in_asks_only_for_a_code(
    runtime: Runtime, client: TestClient, manual_clock: ManualClock
) -> None:
    email = make_staff(runtime, "auditor")
    totp = sign_in(client, email)
    client.cookies.clear()
    manual_clock.advance(seconds=31)
    page = password_step(client, email)
    assert page.url.path == "/console/totp"
    assert "totp-secret" not in page.text and "<svg" not in page.text
    home = client.post(
        "/console/totp", data={"code": totp.at(manual_clock.now), "csrf": csrf_of(page.text)}
    )
    assert home.url.path == "/console"


def test_wrong_password_unknown_address_and_wrong_code_say_the_same(
    runtime: Runtime, client: TestClient
) -> None:
    email = make_staff(runtime, "dpo")
    wrong_password = password_step(client, email, "not-the-password-at-all")
    unknown = password_step(client, "nobody@maison-exemple.example")
    assert wrong_password.status_code == unknown.status_code == 401

    def message(page: str) -> str:
        found = re.search(r'<p class="alert" role="alert">(.*?)</p>', page, flags=re.S)
        assert found
        return found.group(1)

    assert message(wrong_password.text) == message(unknown.text)
    page = password_step(client, email)
    wrong_code = client.post("/console/totp", data={"code": "000000", "csrf": csrf_of(page.text)})
    assert wrong_code.status_code == 401
    assert message(wrong_code.text) == message(unknown.text)
    # Still at the code step: no console page opens.
    assert client.get("/console/requests").url.path == "/console/login"


def test_lockout_is_shown_and_holds_even_with_the_right_password(
    runtime: Runtime, client: TestClient
) -> None:
    email = make_staff(runtime, "dpo")
    for _ in range(runtime.settings.staff.max_failures):
        password_step(client, email, "not-the-password-at-all")
    locked = password_step(client, email)
    assert locked.status_code == 429
    assert f"{runtime.settings.staff.lock_minutes} minutes" in locked.text
    with runtime.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(StaffSession)) == 0


def test_pages_without_a_session_send_to_the_sign_in_page(client: TestClient) -> None:
    for path in ("/console", "/console/requests", "/console/audit", "/console/accounts"):
        page = client.get(path)
        assert page.url.path == "/console/login", path
        assert 'name="password"' in page.text


def test_a_session_at_the_password_stage_opens_no_console_page(
    runtime: Runtime, client: TestClient
) -> None:
    email = make_staff(runtime, "dpo")
    password_step(client, email)
    assert client.cookies.get("staff")
    for path in ("/console", "/console/requests", "/console/data-map"):
        page = client.get(path, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/console/login", path


def test_logout_ends_the_session_on_the_server(runtime: Runtime, client: TestClient) -> None:
    sign_in(client, make_staff(runtime, "dpo"))
    token = client.cookies.get("staff")
    home = client.get("/console")
    client.post("/console/logout", data={"csrf": csrf_of(home.text)})
    # The old cookie, replayed, opens nothing.
    client.cookies.set("staff", token or "")
    assert client.get("/console/requests").url.path == "/console/login"


def test_changing_the_password_ends_the_session(runtime: Runtime, client: TestClient) -> None:
    email = make_staff(runtime, "support")
    sign_in(client, email)
    form = client.get("/console/password")
    new = "Autre-mot-de-passe-42"
    mismatch = client.post(
        "/console/password",
        data={"current": PASSWORD, "new": new, "confirm": new + "x", "csrf": csrf_of(form.text)},
    )
    assert mismatch.status_code == 422
    done = client.post(
        "/console/password",
        data={"current": PASSWORD, "new": new, "confirm": new, "csrf": csrf_of(form.text)},
    )
    assert done.url.path == "/console/login"
    assert client.get("/console").url.path == "/console/login"
    assert password_step(client, email, PASSWORD).status_code == 401
    assert password_step(client, email, new).url.path == "/console/totp"


# -- CSRF -------------------------------------------------------------------------------------
def test_forms_without_the_token_or_from_another_site_are_refused(
    runtime: Runtime, client: TestClient
) -> None:
    sign_in(client, make_staff(runtime, "admin"))
    csrf = csrf_of(client.get("/console/accounts").text)
    new = {"email": "new.agent@maison-exemple.example", "display_name": "New", "role": "dpo"}
    no_token = client.post("/console/accounts", data=new)
    wrong_token = client.post("/console/accounts", data={**new, "csrf": "forged"})
    cross_site = client.post(
        "/console/accounts", data={**new, "csrf": csrf}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    other_origin = client.post(
        "/console/accounts", data={**new, "csrf": csrf}, headers={"Origin": "https://evil.example"}
    )
    for page in (no_token, wrong_token, cross_site, other_origin):
        assert page.status_code == 403
    with runtime.db.transaction() as s:
        emails = [a.email for a in runtime.staff.list(s, actor=OPERATOR)]
    assert new["email"] not in emails
    # The same form, from the page itself, works.
    made = client.post("/console/accounts", data={**new, "csrf": csrf})
    assert made.status_code == 200 and 'id="new-password"' in made.text


def test_the_login_form_needs_its_token(runtime: Runtime, client: TestClient) -> None:
    email = make_staff(runtime, "dpo")
    client.get("/console/login")
    refused = client.post("/console/login", data={"email": email, "password": PASSWORD})
    assert refused.status_code == 403
    assert not client.cookies.get("staff")


# -- roles --------------------------------------------------------------------------------------
ALL_PAGES = (
    "/console/requests",
    "/console/customers",
    "/console/analytics",
    "/console/data-map",
    "/console/manifest",
    "/console/audit",
    "/console/webhooks",
    "/console/complaints",
    "/console/accounts",
)
MAY_OPEN = {
    "admin": {
        "/console/analytics",
        "/console/data-map",
        "/console/manifest",
        "/console/audit",
        "/console/webhooks",
        "/console/accounts",
    },
    "dpo": set(ALL_PAGES) - {"/console/accounts"},
    "support": {"/console/requests", "/console/customers"},
    "marketing": {"/console/analytics", "/console/data-map", "/console/manifest"},
    "auditor": {"/console/audit", "/console/data-map", "/console/manifest"},
}


@pytest.mark.parametrize("role", sorted(MAY_OPEN))
def test_each_role_opens_its_pages_and_no_other(
    runtime: Runtime, client: TestClient, role: str
) -> None:
    sign_in(client, make_staff(runtime, role))
    home = client.get("/console").text
    for path in ALL_PAGES:
        page = client.get(path)
        if path in MAY_OPEN[role]:
            assert page.status_code == 200, (role, path)
            assert f'href="{path}"' in home, (role, path)
        else:
            assert page.status_code == 403, (role, path)
            assert f'href="{path}"' not in home, (role, path)


def test_support_sees_masked_values_and_marketing_cannot_look_up(
    runtime: Runtime, client: TestClient
) -> None:
    record = CustomerFactory(seed=11).customer()
    manifest = manifest_of(runtime)
    support_fields = next(p for p in manifest.purposes if p.key == "customer_support").fields
    with runtime.db.transaction() as s:
        runtime.vault.collect(
            s,
            actor=OPERATOR,
            purposes=["customer_support"],
            values={k: v for k, v in record.items() if k in support_fields},
        )
    sign_in(client, make_staff(runtime, "support"))
    form = client.get("/console/customers")
    # Support may go through its own purpose only.
    assert re.findall(r'<option value="([a-z_]+)"', form.text) == ["customer_support"]
    found = client.post(
        "/console/customers",
        data={"email": record["email"], "purpose": "customer_support", "csrf": csrf_of(form.text)},
    )
    assert found.status_code == 200
    text = html.unescape(found.text)
    assert record["last_name"] not in text and record["email"] not in text
    assert record["email"].split("@")[1] in text  # masked: j***@domain
    # Another purpose, forced in the form, is refused by the vault.
    forced = client.post(
        "/console/customers",
        data={"email": record["email"], "purpose": "order_fulfilment", "csrf": csrf_of(form.text)},
    )
    assert forced.status_code == 403
    assert record["email"] not in html.unescape(forced.text)

    client.cookies.clear()
    sign_in(client, make_staff(runtime, "marketing"))
    assert client.get("/console/analytics").status_code == 200
    csrf = csrf_of(client.get("/console/analytics").text)
    refused = client.post(
        "/console/customers",
        data={"email": record["email"], "purpose": "email_marketing", "csrf": csrf},
    )
    assert refused.status_code == 403


def test_the_dpo_looks_a_customer_up_for_a_chosen_purpose_in_clear(
    runtime: Runtime, client: TestClient
) -> None:
    record = CustomerFactory(seed=12).customer()
    fields = next(p for p in manifest_of(runtime).purposes if p.key == "order_fulfilment").fields
    with runtime.db.transaction() as s:
        runtime.vault.collect(
            s,
            actor=OPERATOR,
            purposes=["order_fulfilment"],
            values={k: v for k, v in record.items() if k in fields},
        )
    sign_in(client, make_staff(runtime, "dpo"))
    form = client.get("/console/customers")
    found = client.post(
        "/console/customers",
        data={"email": record["email"], "purpose": "order_fulfilment", "csrf": csrf_of(form.text)},
    )
    text = html.unescape(found.text)
    assert record["last_name"] in text and record["street_address"] in text
    # The address typed travelled in the body, not in a URL.
    assert record["email"] not in str(found.url)


# -- the DPO's work -----------------------------------------------------------------------------
def test_a_complaint_is_shown_escaped_to_the_dpo(runtime: Runtime, client: TestClient) -> None:
    typed = "<script>alert(1)</script> et <b>rien</b> ne s'arrange"
    with runtime.db.transaction() as s:
        runtime.portal.complain(s, signed=None, topic="other", text=typed, language="fr")
    sign_in(client, make_staff(runtime, "dpo"))
    page = client.get("/console/complaints")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text and "<b>rien</b>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert html.unescape(page.text).count(typed) == 1


def test_the_dpo_verifies_and_approves_an_erasure_from_the_request_page(
    runtime: Runtime, client: TestClient
) -> None:
    record = CustomerFactory(seed=13).customer()
    fields = next(p for p in manifest_of(runtime).purposes if p.key == "order_fulfilment").fields
    with runtime.db.transaction() as s:
        customer = runtime.vault.collect(
            s,
            actor=OPERATOR,
            purposes=["order_fulfilment"],
            values={k: v for k, v in record.items() if k in fields},
        )
        intake = runtime.rights.submit(
            s, kind="erasure", email=record["email"], actor=OPERATOR, channel="api"
        )
    sign_in(client, make_staff(runtime, "dpo"))
    queue = client.get("/console/requests")
    assert intake.reference in queue.text
    page = client.get(f"/console/requests/{intake.id}")
    assert page.status_code == 200 and "/verify" in page.text and "/approve" not in page.text
    verified = client.post(
        f"/console/requests/{intake.id}/verify",
        data={"note": "Pièce d'identité vue en boutique", "csrf": csrf_of(page.text)},
    )
    assert verified.status_code == 200 and "/approve" in verified.text
    assert "Pièce d&#39;identité vue en boutique" in verified.text  # in the history
    approved = client.post(
        f"/console/requests/{intake.id}/approve", data={"csrf": csrf_of(verified.text)}
    )
    assert approved.status_code == 200
    with runtime.db.transaction() as s:
        row = s.get(RightsRequest, intake.id)
        assert row is not None and row.status == "completed"
        assert s.get(Customer, customer.id).erased_at is not None  # type: ignore[union-attr]
    with pytest.raises(CustomerNotFound), runtime.db.transaction() as s:
        runtime.vault.read(s, actor=OPERATOR, purpose="order_fulfilment", customer_id=customer.id)
    # A second approval is refused with the reason, and changes nothing.
    again = client.post(
        f"/console/requests/{intake.id}/approve", data={"csrf": csrf_of(approved.text)}
    )
    assert again.status_code == 409


def test_refusing_needs_a_reason_and_support_cannot_act(
    runtime: Runtime, client: TestClient
) -> None:
    with runtime.db.transaction() as s:
        intake = runtime.rights.submit(
            s, kind="access", email="someone@exemple.example", actor=OPERATOR
        )
    sign_in(client, make_staff(runtime, "support"))
    page = client.get(f"/console/requests/{intake.id}")
    assert page.status_code == 200 and "/refuse" not in page.text
    forced = client.post(
        f"/console/requests/{intake.id}/refuse",
        data={"reason": "Non", "csrf": csrf_of(page.text)},
    )
    assert forced.status_code == 403
    with runtime.db.transaction() as s:
        assert s.get(RightsRequest, intake.id).status == "received"  # type: ignore[union-attr]


def test_audit_search_and_verification(runtime: Runtime, client: TestClient) -> None:
    record = CustomerFactory(seed=14).customer()
    fields = next(p for p in manifest_of(runtime).purposes if p.key == "order_fulfilment").fields
    with runtime.db.transaction() as s:
        customer = runtime.vault.collect(
            s,
            actor=OPERATOR,
            purposes=["order_fulfilment"],
            values={k: v for k, v in record.items() if k in fields},
        )
    with runtime.db.transaction() as s:
        runtime.vault.read(s, actor=OPERATOR, purpose="order_fulfilment", customer_id=customer.id)
    sign_in(client, make_staff(runtime, "auditor"))
    form = client.get("/console/audit")
    found = client.post(
        "/console/audit",
        data={"customer_pid": str(customer.id), "action": "vault.", "csrf": csrf_of(form.text)},
    )
    assert found.status_code == 200
    rows = re.findall(r"<tr><td>\d+</td>.*?</tr>", found.text, flags=re.S)
    actions = [re.findall(r"<td>([a-z_.]+)</td>", row)[0] for row in rows]
    assert sorted(actions) == ["vault.collect", "vault.read"]
    assert record["email"] not in found.text
    verified = client.post("/console/audit/verify", data={"csrf": csrf_of(form.text)})
    assert 'class="notice"' in verified.text
    # The search itself was recorded, with the customer it was about.
    with runtime.db.transaction() as s:
        searches = s.scalars(select(AuditEntry).where(AuditEntry.action == "audit.search")).all()
    assert [e.customer_pid for e in searches] == [str(customer.id)]
    assert searches[0].actor.startswith("staff:auditor:")


def test_a_broken_audit_chain_is_reported_with_its_first_entry(
    runtime: Runtime, client: TestClient
) -> None:
    email = make_staff(runtime, "auditor")
    with runtime.db.transaction() as s:
        entry = s.scalars(select(AuditEntry).order_by(AuditEntry.seq).limit(1)).one()
        entry.detail = (entry.detail or "") + " altered"
        seq = entry.seq
    sign_in(client, email)
    form = client.get("/console/audit")
    page = client.post("/console/audit/verify", data={"csrf": csrf_of(form.text)})
    assert page.status_code == 200
    alert = re.search(r'<p class="alert" role="alert">(.*?)</p>', page.text, flags=re.S)
    assert alert and f" {seq}" in alert.group(1)


def test_analytics_draws_the_rates_of_the_ledger(runtime: Runtime, client: TestClient) -> None:
    with runtime.db.transaction() as s:
        ids = [
            runtime.vault.collect(
                s, actor=OPERATOR, purposes=["order_fulfilment"], values={"first_name": f"N{n}"}
            ).id
            for n in range(4)
        ]
        for n, customer_id in enumerate(ids):
            runtime.consent.record(
                s,
                customer_id=customer_id,
                changes=[Change("email_marketing", State.GIVEN if n < 3 else State.REFUSED)],
                context=ConsentContext(channel="web", method="test", language="fr"),
                actor=Actor("system", "test", scopes=frozenset({"consent.write"})),
            )
    sign_in(client, make_staff(runtime, "marketing"))
    page = client.get("/console/analytics?days=7&lang=en")
    assert page.status_code == 200
    assert page.text.count('role="img"') == 3
    # Three yes out of four decisions today: 75 %, in the table next to the chart.
    assert "75 %" in page.text
    assert "Opt-in rate per purpose" in page.text


# -- pages as a whole ---------------------------------------------------------------------------
def test_no_page_loads_anything_from_elsewhere_or_runs_inline_code(
    runtime: Runtime, client: TestClient
) -> None:
    with runtime.db.transaction() as s:
        intake = runtime.rights.submit(s, kind="access", email="a@exemple.example", actor=OPERATOR)
    sign_in(client, make_staff(runtime, "dpo"))
    pages = [
        client.get(p) for p in ("/console", *MAY_OPEN["dpo"], f"/console/requests/{intake.id}")
    ]
    client.cookies.clear()
    pages.append(client.get("/console/login"))
    for page in pages:
        assert page.status_code == 200, page.url
        text = page.text
        assert not re.search(r"""(src|href|action)=["'](https?:)?//""", text), page.url
        assert "<script" not in text, page.url
        assert not re.search(r"\sstyle=", text) and "<style" not in text, page.url
        assert not re.search(r"\son[a-z]+=", text), page.url
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"


def test_pages_speak_french_and_english(runtime: Runtime, client: TestClient) -> None:
    fr = client.get("/console/login")
    en = client.get("/console/login?lang=en")
    assert '<html lang="fr">' in fr.text and "Mot de passe" in fr.text
    assert '<html lang="en">' in en.text and "Password" in en.text


def test_every_console_text_has_a_french_translation() -> None:
    texts: set[str] = set()
    method_map = [("**/console/**.html", "jinja2"), ("**/staff/console.py", "python")]
    for _, _, message, _, _ in extract_from_dir(
        str(SRC),
        method_map=method_map,
        keywords={"_": None, "N_": None, "gettext": None},
    ):
        texts.add(message if isinstance(message, str) else message[0])
    for _, _, message, _, _ in extract_from_dir(
        str(SRC / "staff"), method_map=[("pages.py", "python")], keywords={"_": None}
    ):
        texts.add(message if isinstance(message, str) else message[0])
    assert len(texts) > 100
    translated: dict[str, str] = {}
    for domain in ("messages", "console"):
        with i18n.catalog_path("fr", domain).open("rb") as po:
            translated |= {m.id: m.string for m in read_po(po) if m.id and m.string}
    missing = sorted(t for t in texts if not translated.get(t))
    assert missing == []


def test_an_admin_changes_a_role_and_the_sessions_of_that_account_end(
    runtime: Runtime, client: TestClient
) -> None:
    agent = make_staff(runtime, "support", "agent.role@maison-exemple.example")
    with TestClient(client.app) as other:
        sign_in(other, agent)
        assert other.get("/console/requests").status_code == 200
        sign_in(client, make_staff(runtime, "admin"))
        page = client.get("/console/accounts")
        with runtime.db.transaction() as s:
            [target] = [a for a in runtime.staff.list(s, actor=OPERATOR) if a.email == agent]
        changed = client.post(
            f"/console/accounts/{target.id}/role",
            data={"role": "auditor", "csrf": csrf_of(page.text)},
        )
        assert changed.status_code == 200 and changed.url.path == "/console/accounts"
        with runtime.db.transaction() as s:
            [after] = [a for a in runtime.staff.list(s, actor=OPERATOR) if a.email == agent]
        assert after.role == "auditor"
        # The agent's open session ended with the change.
        assert other.get("/console/requests").url.path == "/console/login"


def test_the_dpo_marks_a_complaint_as_handled(runtime: Runtime, client: TestClient) -> None:
    with runtime.db.transaction() as s:
        complaint = runtime.portal.complain(
            s, signed=None, topic="consent", text="Trop de courriels.", language="fr"
        )
    sign_in(client, make_staff(runtime, "dpo"))
    page = client.get("/console/complaints")
    assert "Mark as handled" in page.text or "Marquer comme traitée" in page.text
    done = client.post(
        f"/console/complaints/{complaint}/handled", data={"csrf": csrf_of(page.text)}
    )
    assert done.status_code == 200 and done.url.path == "/console/complaints"
    with runtime.db.transaction() as s:
        [view] = runtime.portal.complaints(s, actor=actor_for_role("dpo"))
    assert view.status == "handled"


def actor_for_role(role: str) -> Any:
    from confiance.staff.roles import actor_for

    return actor_for(role, "test")
