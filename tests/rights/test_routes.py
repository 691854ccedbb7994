"""The rights API as a requester and staff use it, over HTTP, on both databases."""

from __future__ import annotations

import io
import json
import logging
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from confiance.actors import Actor
from confiance.apikeys import service as apikeys
from confiance.runtime import Runtime
from confiance.web.app import create_app
from tests.rights.test_service import last_code

OPERATOR = Actor.operator("test")


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as c:
        yield c


def staff_key(runtime: Runtime, scopes: list[str]) -> dict[str, str]:
    with runtime.db.transaction() as s:
        _, token = apikeys.create(
            s,
            name="dpo",
            purposes=["order_fulfilment"],
            scopes=scopes,
            actor=OPERATOR,
            audit=runtime.audit,
        )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def customer(runtime: Runtime, make_record: Any) -> tuple[uuid.UUID, dict[str, Any]]:
    record = make_record()
    record["email"] = "camille.roux@courriel.example"
    with runtime.unit(OPERATOR) as session:
        customer_id = runtime.vault.collect(
            session, actor=OPERATOR, purposes=make_record.purposes, values=record
        ).id
    return customer_id, record


def test_access_request_from_intake_to_download(
    client: TestClient,
    runtime: Runtime,
    customer: tuple[uuid.UUID, dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    customer_id, record = customer
    submitted = client.post(
        "/v1/rights/requests",
        json={"kind": "access", "email": record["email"], "language": "en"},
    )
    assert submitted.status_code == 202, submitted.text
    body = submitted.json()
    request_id = body["id"]
    assert body["status"] == "received" and body["reference"].startswith("R-")

    verified = client.post(
        f"/v1/rights/requests/{request_id}/verify",
        json={"code": last_code(runtime, record["email"])},
    )
    assert verified.status_code == 200, verified.text
    token = {"X-Request-Token": verified.json()["access_token"]}

    followed = client.get(f"/v1/rights/requests/{request_id}", headers=token)
    assert followed.json()["status"] == "verified"
    assert followed.json()["customer"] is None  # the requester is not shown internal ids

    staff = staff_key(runtime, ["rights.read", "rights.manage"])
    queue = client.get("/v1/staff/rights/requests", headers=staff).json()
    assert [r["id"] for r in queue] == [request_id]
    assert queue[0]["customer"] == str(customer_id)
    approved = client.post(f"/v1/staff/rights/requests/{request_id}/approve", headers=staff)
    assert approved.json()["status"] == "completed"

    download = client.get(f"/v1/rights/requests/{request_id}/export", headers=token)
    assert download.status_code == 200, download.text
    assert download.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    data = json.loads(archive.read("data.json"))
    assert record["email"] in json.dumps(data, ensure_ascii=False)
    # No address or value in any log line, nor in any URL the client called.
    for value in (record["email"], record["last_name"], record["phone"]):
        assert value not in caplog.text


def test_a_wrong_code_is_a_problem_and_it_counts(client: TestClient, runtime: Runtime) -> None:
    request_id = client.post(
        "/v1/rights/requests", json={"kind": "erasure", "email": "x@courriel.example"}
    ).json()["id"]
    code = last_code(runtime, "x@courriel.example")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    first = client.post(f"/v1/rights/requests/{request_id}/verify", json={"code": wrong})
    second = client.post(f"/v1/rights/requests/{request_id}/verify", json={"code": wrong})
    assert first.status_code == second.status_code == 400
    assert first.headers["content-type"].startswith("application/problem+json")
    assert first.json()["code"] == "code-rejected"
    assert second.json()["attempts_left"] == first.json()["attempts_left"] - 1
    assert code not in first.text


def test_requester_endpoints_answer_404_without_the_token(
    client: TestClient, runtime: Runtime
) -> None:
    request_id = client.post(
        "/v1/rights/requests", json={"kind": "access", "email": "y@courriel.example"}
    ).json()["id"]
    for path in ("", "/export", "/certificate"):
        answer = client.get(
            f"/v1/rights/requests/{request_id}{path}", headers={"X-Request-Token": "nope"}
        )
        assert answer.status_code == 404, path
    missing = client.get(f"/v1/rights/requests/{request_id}")
    assert missing.status_code == 422  # the header is required


def test_staff_routes_need_an_api_key_with_the_scope(client: TestClient, runtime: Runtime) -> None:
    assert client.get("/v1/staff/rights/requests").status_code == 401
    reader = staff_key(runtime, ["consent.read"])
    refused = client.get("/v1/staff/rights/requests", headers=reader)
    assert refused.status_code == 403 and refused.json()["code"] == "scope-not-granted"


def test_erasure_over_http_with_certificate(
    client: TestClient, runtime: Runtime, customer: tuple[uuid.UUID, dict[str, Any]]
) -> None:
    customer_id, record = customer
    request_id = client.post(
        "/v1/rights/requests", json={"kind": "erasure", "email": record["email"]}
    ).json()["id"]
    token = {
        "X-Request-Token": client.post(
            f"/v1/rights/requests/{request_id}/verify",
            json={"code": last_code(runtime, record["email"])},
        ).json()["access_token"]
    }
    staff = staff_key(runtime, ["rights.read", "rights.manage"])
    done = client.post(f"/v1/staff/rights/requests/{request_id}/approve", headers=staff).json()
    assert done["status"] == "completed"
    certificate = client.get(f"/v1/rights/requests/{request_id}/certificate", headers=token)
    assert certificate.headers["content-type"] == "application/jwt"
    claims = client.post(
        "/v1/rights/certificates/verify", json={"certificate": certificate.text}
    ).json()
    assert claims["sub"] == str(customer_id)
    tampered = certificate.text[:-4] + ("AAAA" if not certificate.text.endswith("AAAA") else "BBBB")
    bad = client.post("/v1/rights/certificates/verify", json={"certificate": tampered})
    assert bad.status_code == 400 and bad.json()["code"] == "certificate-invalid"


def test_bad_intake_is_a_clear_problem(client: TestClient) -> None:
    answer = client.post(
        "/v1/rights/requests",
        json={"kind": "restriction", "email": "z@courriel.example", "jurisdiction": "ccpa"},
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "request-kind-not-available"
    assert "limit_sensitive" in answer.json()["detail"]
