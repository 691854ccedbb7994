"""Differentially private counts, sums, means and histograms, built with OpenDP.

Each query is checked against the data set's columns and turned into an OpenDP measurement
*before* any data is read; OpenDP's privacy map then proves that the measurement spends no more
than the requested epsilon for one row changing (the privacy unit is one customer, who
contributes one row). Noise is Laplace (discrete Laplace for whole numbers), with the smallest
scale that OpenDP's map accepts, and is drawn by OpenDP from the operating system's secure
random source: there is no seed, on purpose, since noise that can be replayed protects nothing.

- count: the rows (after an optional ``where`` filter of equalities), sensitivity 1.
- sum: values clamped to ``bounds`` first, so one row moves the sum by at most the bounds' span.
- mean: a sum and a count, each with half the epsilon, composed (OpenDP's basic composition);
  the answer is their ratio.
- histogram: the rows per category of a category or yes/no column; the categories come from the
  data set's declared schema (public), never from the data, so the set of buckets leaks nothing.

Answers are left unbiased: a small noisy count may be negative; round or clip it when shown.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

import opendp.prelude as dp
import polars as pl

from confiance.dp.errors import InvalidQuery

__all__ = [
    "MAX_EPSILON",
    "Column",
    "ColumnType",
    "Prepared",
    "Query",
    "QueryKind",
    "Release",
    "prepare",
]

dp.enable_features("contrib")

#: A single query may not ask for more: beyond it, the noise hides almost nothing.
MAX_EPSILON = 10.0
#: The smallest epsilon a query may ask for (the ledger counts in millionths).
MIN_EPSILON = 1e-6

ColumnType = Literal["int", "float", "bool", "category"]


class QueryKind(StrEnum):
    COUNT = "count"
    SUM = "sum"
    MEAN = "mean"
    HISTOGRAM = "histogram"


@dataclass(frozen=True, slots=True)
class Column:
    """A column a data set offers to queries; ``categories`` is its public list of values."""

    name: str
    type: ColumnType
    categories: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class Query:
    kind: QueryKind
    epsilon: float
    column: str | None = None
    bounds: tuple[float, float] | None = None
    where: Mapping[str, str | bool | int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Release:
    """A noisy answer. ``accuracy_95``: with 95 % probability the noise added to the value (to
    each bucket for a histogram) is smaller than this; ``None`` for a mean (a ratio)."""

    kind: QueryKind
    column: str | None
    value: float | None
    histogram: dict[str, float] | None
    epsilon: float
    noise_scale: float
    accuracy_95: float | None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A validated query with its measurement; :meth:`run` releases one noisy answer."""

    query: Query
    columns: tuple[str, ...]
    epsilon: float
    noise_scale: float
    accuracy_95: float | None
    _release: Callable[[pl.DataFrame], tuple[float | None, dict[str, float] | None]]

    def run(self, frame: pl.DataFrame) -> Release:
        value, histogram = self._release(_filter(frame, self.query.where))
        return Release(
            kind=self.query.kind,
            column=self.query.column,
            value=value,
            histogram=histogram,
            epsilon=self.epsilon,
            noise_scale=self.noise_scale,
            accuracy_95=self.accuracy_95,
        )


def _filter(frame: pl.DataFrame, where: Mapping[str, str | bool | int]) -> pl.DataFrame:
    # A row-by-row filter changes at most the rows that changed: it keeps sensitivity as is.
    for name, wanted in where.items():
        frame = frame.filter(pl.col(name) == wanted)
    return frame


# -- validation ---------------------------------------------------------------------------------
def _column(columns: Mapping[str, Column], name: str | None, kind: QueryKind) -> Column:
    if name is None:
        raise InvalidQuery(f"a {kind} query names a column", kind=str(kind))
    spec = columns.get(name)
    if spec is None:
        raise InvalidQuery(
            f"the data set has no column '{name}'; its columns are: {', '.join(columns)}",
            column=name,
            available=list(columns),
        )
    return spec


def _epsilon(value: float) -> float:
    if not math.isfinite(value) or not MIN_EPSILON <= value <= MAX_EPSILON:
        raise InvalidQuery(
            f"epsilon is between {MIN_EPSILON:g} and {MAX_EPSILON:g} (smaller: more noise, "
            "more privacy)",
            epsilon=value if math.isfinite(value) else None,
        )
    # Whole millionths, as the budget ledger counts them.
    return round(value * 1_000_000) / 1_000_000


def _bounds(spec: Column, bounds: tuple[float, float] | None) -> tuple[Any, Any]:
    if bounds is None and spec.type == "bool":
        return 0, 1
    if bounds is None:
        raise InvalidQuery(
            f"a sum or mean over '{spec.name}' needs bounds (lower, upper): values outside are "
            "clamped, and the bounds set how much noise one customer needs",
            column=spec.name,
        )
    lower, upper = bounds
    if not (math.isfinite(lower) and math.isfinite(upper)) or lower >= upper:
        raise InvalidQuery("bounds are two finite numbers, the lower one first", column=spec.name)
    if spec.type in ("int", "bool"):
        if lower != int(lower) or upper != int(upper):
            raise InvalidQuery(
                f"'{spec.name}' holds whole numbers: its bounds are whole numbers too",
                column=spec.name,
            )
        return int(lower), int(upper)
    return float(lower), float(upper)


def _where(columns: Mapping[str, Column], where: Mapping[str, str | bool | int]) -> None:
    for name, wanted in where.items():
        spec = columns.get(name)
        if spec is None:
            raise InvalidQuery(
                f"the filter names '{name}', which the data set does not have; its columns "
                f"are: {', '.join(columns)}",
                column=name,
                available=list(columns),
            )
        ok = {
            "bool": isinstance(wanted, bool),
            "int": isinstance(wanted, int) and not isinstance(wanted, bool),
            "float": False,
            "category": isinstance(wanted, str) and wanted in spec.categories,
        }[spec.type]
        if not ok:
            expected = {
                "bool": "true or false",
                "int": "a whole number",
                "float": "(nothing: filter on yes/no, whole-number or category columns)",
                "category": "one of: " + ", ".join(spec.categories),
            }[spec.type]
            raise InvalidQuery(
                f"the filter on '{name}' expects {expected}", column=name, expected=expected
            )


# -- measurements -------------------------------------------------------------------------------
def _space(kind: ColumnType) -> tuple[Any, Any]:
    atom = {
        "int": dp.atom_domain(T="i64"),
        "bool": dp.atom_domain(T="i64"),
        "float": dp.atom_domain(T=float, nan=False),
        "category": dp.atom_domain(T=str),
    }[kind]
    return dp.vector_domain(atom), dp.symmetric_distance()


def _laplace(transformation: Any, epsilon: float) -> tuple[Any, float]:
    """The transformation followed by Laplace noise of the smallest scale whose privacy map,
    for one row changed, stays within ``epsilon``."""

    def chain(scale: float) -> Any:
        return transformation >> dp.m.then_laplace(scale=scale)

    scale = dp.binary_search_param(chain, d_in=1, d_out=epsilon)
    measurement = chain(scale)
    if measurement.map(1) > epsilon:  # pragma: no cover - OpenDP's search guarantees it
        raise AssertionError("privacy map above the requested epsilon")
    return measurement, float(scale)


def _accuracy(scale: float) -> float:
    return float(dp.laplacian_scale_to_accuracy(scale, 0.05))


def _values(frame: pl.DataFrame, spec: Column) -> list[Any]:
    series = frame.get_column(spec.name).drop_nulls()
    if spec.type == "bool":
        return [int(v) for v in series.to_list()]
    if spec.type == "float":
        return [float(v) for v in series.to_list()]
    if spec.type == "category":
        return [str(v) for v in series.to_list()]
    return [int(v) for v in series.to_list()]


def prepare(query: Query, columns: Mapping[str, Column]) -> Prepared:
    """Check ``query`` against ``columns`` and build its measurement; raises
    :class:`InvalidQuery` naming what to fix. Reads no data."""
    epsilon = _epsilon(query.epsilon)
    _where(columns, query.where)
    used = tuple(query.where)
    kind = QueryKind(query.kind)
    if kind is QueryKind.COUNT:
        count = dp.vector_domain(dp.atom_domain(T=bool)), dp.symmetric_distance()
        measurement, scale = _laplace(count >> dp.t.then_count(), epsilon)

        def release_count(frame: pl.DataFrame) -> tuple[float | None, dict[str, float] | None]:
            return float(measurement([True] * frame.height)), None

        return Prepared(query, used, epsilon, scale, _accuracy(scale), release_count)

    spec = _column(columns, query.column, kind)
    used = tuple(dict.fromkeys((spec.name, *used)))
    if kind is QueryKind.HISTOGRAM:
        if spec.type not in ("category", "bool"):
            raise InvalidQuery(
                f"a histogram needs a category or yes/no column; '{spec.name}' holds numbers "
                "(use sum or mean)",
                column=spec.name,
            )
        categories = list(spec.categories) if spec.type == "category" else ["false", "true"]
        space = _space("category")
        measurement, scale = _laplace(
            space >> dp.t.then_count_by_categories(categories=categories), epsilon
        )

        def release_histogram(
            frame: pl.DataFrame,
        ) -> tuple[float | None, dict[str, float] | None]:
            values = _values(frame, spec)
            if spec.type == "bool":
                values = ["true" if v else "false" for v in values]
            noisy = measurement(values)
            # The last bucket counts values outside the declared categories: not shown.
            return None, {c: float(n) for c, n in zip(categories, noisy, strict=False)}

        return Prepared(query, used, epsilon, scale, _accuracy(scale), release_histogram)

    if spec.type == "category":
        raise InvalidQuery(
            f"a {kind} needs a numeric or yes/no column; '{spec.name}' is a category "
            "(use a histogram)",
            column=spec.name,
        )
    bounds = _bounds(spec, query.bounds)
    space = _space(spec.type)
    # OpenDP's Python layer leaves some constructors unannotated.
    total = space >> dp.t.then_clamp(bounds) >> dp.t.then_sum()  # type: ignore[no-untyped-call]
    if kind is QueryKind.SUM:
        measurement, scale = _laplace(total, epsilon)

        def release_sum(frame: pl.DataFrame) -> tuple[float | None, dict[str, float] | None]:
            return float(measurement(_values(frame, spec))), None

        return Prepared(query, used, epsilon, scale, _accuracy(scale), release_sum)

    # Mean: half the budget on the sum, half on the count, composed so that OpenDP checks the
    # whole release at once.
    sum_part, scale = _laplace(total, epsilon / 2)
    count_part, _ = _laplace(space >> dp.t.then_count(), epsilon / 2)
    composed: Any = dp.c.make_composition([sum_part, count_part])
    if composed.map(1) > epsilon:  # pragma: no cover - each half is within epsilon / 2
        raise AssertionError("privacy map above the requested epsilon")

    def release_mean(frame: pl.DataFrame) -> tuple[float | None, dict[str, float] | None]:
        noisy_sum, noisy_count = composed(_values(frame, spec))
        # Post-processing: clamping the ratio into the bounds costs no privacy.
        mean = float(noisy_sum) / max(float(noisy_count), 1.0)
        return min(max(mean, float(bounds[0])), float(bounds[1])), None

    return Prepared(query, used, epsilon, scale, None, release_mean)
