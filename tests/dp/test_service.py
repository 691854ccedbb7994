"""Budgets per data set and analyst, refusals that spend nothing, audited answers, and the
customers data set read through the vault."""

from __future__ import annotations

import uuid
from typing import Any

import polars as pl
import pytest
from sqlalchemy import func, select

from confiance.actors import Actor, ScopeNotGranted
from confiance.audit.models import AuditEntry
from confiance.consent.rules import State
from confiance.consent.service import Change, ConsentContext
from confiance.dp.datasets import CustomersDataSet, FrameDataSet
from confiance.dp.errors import BudgetExhausted, NoBudget, UnknownDataSet
from confiance.dp.mechanisms import Column, Query, QueryKind
from confiance.dp.models import DpBudget, DpSpend
from confiance.dp.service import DpService
from confiance.runtime import Runtime

OPERATOR = Actor.operator("dpo")
ALICE = Actor("apikey", "alice0001", purposes=frozenset(), scopes=frozenset({"analytics"}))
BOB = Actor("apikey", "bob00002", purposes=frozenset(), scopes=frozenset({"analytics"}))


@pytest.fixture
def service(runtime: Runtime) -> DpService:
    frame = pl.DataFrame({"visits": [3, 1, 4, 1, 5, 9, 2, 6], "member": [True] * 5 + [False] * 3})
    columns = {"visits": Column("visits", "int"), "member": Column("member", "bool")}
    return DpService(
        audit=runtime.audit,
        datasets=[
            FrameDataSet("shops", frame, columns),
            FrameDataSet("web", frame, columns),
            CustomersDataSet(runtime.vault),
        ],
    )


def _budget(runtime: Runtime, service: DpService, dataset: str, analyst: Actor, eps: float) -> None:
    with runtime.db.transaction() as session:
        service.set_budget(
            session, actor=OPERATOR, dataset=dataset, analyst=analyst.label, epsilon=eps
        )


def _ask(runtime: Runtime, service: DpService, actor: Actor, dataset: str, eps: float) -> Any:
    with runtime.unit(actor) as session:
        return service.query(
            session, actor=actor, dataset=dataset, query=Query(QueryKind.COUNT, eps)
        )


def _ledger(runtime: Runtime) -> tuple[int, int, int]:
    """(audit entries, spends, epsilon spent in millionths over all budgets)."""
    with runtime.db.read() as session:
        return (
            session.execute(select(func.count()).select_from(AuditEntry)).scalar_one(),
            session.execute(select(func.count()).select_from(DpSpend)).scalar_one(),
            session.execute(
                select(func.coalesce(func.sum(DpBudget.epsilon_spent), 0))
            ).scalar_one(),
        )


def test_budget_is_spent_exactly_then_refused_without_spending(
    runtime: Runtime, service: DpService
) -> None:
    _budget(runtime, service, "shops", ALICE, 1.0)
    answers = [_ask(runtime, service, ALICE, "shops", 0.1) for _ in range(10)]
    assert answers[-1].epsilon_remaining == pytest.approx(0.0, abs=1e-12)
    before = _ledger(runtime)
    assert before[1:] == (10, 1_000_000)
    with pytest.raises(BudgetExhausted) as caught:
        _ask(runtime, service, ALICE, "shops", 0.1)
    assert caught.value.fields["remaining"] == 0 and caught.value.status == 403
    assert _ledger(runtime) == before  # nothing spent, nothing written

    with runtime.db.transaction() as session:
        view = service.budget(session, dataset="shops", analyst=ALICE.label)
    assert (view.epsilon_spent, view.epsilon_remaining) == (1.0, 0.0)


def test_a_query_larger_than_what_is_left_is_refused(runtime: Runtime, service: DpService) -> None:
    _budget(runtime, service, "shops", ALICE, 1.0)
    _ask(runtime, service, ALICE, "shops", 0.7)
    with pytest.raises(BudgetExhausted) as caught:
        _ask(runtime, service, ALICE, "shops", 0.5)
    assert caught.value.fields["remaining"] == pytest.approx(0.3)
    assert _ask(runtime, service, ALICE, "shops", 0.3).epsilon_remaining == pytest.approx(0.0)


def test_budgets_are_per_analyst_and_data_set(runtime: Runtime, service: DpService) -> None:
    _budget(runtime, service, "shops", ALICE, 0.5)
    _budget(runtime, service, "shops", BOB, 0.5)
    _budget(runtime, service, "web", ALICE, 0.5)
    _ask(runtime, service, ALICE, "shops", 0.5)
    with pytest.raises(BudgetExhausted):
        _ask(runtime, service, ALICE, "shops", 0.1)
    assert _ask(runtime, service, BOB, "shops", 0.5).epsilon_remaining == 0
    assert _ask(runtime, service, ALICE, "web", 0.2).epsilon_remaining == pytest.approx(0.3)
    with pytest.raises(NoBudget):
        _ask(runtime, service, BOB, "web", 0.1)
    with pytest.raises(UnknownDataSet):
        _ask(runtime, service, BOB, "nowhere", 0.1)
    with runtime.db.read() as session:
        mine = service.spends(session, dataset="shops", analyst=ALICE.label)
    assert [(s.kind, s.epsilon) for s in mine] == [("count", 0.5)]


def test_raising_the_budget_keeps_what_was_spent(runtime: Runtime, service: DpService) -> None:
    _budget(runtime, service, "shops", ALICE, 0.5)
    _ask(runtime, service, ALICE, "shops", 0.5)
    _budget(runtime, service, "shops", ALICE, 0.8)
    assert _ask(runtime, service, ALICE, "shops", 0.3).epsilon_remaining == pytest.approx(0.0)


def test_only_a_manager_sets_budgets_and_only_analysts_query(
    runtime: Runtime, service: DpService
) -> None:
    with runtime.db.transaction() as session, pytest.raises(ScopeNotGranted):
        service.set_budget(session, actor=ALICE, dataset="shops", analyst=ALICE.label, epsilon=9)
    _budget(runtime, service, "shops", ALICE, 1.0)
    nobody = Actor("apikey", "crm00003", scopes=frozenset({"consent.read"}))
    with pytest.raises(ScopeNotGranted):
        _ask(runtime, service, nobody, "shops", 0.1)


def test_query_is_audited_with_its_spend(runtime: Runtime, service: DpService) -> None:
    _budget(runtime, service, "shops", ALICE, 1.0)
    with runtime.unit(ALICE) as session:
        answer = service.query(
            session,
            actor=ALICE,
            dataset="shops",
            query=Query(QueryKind.SUM, 0.25, "visits", bounds=(0, 10), where={"member": True}),
        )
    with runtime.db.read() as session:
        spend = session.get(DpSpend, answer.spend_id)
        assert spend is not None
        entry = session.get(AuditEntry, spend.audit_seq)
        assert entry is not None
        assert (entry.action, entry.actor, entry.fields) == (
            "dp.query",
            ALICE.label,
            "member,visits",
        )
        assert "epsilon 0.25" in (entry.detail or "")
        assert (spend.epsilon, spend.kind, spend.columns) == (250_000, "sum", "visits,member")
        [budget_set] = session.execute(
            select(AuditEntry.detail).where(AuditEntry.action == "dp.budget.set")
        ).scalars()
    assert ALICE.label in (budget_set or "")


def _customers(runtime: Runtime, make_record: Any, n: int) -> list[uuid.UUID]:
    with runtime.db.transaction() as session:
        return [
            c.id
            for c in runtime.vault.collect_many(
                session,
                actor=OPERATOR,
                purposes=make_record.purposes,
                records=[make_record() for _ in range(n)],
            )
        ]


def _decide(runtime: Runtime, customer: uuid.UUID, target: str, state: State) -> None:
    with runtime.db.transaction() as session:
        runtime.consent.record(
            session,
            customer_id=customer,
            changes=[Change(target, state)],
            context=ConsentContext(channel="privacy_center", method="form"),
            actor=OPERATOR,
        )


def test_customers_data_set_reads_the_analytics_view_in_the_analysts_name(
    runtime: Runtime, service: DpService, make_record: Any
) -> None:
    ids = _customers(runtime, make_record, 12)
    _decide(runtime, ids[0], "analytics", State.REFUSED)  # an objection: left out
    _decide(runtime, ids[1], "email_marketing", State.GIVEN)
    _decide(runtime, ids[2], "email_marketing", State.GIVEN)
    with runtime.db.transaction() as session:
        columns = service.datasets["customers"].columns(session)
        frame = service.datasets["customers"].load(session, analyst=ALICE)
    assert columns["loyalty_tier"].categories == ("essentiel", "privilege", "prestige")
    assert {"orders_count", "browsing_events_count", "consent_email_marketing"} <= set(columns)
    assert "postal_code" not in columns
    assert frame.height == 11
    assert frame["consent_email_marketing"].sum() == 2
    with runtime.db.read() as session:
        reads = session.execute(
            select(AuditEntry.customer_pid).where(
                AuditEntry.action == "vault.read",
                AuditEntry.actor == ALICE.label,
                AuditEntry.purpose == "analytics",
            )
        ).scalars()
        assert set(reads) == {str(c) for c in ids[1:]}


def test_histogram_of_loyalty_tiers_through_the_vault(
    runtime: Runtime, service: DpService, make_record: Any
) -> None:
    records = [make_record() for _ in range(15)]
    with runtime.db.transaction() as session:
        runtime.vault.collect_many(
            session, actor=OPERATOR, purposes=make_record.purposes, records=records
        )
    truth = {
        t: sum(r["loyalty_tier"] == t for r in records)
        for t in ("essentiel", "privilege", "prestige")
    }
    _budget(runtime, service, "customers", ALICE, 10.0)
    with runtime.unit(ALICE) as session:
        answer = service.query(
            session,
            actor=ALICE,
            dataset="customers",
            query=Query(QueryKind.HISTOGRAM, 8.0, "loyalty_tier"),
        )
    # Scale 1/8: |noise| > 3 has probability e^-24 per bucket.
    histogram = answer.release.histogram
    assert histogram is not None and set(histogram) == set(truth)
    for tier, count in truth.items():
        assert abs(histogram[tier] - count) <= 3
    assert answer.epsilon_remaining == pytest.approx(2.0)
