"""The webhooks API: create (secret once), list, disable, the delivery log."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from confiance.actors import Actor
from confiance.apikeys import service as apikeys
from confiance.runtime import Runtime
from confiance.web.app import create_app
from confiance.webhooks import routes, service
from tests.webhooks.conftest import Receiver, consent_payload


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    app = create_app(runtime)
    app.include_router(routes.router)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def headers(runtime: Runtime) -> dict[str, str]:
    with runtime.db.transaction() as s:
        _, token = apikeys.create(
            s,
            name="admin",
            purposes=["order_fulfilment"],
            scopes=["webhooks"],
            actor=Actor.operator("t"),
            audit=runtime.audit,
        )
    return {"Authorization": f"Bearer {token}"}


def test_create_list_disable_and_read_the_delivery_log(
    client: TestClient,
    runtime: Runtime,
    receiver: Receiver,
    headers: dict[str, str],
    deliver: Callable[..., int],
) -> None:
    created = client.post(
        "/v1/webhooks",
        json={"name": "crm", "url": receiver.url, "event_types": ["consent.changed"]},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["active"] is True and body["event_types"] == ["consent.changed"]
    assert body["created_by"].startswith("apikey:")
    webhook_id = body["id"]

    listed = client.get("/v1/webhooks", headers=headers)
    assert listed.status_code == 200
    assert [w["id"] for w in listed.json()["items"]] == [webhook_id]
    assert "secret" not in listed.json()["items"][0]
    assert body["secret"] not in listed.text

    with runtime.db.transaction() as session:
        service.enqueue(session, event_type="consent.changed", payload=consent_payload())
    receiver.respond_with(500)
    assert deliver() == 1
    log = client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=headers)
    assert log.status_code == 200
    [entry] = log.json()["items"]
    assert (entry["attempt"], entry["outcome"], entry["status_code"]) == (1, "retry", 500)
    assert entry["message_id"] == receiver.requests[0].webhook_id
    assert "newsletter" not in log.text

    disabled = client.delete(f"/v1/webhooks/{webhook_id}", headers=headers)
    assert disabled.status_code == 200
    assert disabled.json()["active"] is False

    rotated = client.post(f"/v1/webhooks/{webhook_id}/rotate-secret", headers=headers)
    assert rotated.status_code == 200
    assert rotated.json()["secret"] not in (body["secret"], "")


def test_errors_are_problem_details_that_never_echo_the_url(
    client: TestClient, headers: dict[str, str]
) -> None:
    url = "https://user:s3cret@crm.example/hook"
    bad = client.post(
        "/v1/webhooks", json={"name": "crm", "url": url, "event_types": ["*"]}, headers=headers
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["code"] == "invalid-webhook-url"
    assert "s3cret" not in bad.text
    unknown = client.delete("/v1/webhooks/0123456789abcdef", headers=headers)
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "webhook-not-found"
    assert client.get("/v1/webhooks/0123456789abcdef/deliveries", headers=headers).status_code == (
        404
    )


def test_every_route_needs_an_api_key(client: TestClient) -> None:
    assert client.get("/v1/webhooks").status_code == 401
    assert client.post("/v1/webhooks", json={}).status_code in (401, 422)
    assert client.delete("/v1/webhooks/0123456789abcdef").status_code == 401
    assert client.get("/v1/webhooks/0123456789abcdef/deliveries").status_code == 401


def test_a_key_without_the_webhooks_scope_is_refused(
    client: TestClient, runtime: Runtime, receiver: Receiver
) -> None:
    with runtime.db.transaction() as s:
        _, token = apikeys.create(
            s,
            name="reader",
            purposes=["order_fulfilment"],
            actor=Actor.operator("t"),
            audit=runtime.audit,
        )
    headers = {"Authorization": f"Bearer {token}"}
    created = client.post(
        "/v1/webhooks",
        json={"name": "crm", "url": receiver.url, "event_types": ["*"]},
        headers=headers,
    )
    assert created.status_code == 403
    assert created.json()["code"] == "scope-not-granted"
    assert client.get("/v1/webhooks", headers=headers).status_code == 403
    with runtime.db.read() as session:
        assert service.list_subscriptions(session) == []
