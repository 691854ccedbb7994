"""``POST /v1/pii/scan``: any valid API key, texts in, offsets out, nothing kept."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from confiance.actors import Actor
from confiance.apikeys import service as apikeys
from confiance.pii import Scanner
from confiance.pii.routes import router
from confiance.runtime import Runtime
from confiance.web.app import create_app


@pytest.fixture
def client(runtime: Runtime, scanner: Scanner) -> Iterator[TestClient]:
    app = create_app(runtime)
    if not any(getattr(r, "path", None) == "/v1/pii/scan" for r in app.routes):
        app.include_router(router)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def headers(runtime: Runtime) -> dict[str, str]:
    with runtime.db.transaction() as s:
        _, token = apikeys.create(
            s,
            name="pii",
            purposes=["order_fulfilment"],
            actor=Actor.operator("t"),
            audit=runtime.audit,
        )
    return {"Authorization": f"Bearer {token}"}


def test_scan_a_batch_with_an_operator(client: TestClient, headers: dict[str, str]) -> None:
    texts = ["Madame Durand, 06 12 34 56 78", "Nothing to see here."]
    response = client.post(
        "/v1/pii/scan", json={"texts": texts, "language": "auto", "operator": "replace"},
        headers=headers,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    first, second = response.json()["results"]
    assert [(f["entity"], texts[0][f["start"] : f["end"]]) for f in first["findings"]] == [
        ("person", "Durand"),
        ("phone", "06 12 34 56 78"),
    ]
    assert first["text"] == "Madame <person>, <phone>"
    assert second == {"findings": [], "text": "Nothing to see here."}


def test_scan_one_text_for_some_entities(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post(
        "/v1/pii/scan",
        json={"text": "Mrs Doyle, doyle@mail.example", "language": "en", "entities": ["email"]},
        headers=headers,
    )
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert [f["entity"] for f in result["findings"]] == ["email"]
    assert result["text"] is None


def test_a_key_is_required(client: TestClient) -> None:
    assert client.post("/v1/pii/scan", json={"text": "x"}).status_code == 401
    bad = {"Authorization": "Bearer cfk_nope_nope"}
    assert client.post("/v1/pii/scan", json={"text": "x"}, headers=bad).status_code == 401


def test_invalid_requests(client: TestClient, headers: dict[str, str]) -> None:
    both = client.post("/v1/pii/scan", json={"text": "a", "texts": ["b"]}, headers=headers)
    assert both.status_code == 422
    spanish = client.post("/v1/pii/scan", json={"text": "a", "language": "es"}, headers=headers)
    assert spanish.status_code == 422
    # The problem document does not echo the text back.
    secret = client.post(
        "/v1/pii/scan", json={"text": "lea@exemple.example", "language": "de"}, headers=headers
    )
    assert secret.status_code == 422
    assert "lea@exemple.example" not in secret.text
