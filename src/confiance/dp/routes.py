"""HTTP adapter of differentially private queries, for analysts (API key scope ``analytics``,
such as the marketing role's): parse, authenticate, call one verb, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from confiance.dp.errors import BudgetNotSet, NoBudget
from confiance.dp.mechanisms import Query
from confiance.dp.schemas import (
    AnswerRead,
    BudgetRead,
    ColumnRead,
    DataSetPage,
    DataSetRead,
    QueryCreate,
)
from confiance.dp.service import ANALYST_SCOPE, DpService
from confiance.web.deps import ApiCaller, Rt

__all__ = ["router"]

router = APIRouter(prefix="/v1/dp", tags=["differential privacy"])

DataSetName = Annotated[str, Path(max_length=64, description="The data set.")]


@router.get("/datasets", response_model=DataSetPage)
def list_datasets(runtime: Rt, caller: ApiCaller) -> DataSetPage:
    """The data sets and their columns (public schemas, no data)."""
    with runtime.db.read() as session:
        described = DpService.for_runtime(runtime).describe(session, actor=caller)
    return DataSetPage(
        items=[
            DataSetRead(
                name=name,
                columns=[
                    ColumnRead(
                        name=c.name,
                        type=c.type,
                        categories=list(c.categories),
                        description=c.description,
                    )
                    for c in columns.values()
                ],
            )
            for name, columns in described.items()
        ]
    )


@router.get("/budgets/{dataset}", response_model=BudgetRead)
def read_budget(dataset: DataSetName, runtime: Rt, caller: ApiCaller) -> BudgetRead:
    """Your own budget on a data set: total, spent and what is left."""
    caller.require(ANALYST_SCOPE)
    with runtime.db.read() as session:
        try:
            view = DpService.for_runtime(runtime).budget(
                session, dataset=dataset, analyst=caller.label
            )
        except NoBudget:
            raise BudgetNotSet(dataset=dataset, analyst=caller.label) from None
    return BudgetRead(
        dataset=view.dataset,
        analyst=view.analyst,
        epsilon_total=view.epsilon_total,
        epsilon_spent=view.epsilon_spent,
        epsilon_remaining=view.epsilon_remaining,
        delta_total=view.delta_total,
        delta_spent=view.delta_spent,
        updated_at=view.updated_at,
    )


@router.post("/queries", response_model=AnswerRead)
def run_query(body: QueryCreate, runtime: Rt, caller: ApiCaller) -> AnswerRead:
    """A noisy count, sum, mean or histogram; its epsilon is spent from your budget, and a
    query asking for more than is left is refused before any data is read."""
    query = Query(
        kind=body.kind,
        epsilon=body.epsilon,
        column=body.column,
        bounds=body.bounds,
        where=body.where,
    )
    with runtime.unit(caller) as session:
        answer = DpService.for_runtime(runtime).query(
            session, actor=caller, dataset=body.dataset, query=query
        )
    release = answer.release
    return AnswerRead(
        dataset=answer.dataset,
        kind=release.kind,
        column=release.column,
        value=release.value,
        histogram=release.histogram,
        epsilon=release.epsilon,
        epsilon_remaining=answer.epsilon_remaining,
        noise_scale=release.noise_scale,
        accuracy_95=release.accuracy_95,
    )
