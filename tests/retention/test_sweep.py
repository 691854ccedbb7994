"""Retention enforced, with a set clock, on both databases.

Expectations are worked out by hand from ``examples/maison-exemple.yaml`` (quoted in each
comment), not computed by the code under test.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from confiance.actors import Actor
from confiance.audit.models import AuditEntry
from confiance.retention.models import AnonymisedCount
from confiance.runtime import Runtime
from confiance.vault.errors import CustomerNotFound
from confiance.vault.models import BlindIndexEntry, Customer, FieldValue
from tests.support import ManualClock

OPERATOR = Actor.operator("test")
PURPOSES = ["order_fulfilment", "loyalty_programme", "analytics"]
VISITS = [{"page": "/canapes", "at": "2026-01-03"}, {"page": "/lampes", "at": "2026-01-04"}]


def values(email: str) -> dict[str, Any]:
    return {
        "first_name": "Odile",
        "last_name": "Ferrand",
        "email": email,
        "phone": "+33 6 12 45 78 90",
        "street_address": "4 rue des Tanneurs",
        "postal_code": "67000",
        "city": "Strasbourg",
        "orders": [{"id": "CMD-1", "total": "89.90"}],
        "payment_token": "tok_4f8a1c2e",
        "birth_date": "1984-05-17",
        "loyalty_tier": "privilege",
        "browsing_events": VISITS,
    }


def held(runtime: Runtime, customer: uuid.UUID) -> set[str]:
    with runtime.db.transaction() as s:
        return set(
            s.execute(select(FieldValue.field).where(FieldValue.customer_id == customer)).scalars()
        )


def snapshot(runtime: Runtime) -> tuple[int, int, int, int]:
    with runtime.db.transaction() as s:
        return tuple(  # type: ignore[return-value]
            s.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Customer, FieldValue, BlindIndexEntry, AnonymisedCount)
        )


@pytest.fixture
def two(runtime: Runtime, manual_clock: ManualClock) -> tuple[uuid.UUID, uuid.UUID]:
    with runtime.unit(OPERATOR) as s:
        ended = runtime.vault.collect(
            s, actor=OPERATOR, purposes=PURPOSES, values=values("odile@courriel.example")
        ).id
        running = runtime.vault.collect(
            s, actor=OPERATOR, purposes=PURPOSES, values=values("autre@courriel.example")
        ).id
    manual_clock.advance(days=365)
    with runtime.unit(OPERATOR) as s:
        runtime.vault.end_contract(s, actor=OPERATOR, purpose="order_fulfilment", customer_id=ended)
    return ended, running


def test_values_go_when_no_purpose_may_keep_them(
    runtime: Runtime, manual_clock: ManualClock, two: tuple[uuid.UUID, uuid.UUID]
) -> None:
    ended, running = two
    # Six years after the contract ended (seven after collection):
    # - order_fulfilment: 5 years after the end of the contract: over;
    # - customer_support: 3 years after the last contact (the collection): over;
    # - loyalty_programme: 1 year after the end of the contract: over;
    # - fraud_prevention: 3 years after collection: over;
    # - analytics: 25 months after collection, then anonymise: over;
    # - invoicing (legal obligation): 10 years after the end of the contract: still running,
    #   for first_name, last_name, street_address, postal_code, city, orders.
    manual_clock.advance(days=6 * 365)
    before = snapshot(runtime)
    dry = runtime.retention.run(runtime.db, dry_run=True)
    assert snapshot(runtime) == before, "the dry run changed something"
    report = runtime.retention.run(runtime.db)
    assert dry.as_dict() | {"dry_run": True} == report.as_dict() | {"dry_run": True}

    assert held(runtime, ended) == {
        "first_name",
        "last_name",
        "street_address",
        "postal_code",
        "city",
        "orders",
    }
    # The running contract keeps everything but what only analytics and unconsented
    # purposes used: the browsing events.
    assert held(runtime, running) == set(values("x")) - {"browsing_events"}

    deleted = {name for name, _ in report.deleted}
    anonymised = {name for name, _ in report.anonymised}
    assert deleted == {"email", "phone", "payment_token", "birth_date"}
    assert anonymised == {"loyalty_tier", "browsing_events"}
    assert report.values_deleted == 4 and report.values_anonymised == 3
    assert dict(report.kept_by_obligation) == dict.fromkeys(
        ["first_name", "last_name", "street_address", "postal_code", "city", "orders"], 1
    )
    assert report.customers_changed == 2 and report.customers_erased == 0
    with runtime.db.transaction() as s:
        counts = {(c.field, c.value): c.count for c in s.execute(select(AnonymisedCount)).scalars()}
        # The e-mail's blind index went with it: the customer is no longer found by it.
        assert (
            s.execute(
                select(func.count())
                .select_from(BlindIndexEntry)
                .where(BlindIndexEntry.customer_id == ended)
            ).scalar_one()
            == 0
        )
        audited = s.execute(
            select(AuditEntry.fields).where(
                AuditEntry.action == "retention.apply", AuditEntry.customer_pid == str(ended)
            )
        ).scalar_one()
    assert counts == {("loyalty_tier", "privilege"): 1, ("browsing_events", "*"): 4}
    assert audited == "birth_date,browsing_events,email,loyalty_tier,payment_token,phone"

    # Run again: nothing more is due.
    again = runtime.retention.run(runtime.db)
    assert again.values_deleted == again.values_anonymised == 0


def test_a_customer_with_nothing_left_is_erased(
    runtime: Runtime, manual_clock: ManualClock, two: tuple[uuid.UUID, uuid.UUID]
) -> None:
    ended, running = two
    # Eleven years after the end of the contract, invoicing's ten years are over too.
    manual_clock.advance(days=11 * 365 + 3)
    report = runtime.retention.run(runtime.db)
    assert report.customers_erased == 1
    with runtime.db.transaction() as s:
        assert s.get(Customer, ended) is None
    with pytest.raises(CustomerNotFound), runtime.unit(OPERATOR) as s:
        runtime.vault.read(s, actor=OPERATOR, purpose="invoicing", customer_id=ended)
    assert "email" in held(runtime, running)


def test_a_contact_restarts_what_is_counted_from_the_last_contact(
    runtime: Runtime, manual_clock: ManualClock, two: tuple[uuid.UUID, uuid.UUID]
) -> None:
    _, running = two
    # Two years in, the customer corrects their phone: customer_support's three years now
    # count from here. Nothing is due for the running contract anyway; what matters is the
    # recorded contact.
    manual_clock.advance(days=2 * 365)
    with runtime.unit(OPERATOR) as s:
        runtime.vault.rectify(
            s,
            actor=OPERATOR,
            purpose="order_fulfilment",
            customer_id=running,
            values={"phone": "+33 6 98 76 54 32"},
        )
        contact = s.execute(
            select(Customer.last_contact_at).where(Customer.id == running)
        ).scalar_one()
    assert contact == manual_clock.now


def test_the_cli_reports_and_the_dry_run_says_so(
    runtime: Runtime,
    manual_clock: ManualClock,
    two: tuple[uuid.UUID, uuid.UUID],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if runtime.db.engine.dialect.name != "sqlite":
        pytest.skip("the CLI opens the installation from its settings (SQLite here)")
    import confiance.cli
    from confiance.cli import app

    monkeypatch.setattr(confiance.cli.console, "width", 200)
    monkeypatch.setattr(confiance.cli, "_runtime", _fixed_runtime(runtime))
    manual_clock.advance(days=6 * 365)
    dry = CliRunner().invoke(app, ["retention", "run", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Dry run: nothing was changed" in dry.output and "birth_date" in dry.output
    assert "email" in held(runtime, two[0])
    done = CliRunner().invoke(app, ["retention", "run"])
    assert done.exit_code == 0 and "Dry run" not in done.output
    assert "email" not in held(runtime, two[0])


def _fixed_runtime(runtime: Runtime) -> Any:
    from contextlib import contextmanager

    @contextmanager
    def opened(_: Any) -> Any:
        yield runtime

    return opened


def test_end_of_contract_is_recorded_once_over_http(runtime: Runtime) -> None:
    from fastapi.testclient import TestClient

    from confiance.apikeys import service as apikeys
    from confiance.web.app import create_app

    with runtime.unit(OPERATOR) as s:
        customer = runtime.vault.collect(
            s, actor=OPERATOR, purposes=["order_fulfilment"], values={"email": "k@courriel.example"}
        ).id
        _, token = apikeys.create(
            s,
            name="crm",
            purposes=["order_fulfilment", "analytics"],
            scopes=[],
            actor=OPERATOR,
            audit=runtime.audit,
        )
    with TestClient(create_app(runtime)) as client:
        answer = client.post(
            f"/v1/customers/{customer}/contract-end",
            json={"purpose": "order_fulfilment"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200, answer.text
        refused = client.post(
            f"/v1/customers/{customer}/contract-end",
            json={"purpose": "analytics"},
            headers={"Authorization": f"Bearer {token}"},
        )
        # Analytics rests on a legitimate interest: it has no end of contract to record.
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "not-a-contract-purpose"
    with runtime.db.transaction() as s:
        assert s.get(Customer, customer).contract_ended_at is not None  # type: ignore[union-attr]
