"""End to end: a consent change reaches a subscribed system, signed, once, with no personal data."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from confiance.actors import Actor
from confiance.consent.errors import ConsentNotGiven
from confiance.consent.rules import State
from confiance.consent.service import Change, ConsentContext
from confiance.runtime import Runtime


def test_a_consent_change_is_delivered_signed_and_without_personal_data(
    runtime: Runtime,
    make_record: Any,
    receiver: Any,
    subscribe: Callable[..., Any],
    deliver: Callable[..., int],
) -> None:
    subscription = subscribe(events=("consent.changed",))
    record = make_record()
    with runtime.db.transaction() as s:
        customer = runtime.vault.collect(
            s, actor=Actor.operator("t"), purposes=make_record.purposes, values=record
        ).id
    with runtime.db.transaction() as s:
        change = runtime.consent.record(
            s,
            customer_id=customer,
            changes=[Change("email_marketing", State.GIVEN)],
            context=ConsentContext(channel="privacy_center"),
            actor=Actor.operator("t"),
        )
    # A change that fails leaves no message behind (transactional outbox).
    with pytest.raises(ConsentNotGiven), runtime.db.transaction() as s:
        runtime.consent.record(
            s,
            customer_id=customer,
            changes=[Change("personalised_offers", State.WITHDRAWN)],
            context=ConsentContext(),
            actor=Actor.operator("t"),
        )
    assert deliver() == 1
    [received] = receiver.wait_for(1)
    received.verify(subscription.secret)
    body = json.loads(received.body)
    assert body["type"] == "consent.changed"
    data = body["data"]
    assert data["customer"] == str(customer)
    assert data["receipt"] == change.receipt_id
    assert data["changes"] == [{"target": "email_marketing", "state": "given"}]
    for value in record.values():
        if isinstance(value, str) and len(value) > 4:
            assert value not in received.body.decode()
    assert deliver() == 0
