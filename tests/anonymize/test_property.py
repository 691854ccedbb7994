"""On small random tables the optimal search finds what trying every transformation finds.

The exhaustive search below is written from the definitions, with plain dicts and exact
fractions, sharing nothing with the library but the input.
"""

from __future__ import annotations

import itertools
from collections import Counter
from fractions import Fraction
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confiance.anonymize import Hierarchy, NoRelease, anonymize


@st.composite
def hierarchy_rows(draw: st.DrawFn, column: str) -> list[list[str]]:
    """Leaves ``{column}0..`` grouped level by level into a tree, with ``*`` on top."""
    leaves = draw(st.integers(2, 5))
    steps = draw(st.lists(st.integers(1, 3), min_size=0, max_size=2))
    rows = []
    for leaf in range(leaves):
        row, group = [f"{column}{leaf}"], leaf
        for level, step in enumerate(steps, start=1):
            group //= step
            row.append(f"{column}-{level}-{group}")
        row.append("*")
        rows.append(row)
    return rows


@st.composite
def problems(draw: st.DrawFn) -> dict[str, Any]:
    qis = draw(st.integers(1, 3))
    columns = [f"q{i}" for i in range(qis)]
    trees = {c: draw(hierarchy_rows(c)) for c in columns}
    n = draw(st.integers(1, 28))
    numeric = draw(st.booleans())
    data: dict[str, list[Any]] = {
        c: [trees[c][draw(st.integers(0, len(trees[c]) - 1))][0] for _ in range(n)] for c in columns
    }
    values = st.integers(0, 3) if numeric else st.sampled_from(["a", "b", "c"])
    data["s"] = [draw(values) for _ in range(n)]
    model = draw(st.sampled_from(["k", "distinct", "recursive", "t"]))
    return {
        "columns": columns,
        "trees": trees,
        "table": pl.DataFrame(data),
        "k": draw(st.integers(1, 4)),
        "suppression": draw(st.sampled_from([0.0, 0.1, 0.25])),
        "l": draw(st.integers(1, 3)) if model in ("distinct", "recursive") else None,
        "l_kind": "recursive" if model == "recursive" else "distinct",
        "c": draw(st.sampled_from([0.5, 1.0, 2.0])),
        "t": draw(st.sampled_from([0.1, 0.3, 0.6])) if model == "t" else None,
        "ordered": numeric,
    }


def exhaustive(problem: dict[str, Any]) -> Fraction | None:
    """The least precision loss over every full-domain transformation, or None."""
    columns, trees, table = problem["columns"], problem["trees"], problem["table"]
    labels = {c: {row[0]: row for row in trees[c]} for c in columns}
    heights = [len(trees[c][0]) - 1 for c in columns]
    rows = table.rows(named=True)
    n = len(rows)
    overall = Counter(r["s"] for r in rows)
    domain = sorted(overall)
    best: Fraction | None = None
    for levels in itertools.product(*(range(h + 1) for h in heights)):
        classes: dict[tuple[str, ...], list[Any]] = {}
        for r in rows:
            key = tuple(labels[c][r[c]][lv] for c, lv in zip(columns, levels, strict=True))
            classes.setdefault(key, []).append(r["s"])
        suppressed = sum(
            len(v) for v in classes.values() if not passes(problem, v, overall, domain)
        )
        if suppressed > int(problem["suppression"] * n + 1e-9):
            continue
        per_row = sum(Fraction(lv, h) for lv, h in zip(levels, heights, strict=True))
        loss = (per_row * (n - suppressed) + suppressed * len(columns)) / (n * len(columns))
        if best is None or loss < best:
            best = loss
    return best


def passes(
    problem: dict[str, Any], values: list[Any], overall: Counter[Any], domain: list[Any]
) -> bool:
    if len(values) < problem["k"]:
        return False
    counts = Counter(values)
    if problem["l"] is not None:
        if problem["l_kind"] == "distinct":
            if len(counts) < problem["l"]:
                return False
        else:
            ranked = sorted(counts.values(), reverse=True)
            if not ranked[0] < problem["c"] * sum(ranked[problem["l"] - 1 :]):
                return False
    if problem["t"] is not None:
        total, size = sum(overall.values()), len(values)
        gaps = [Fraction(counts[v], size) - Fraction(overall[v], total) for v in domain]
        if problem["ordered"] and len(domain) > 1:
            distance = sum(abs(sum(gaps[: i + 1])) for i in range(len(domain))) / (len(domain) - 1)
        else:
            distance = sum(abs(g) for g in gaps) / 2
        if distance > Fraction(problem["t"]).limit_denominator(1000):
            return False
    return True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_optimal_equals_exhaustive_search(problem: dict[str, Any]) -> None:
    expected = exhaustive(problem)
    hierarchies = {c: Hierarchy.from_rows(c, rows) for c, rows in problem["trees"].items()}
    try:
        release = anonymize(
            problem["table"],
            quasi=problem["columns"],
            sensitive="s",
            hierarchies=hierarchies,
            k=problem["k"],
            l=problem["l"],
            l_kind=problem["l_kind"],
            c=problem["c"],
            t=problem["t"],
            suppression=problem["suppression"],
        )
    except NoRelease:
        assert expected is None
        return
    assert expected is not None
    assert release.metrics.precision_loss == pytest.approx(float(expected), abs=1e-12)


@settings(max_examples=80, deadline=None)
@given(problems())
def test_local_recoding_satisfies_the_models(problem: dict[str, Any]) -> None:
    hierarchies = {c: Hierarchy.from_rows(c, rows) for c, rows in problem["trees"].items()}
    table: pl.DataFrame = problem["table"]
    try:
        release = anonymize(
            table,
            quasi=problem["columns"],
            sensitive="s",
            hierarchies=hierarchies,
            k=problem["k"],
            l=problem["l"],
            l_kind=problem["l_kind"],
            c=problem["c"],
            t=problem["t"],
            mode="local",
        )
    except NoRelease:
        # Only when even the single most general class fails.
        overall = Counter(table.get_column("s").to_list())
        assert not passes(problem, table.get_column("s").to_list(), overall, sorted(overall))
        return
    assert release.table.height == table.height
    overall = Counter(table.get_column("s").to_list())
    classes: dict[tuple[Any, ...], list[Any]] = {}
    for row in release.table.select([*problem["columns"], "s"]).iter_rows():
        classes.setdefault(row[:-1], []).append(row[-1])
    for values in classes.values():
        assert passes(problem, values, overall, sorted(overall))
