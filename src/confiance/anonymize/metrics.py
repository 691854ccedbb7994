"""Utility and re-identification risk of a table, measured on its equivalence classes.

Both are computed from the released rows themselves (grouped by their quasi-identifier
values), not from the search's bookkeeping, so they hold for whatever the file contains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

__all__ = ["RiskReport", "UtilityMetrics", "class_sizes", "risk_report"]


@dataclass(frozen=True)
class RiskReport:
    """Prosecutor re-identification risk: an attacker who knows the person is in the table
    picks one of the rows sharing their quasi-identifiers, so a row's risk is 1 / class size."""

    rows: int
    classes: int
    threshold: float
    #: 1 / smallest class size (1.0 when a row is unique).
    highest_risk: float
    #: Rows whose risk is above ``threshold``, and their share of the rows.
    records_at_risk: int
    records_at_risk_share: float
    #: Mean risk over the rows (= classes / rows).
    average_risk: float
    unique_rows: int
    unique_share: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class UtilityMetrics:
    """How much the release lost. See docs/anonymize.md for the exact definitions."""

    #: Mean over all cells of the quasi-identifiers of level / height; a suppressed row's
    #: cells count 1. 0 is the original table, 1 nothing left.
    precision_loss: float
    #: Sum of the squared class sizes, each suppressed row counting the table's size.
    discernibility: int
    #: (released rows / classes) / k: 1 is the ideal, every class exactly k rows.
    average_class_size: float
    classes: int
    smallest_class: int
    #: Optimal mode only: mean of level / height over the quasi-identifiers (the
    #: transformation alone, suppression not counted).
    generalisation_intensity: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def class_sizes(table: pl.DataFrame, quasi: Sequence[str]) -> pl.Series:
    """The size of every equivalence class of ``table`` over ``quasi``."""
    if table.height == 0:
        return pl.Series("len", [], dtype=pl.UInt32)
    return table.group_by(list(quasi)).len().get_column("len")


def risk_report(table: pl.DataFrame, quasi: Sequence[str], *, threshold: float) -> RiskReport:
    sizes = class_sizes(table, quasi)
    rows = table.height
    if rows == 0:
        return RiskReport(0, 0, threshold, 0.0, 0, 0.0, 0.0, 0, 0.0)
    risk = 1.0 / sizes.cast(pl.Float64)
    at_risk = int(sizes.filter(risk > threshold).sum())
    unique = int((sizes == 1).sum())
    return RiskReport(
        rows=rows,
        classes=sizes.len(),
        threshold=threshold,
        highest_risk=1.0 / int(sizes.min()),  # type: ignore[arg-type]
        records_at_risk=at_risk,
        records_at_risk_share=at_risk / rows,
        average_risk=sizes.len() / rows,
        unique_rows=unique,
        unique_share=unique / rows,
    )
