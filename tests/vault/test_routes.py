"""The customer API over HTTP: problem details, purposes, values never in URLs or errors."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from confiance.actors import Actor
from confiance.apikeys import service as apikeys
from confiance.runtime import Runtime
from confiance.web.app import create_app


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as c:
        yield c


def _key(runtime: Runtime, purposes: list[str]) -> dict[str, str]:
    with runtime.db.transaction() as s:
        _, token = apikeys.create(
            s, name="test", purposes=purposes, actor=Actor.operator("t"), audit=runtime.audit
        )
    return {"Authorization": f"Bearer {token}"}


def _assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"] and body["detail"] and body["type"]
    return body


def test_collect_read_rectify_and_lookup(
    client: TestClient, runtime: Runtime, make_record: Any
) -> None:
    headers = _key(runtime, make_record.purposes)
    record = make_record()
    created = client.post(
        "/v1/customers", json={"purposes": make_record.purposes, "values": record}, headers=headers
    )
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    assert sorted(created.json()["fields"]) == sorted(record)

    read = client.get(
        f"/v1/customers/{customer_id}", params={"purpose": "order_fulfilment"}, headers=headers
    )
    assert read.status_code == 200, read.text
    assert read.json()["values"]["email"] == record["email"]
    assert read.json()["id"] == customer_id

    patched = client.patch(
        f"/v1/customers/{customer_id}",
        json={"purpose": "order_fulfilment", "values": {"email": "autre@exemple.example"}},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    found = client.post(
        "/v1/customers/lookup",
        json={"purpose": "order_fulfilment", "field": "email", "value": "AUTRE@exemple.example"},
        headers=headers,
    )
    assert found.json() == {"customers": [customer_id]}


def test_errors_are_problem_details_without_values(
    client: TestClient, runtime: Runtime, make_record: Any
) -> None:
    headers = _key(runtime, make_record.purposes)
    narrow = _key(runtime, ["order_fulfilment"])
    record = make_record()
    _assert_problem(
        client.get(f"/v1/customers/{uuid.uuid4()}?purpose=order_fulfilment"), 401, "invalid-api-key"
    )
    _assert_problem(
        client.get(
            f"/v1/customers/{uuid.uuid4()}?purpose=order_fulfilment",
            headers={"Authorization": "Bearer cfk_0000000000000000_forged"},
        ),
        401,
        "invalid-api-key",
    )
    body = _assert_problem(
        client.post(
            "/v1/customers",
            json={
                "purposes": make_record.purposes,
                "values": record | {"shoe_size": "44 fillette"},
            },
            headers=headers,
        ),
        422,
        "unknown-field",
    )
    assert "shoe_size" in body["detail"]
    assert "44 fillette" not in str(body)
    body = _assert_problem(
        client.post(
            "/v1/customers",
            json={
                "purposes": make_record.purposes,
                "values": record | {"email": "pas-une-adresse"},
            },
            headers=headers,
        ),
        422,
        "invalid-field-value",
    )
    assert "pas-une-adresse" not in str(body)
    _assert_problem(
        client.get(
            f"/v1/customers/{uuid.uuid4()}", params={"purpose": "order_fulfilment"}, headers=headers
        ),
        404,
        "customer-not-found",
    )
    _assert_problem(
        client.get(
            f"/v1/customers/{uuid.uuid4()}", params={"purpose": "fraud_prevention"}, headers=narrow
        ),
        403,
        "purpose-not-granted",
    )
    # A malformed body: the schema error names the place, never echoes the input.
    body = _assert_problem(
        client.post(
            "/v1/customers", json={"values": {"email": "x@secret.example"}}, headers=headers
        ),
        422,
        "validation-failed",
    )
    assert "secret.example" not in str(body)


def test_lookup_value_travels_in_the_body_and_openapi_is_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    lookup = spec["paths"]["/v1/customers/lookup"]
    assert set(lookup) == {"post"}
    assert "requestBody" in lookup["post"]
    params = [
        p["name"]
        for op in spec["paths"].values()
        for m in op.values()
        for p in m.get("parameters", [])
    ]
    assert "value" not in params and "email" not in params
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/docs").status_code == 404


def _head_and_checkpoint(runtime: Runtime) -> tuple[int, int]:
    from sqlalchemy import func, select

    from confiance.audit.models import AuditCheckpoint, AuditHead

    with runtime.db.transaction() as s:
        head = s.execute(select(AuditHead.seq)).scalar_one()
        last = s.execute(select(func.max(AuditCheckpoint.seq))).scalar_one()
    return head, last or 0


def test_the_server_signs_the_chain_head_periodically(runtime: Runtime, make_record: Any) -> None:
    runtime.settings.audit.checkpoint_interval_seconds = 0.05
    headers = _key(runtime, make_record.purposes)
    with TestClient(create_app(runtime)) as client:
        created = client.post(
            "/v1/customers",
            json={"purposes": make_record.purposes, "values": make_record()},
            headers=headers,
        )
        assert created.status_code == 201
        head, _ = _head_and_checkpoint(runtime)
        deadline = time.monotonic() + 10
        while _head_and_checkpoint(runtime)[1] < head and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _head_and_checkpoint(runtime) == (head, head)


def test_the_server_signs_the_chain_head_at_shutdown(runtime: Runtime, make_record: Any) -> None:
    runtime.settings.audit.checkpoint_interval_seconds = 3600
    headers = _key(runtime, make_record.purposes)
    with TestClient(create_app(runtime)) as client:
        created = client.post(
            "/v1/customers",
            json={"purposes": make_record.purposes, "values": make_record()},
            headers=headers,
        )
        assert created.status_code == 201
        head, covered = _head_and_checkpoint(runtime)
        assert covered < head
    assert _head_and_checkpoint(runtime) == (head, head)
