"""The noise OpenDP adds: centred on the truth, with the scale the epsilon calls for.

OpenDP draws its noise from the operating system's secure source and offers no seed (a noise
that can be replayed protects nothing), so these tests cannot fix one. Each bound is instead
six standard errors of the mean of 200 answers, derived from the Laplace scale: a correct
mechanism fails it with probability below 1e-8, while a biased answer or missing noise fails.
"""

from __future__ import annotations

import math
import random
import statistics

import polars as pl
import pytest

from confiance.dp.errors import InvalidQuery
from confiance.dp.mechanisms import Column, Query, QueryKind, prepare

REPS = 200
COLUMNS = {
    "orders_count": Column("orders_count", "int"),
    "basket": Column("basket", "float"),
    "loyalty_tier": Column("loyalty_tier", "category", ("essentiel", "privilege", "prestige")),
    "consent_email_marketing": Column("consent_email_marketing", "bool"),
}


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    rng = random.Random(5)  # the data, not the noise
    n = 400
    return pl.DataFrame(
        {
            "orders_count": [rng.randint(0, 14) for _ in range(n)],
            "basket": [rng.uniform(5, 200) for _ in range(n)],
            "loyalty_tier": [
                rng.choice(["essentiel", "essentiel", "privilege", "prestige"]) for _ in range(n)
            ],
            "consent_email_marketing": [rng.random() < 0.3 for _ in range(n)],
        }
    )


def _within(answers: list[float], truth: float, scale: float) -> None:
    """Mean within 6 standard errors of the truth (Laplace: sd = scale * sqrt 2), and a spread
    that matches the scale (mean absolute deviation of Laplace(b) is b)."""
    bound = 6 * scale * math.sqrt(2) / math.sqrt(len(answers))
    assert abs(statistics.fmean(answers) - truth) < bound
    spread = statistics.fmean(abs(a - truth) for a in answers)
    assert 0.6 * scale < spread < 1.4 * scale


def test_count_with_a_filter(frame: pl.DataFrame) -> None:
    query = Query(QueryKind.COUNT, 0.5, where={"consent_email_marketing": True})
    prepared = prepare(query, COLUMNS)
    assert prepared.noise_scale == pytest.approx(2.0, rel=1e-6)
    truth = frame.filter(pl.col("consent_email_marketing")).height
    answers = [prepared.run(frame).value or 0.0 for _ in range(REPS)]
    _within(answers, truth, prepared.noise_scale)
    assert prepared.columns == ("consent_email_marketing",)


def test_clamped_sum(frame: pl.DataFrame) -> None:
    prepared = prepare(Query(QueryKind.SUM, 1.0, "orders_count", bounds=(0, 10)), COLUMNS)
    assert prepared.noise_scale == pytest.approx(10.0, rel=1e-6)
    truth = frame["orders_count"].clip(0, 10).sum()
    answers = [prepared.run(frame).value or 0.0 for _ in range(REPS)]
    _within(answers, truth, prepared.noise_scale)


def test_mean_composes_sum_and_count(frame: pl.DataFrame) -> None:
    prepared = prepare(Query(QueryKind.MEAN, 1.0, "basket", bounds=(0.0, 250.0)), COLUMNS)
    truth = frame["basket"].mean()
    assert isinstance(truth, float)
    n = frame.height
    answers = [prepared.run(frame).value or 0.0 for _ in range(REPS)]
    # Error of one answer is about (sum noise - mean * count noise) / n, each half-epsilon.
    sd = math.sqrt(2) * math.hypot(prepared.noise_scale, truth * 2 / 1.0) / n
    assert abs(statistics.fmean(answers) - truth) < 6 * sd / math.sqrt(REPS) + 0.01
    assert statistics.pstdev(answers) > 0  # noise is there


def test_histogram_per_category(frame: pl.DataFrame) -> None:
    prepared = prepare(Query(QueryKind.HISTOGRAM, 1.0, "loyalty_tier"), COLUMNS)
    truth = frame["loyalty_tier"].value_counts()
    counts = dict(zip(truth["loyalty_tier"], truth["count"], strict=True))
    runs = [prepared.run(frame).histogram or {} for _ in range(REPS)]
    assert all(list(r) == ["essentiel", "privilege", "prestige"] for r in runs)
    for tier, count in counts.items():
        _within([r[tier] for r in runs], count, prepared.noise_scale)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (Query(QueryKind.SUM, 1.0, "nope", bounds=(0, 1)), "column"),
        (Query(QueryKind.SUM, 1.0, "orders_count"), "column"),
        (Query(QueryKind.SUM, 1.0, "orders_count", bounds=(5, 1)), "column"),
        (Query(QueryKind.SUM, 1.0, "orders_count", bounds=(0, 1.5)), "column"),
        (Query(QueryKind.MEAN, 1.0, "loyalty_tier", bounds=(0, 1)), "column"),
        (Query(QueryKind.HISTOGRAM, 1.0, "basket"), "column"),
        (Query(QueryKind.COUNT, 0.0), "epsilon"),
        (Query(QueryKind.COUNT, 50.0), "epsilon"),
        (Query(QueryKind.COUNT, 1.0, where={"loyalty_tier": "gold"}), "column"),
        (Query(QueryKind.COUNT, 1.0, where={"missing": True}), "column"),
    ],
)
def test_invalid_queries_name_what_to_fix(query: Query, field: str) -> None:
    with pytest.raises(InvalidQuery) as caught:
        prepare(query, COLUMNS)
    assert field in caught.value.fields
