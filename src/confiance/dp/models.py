"""Privacy budgets of differentially private queries: one per (data set, analyst), and the
ledger of what each query spent.

Epsilon and delta are stored as whole numbers of millionths (epsilon) and of 10^-15 (delta):
sums of spends are then exact on every database, so ten spends of 0.1 use up a budget of 1.0
exactly, neither a hair more nor less.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKeyConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from confiance.db.base import Base, UtcDateTime

__all__ = ["DELTA_UNIT", "EPSILON_UNIT", "DpBudget", "DpSpend"]

#: Stored units per 1.0 of epsilon and of delta.
EPSILON_UNIT = 1_000_000
DELTA_UNIT = 10**15


class DpBudget(Base):
    """What one analyst may still learn from one data set. ``*_total`` is set by an operator;
    ``*_spent`` grows with each answered query, in the query's transaction, under a row lock."""

    __tablename__ = "dp_budgets"

    dataset: Mapped[str] = mapped_column(String(64), primary_key=True)
    analyst: Mapped[str] = mapped_column(String(128), primary_key=True)
    epsilon_total: Mapped[int] = mapped_column(BigInteger)
    delta_total: Mapped[int] = mapped_column(BigInteger, default=0)
    epsilon_spent: Mapped[int] = mapped_column(BigInteger, default=0)
    delta_spent: Mapped[int] = mapped_column(BigInteger, default=0)
    set_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DpSpend(Base):
    """One answered query: what it asked (kind and column names, never values) and spent.
    Append-only; ``audit_seq`` is the audit entry written in the same transaction."""

    __tablename__ = "dp_spends"
    __table_args__ = (
        ForeignKeyConstraint(
            ["dataset", "analyst"],
            ["dp_budgets.dataset", "dp_budgets.analyst"],
            ondelete="CASCADE",
        ),
        Index("ix_dp_spends_dataset_analyst", "dataset", "analyst", "id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    dataset: Mapped[str] = mapped_column(String(64))
    analyst: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    columns: Mapped[str] = mapped_column(String(256))
    epsilon: Mapped[int] = mapped_column(BigInteger)
    delta: Mapped[int] = mapped_column(BigInteger, default=0)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    audit_seq: Mapped[int] = mapped_column(BigInteger)
