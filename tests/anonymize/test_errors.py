"""Bad inputs give typed errors that say what to fix and never show a value of the table."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from confiance.anonymize import (
    Hierarchy,
    HierarchyInvalid,
    InvalidParameter,
    NoRelease,
    UnknownColumn,
    ValueNotInHierarchy,
    anonymize,
)
from confiance.errors import ConfianceError

CITY = [["Lyon", "Rhône", "*"], ["Villeurbanne", "Rhône", "*"], ["Nantes", "Loire", "*"]]


def table() -> pl.DataFrame:
    return pl.DataFrame(
        {"city": ["Lyon", "Lyon", "Nantes", "Villeurbanne"], "score": ["a", "b", "a", "b"]}
    )


def test_unknown_quasi_identifier() -> None:
    with pytest.raises(UnknownColumn) as caught:
        anonymize(table(), quasi=["town"], hierarchies={}, k=2)
    assert caught.value.fields == {"column": "town", "role": "quasi-identifier"}
    assert caught.value.code == "anonymize-unknown-column"
    assert isinstance(caught.value, ConfianceError)


def test_unknown_sensitive_attribute() -> None:
    with pytest.raises(UnknownColumn) as caught:
        anonymize(
            table(),
            quasi=["city"],
            sensitive="salary",
            hierarchies={"city": Hierarchy.from_rows("city", CITY)},
            k=2,
        )
    assert caught.value.fields["role"] == "sensitive attribute"


def test_value_missing_from_its_hierarchy_names_the_row_not_the_value() -> None:
    data = table().with_columns(pl.Series("city", ["Lyon", "Brest", "Nantes", "Brest"]))
    with pytest.raises(ValueNotInHierarchy) as caught:
        anonymize(
            data, quasi=["city"], hierarchies={"city": Hierarchy.from_rows("city", CITY)}, k=2
        )
    assert caught.value.fields == {"column": "city", "rows": 2, "first_row": 1}
    assert "Brest" not in str(caught.value)
    assert "Brest" not in repr(caught.value.to_problem())


def test_missing_hierarchy_file(tmp_path: Path) -> None:
    with pytest.raises(HierarchyInvalid) as caught:
        anonymize(table(), quasi=["city"], hierarchies=tmp_path, k=2)
    assert caught.value.fields["column"] == "city"


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ([["Lyon", "Rhône", "*"], ["Nantes", "*"]], "levels"),
        ([["Lyon", "Rhône", "*"], ["Lyon", "Rhône", "*"]], "repeats a leaf"),
        ([["Lyon", "Rhône", "A"], ["Nantes", "Rhône", "B"]], "tree"),
        ([["Lyon"]], "at least one level"),
        ([], "no lines"),
    ],
)
def test_malformed_hierarchies(rows: list[list[str]], reason: str) -> None:
    with pytest.raises(HierarchyInvalid) as caught:
        Hierarchy.from_rows("city", rows)
    assert reason in caught.value.detail


def test_hierarchy_file_is_read_like_arx(tmp_path: Path) -> None:
    path = tmp_path / "data_hierarchy_city.csv"
    path.write_bytes(b"Lyon;Rh\xc3\xb4ne;*\r\nVilleurbanne;Rh\xc3\xb4ne;*\r\nNantes;Loire;*\r\n")
    hierarchy = Hierarchy.from_csv("city", path)
    assert hierarchy.height == 2
    assert hierarchy.label_of("Villeurbanne", 1) == "Rhône"
    release = anonymize(table(), quasi=["city"], hierarchies=tmp_path, k=2)
    # Rhône 3, Loire 1 at level 1: only the top gives every class two rows.
    assert release.levels == {"city": 2}
    assert release.table.get_column("city").to_list() == ["*"] * 4


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"k": 0}, "k"),
        ({"k": 2, "suppression": 1.5}, "suppression"),
        ({"k": 2, "l": 2}, "sensitive"),
        ({"k": 2, "sensitive": "score", "t": 2.0}, "t"),
        ({"k": 2, "mode": "greedy"}, "mode"),
        ({"k": 2, "sensitive": "city"}, "sensitive"),
    ],
)
def test_invalid_parameters(arguments: dict[str, object], parameter: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        anonymize(
            table(),
            quasi=["city"],
            hierarchies={"city": Hierarchy.from_rows("city", CITY)},
            **arguments,  # type: ignore[arg-type]
        )
    assert caught.value.fields["parameter"] == parameter


@pytest.mark.parametrize("mode", ["optimal", "local"])
def test_no_release_when_even_the_top_fails(mode: str) -> None:
    with pytest.raises(NoRelease):
        anonymize(
            table(),
            quasi=["city"],
            hierarchies={"city": Hierarchy.from_rows("city", CITY)},
            k=5,
            mode=mode,  # type: ignore[arg-type]
        )
