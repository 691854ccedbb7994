"""The consent API over HTTP, with Global Privacy Control read as the specification says."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from confiance.actors import SCOPES, Actor
from confiance.apikeys import service as apikeys
from confiance.receipts import verify
from confiance.runtime import Runtime
from confiance.web.app import create_app


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as c:
        yield c


def key(
    runtime: Runtime, *, purposes: list[str] | None = None, scopes: list[str]
) -> dict[str, str]:
    with runtime.db.transaction() as s:
        _, token = apikeys.create(
            s,
            name="test",
            purposes=purposes or ["order_fulfilment"],
            scopes=scopes,
            actor=Actor.operator("t"),
            audit=runtime.audit,
        )
    return {"Authorization": f"Bearer {token}"}


def decision_of(overview: dict[str, Any], target: str) -> dict[str, Any]:
    return next(d for d in overview["decisions"] if d["target"] == target)


def test_grant_withdraw_and_refuse_all_with_receipts(
    client: TestClient, runtime: Runtime, customer: uuid.UUID
) -> None:
    writer = key(runtime, scopes=["consent.write", "consent.read"])
    url = f"/v1/customers/{customer}/consents"
    before = client.get(url, headers=writer).json()
    assert decision_of(before, "email_marketing")["state"] is None
    assert decision_of(before, "email_marketing")["allowed"] is False

    given = client.post(
        url,
        json={
            "decisions": {"email_marketing": "given"},
            "channel": "privacy_center",
            "language": "en",
        },
        headers=writer,
    )
    assert given.status_code == 200, given.text
    assert decision_of(given.json()["overview"], "email_marketing")["allowed"] is True

    withdrawn = client.post(
        url, json={"decisions": {"email_marketing": "withdrawn"}}, headers=writer
    )
    assert withdrawn.status_code == 200
    assert decision_of(withdrawn.json()["overview"], "email_marketing")["allowed"] is False

    refused_all = client.post(url, json={"all": "refused"}, headers=writer)
    assert refused_all.status_code == 200
    assert set(refused_all.json()["changes"]) == {
        "email_marketing",
        "personalised_offers",
        "advertising_partner_sharing",
    }

    receipts = client.get(f"/v1/customers/{customer}/receipts", headers=writer).json()
    assert len(receipts) == 3
    jwks = client.get("/.well-known/confiance-receipts.jwks.json").json()
    from confiance.crypto.jws import public_key_from_jwk

    public_key = public_key_from_jwk(jwks["keys"][0])
    for item in receipts:
        download = client.get(
            f"/v1/customers/{customer}/receipts/{item['receipt_id']}", headers=writer
        )
        assert download.headers["content-type"].startswith("application/jose")
        assert (
            verify(download.text, public_key=public_key)["consentReceiptID"] == item["receipt_id"]
        )
    history = client.get(f"/v1/customers/{customer}/consents/history", headers=writer).json()
    assert [e["state"] for e in history[:2]] == ["given", "withdrawn"]


def test_bad_requests_are_problem_details(
    client: TestClient, runtime: Runtime, customer: uuid.UUID
) -> None:
    writer = key(runtime, scopes=["consent.write"])
    url = f"/v1/customers/{customer}/consents"
    cases = [
        ({"decisions": {"order_fulfilment": "refused"}}, 422, "not-decidable"),
        ({"decisions": {"email_marketing": "withdrawn"}}, 409, "consent-not-given"),
        ({"decisions": {"telepathy": "given"}}, 422, "unknown-purpose"),
        ({"decisions": {"email_marketing": "maybe"}}, 422, "validation-failed"),
        ({"decisions": {"email_marketing": "given"}, "all": "given"}, 422, "validation-failed"),
    ]
    for body, status, code in cases:
        response = client.post(url, json=body, headers=writer)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == code
    reader = key(runtime, scopes=["consent.read"])
    refused = client.post(url, json={"all": "given"}, headers=reader)
    assert refused.status_code == 403
    assert refused.json()["code"] == "scope-not-granted"
    missing = client.get(f"/v1/customers/{uuid.uuid4()}/consents", headers=reader)
    assert missing.status_code == 404
    bad_tcf = client.post(f"{url}/tcf", json={"tc_string": "not-a-tc-string"}, headers=writer)
    assert bad_tcf.status_code == 422
    assert bad_tcf.json()["code"] == "invalid-tc-string"


def test_gpc_header_cases_from_the_specification(
    client: TestClient, runtime: Runtime, new_customer: Any, shared_data: Path
) -> None:
    cases = json.loads((shared_data / "gpc" / "sec-gpc-cases.json").read_text())["cases"]
    reader = key(runtime, scopes=["consent.read"])
    assert cases
    for case in cases:
        customer = new_customer()
        headers = [(k, v) for k, v in reader.items()] + [tuple(h) for h in case["headers"]]
        response = client.get(f"/v1/customers/{customer}/consents", headers=headers)
        assert response.status_code == 200, response.text
        overview = response.json()
        assert overview["gpc_honoured"] is case["expect_gpc"], case
        sale = decision_of(overview, "@sale_sharing")
        assert (sale["state"] == "refused") is case["expect_gpc"], case
        if case["expect_gpc"]:
            assert sale["channel"] == "gpc"
            # A later request without the header never opts the customer back in.
            later = client.get(f"/v1/customers/{customer}/consents", headers=reader).json()
            assert decision_of(later, "@sale_sharing")["state"] == "refused"
            assert decision_of(later, "advertising_partner_sharing")["allowed"] is False


def test_gpc_is_honoured_on_writes_too_and_blocks_the_sharing_purpose(
    client: TestClient, runtime: Runtime, customer: uuid.UUID
) -> None:
    writer = key(runtime, scopes=["consent.write", "consent.read"])
    response = client.post(
        f"/v1/customers/{customer}/consents",
        json={"decisions": {"advertising_partner_sharing": "given"}},
        headers={**writer, "Sec-GPC": "1"},
    )
    assert response.status_code == 200
    overview = response.json()["overview"]
    assert overview["gpc_honoured"] is True
    assert decision_of(overview, "advertising_partner_sharing")["allowed"] is False
    assert (
        decision_of(overview, "advertising_partner_sharing")["reason"]
        == "opted-out-of-sale-sharing"
    )
    assert client.get("/.well-known/gpc.json").json()["gpc"] is True


def test_decision_audience_and_daily_counts(
    client: TestClient, runtime: Runtime, new_customer: Any
) -> None:
    everything = key(runtime, purposes=["email_marketing"], scopes=sorted(SCOPES))
    customers = [new_customer() for _ in range(5)]
    for c in customers[:3]:
        client.post(
            f"/v1/customers/{c}/consents",
            json={"decisions": {"email_marketing": "given"}},
            headers=everything,
        )
    yes = client.get(f"/v1/customers/{customers[0]}/decisions/email_marketing", headers=everything)
    no = client.get(f"/v1/customers/{customers[4]}/decisions/email_marketing", headers=everything)
    assert yes.json() == {"purpose": "email_marketing", "allowed": True, "reason": "allowed"}
    assert no.json()["allowed"] is False and no.json()["reason"] == "no-consent"
    csv = client.get("/v1/audiences/email_marketing", headers=everything)
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0] == "customer_id"
    assert sorted(lines[1:]) == sorted(str(c) for c in customers[:3])
    denied = client.get("/v1/audiences/order_fulfilment", headers=everything)
    assert denied.status_code == 403
    counts = client.get("/v1/consents/daily", headers=everything).json()
    today = [c for c in counts if c["target"] == "email_marketing"]
    assert today and today[-1]["given"] == 3 and today[-1]["opt_in_rate"] == 1.0
