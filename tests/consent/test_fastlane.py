"""The decision route's lean path answers exactly what the regular route does, and is never
stale: a change recorded by another worker (another runtime on the same database) shows at
once."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from confiance.actors import Actor
from confiance.apikeys import service as apikeys
from confiance.consent.fastlane import DecisionFastLane
from confiance.consent.rules import State
from confiance.consent.service import Change, ConsentContext
from confiance.runtime import Runtime
from confiance.web.app import create_app

OPERATOR = Actor.operator("test")


def key(runtime: Runtime) -> dict[str, str]:
    with runtime.db.transaction() as s:
        _, token = apikeys.create(
            s,
            name="site",
            purposes=["email_marketing"],
            scopes=["consent.read"],
            actor=OPERATOR,
            audit=runtime.audit,
        )
    return {"Authorization": f"Bearer {token}"}


def lane_answers(runtime: Runtime, customer: uuid.UUID, headers: dict[str, str]) -> bool:
    """Whether the lean path alone can answer (the caches are warm)."""
    lane = DecisionFastLane(lambda *a: None, runtime)  # type: ignore[arg-type, return-value]
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": f"/v1/customers/{customer}/decisions/email_marketing",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    return lane._answer(scope) is not None


def test_same_answers_and_never_stale_across_workers(runtime: Runtime, customer: uuid.UUID) -> None:
    other = Runtime.assemble(runtime.settings, db=runtime.db, keys=runtime.keys)
    headers = key(runtime)
    url = f"/v1/customers/{customer}/decisions/email_marketing"
    with TestClient(create_app(runtime)) as client:
        first = client.get(url, headers=headers)  # regular route: fills the caches
        assert first.json() == {
            "purpose": "email_marketing",
            "allowed": False,
            "reason": first.json()["reason"],
        }
        assert lane_answers(runtime, customer, headers)
        again = client.get(url, headers=headers)  # lean path
        assert again.json() == first.json()
        assert again.headers["content-security-policy"]  # still behind the security headers
        # Another worker records the consent: the next answer here says yes at once.
        with other.db.transaction() as s:
            other.consent.record(
                s,
                customer_id=customer,
                changes=[Change("email_marketing", State.GIVEN)],
                context=ConsentContext(),
                actor=OPERATOR,
            )
        assert not lane_answers(runtime, customer, headers)  # the cached version is stale
        now = client.get(url, headers=headers)
        assert now.json()["allowed"] is True


def test_what_the_lean_path_leaves_to_the_route(runtime: Runtime, customer: uuid.UUID) -> None:
    headers = key(runtime)
    url = f"/v1/customers/{customer}/decisions/email_marketing"
    with TestClient(create_app(runtime)) as client:
        client.get(url, headers=headers)
        assert lane_answers(runtime, customer, headers)
        # A GPC signal is recorded by the route (and the answer changes accordingly).
        assert not lane_answers(runtime, customer, {**headers, "Sec-GPC": "1"})
        # A key never seen, a missing scope, another purpose: the route decides.
        assert not lane_answers(runtime, customer, {"Authorization": "Bearer cfk_x_y"})
        unknown = client.get(url.replace("email_marketing", "nope"), headers=headers)
        assert unknown.json()["code"] == "unknown-purpose"
        no_key = client.get(url)
        assert no_key.status_code == 401
