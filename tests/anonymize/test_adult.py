"""Releases of Adult (8 quasi-identifiers), checked by counting the output rows here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import polars as pl
import pytest

from confiance.anonymize import anonymize
from tests.anonymize.conftest import Adult

Count = Callable[[pl.DataFrame, list[str]], dict[tuple[str, ...], int]]


def released_levels_are_labels(adult: Adult, table: pl.DataFrame, levels: dict[str, int]) -> None:
    """Every released cell is the label, at the release's level, of the original value."""
    original = adult.table.select(adult.quasi).rows()
    released = table.select(adult.quasi).rows()
    assert len(original) == len(released)
    for before, after in zip(original, released, strict=True):
        for column, value, label in zip(adult.quasi, before, after, strict=True):
            assert adult.hierarchy_rows[column][value][levels[column]] == label


def test_k5_optimum_is_the_known_one_and_every_class_has_five_rows(
    adult: Adult, count_classes: Count
) -> None:
    release = anonymize(adult.table, quasi=adult.quasi, hierarchies=adult.folder, k=5)
    sizes = count_classes(release.table, adult.quasi)
    assert min(sizes.values()) >= 5
    assert sum(sizes.values()) == adult.table.height
    assert release.suppressed == 0
    # The README's reference point: precision loss 0.6875 with no suppression.
    heights = {c: len(next(iter(rows.values()))) - 1 for c, rows in adult.hierarchy_rows.items()}
    assert release.levels is not None
    loss = sum(release.levels[c] / heights[c] for c in adult.quasi) / len(adult.quasi)
    assert loss == pytest.approx(0.6875)
    assert release.metrics.precision_loss == pytest.approx(0.6875)
    assert dict(release.levels) == {
        "sex": 0,
        "age": 4,
        "race": 0,
        "marital-status": 2,
        "education": 3,
        "native-country": 2,
        "workclass": 2,
        "occupation": 1,
    }
    assert len(sizes) == 30 and min(sizes.values()) == 16
    released_levels_are_labels(adult, release.table, dict(release.levels))
    assert release.risk_before.unique_rows == 14021
    assert release.risk_before.classes == 18109
    assert release.risk_after.highest_risk == pytest.approx(1 / 16)
    assert release.risk_after.unique_rows == 0
    assert release.metrics.discernibility == sum(s * s for s in sizes.values())


def test_suppression_stays_within_the_limit_and_lowers_the_loss(
    adult: Adult, count_classes: Count
) -> None:
    release = anonymize(
        adult.table, quasi=adult.quasi, hierarchies=adult.folder, k=5, suppression=0.01
    )
    sizes = count_classes(release.table, adult.quasi)
    assert min(sizes.values()) >= 5
    removed = adult.table.height - release.table.height
    assert removed == release.suppressed
    assert 0 < removed <= 0.01 * adult.table.height
    assert release.metrics.precision_loss < 0.6875


def test_distinct_l_diversity_is_honoured(adult: Adult, count_classes: Count) -> None:
    release = anonymize(
        adult.table,
        quasi=adult.quasi,
        sensitive=adult.sensitive,
        hierarchies=adult.folder,
        k=5,
        l=2,
        suppression=0.02,
    )
    values: dict[tuple[str, ...], set[str]] = {}
    for row in release.table.select([*adult.quasi, adult.sensitive]).iter_rows():
        values.setdefault(row[:-1], set()).add(row[-1])
    assert min(len(v) for v in values.values()) >= 2
    assert min(count_classes(release.table, adult.quasi).values()) >= 5
    assert release.suppressed <= 0.02 * adult.table.height


def test_recursive_l_diversity_is_honoured(adult: Adult) -> None:
    c = 4.0
    release = anonymize(
        adult.table,
        quasi=adult.quasi,
        sensitive=adult.sensitive,
        hierarchies=adult.folder,
        k=5,
        l=2,
        l_kind="recursive",
        c=c,
        suppression=0.01,
    )
    counts: dict[tuple[str, ...], Counter[str]] = {}
    for row in release.table.select([*adult.quasi, adult.sensitive]).iter_rows():
        counts.setdefault(row[:-1], Counter())[row[-1]] += 1
    for counter in counts.values():
        frequencies = sorted(counter.values(), reverse=True)
        assert frequencies[0] < c * sum(frequencies[1:])
    assert release.suppressed <= 0.01 * adult.table.height


def test_t_closeness_is_honoured(adult: Adult) -> None:
    t = 0.15
    release = anonymize(
        adult.table,
        quasi=adult.quasi,
        sensitive=adult.sensitive,
        hierarchies=adult.folder,
        k=5,
        t=t,
        suppression=0.01,
    )
    overall = Counter(adult.table.get_column(adult.sensitive).to_list())
    total = sum(overall.values())
    classes: dict[tuple[str, ...], Counter[str]] = {}
    for row in release.table.select([*adult.quasi, adult.sensitive]).iter_rows():
        classes.setdefault(row[:-1], Counter())[row[-1]] += 1
    for counter in classes.values():
        size = sum(counter.values())
        distance = 0.5 * sum(abs(counter[v] / size - overall[v] / total) for v in overall)
        assert distance <= t + 1e-9
    assert release.suppressed <= 0.01 * adult.table.height


def test_local_recoding_satisfies_k_and_l_with_less_loss(
    adult: Adult, count_classes: Count
) -> None:
    release = anonymize(
        adult.table,
        quasi=adult.quasi,
        sensitive=adult.sensitive,
        hierarchies=adult.folder,
        k=5,
        l=2,
        mode="local",
    )
    assert release.table.height == adult.table.height
    assert min(count_classes(release.table, adult.quasi).values()) >= 5
    values: dict[tuple[str, ...], set[str]] = {}
    for row in release.table.select([*adult.quasi, adult.sensitive]).iter_rows():
        values.setdefault(row[:-1], set()).add(row[-1])
    assert min(len(v) for v in values.values()) >= 2
    # Each cell is a label of the original value at some level of its hierarchy.
    original = adult.table.select(adult.quasi).rows()
    for before, after in zip(original, release.table.select(adult.quasi).rows(), strict=True):
        for column, value, label in zip(adult.quasi, before, after, strict=True):
            assert label in adult.hierarchy_rows[column][value]
    assert release.metrics.precision_loss < 0.6875
    assert release.levels is None


def test_other_columns_are_dropped_unless_kept(adult: Adult) -> None:
    quasi = adult.quasi[:3]
    release = anonymize(
        adult.table, quasi=quasi, hierarchies=adult.folder, k=5, keep=["occupation"]
    )
    assert release.table.columns == [*quasi, "occupation"]
    assert release.table.get_column("occupation").to_list() == (
        adult.table.get_column("occupation").to_list()
    )
