"""The consent fast lane answers exactly what the regular routes do. Decisions are never
stale: a change recorded by another worker (another runtime on the same database) shows at
once. Changes are recorded through the same writer, and whatever the lane does not take goes
on to the route with its body intact."""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient

from confiance.actors import Actor
from confiance.apikeys import service as apikeys
from confiance.consent.errors import ConsentNotGiven
from confiance.consent.fastlane import ConsentFastLane
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
    lane = ConsentFastLane(lambda *a: None, runtime)  # type: ignore[arg-type, return-value]
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


# -- changes ----------------------------------------------------------------------------------
def write_key(runtime: Runtime, scopes: list[str]) -> tuple[dict[str, str], Actor]:
    """A key, already authenticated (as after its first request), and its actor."""
    with runtime.db.transaction() as s:
        _, token = apikeys.create(
            s,
            name="front",
            purposes=["email_marketing"],
            scopes=scopes,
            actor=OPERATOR,
            audit=runtime.audit,
        )
    with runtime.db.read() as s:
        actor = apikeys.authenticate(s, token=token)
    runtime.auth_cache.put(token, actor)
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, actor


def post_through_lane(
    runtime: Runtime, customer: str, headers: dict[str, str], body: bytes
) -> tuple[bytes | None, int, dict[str, Any]]:
    """POST a change to the lane alone. Returns what the regular route would have been handed
    (the body it reads, ``None`` when the lane answered), and the lane's status and JSON."""
    handed: list[bytes] = []
    sent: list[dict[str, Any]] = []

    async def route(scope: Any, receive: Any, send: Any) -> None:
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        handed.append(b"".join(chunks))

    async def run() -> None:
        lane = ConsentFastLane(route, runtime)
        messages = [
            {"type": "http.request", "body": body[:5], "more_body": True},
            {"type": "http.request", "body": body[5:], "more_body": False},
        ]

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": f"/v1/customers/{customer}/consents",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        }
        await lane(scope, receive, send)

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()
    if handed:
        return handed[0], 0, {}
    status = sent[0]["status"]
    return None, status, json.loads(b"".join(m.get("body", b"") for m in sent[1:]))


def test_a_change_from_a_known_key_is_recorded_by_the_lane(
    runtime: Runtime, customer: uuid.UUID
) -> None:
    headers, _ = write_key(runtime, ["consent.write", "consent.read"])
    body = json.dumps({"decisions": {"email_marketing": "given"}, "channel": "api"}).encode()
    handed, status, answer = post_through_lane(runtime, str(customer), headers, body)
    assert handed is None and status == 200
    with TestClient(create_app(runtime)) as client:
        overview = client.get(f"/v1/customers/{customer}/consents", headers=headers).json()
        receipt = client.get(
            f"/v1/customers/{customer}/receipts/{answer['receipt_id']}", headers=headers
        )
    assert receipt.status_code == 200
    assert answer["changes"] == {"email_marketing": "given"}
    # The lane's answer is the route's: the overview as a fresh read gives it.
    assert answer["overview"] == overview


def test_a_refused_change_is_answered_by_the_lane_as_a_problem(
    runtime: Runtime, customer: uuid.UUID
) -> None:
    headers, _ = write_key(runtime, ["consent.write"])
    body = json.dumps({"decisions": {"email_marketing": "withdrawn"}}).encode()
    handed, status, problem = post_through_lane(runtime, str(customer), headers, body)
    assert handed is None and status == ConsentNotGiven.status
    assert problem["code"] == ConsentNotGiven.code
    assert problem["instance"] == f"/v1/customers/{customer}/consents"
    with runtime.db.read() as s:
        assert not runtime.consent.states(s, customer_id=customer)


def test_a_gpc_signal_on_a_change_is_honoured_by_the_lane(
    runtime: Runtime, customer: uuid.UUID
) -> None:
    headers, _ = write_key(runtime, ["consent.write"])
    body = json.dumps({"decisions": {"email_marketing": "given"}}).encode()
    handed, status, answer = post_through_lane(
        runtime, str(customer), {**headers, "Sec-GPC": "1"}, body
    )
    assert handed is None and status == 200
    assert answer["overview"]["gpc_honoured"] is True


def test_what_the_lane_hands_on_to_the_route_with_its_body_intact(
    runtime: Runtime, customer: uuid.UUID
) -> None:
    headers, _ = write_key(runtime, ["consent.write"])
    reader, _ = write_key(runtime, ["consent.read"])
    good = json.dumps({"decisions": {"email_marketing": "given"}}).encode()
    for who, path_id, sent_headers, body in (
        ("unknown key", str(customer), {**headers, "Authorization": "Bearer cfk_x_y"}, good),
        ("no write scope", str(customer), reader, good),
        ("not JSON", str(customer), {**headers, "Content-Type": "text/plain"}, good),
        ("malformed id", "0000-0000-0000-0000-0000-0000-000000", headers, good),
        ("invalid body", str(customer), headers, b'{"decisions": {}, "extra": 1}'),
        ("not even JSON", str(customer), headers, b"{decisions"),
    ):
        handed, _, _ = post_through_lane(runtime, path_id, sent_headers, body)
        assert handed == body, who
    with runtime.db.read() as s:
        assert not runtime.consent.states(s, customer_id=customer)
    # And the route explains, as RFC 9457 problems.
    with TestClient(create_app(runtime)) as client:
        invalid = client.post(
            f"/v1/customers/{customer}/consents",
            content=b'{"decisions": {}, "extra": 1}',
            headers=headers,
        )
    assert invalid.status_code == 422
    assert invalid.headers["content-type"].startswith("application/problem+json")
