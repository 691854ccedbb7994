"""Who may call what: every route of the application, for every audience.

The matrix below says, for each route, which audiences get through; the test calls every
route as every audience and compares. An audience is *refused* when the answer is 401 or 403,
or a redirect to a sign-in page; anything else (a page, a download, a validation error, a 404
for a resource of someone else) means the door opened. A route missing from the matrix, or a
matrix entry for a route that no longer exists, fails the test: a new route cannot ship without
someone deciding who may use it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from confiance.actors import SCOPES, Actor
from confiance.apikeys import service as apikeys
from confiance.consent.rules import State
from confiance.consent.service import Change, ConsentContext
from confiance.portal.pages import SESSION as PORTAL_COOKIE
from confiance.portal.service import PortalSignedIn
from confiance.runtime import Runtime
from confiance.staff.models import StaffUser
from confiance.staff.pages import STAFF_COOKIE
from confiance.web.app import create_app
from confiance.webhooks import service as webhooks_service
from tests.portal.test_service import code_sent_to

OPERATOR = Actor.operator("matrix")
STAFF_ROLES = ("admin", "dpo", "support", "marketing", "auditor")
AUDIENCES = ("anonymous", "customer", *STAFF_ROLES, "service")
EVERYONE = frozenset(AUDIENCES)
STAFF = frozenset(STAFF_ROLES)
SERVICE = frozenset({"service"})


def _roles(*names: str) -> frozenset[str]:
    return frozenset(names)


# (method, path) -> the audiences that get through.
MATRIX: dict[tuple[str, str], frozenset[str]] = {
    # -- service and public --------------------------------------------------------------
    ("GET", "/"): EVERYONE,
    ("GET", "/health"): EVERYONE,
    ("GET", "/.well-known/gpc.json"): EVERYONE,
    ("GET", "/.well-known/confiance-receipts.jwks.json"): EVERYONE,
    # -- the API: an API key, limited by its purposes and scopes --------------------------
    ("POST", "/v1/customers"): SERVICE,
    ("GET", "/v1/customers/{customer_id}"): SERVICE,
    ("PATCH", "/v1/customers/{customer_id}"): SERVICE,
    ("POST", "/v1/customers/lookup"): SERVICE,
    ("POST", "/v1/customers/{customer_id}/contract-end"): SERVICE,
    ("GET", "/v1/customers/{customer_id}/consents"): SERVICE,
    ("POST", "/v1/customers/{customer_id}/consents"): SERVICE,
    ("POST", "/v1/customers/{customer_id}/consents/tcf"): SERVICE,
    ("GET", "/v1/customers/{customer_id}/consents/history"): SERVICE,
    ("GET", "/v1/customers/{customer_id}/decisions/{purpose}"): SERVICE,
    ("GET", "/v1/customers/{customer_id}/receipts"): SERVICE,
    ("GET", "/v1/customers/{customer_id}/receipts/{receipt_id}"): SERVICE,
    ("GET", "/v1/audiences/{purpose}"): SERVICE,
    ("GET", "/v1/consents/daily"): SERVICE,
    ("GET", "/v1/dp/datasets"): SERVICE,
    ("GET", "/v1/dp/budgets/{dataset}"): SERVICE,
    ("POST", "/v1/dp/queries"): SERVICE,
    ("POST", "/v1/pii/scan"): SERVICE,
    ("POST", "/v1/webhooks"): SERVICE,
    ("GET", "/v1/webhooks"): SERVICE,
    ("DELETE", "/v1/webhooks/{subscription_id}"): SERVICE,
    ("GET", "/v1/webhooks/{subscription_id}/deliveries"): SERVICE,
    ("POST", "/v1/webhooks/{subscription_id}/rotate-secret"): SERVICE,
    # A requester has no account: intake and verification are open, following a request needs
    # its token (a wrong one is answered 404, which opens nothing).
    ("POST", "/v1/rights/requests"): EVERYONE,
    ("POST", "/v1/rights/requests/{request_id}/code"): EVERYONE,
    ("POST", "/v1/rights/requests/{request_id}/verify"): EVERYONE,
    ("GET", "/v1/rights/requests/{request_id}"): EVERYONE,
    ("GET", "/v1/rights/requests/{request_id}/export"): EVERYONE,
    ("GET", "/v1/rights/requests/{request_id}/certificate"): EVERYONE,
    ("POST", "/v1/rights/certificates/verify"): EVERYONE,
    ("GET", "/v1/staff/rights/requests"): SERVICE,
    ("GET", "/v1/staff/rights/requests/{request_id}"): SERVICE,
    ("POST", "/v1/staff/rights/requests/{request_id}/assign"): SERVICE,
    ("POST", "/v1/staff/rights/requests/{request_id}/verify"): SERVICE,
    ("POST", "/v1/staff/rights/requests/{request_id}/approve"): SERVICE,
    ("POST", "/v1/staff/rights/requests/{request_id}/refuse"): SERVICE,
    ("POST", "/v1/staff/rights/requests/{request_id}/extend"): SERVICE,
    ("POST", "/v1/staff/rights/requests/{request_id}/lift-restriction"): SERVICE,
    # -- the privacy center: open pages, then a customer's session ------------------------
    ("GET", "/privacy"): EVERYONE,
    ("GET", "/privacy/sign-in"): EVERYONE,
    ("POST", "/privacy/sign-in"): EVERYONE,
    ("GET", "/privacy/code"): EVERYONE,
    ("POST", "/privacy/code"): EVERYONE,
    ("POST", "/privacy/sign-out"): EVERYONE,
    ("GET", "/privacy/me"): _roles("customer"),
    ("GET", "/privacy/consents"): _roles("customer"),
    ("POST", "/privacy/consents"): _roles("customer"),
    ("POST", "/privacy/consents/all"): _roles("customer"),
    ("GET", "/privacy/consents/receipts/{receipt_id}"): _roles("customer"),
    ("GET", "/privacy/rights"): _roles("customer"),
    ("POST", "/privacy/rights/download"): _roles("customer"),
    ("GET", "/privacy/rights/correct"): _roles("customer"),
    ("POST", "/privacy/rights/correct"): _roles("customer"),
    ("GET", "/privacy/rights/erase"): _roles("customer"),
    ("POST", "/privacy/rights/erase"): _roles("customer"),
    ("POST", "/privacy/rights/opt-out"): _roles("customer"),
    ("GET", "/privacy/requests"): _roles("customer"),
    # Anyone may complain, signed in or not; the survey is for customers.
    ("GET", "/privacy/complaint"): EVERYONE,
    ("POST", "/privacy/complaint"): EVERYONE,
    ("GET", "/privacy/survey"): _roles("customer"),
    ("POST", "/privacy/survey"): _roles("customer"),
    # -- the staff console: a full session, then the role's scopes ------------------------
    ("GET", "/console/login"): EVERYONE,
    ("POST", "/console/login"): EVERYONE,
    # The code step belongs to a session at the password stage; a signed-in member is sent on
    # to the console, anyone else to the login page.
    ("GET", "/console/totp"): STAFF,
    ("POST", "/console/totp"): STAFF,
    # Ending a session one does not have changes nothing; see CREDENTIALS below.
    ("POST", "/console/logout"): EVERYONE,
    ("GET", "/console/password"): STAFF,
    ("POST", "/console/password"): STAFF,
    ("GET", "/console"): STAFF,
    ("GET", "/console/requests"): _roles("dpo", "support"),
    ("GET", "/console/requests/{request_id}"): _roles("dpo", "support"),
    ("POST", "/console/requests/{request_id}/{action}"): _roles("dpo"),
    ("GET", "/console/customers"): _roles("dpo", "support"),
    ("POST", "/console/customers"): _roles("dpo", "support"),
    ("GET", "/console/analytics"): _roles("admin", "dpo", "marketing"),
    ("GET", "/console/data-map"): _roles("admin", "dpo", "marketing", "auditor"),
    ("GET", "/console/manifest"): _roles("admin", "dpo", "marketing", "auditor"),
    ("GET", "/console/audit"): _roles("admin", "dpo", "auditor"),
    ("POST", "/console/audit"): _roles("admin", "dpo", "auditor"),
    ("POST", "/console/audit/verify"): _roles("admin", "dpo", "auditor"),
    ("GET", "/console/webhooks"): _roles("admin", "dpo"),
    ("GET", "/console/complaints"): _roles("dpo"),
    ("POST", "/console/complaints/{complaint_id}/handled"): _roles("dpo"),
    ("GET", "/console/accounts"): _roles("admin"),
    ("POST", "/console/accounts"): _roles("admin"),
    ("POST", "/console/accounts/{account_id}/{action}"): _roles("admin"),
}

SIGN_IN_PAGES = ("/console/login", "/privacy/sign-in")
#: Forms whose very purpose is to check a credential or end a session: a 401 (wrong password
#: or code) or a redirect to the sign-in page is their normal answer, not a closed door; only
#: a 403 (a forged or cross-site post) refuses them.
CREDENTIALS = {
    ("POST", "/console/login"),
    ("POST", "/console/logout"),
    ("POST", "/privacy/code"),
    ("POST", "/privacy/sign-out"),
}


def routes(app: Any) -> Iterator[tuple[str, str]]:
    """Every (method, path) the application answers, through included routers."""

    def walk(items: Any) -> Iterator[tuple[str, str]]:
        for route in items:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                yield from walk(inner.routes)
            elif isinstance(route, APIRoute):
                for method in sorted(route.methods - {"HEAD"}):
                    yield method, route.path

    return walk(app.routes)


@dataclass
class World:
    runtime: Runtime
    customer: uuid.UUID
    receipt: str
    subscription: str
    request: uuid.UUID
    spare_account: uuid.UUID
    api_key: str
    complaint: int


@pytest.fixture
def world(runtime: Runtime) -> World:
    return build_world(runtime)


def build_world(runtime: Runtime) -> World:
    """One of everything a route may name: a customer with a receipt, a webhook subscription,
    a rights request, an API key with every scope, and an account per staff role."""
    from confiance.demo.generator import CustomerFactory

    record = {
        k: v
        for k, v in CustomerFactory(seed=5).customer().items()
        if k in ("first_name", "last_name", "phone", "street_address", "postal_code", "city")
    }
    record["email"] = "matrix.customer@courriel.example"
    with runtime.unit(OPERATOR) as s:
        customer = runtime.vault.collect(
            s, actor=OPERATOR, purposes=["order_fulfilment"], values=record
        ).id
        change = runtime.consent.record(
            s,
            customer_id=customer,
            changes=[Change("email_marketing", State.GIVEN)],
            context=ConsentContext(),
            actor=OPERATOR,
        )
        info, _ = webhooks_service.create_subscription(
            s,
            name="crm",
            url="http://127.0.0.1:9/hook",
            event_types=["*"],
            actor=OPERATOR,
            audit=runtime.audit,
            keys=runtime.keys,
        )
        request = runtime.rights.submit(
            s, kind="access", email="someone@courriel.example", actor=OPERATOR
        ).id
        spare = runtime.staff.create(
            s,
            email="spare@maison-exemple.example",
            display_name="Spare",
            role="auditor",
            password="Matrix-Password-long-1",
            actor=OPERATOR,
        ).id
        _, token = apikeys.create(
            s,
            name="matrix",
            purposes=[p.key for p in runtime_manifest(runtime, s).purposes],
            scopes=sorted(SCOPES),
            actor=OPERATOR,
            audit=runtime.audit,
        )
        for role in STAFF_ROLES:
            runtime.staff.create(
                s,
                email=f"{role}@maison-exemple.example",
                display_name=role,
                role=role,
                password="Matrix-Password-long-1",
                actor=OPERATOR,
            )
    with runtime.db.transaction() as s:
        complaint = runtime.portal.complain(
            s, signed=None, topic="other", text="Une réclamation.", language="fr"
        )
    return World(runtime, customer, change.receipt_id, info.id, request, spare, token, complaint)


def runtime_manifest(runtime: Runtime, session: Any) -> Any:
    from confiance.manifest import service as manifest_service

    return manifest_service.current(session).manifest


def staff_session(runtime: Runtime, role: str) -> tuple[str, str]:
    """A signed-in session of that role's account (token, CSRF token), made as sign-in would."""
    with runtime.db.transaction() as s:
        user = s.execute(
            select(StaffUser).where(StaffUser.email == f"{role}@maison-exemple.example")
        ).scalar_one()
        signed = runtime.staff._open_session(s, user, stage="full")
    return signed.token, signed.csrf_token


def customer_session(runtime: Runtime) -> tuple[str, str]:
    email = "matrix.customer@courriel.example"
    with runtime.db.transaction() as s:
        runtime.portal.request_code(s, email=email, language="fr")
    with runtime.db.transaction() as s:
        signed = runtime.portal.sign_in(
            s, email=email, code=code_sent_to(runtime, email), language="fr"
        )
    assert isinstance(signed, PortalSignedIn)
    return signed.token, signed.csrf_token


def concrete(path: str, world: World) -> str:
    values = {
        "customer_id": str(world.customer),
        "purpose": "order_fulfilment",
        "receipt_id": world.receipt,
        "subscription_id": world.subscription,
        "request_id": str(world.request),
        "account_id": str(world.spare_account),
        "action": "assign",
        "dataset": "customers",
        "complaint_id": str(world.complaint),
    }
    if path.startswith("/console/accounts/"):
        values["action"] = "reset-mfa"
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def refused(response: Any, route: tuple[str, str]) -> bool:
    if route in CREDENTIALS:
        return bool(response.status_code == 403)
    if response.status_code in (401, 403):
        return True
    location = response.headers.get("location", "")
    return response.is_redirect and any(page in location for page in SIGN_IN_PAGES)


def call(client: TestClient, method: str, path: str, audience: str, world: World) -> Any:
    runtime = world.runtime
    client.cookies.clear()
    headers = {"Sec-Fetch-Site": "same-origin"}
    # The forms' token: the session's in its own area, else (and on the sign-in forms, which
    # come before any session) the pre-sign-in cookie's.
    client.cookies.set("csrf", "matrix-form-token")
    form = {"csrf": "matrix-form-token"}
    if audience in STAFF_ROLES:
        token, csrf = staff_session(runtime, audience)
        client.cookies.set(STAFF_COOKIE, token)
        if path.startswith("/console") and path != "/console/login":
            form["csrf"] = csrf
    elif audience == "customer":
        token, csrf = customer_session(runtime)
        client.cookies.set(PORTAL_COOKIE, token)
        if path.startswith("/privacy") and path not in ("/privacy/sign-in", "/privacy/code"):
            form["csrf"] = csrf
    elif audience == "service":
        headers["Authorization"] = f"Bearer {world.api_key}"
    url = concrete(path, world)
    if method == "GET":
        return client.get(url, headers=headers, follow_redirects=False)
    if path.startswith(("/privacy", "/console")):
        return client.request(method, url, data=form, headers=headers, follow_redirects=False)
    return client.request(method, url, json={}, headers=headers, follow_redirects=False)


def test_every_route_is_in_the_matrix(runtime: Runtime) -> None:
    present = set(routes(create_app(runtime)))
    assert sorted(present - set(MATRIX)) == [], "routes without an entry in the matrix"
    assert sorted(set(MATRIX) - present) == [], "matrix entries for routes that do not exist"


def test_every_audience_gets_exactly_what_the_matrix_says(world: World) -> None:
    runtime = world.runtime
    runtime.settings.rights.codes_per_hour = 10_000
    wrong: list[str] = []
    with TestClient(create_app(runtime)) as client:
        for (method, path), allowed in sorted(MATRIX.items()):
            for audience in AUDIENCES:
                response = call(client, method, path, audience, world)
                if response.status_code >= 500:
                    wrong.append(f"{method} {path} as {audience}: {response.status_code}")
                    continue
                if refused(response, (method, path)) == (audience in allowed):
                    expected = "allowed" if audience in allowed else "refused"
                    wrong.append(
                        f"{method} {path} as {audience}: expected {expected}, "
                        f"got {response.status_code} {response.headers.get('location', '')}"
                    )
    assert wrong == [], "\n".join(wrong)
