"""Subscriptions and the transactional outbox, through the service verbs."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from confiance.actors import Actor
from confiance.audit.models import AuditEntry
from confiance.errors import ValidationFailed
from confiance.runtime import Runtime
from confiance.webhooks import service
from confiance.webhooks.errors import (
    InvalidWebhookUrl,
    NoEventType,
    PayloadRejected,
    SubscriptionNotFound,
    UnknownEventType,
)
from confiance.webhooks.models import OutboxMessage, WebhookSubscription
from tests.webhooks.conftest import Receiver, Subscribed, consent_payload

OPERATOR = Actor.operator("test")


def _outbox(runtime: Runtime) -> list[OutboxMessage]:
    with runtime.db.transaction() as session:
        return list(session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def test_a_secret_follows_the_standard_webhooks_format_and_is_shown_once(
    runtime: Runtime, subscribe: Callable[..., Subscribed]
) -> None:
    sub = subscribe()
    assert sub.secret.startswith("whsec_")
    assert len(base64.b64decode(sub.secret.removeprefix("whsec_"))) == 32
    with runtime.db.transaction() as session:
        listed = service.list_subscriptions(session)
        row = session.get(WebhookSubscription, sub.id)
    assert [i.id for i in listed] == [sub.id]
    assert sub.secret not in repr(listed)
    assert row is not None
    raw = base64.b64decode(sub.secret.removeprefix("whsec_"))
    assert raw not in row.secret_sealed
    assert service.open_secret(runtime.keys, sub.id, row.secret_sealed) == raw


def test_enqueue_in_a_rolled_back_transaction_leaves_no_event(
    runtime: Runtime, subscribe: Callable[..., Subscribed]
) -> None:
    subscribe()

    class Refused(Exception):
        pass

    with pytest.raises(Refused), runtime.db.transaction() as session:
        ids = service.enqueue(session, event_type="consent.changed", payload=consent_payload())
        assert len(ids) == 1
        raise Refused
    assert _outbox(runtime) == []


def test_enqueue_writes_one_message_per_interested_active_subscription(
    runtime: Runtime, subscribe: Callable[..., Subscribed]
) -> None:
    consent_only = subscribe(events=("consent.changed",))
    erased_only = subscribe(events=("customer.erased",))
    everything = subscribe(events=("*",))
    both = subscribe(events=("customer.erased", "consent.changed"))
    gone = subscribe(events=("*",))
    with runtime.db.transaction() as session:
        service.disable_subscription(
            session, subscription_id=gone.id, actor=OPERATOR, audit=runtime.audit
        )
        consent_ids = service.enqueue(
            session, event_type="consent.changed", payload=consent_payload(1)
        )
        erased_ids = service.enqueue(
            session, event_type="customer.erased", payload={"customer_id": "c-1"}
        )
    messages = {m.id: m for m in _outbox(runtime)}
    assert sorted(messages) == sorted(consent_ids + erased_ids)
    assert {messages[i].subscription_id for i in consent_ids} == {
        consent_only.id,
        everything.id,
        both.id,
    }
    assert {messages[i].subscription_id for i in erased_ids} == {
        erased_only.id,
        everything.id,
        both.id,
    }
    first = messages[consent_ids[0]]
    assert first.payload == consent_payload(1)
    assert (first.state, first.attempts, first.event_type) == ("pending", 0, "consent.changed")
    assert first.next_attempt_at == first.created_at
    assert first.next_attempt_at.tzinfo is not None


def test_message_ids_are_unique_sortable_and_name_their_event(
    runtime: Runtime, subscribe: Callable[..., Subscribed]
) -> None:
    a, b = subscribe(), subscribe()
    batches = []
    with runtime.db.transaction() as session:
        for n in range(20):
            batches.append(
                service.enqueue(session, event_type="consent.changed", payload=consent_payload(n))
            )
    ids = [i for batch in batches for i in batch]
    assert len(set(ids)) == 40
    for batch in batches:
        # One event, two subscriptions: the same event part, each subscription's own suffix.
        prefixes = {i.rsplit("_", 1)[0] for i in batch}
        assert len(prefixes) == 1
        assert {i.rsplit("_", 1)[1] for i in batch} == {a.id, b.id}
    event_parts = [batch[0].rsplit("_", 1)[0] for batch in batches]
    # ULIDs sort by millisecond; within one millisecond their order is random.
    assert all(p.startswith("msg_") and len(p) == 30 for p in event_parts)
    assert sorted(event_parts)[0][:10] <= event_parts[-1][:10]


def test_enqueue_without_subscriber_costs_nothing_and_returns_no_id(runtime: Runtime) -> None:
    with runtime.db.transaction() as session:
        assert service.enqueue(session, event_type="consent.changed", payload={"a": 1}) == []
    assert _outbox(runtime) == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"when": object()}, "plain JSON"),
        ({"ratio": float("nan")}, "plain JSON"),
        ({"blob": "x" * 20_000}, "larger than"),
    ],
)
def test_enqueue_refuses_payloads_that_are_not_small_plain_json(
    runtime: Runtime, subscribe: Callable[..., Subscribed], payload: dict[str, Any], reason: str
) -> None:
    subscribe()
    with pytest.raises(PayloadRejected) as caught, runtime.db.transaction() as session:
        service.enqueue(session, event_type="consent.changed", payload=payload)
    assert reason in caught.value.detail
    assert "xxxx" not in caught.value.detail


def test_enqueue_refuses_an_unknown_event_type(runtime: Runtime) -> None:
    with pytest.raises(UnknownEventType), runtime.db.transaction() as session:
        service.enqueue(session, event_type="consent.chnaged", payload={})


@pytest.mark.parametrize(
    "url",
    [
        "ftp://crm.example/hook",
        "file:///etc/passwd",
        "https://user:pass@crm.example/hook",
        "https://token@crm.example/hook",
        "https:///no-host",
        "https://crm.example/hook#fragment",
        "https://crm.example:99999/hook",
        "https://crm.example/ho ok",
        "crm.example/hook",
    ],
)
def test_subscription_urls_are_http_or_https_without_credentials(
    runtime: Runtime, url: str
) -> None:
    with pytest.raises(InvalidWebhookUrl) as caught, runtime.db.transaction() as session:
        service.create_subscription(
            session,
            name="crm",
            url=url,
            event_types=["*"],
            actor=OPERATOR,
            audit=runtime.audit,
            keys=runtime.keys,
        )
    # The URL may carry a token: the error names the reason, never the URL.
    assert url not in caught.value.detail
    assert "pass" not in str(caught.value.to_problem())
    with runtime.db.transaction() as session:
        assert service.list_subscriptions(session) == []


@pytest.mark.parametrize(
    ("events", "error"),
    [([], NoEventType), (["consent.changed", "order.shipped"], UnknownEventType)],
)
def test_subscription_event_types_are_known_ones(
    runtime: Runtime, receiver: Receiver, events: list[str], error: type[Exception]
) -> None:
    with pytest.raises(error), runtime.db.transaction() as session:
        service.create_subscription(
            session,
            name="crm",
            url=receiver.url,
            event_types=events,
            actor=OPERATOR,
            audit=runtime.audit,
            keys=runtime.keys,
        )


def test_a_subscription_needs_a_name(runtime: Runtime, receiver: Receiver) -> None:
    with pytest.raises(ValidationFailed), runtime.db.transaction() as session:
        service.create_subscription(
            session,
            name="  ",
            url=receiver.url,
            event_types=["*"],
            actor=OPERATOR,
            audit=runtime.audit,
            keys=runtime.keys,
        )


def test_every_subscription_change_is_audited_without_url_path_or_secret(
    runtime: Runtime, receiver: Receiver
) -> None:
    url = receiver.url + "/t0ken-in-the-path"
    with runtime.db.transaction() as session:
        info, secret = service.create_subscription(
            session,
            name="crm",
            url=url,
            event_types=["consent.changed"],
            actor=OPERATOR,
            audit=runtime.audit,
            keys=runtime.keys,
        )
        _, new_secret = service.rotate_secret(
            session,
            subscription_id=info.id,
            actor=OPERATOR,
            audit=runtime.audit,
            keys=runtime.keys,
        )
        service.disable_subscription(
            session, subscription_id=info.id, actor=OPERATOR, audit=runtime.audit
        )
        # Disabling twice changes nothing and records nothing.
        service.disable_subscription(
            session, subscription_id=info.id, actor=OPERATOR, audit=runtime.audit
        )
        entries = list(
            session.execute(
                select(AuditEntry)
                .where(AuditEntry.action.like("webhook.%"))
                .order_by(AuditEntry.seq)
            ).scalars()
        )
    assert [e.action for e in entries] == [
        "webhook.subscription.create",
        "webhook.subscription.rotate-secret",
        "webhook.subscription.disable",
    ]
    assert all(e.actor == OPERATOR.label and info.id in (e.detail or "") for e in entries)
    assert "127.0.0.1" in (entries[0].detail or "")
    for entry in entries:
        text = repr([entry.detail, entry.fields, entry.purpose])
        assert "t0ken" not in text
        assert secret.removeprefix("whsec_") not in text
        assert new_secret.removeprefix("whsec_") not in text


def test_disabling_drops_pending_messages_and_stops_new_ones(
    runtime: Runtime, subscribe: Callable[..., Subscribed]
) -> None:
    sub = subscribe()
    with runtime.db.transaction() as session:
        service.enqueue(session, event_type="consent.changed", payload=consent_payload())
    with runtime.db.transaction() as session:
        info = service.disable_subscription(
            session, subscription_id=sub.id, actor=OPERATOR, audit=runtime.audit
        )
        assert not info.active and info.disabled_at is not None
        assert service.enqueue(session, event_type="consent.changed", payload={}) == []
        assert service.pending_count(session) == 0
    [message] = _outbox(runtime)
    assert (message.state, message.last_error) == ("failed", "subscription disabled")


def test_unknown_subscriptions_are_not_found(runtime: Runtime) -> None:
    with runtime.db.transaction() as session:
        with pytest.raises(SubscriptionNotFound):
            service.disable_subscription(
                session, subscription_id="0" * 16, actor=OPERATOR, audit=runtime.audit
            )
        with pytest.raises(SubscriptionNotFound):
            service.delivery_log(session, subscription_id="0" * 16)
        with pytest.raises(SubscriptionNotFound):
            service.rotate_secret(
                session,
                subscription_id="0" * 16,
                actor=OPERATOR,
                audit=runtime.audit,
                keys=runtime.keys,
            )


def test_secret_is_not_stored_in_plaintext_in_the_database_file(
    runtime: Runtime, subscribe: Callable[..., Subscribed]
) -> None:
    if not runtime.db.is_sqlite:
        pytest.skip("raw file bytes are inspected on the embedded SQLite database")
    subs = [subscribe() for _ in range(3)]
    with runtime.db.transaction() as session:
        service.rotate_secret(
            session,
            subscription_id=subs[0].id,
            actor=OPERATOR,
            audit=runtime.audit,
            keys=runtime.keys,
        )
    runtime.db.dispose()
    database = runtime.db.url.database
    assert database is not None
    from pathlib import Path

    data = b"".join(p.read_bytes() for p in Path(database).parent.glob(Path(database).name + "*"))
    assert b"webhook_subscriptions" in data
    for sub in subs:
        encoded = sub.secret.removeprefix("whsec_")
        raw = base64.b64decode(encoded)
        for needle in (sub.secret.encode(), encoded.encode(), raw, raw.hex().encode()):
            assert needle not in data


def test_the_sealing_key_is_derived_per_purpose_and_survives_kek_rotation() -> None:
    from confiance.crypto import Keyring
    from confiance.crypto.derived import derived_key

    ring = Keyring.generate()
    key = derived_key(ring, "webhook-secret")
    assert len(key.id) == 8
    assert derived_key(ring, "webhook-secret").material == key.material
    assert derived_key(ring, "other-secret").material != key.material
    assert derived_key(ring.with_new_primary(), "webhook-secret").material == key.material
    assert derived_key(Keyring.generate(), "webhook-secret").material != key.material
    assert "****" in repr(key)
    with pytest.raises(ValueError):
        derived_key(ring, "Webhook Secret")
