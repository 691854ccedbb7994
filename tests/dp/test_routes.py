"""The marketing role's API: a key with the ``analytics`` scope queries within its budget."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from confiance.actors import Actor
from confiance.apikeys import service as apikeys
from confiance.dp import routes
from confiance.dp.service import DpService
from confiance.runtime import Runtime
from confiance.web.app import create_app


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    app = create_app(runtime)
    app.include_router(routes.router)
    with TestClient(app) as c:
        yield c


def _key(runtime: Runtime, scopes: list[str]) -> tuple[str, dict[str, str]]:
    with runtime.db.transaction() as s:
        info, token = apikeys.create(
            s,
            name="marketing",
            purposes=["analytics"],
            scopes=scopes,
            actor=Actor.operator("t"),
            audit=runtime.audit,
        )
    return f"apikey:{info.id}", {"Authorization": f"Bearer {token}"}


def test_query_within_budget_then_refused(
    client: TestClient, runtime: Runtime, make_record: Any
) -> None:
    with runtime.db.transaction() as session:
        runtime.vault.collect_many(
            session,
            actor=Actor.operator("t"),
            purposes=make_record.purposes,
            records=[make_record() for _ in range(6)],
        )
    analyst, headers = _key(runtime, ["analytics"])
    sets = client.get("/v1/dp/datasets", headers=headers)
    assert sets.status_code == 200, sets.text
    [customers] = sets.json()["items"]
    assert "orders_count" in {c["name"] for c in customers["columns"]}

    missing = client.get("/v1/dp/budgets/customers", headers=headers)
    assert missing.status_code == 404 and missing.json()["code"] == "dp-budget-not-set"

    with runtime.db.transaction() as session:
        DpService.for_runtime(runtime).set_budget(
            session, actor=Actor.operator("t"), dataset="customers", analyst=analyst, epsilon=1.0
        )
    body = {
        "dataset": "customers",
        "kind": "mean",
        "column": "orders_count",
        "bounds": [0, 20],
        "epsilon": 0.6,
    }
    answer = client.post("/v1/dp/queries", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["epsilon_remaining"] == pytest.approx(0.4)
    assert 0 <= answer.json()["value"] <= 20

    refused = client.post("/v1/dp/queries", json=body, headers=headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "dp-budget-exhausted"
    assert refused.json()["remaining"] == pytest.approx(0.4)
    budget = client.get("/v1/dp/budgets/customers", headers=headers).json()
    assert budget["epsilon_spent"] == pytest.approx(0.6)

    bad = client.post(
        "/v1/dp/queries", json={**body, "column": "email", "epsilon": 0.1}, headers=headers
    )
    assert bad.status_code == 422 and bad.json()["code"] == "dp-invalid-query"


def test_a_key_without_the_analytics_scope_is_refused(client: TestClient, runtime: Runtime) -> None:
    _, headers = _key(runtime, ["consent.read"])
    refused = client.post(
        "/v1/dp/queries",
        json={"dataset": "customers", "kind": "count", "epsilon": 0.1},
        headers=headers,
    )
    assert refused.status_code == 403 and refused.json()["code"] == "scope-not-granted"
