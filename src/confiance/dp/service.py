"""Differentially private queries under a privacy budget per data set and analyst.

Rules held here:

- An analyst (an API key, a member of staff: any actor holding the ``analytics`` scope) queries
  a data set only within the budget an operator gave them on it (``dp.manage`` scope, which an
  operator at the CLI holds).
- A query is validated and its OpenDP measurement built and checked first; then the budget row
  is locked and the query refused with :class:`BudgetExhausted` if it asks for more than is
  left. Only then is the data read. A refused query spends nothing and reads nothing.
- The spend, the budget's new total and the query's audit entry are written in the caller's
  transaction, with the answer returned only after: if the commit fails, nobody sees an answer
  that the ledger does not account for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from confiance import clock
from confiance.actors import Actor
from confiance.audit.service import AuditEvent, AuditLog
from confiance.dp.datasets import CustomersDataSet, DataSet
from confiance.dp.errors import BudgetExhausted, InvalidQuery, NoBudget, UnknownDataSet
from confiance.dp.mechanisms import Column, Query, Release, prepare
from confiance.dp.models import DELTA_UNIT, EPSILON_UNIT, DpBudget, DpSpend

if TYPE_CHECKING:
    from confiance.runtime import Runtime

__all__ = [
    "ANALYST_SCOPE",
    "MANAGE_SCOPE",
    "Answer",
    "BudgetView",
    "DpService",
    "SpendView",
]

#: Who may query: the scope of consent analytics (aggregates, no identities).
ANALYST_SCOPE = "analytics"
#: Who may set budgets: held by an operator at the CLI (whose actor holds every scope).
MANAGE_SCOPE = "dp.manage"
_MAX_BUDGET = 1000.0


@dataclass(frozen=True, slots=True)
class BudgetView:
    dataset: str
    analyst: str
    epsilon_total: float
    epsilon_spent: float
    delta_total: float
    delta_spent: float
    updated_at: datetime

    @property
    def epsilon_remaining(self) -> float:
        return max(self.epsilon_total - self.epsilon_spent, 0.0)


@dataclass(frozen=True, slots=True)
class SpendView:
    id: int
    dataset: str
    analyst: str
    kind: str
    columns: tuple[str, ...]
    epsilon: float
    delta: float
    at: datetime
    audit_seq: int


@dataclass(frozen=True, slots=True)
class Answer:
    dataset: str
    release: Release
    epsilon_remaining: float
    spend_id: int


def _view(row: DpBudget) -> BudgetView:
    return BudgetView(
        dataset=row.dataset,
        analyst=row.analyst,
        epsilon_total=row.epsilon_total / EPSILON_UNIT,
        epsilon_spent=row.epsilon_spent / EPSILON_UNIT,
        delta_total=row.delta_total / DELTA_UNIT,
        delta_spent=row.delta_spent / DELTA_UNIT,
        updated_at=row.updated_at,
    )


class DpService:
    def __init__(self, *, audit: AuditLog, datasets: Iterable[DataSet]) -> None:
        self.audit = audit
        self.datasets: dict[str, DataSet] = {d.name: d for d in datasets}

    @classmethod
    def for_runtime(cls, runtime: Runtime, *, extra: Sequence[DataSet] = ()) -> DpService:
        """The service of an installation: the vault's ``customers`` data set, plus ``extra``."""
        return cls(audit=runtime.audit, datasets=[CustomersDataSet(runtime.vault), *extra])

    def _dataset(self, name: str) -> DataSet:
        found = self.datasets.get(name)
        if found is None:
            raise UnknownDataSet(name, sorted(self.datasets))
        return found

    # -- data sets ----------------------------------------------------------------------------
    def describe(self, session: Session, *, actor: Actor) -> dict[str, dict[str, Column]]:
        """Every data set's public schema."""
        actor.require(ANALYST_SCOPE)
        return {name: d.columns(session) for name, d in sorted(self.datasets.items())}

    # -- budgets ------------------------------------------------------------------------------
    def set_budget(
        self,
        session: Session,
        *,
        actor: Actor,
        dataset: str,
        analyst: str,
        epsilon: float,
        delta: float = 0.0,
    ) -> BudgetView:
        """Give ``analyst`` a total budget on ``dataset``. What was spent stays spent: lowering
        the total below it leaves nothing to spend."""
        actor.require(MANAGE_SCOPE)
        self._dataset(dataset)
        if not (0 < epsilon <= _MAX_BUDGET) or not (0 <= delta < 1):
            raise InvalidQuery(
                f"a budget's epsilon is above 0 and at most {_MAX_BUDGET:g}; its delta is at "
                "least 0 and below 1",
                epsilon=epsilon,
                delta=delta,
            )
        if not analyst or len(analyst) > 128:
            raise InvalidQuery("an analyst is an actor label such as 'apikey:ab12cd34'")
        now = clock.now()
        row = session.execute(
            select(DpBudget)
            .where(DpBudget.dataset == dataset, DpBudget.analyst == analyst)
            .with_for_update()
        ).scalar_one_or_none()
        old = None if row is None else _view(row)
        if row is None:
            row = DpBudget(
                dataset=dataset,
                analyst=analyst,
                epsilon_spent=0,
                delta_spent=0,
                created_at=now,
            )
            session.add(row)
        row.epsilon_total = round(epsilon * EPSILON_UNIT)
        row.delta_total = round(delta * DELTA_UNIT)
        row.set_by = actor.label
        row.updated_at = now
        session.flush()
        before = (
            "none" if old is None else f"epsilon {old.epsilon_total:g} delta {old.delta_total:g}"
        )
        self.audit.record(
            session,
            AuditEvent(
                action="dp.budget.set",
                actor=actor.label,
                detail=f"dataset {dataset} analyst {analyst}: {before} -> "
                f"epsilon {epsilon:g} delta {delta:g}",
            ),
        )
        return _view(row)

    def budget(self, session: Session, *, dataset: str, analyst: str) -> BudgetView:
        row = session.execute(
            select(DpBudget).where(DpBudget.dataset == dataset, DpBudget.analyst == analyst)
        ).scalar_one_or_none()
        if row is None:
            raise NoBudget(dataset=dataset, analyst=analyst)
        return _view(row)

    def budgets(
        self, session: Session, *, dataset: str | None = None, analyst: str | None = None
    ) -> list[BudgetView]:
        query = select(DpBudget).order_by(DpBudget.dataset, DpBudget.analyst)
        if dataset is not None:
            query = query.where(DpBudget.dataset == dataset)
        if analyst is not None:
            query = query.where(DpBudget.analyst == analyst)
        return [_view(r) for r in session.execute(query).scalars()]

    def spends(
        self, session: Session, *, dataset: str, analyst: str, limit: int = 100
    ) -> list[SpendView]:
        """The latest spends of ``analyst`` on ``dataset``, newest first."""
        rows = session.execute(
            select(DpSpend)
            .where(DpSpend.dataset == dataset, DpSpend.analyst == analyst)
            .order_by(DpSpend.id.desc())
            .limit(limit)
        ).scalars()
        return [
            SpendView(
                id=r.id,
                dataset=r.dataset,
                analyst=r.analyst,
                kind=r.kind,
                columns=tuple(c for c in r.columns.split(",") if c),
                epsilon=r.epsilon / EPSILON_UNIT,
                delta=r.delta / DELTA_UNIT,
                at=r.at,
                audit_seq=r.audit_seq,
            )
            for r in rows
        ]

    # -- queries ------------------------------------------------------------------------------
    def query(self, session: Session, *, actor: Actor, dataset: str, query: Query) -> Answer:
        """Answer ``query`` with noise, spending its epsilon from ``actor``'s budget."""
        actor.require(ANALYST_SCOPE)
        source = self._dataset(dataset)
        prepared = prepare(query, source.columns(session))
        spend = round(prepared.epsilon * EPSILON_UNIT)
        analyst = actor.label
        budget = session.execute(
            select(DpBudget)
            .where(DpBudget.dataset == dataset, DpBudget.analyst == analyst)
            .with_for_update()
        ).scalar_one_or_none()
        if budget is None:
            raise NoBudget(dataset=dataset, analyst=analyst)
        left = budget.epsilon_total - budget.epsilon_spent
        if spend > left:
            raise BudgetExhausted(
                dataset=dataset,
                analyst=analyst,
                requested=prepared.epsilon,
                remaining=max(left, 0) / EPSILON_UNIT,
            )
        frame = source.load(session, analyst=actor)
        release = prepared.run(frame)
        budget.epsilon_spent += spend
        budget.updated_at = clock.now()
        remaining = (budget.epsilon_total - budget.epsilon_spent) / EPSILON_UNIT
        seq = self.audit.record(
            session,
            AuditEvent(
                action="dp.query",
                actor=analyst,
                purpose=source.purpose,
                fields=prepared.columns,
                detail=f"dataset {dataset} {release.kind} epsilon {prepared.epsilon:g} "
                f"remaining {remaining:g}",
            ),
        )
        row = DpSpend(
            dataset=dataset,
            analyst=analyst,
            kind=str(release.kind),
            columns=",".join(prepared.columns),
            epsilon=spend,
            delta=0,
            at=clock.now(),
            audit_seq=seq,
        )
        session.add(row)
        session.flush()
        return Answer(
            dataset=dataset, release=release, epsilon_remaining=remaining, spend_id=row.id
        )
