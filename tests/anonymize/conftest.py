"""Adult (UCI census extract with ARX's hierarchies) from ../shared/data/adult."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import SHARED_DATA

ADULT_QUASI = [
    "sex",
    "age",
    "race",
    "marital-status",
    "education",
    "native-country",
    "workclass",
    "occupation",
]


@dataclass(frozen=True)
class Adult:
    folder: Path
    table: pl.DataFrame
    quasi: list[str]
    sensitive: str
    #: column -> leaf -> its labels from level 0 to the top, read here with the csv module.
    hierarchy_rows: dict[str, dict[str, list[str]]]


@pytest.fixture(scope="session")
def adult() -> Adult:
    folder = SHARED_DATA / "adult"
    if not (folder / "adult.csv").is_file():
        pytest.skip(f"Adult data not found at {folder}")
    rows: dict[str, dict[str, list[str]]] = {}
    for column in ADULT_QUASI:
        with (folder / f"adult_hierarchy_{column}.csv").open(encoding="utf-8", newline="") as f:
            rows[column] = {line[0]: line for line in csv.reader(f, delimiter=";") if line}
    table = pl.read_csv(folder / "adult.csv", separator=";", infer_schema=False)
    return Adult(folder, table, ADULT_QUASI, "salary-class", rows)


@pytest.fixture(scope="session")
def count_classes() -> Callable[[pl.DataFrame, list[str]], dict[tuple[str, ...], int]]:
    """Class sizes counted with a plain dict over the rows, independently of the library."""

    def count(table: pl.DataFrame, quasi: list[str]) -> dict[tuple[str, ...], int]:
        sizes: dict[tuple[str, ...], int] = {}
        for row in table.select(quasi).iter_rows():
            sizes[row] = sizes.get(row, 0) + 1
        return sizes

    return count
