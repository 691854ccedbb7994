"""Pydantic models at the API boundary of differentially private queries."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from confiance.dp.mechanisms import MAX_EPSILON, QueryKind

__all__ = ["AnswerRead", "BudgetRead", "ColumnRead", "DataSetPage", "DataSetRead", "QueryCreate"]


class QueryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(max_length=64, description="The data set.", examples=["customers"])
    kind: QueryKind = Field(description="count, sum, mean or histogram.")
    epsilon: float = Field(
        gt=0,
        le=MAX_EPSILON,
        description="Privacy loss this answer spends from your budget: smaller, noisier.",
        examples=[0.5],
    )
    column: str | None = Field(
        default=None,
        max_length=64,
        description="The column summed, averaged or counted per category (not for count).",
        examples=["loyalty_tier"],
    )
    bounds: tuple[float, float] | None = Field(
        default=None,
        description="Sum and mean: values are clamped into [lower, upper] first.",
        examples=[[0, 20]],
    )
    where: dict[str, str | bool | int] = Field(
        default_factory=dict,
        max_length=8,
        description="Only rows whose columns equal these values.",
        examples=[{"consent_email_marketing": True}],
    )


class AnswerRead(BaseModel):
    dataset: str
    kind: QueryKind
    column: str | None
    value: float | None = Field(description="The noisy count, sum or mean.")
    histogram: dict[str, float] | None = Field(description="Noisy count per category.")
    epsilon: float = Field(description="What this answer spent.")
    epsilon_remaining: float = Field(description="What is left of your budget on the data set.")
    noise_scale: float = Field(description="Scale of the Laplace noise added.")
    accuracy_95: float | None = Field(
        description="With 95 % probability the noise is smaller than this (not for a mean)."
    )


class BudgetRead(BaseModel):
    dataset: str
    analyst: str
    epsilon_total: float
    epsilon_spent: float
    epsilon_remaining: float
    delta_total: float
    delta_spent: float
    updated_at: datetime


class ColumnRead(BaseModel):
    name: str
    type: str = Field(description="int, float, bool or category.")
    categories: list[str]
    description: str


class DataSetRead(BaseModel):
    name: str
    columns: list[ColumnRead]


class DataSetPage(BaseModel):
    items: list[DataSetRead]
