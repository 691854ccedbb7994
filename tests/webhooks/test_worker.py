"""Delivery to a real HTTP receiver on loopback: signatures, retries, failures, the log."""

from __future__ import annotations

import json
import random
import socket
import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from confiance.actors import Actor
from confiance.keys import service as keys_service
from confiance.runtime import Runtime
from confiance.webhooks import service, worker
from confiance.webhooks.models import DeliveryAttempt, OutboxMessage, WebhookSubscription
from tests.support import ManualClock
from tests.webhooks.conftest import (
    POLICY,
    Receiver,
    Subscribed,
    consent_payload,
)

OPERATOR = Actor.operator("test")


def _enqueue(runtime: Runtime, n: int = 1, *, event_type: str = "consent.changed") -> list[str]:
    ids: list[str] = []
    with runtime.db.transaction() as session:
        for i in range(n):
            ids += service.enqueue(session, event_type=event_type, payload=consent_payload(i))
    return ids


def _message(runtime: Runtime, message_id: str) -> OutboxMessage:
    with runtime.db.transaction() as session:
        row = session.get(OutboxMessage, message_id)
    assert row is not None
    return row


def _log(runtime: Runtime, subscription_id: str | None = None) -> list[service.DeliveryRecord]:
    with runtime.db.transaction() as session:
        return service.delivery_log(session, subscription_id=subscription_id)


def test_a_committed_event_is_delivered_once_signed_with_its_payload(
    runtime: Runtime,
    receiver: Receiver,
    subscribe: Callable[..., Subscribed],
    deliver: Callable[..., int],
) -> None:
    sub = subscribe(events=("consent.changed",))
    [message_id] = _enqueue(runtime)
    assert deliver() == 1
    [request] = receiver.wait_for(1)
    assert request.path == "/hooks/confiance"
    assert request.headers["content-type"] == "application/json"
    assert request.webhook_id == message_id
    body = request.verify(sub.secret)
    assert body["type"] == "consent.changed"
    assert body["data"] == consent_payload(0)
    assert body["timestamp"].endswith("Z")
    # Once delivered, never again.
    assert deliver() == 0
    assert len(receiver.requests) == 1
    message = _message(runtime, message_id)
    assert (message.state, message.attempts, message.last_error) == ("delivered", 1, None)
    assert message.claimed_until is None and message.delivered_at is not None
    [entry] = _log(runtime, sub.id)
    assert (entry.message_id, entry.attempt, entry.outcome, entry.status_code) == (
        message_id,
        1,
        "delivered",
        200,
    )
    assert entry.duration_ms is not None and entry.duration_ms >= 0


def test_a_rolled_back_event_is_never_sent(
    runtime: Runtime,
    receiver: Receiver,
    subscribe: Callable[..., Subscribed],
    deliver: Callable[..., int],
) -> None:
    subscribe()
    with pytest.raises(RuntimeError), runtime.db.transaction() as session:
        service.enqueue(session, event_type="consent.changed", payload=consent_payload())
        raise RuntimeError("the consent change failed")
    assert deliver() == 0
    assert receiver.requests == []


def test_a_tampered_body_or_another_secret_does_not_verify(
    runtime: Runtime,
    receiver: Receiver,
    subscribe: Callable[..., Subscribed],
    deliver: Callable[..., int],
) -> None:
    from standardwebhooks import Webhook, WebhookVerificationError

    sub = subscribe()
    other = subscribe(name="other")
    _enqueue(runtime)
    assert deliver() == 2
    requests = {r.webhook_id.rsplit("_", 1)[1]: r for r in receiver.wait_for(2)}
    mine = requests[sub.id]
    mine.verify(sub.secret)
    with pytest.raises(WebhookVerificationError):
        mine.verify(other.secret)
    with pytest.raises(WebhookVerificationError):
        Webhook(sub.secret).verify(mine.body.replace(b"newsletter", b"newsletteR"), mine.headers)


def test_a_failure_is_retried_after_a_backoff_with_the_same_id_and_body(
    runtime: Runtime,
    receiver: Receiver,
    subscribe: Callable[..., Subscribed],
    deliver: Callable[..., int],
    manual_clock: ManualClock,
) -> None:
    sub = subscribe()
    [message_id] = _enqueue(runtime)
    receiver.respond_with(500)
    started = manual_clock.now
    assert deliver() == 1
    message = _message(runtime, message_id)
    assert (message.state, message.attempts, message.last_error) == ("pending", 1, "HTTP 500")
    assert message.next_attempt_at == started + timedelta(seconds=POLICY.retry_delays[0])
    # Not due yet: nothing is sent.
    manual_clock.advance(seconds=4)
    assert deliver() == 0
    manual_clock.advance(seconds=1)
    assert deliver() == 1
    first, second = receiver.wait_for(2)
    assert first.webhook_id == second.webhook_id == message_id
    assert first.body == second.body
    assert int(second.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) == 5
    second.verify(sub.secret)
    assert _message(runtime, message_id).state == "delivered"
    log = _log(runtime, sub.id)
    assert [(r.attempt, r.outcome, r.status_code) for r in log] == [
        (2, "delivered", 200),
        (1, "retry", 500),
    ]


def test_after_max_attempts_a_message_is_failed_and_the_log_shows_each_attempt(
    runtime: Runtime,
    receiver: Receiver,
    subscribe: Callable[..., Subscribed],
    deliver: Callable[..., int],
    manual_clock: ManualClock,
) -> None:
    policy = worker.DeliveryPolicy(
        concurrency=1, jitter=0.0, max_attempts=4, retry_delays=(5.0, 30.0, 120.0)
    )
    sub = subscribe()
    [message_id] = _enqueue(runtime)
    receiver.default_status = 503
    waits = []
    for _ in range(4):
        before = manual_clock.now
        assert deliver(policy) == 1
        message = _message(runtime, message_id)
        waits.append((message.next_attempt_at - before).total_seconds())
        manual_clock.now = message.next_attempt_at
    # The wait grows, then the last delay repeats (the cap).
    assert waits[:3] == [5.0, 30.0, 120.0]
    manual_clock.advance(days=30)
    assert deliver(policy) == 0
    requests = receiver.wait_for(4)
    assert len(requests) == 4
    assert {r.webhook_id for r in requests} == {message_id}
    assert all(r.signed_with(sub.secret) for r in requests)
    message = _message(runtime, message_id)
    assert (message.state, message.attempts, message.last_error) == ("failed", 4, "HTTP 503")
    log = _log(runtime, sub.id)
    assert [(r.attempt, r.outcome, r.status_code) for r in reversed(log)] == [
        (1, "retry", 503),
        (2, "retry", 503),
        (3, "retry", 503),
        (4, "failed", 503),
    ]


def test_backoff_is_jittered_within_bounds_and_capped() -> None:
    policy = worker.DeliveryPolicy(retry_delays=(5.0, 30.0, 600.0), jitter=0.2)
    rng = random.Random(7)
    delays = [policy.retry_delay(n, rng).total_seconds() for n in range(1, 6) for _ in range(50)]
    assert all(4.0 <= d <= 6.0 for d in delays[:50])
    assert all(24.0 <= d <= 36.0 for d in delays[50:100])
    assert all(480.0 <= d <= 720.0 for d in delays[100:])
    assert len(set(delays[:50])) > 40
    with pytest.raises(ValueError):
        worker.DeliveryPolicy(retry_delays=())
    with pytest.raises(ValueError):
        worker.DeliveryPolicy(jitter=1.5)


def test_redirects_are_not_followed(
    runtime: Runtime,
    receiver: Receiver,
    subscribe: Callable[..., Subscribed],
    deliver: Callable[..., int],
) -> None:
    sub = subscribe()
    receiver.respond_with(307)
    receiver.redirect_to = receiver.url.replace("/hooks/confiance", "/elsewhere")
    [message_id] = _enqueue(runtime)
    assert deliver() == 1
    assert [r.path for r in receiver.requests] == ["/hooks/confiance"]
    assert _message(runtime, message_id).last_error == "HTTP 307"
    [entry] = _log(runtime, sub.id)
    assert (entry.outcome, entry.status_code) == ("retry", 307)


def test_an_unreachable_receiver_and_a_slow_one_are_logged_by_kind(
    runtime: Runtime,
    receiver: Receiver,
    subscribe: Callable[..., Subscribed],
    deliver: Callable[..., int],
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    unreachable = subscribe(url=f"http://127.0.0.1:{closed_port}/hook")
    slow = subscribe()
    receiver.delay = 1.0
    _enqueue(runtime)
    policy = worker.DeliveryPolicy(concurrency=2, jitter=0.0, connect_timeout=1.0, timeout=0.3)
    assert deliver(policy) == 2
    [refused] = _log(runtime, unreachable.id)
    assert (refused.outcome, refused.status_code, refused.error) == ("retry", None, "connect")
    [timed_out] = _log(runtime, slow.id)
    assert (timed_out.outcome, timed_out.status_code, timed_out.error) == (
        "retry",
        None,
        "timeout",
    )
    assert timed_out.duration_ms is not None and timed_out.duration_ms >= 250
    with runtime.db.transaction() as session:
        errors = set(session.execute(select(OutboxMessage.last_error)).scalars())
    assert errors == {"the receiver could not be reached", "the receiver did not answer in time"}


def test_a_secret_sealed_for_another_subscription_does_not_open(
    runtime: Runtime,
    receiver: Receiver,
    subscribe: Callable[..., Subscribed],
    deliver: Callable[..., int],
) -> None:
    a = subscribe(events=("consent.changed",))
    b = subscribe(events=("customer.erased",))
    with runtime.db.transaction() as session:
        sealed_b = session.execute(
            select(WebhookSubscription.secret_sealed).where(WebhookSubscription.id == b.id)
        ).scalar_one()
        session.execute(
            update(WebhookSubscription)
            .where(WebhookSubscription.id == a.id)
            .values(secret_sealed=sealed_b)
        )
    [message_id] = _enqueue(runtime)
    assert deliver() == 1
    assert receiver.requests == []
    [entry] = _log(runtime, a.id)
    assert (entry.outcome, entry.error) == ("retry", "secret")
    assert _message(runtime, message_id).state == "pending"


def test_a_rotated_secret_signs_alongside_the_old_one_until_the_overlap_ends(
    runtime: Runtime,
    receiver: Receiver,
    subscribe: Callable[..., Subscribed],
    deliver: Callable[..., int],
    manual_clock: ManualClock,
) -> None:
    sub = subscribe()
    with runtime.db.transaction() as session:
        info, new_secret = service.rotate_secret(
            session,
            subscription_id=sub.id,
            actor=OPERATOR,
            audit=runtime.audit,
            keys=runtime.keys,
            overlap=timedelta(hours=1),
        )
    assert new_secret != sub.secret
    assert info.previous_secret_until == manual_clock.now + timedelta(hours=1)
    _enqueue(runtime)
    deliver()
    [during] = receiver.wait_for(1)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    during.verify(sub.secret)
    during.verify(new_secret)
    manual_clock.advance(hours=1, seconds=1)
    _enqueue(runtime)
    deliver()
    after = receiver.wait_for(2)[1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert after.signed_with(new_secret)
    assert not after.signed_with(sub.secret)


def test_deliveries_survive_a_key_rotation(
    runtime: Runtime,
    receiver: Receiver,
    subscribe: Callable[..., Subscribed],
    deliver: Callable[..., int],
) -> None:
    sub = subscribe()
    keys_service.rotate(
        runtime.db, keys=runtime.keys, audit=runtime.audit, actor=OPERATOR, grace_seconds=0
    )
    assert len(runtime.keys.get().keks) == 1
    _enqueue(runtime)
    assert deliver() == 1
    receiver.wait_for(1)[0].verify(sub.secret)


def test_concurrent_workers_deliver_each_message_once(
    runtime: Runtime,
    receiver: Receiver,
    subscribe: Callable[..., Subscribed],
) -> None:
    subscribe()
    subscribe(name="second")
    ids = _enqueue(runtime, 30)
    policy = worker.DeliveryPolicy(concurrency=3, jitter=0.0)
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def count(outcome: str) -> None:
        with lock:
            seen[outcome] += 1

    def drain() -> None:
        with worker.make_client(policy) as client:
            while worker.deliver_due(
                runtime.db,
                keys=runtime.keys,
                client=client,
                policy=policy,
                batch=7,
                on_outcome=count,
            ):
                pass

    threads = [threading.Thread(target=drain) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    requests = receiver.wait_for(60)
    assert sorted(r.webhook_id for r in requests) == sorted(ids)
    assert seen == Counter(delivered=60)


def test_run_worker_delivers_until_stopped_and_prunes_old_messages(
    runtime: Runtime,
    receiver: Receiver,
    subscribe: Callable[..., Subscribed],
    manual_clock: ManualClock,
) -> None:
    subscribe()
    [old] = _enqueue(runtime)
    manual_clock.advance(days=31)
    with runtime.db.transaction() as session:
        session.execute(update(OutboxMessage).values(state="delivered"))
    [fresh] = _enqueue(runtime)
    stop = threading.Event()
    thread = threading.Thread(
        target=worker.run_worker,
        kwargs={"db": runtime.db, "keys": runtime.keys, "stop": stop, "poll_interval": 0.05},
    )
    thread.start()
    try:
        [request] = receiver.wait_for(1)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert request.webhook_id == fresh
    with runtime.db.transaction() as session:
        remaining = set(session.execute(select(OutboxMessage.id)).scalars())
        attempts = set(session.execute(select(DeliveryAttempt.message_id)).scalars())
    assert old not in remaining
    assert remaining == {fresh}
    assert attempts == {fresh}


def test_the_body_is_canonical_json_of_pseudonymous_ids_only(
    runtime: Runtime,
    receiver: Receiver,
    subscribe: Callable[..., Subscribed],
    deliver: Callable[..., int],
) -> None:
    subscribe()
    with runtime.db.transaction() as session:
        service.enqueue(
            session,
            event_type="customer.erased",
            payload={"customer_id": "c-1", "erased_at": "2026-01-01T00:00:00Z"},
        )
    deliver()
    [request] = receiver.wait_for(1)
    body = request.body.decode()
    assert body == json.dumps(json.loads(body), separators=(",", ":"), sort_keys=True)
    assert set(json.loads(body)) == {"type", "timestamp", "data"}


def test_make_client_never_follows_redirects() -> None:
    with worker.make_client() as client:
        assert client.follow_redirects is False
        assert client.timeout == httpx.Timeout(10.0, connect=5.0)


def test_the_background_worker_of_the_server_starts_and_stops(
    runtime: Runtime, receiver: Receiver, subscribe: Callable[..., Subscribed]
) -> None:
    sub = subscribe()
    background = worker.BackgroundWorker(runtime.db, keys=runtime.keys, poll_interval=0.05)
    background.start()
    try:
        [message_id] = _enqueue(runtime)
        [request] = receiver.wait_for(1)
    finally:
        background.stop(timeout=10)
    assert not background.running
    assert request.webhook_id == message_id
    request.verify(sub.secret)
