"""Generalisation hierarchies: each leaf value with its label at every level up to the top.

The file format is ARX's: one line per leaf, ``;``-separated, no header; column 0 is the value
as it appears in the table, each further column one level up, the last usually ``*``::

    Bachelors;Undergraduate;Higher education;*

A hierarchy must be a tree: two leaves with the same label at one level share their labels at
every level above. Full-domain generalisation relies on it (going one level up may only merge
classes, never split them), so it is checked when the file is read.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from confiance.anonymize.errors import HierarchyInvalid

__all__ = ["Hierarchy", "find_hierarchy_file", "load_hierarchies"]


@dataclass(frozen=True)
class Hierarchy:
    """One column's generalisation hierarchy, leaves first.

    ``codes[level][leaf_index]`` is the integer code of that leaf's label at ``level``, dense
    from 0 in the order labels first appear; ``labels[level][code]`` is the label itself.
    """

    column: str
    leaves: tuple[str, ...]
    codes: tuple[npt.NDArray[np.int64], ...] = field(repr=False)
    labels: tuple[tuple[str, ...], ...] = field(repr=False)

    @property
    def height(self) -> int:
        """The top level (levels run from 0, the original values, to ``height``)."""
        return len(self.codes) - 1

    def cardinality(self, level: int) -> int:
        return len(self.labels[level])

    def label_of(self, leaf: str, level: int) -> str:
        return self.labels[level][int(self.codes[level][self.leaves.index(leaf)])]

    @classmethod
    def from_rows(cls, column: str, rows: Iterable[Sequence[str]]) -> Hierarchy:
        """Build and check a hierarchy from its lines (leaf, level 1, ..., top)."""
        table = [tuple(cell.strip() for cell in row) for row in rows]
        table = [row for row in table if any(row)]
        if not table:
            raise HierarchyInvalid(column=column, reason="it has no lines")
        width = len(table[0])
        if width < 2:
            raise HierarchyInvalid(
                column=column, reason="each line needs the value and at least one level above it"
            )
        for number, row in enumerate(table, start=1):
            if len(row) != width:
                raise HierarchyInvalid(
                    column=column,
                    reason=f"line {number} has {len(row)} levels where line 1 has {width}",
                )
        leaves = tuple(row[0] for row in table)
        seen: set[str] = set()
        for number, leaf in enumerate(leaves, start=1):
            if leaf in seen:
                raise HierarchyInvalid(column=column, reason=f"line {number} repeats a leaf")
            seen.add(leaf)
        codes: list[npt.NDArray[np.int64]] = []
        labels: list[tuple[str, ...]] = []
        for level in range(width):
            index: dict[str, int] = {}
            column_codes = [index.setdefault(row[level], len(index)) for row in table]
            codes.append(np.asarray(column_codes, dtype=np.int64))
            labels.append(tuple(index))
        for level in range(1, width - 1):
            parent: dict[int, int] = {}
            for child, up in zip(codes[level].tolist(), codes[level + 1].tolist(), strict=True):
                if parent.setdefault(child, up) != up:
                    raise HierarchyInvalid(
                        column=column,
                        reason=f"a label at level {level} has two different parents at level "
                        f"{level + 1}; a hierarchy must be a tree",
                    )
        return cls(column=column, leaves=leaves, codes=tuple(codes), labels=tuple(labels))

    @classmethod
    def from_csv(cls, column: str, path: Path, *, separator: str = ";") -> Hierarchy:
        """Read an ARX-style hierarchy file."""
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                rows = list(csv.reader(handle, delimiter=separator))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise HierarchyInvalid(
                column=column, reason=f"cannot read {path.name}: {type(exc).__name__}"
            ) from None
        return cls.from_rows(column, rows)


def find_hierarchy_file(directory: Path, column: str) -> Path | None:
    """The hierarchy file of ``column`` in ``directory``: ``<column>.csv`` or
    ``*hierarchy_<column>.csv`` (ARX's naming, ``adult_hierarchy_age.csv``)."""
    exact = directory / f"{column}.csv"
    if exact.is_file():
        return exact
    matches = sorted(directory.glob(f"*hierarchy_{column}.csv"))
    return matches[0] if len(matches) == 1 else None


def load_hierarchies(
    directory: Path, columns: Sequence[str], *, separator: str = ";"
) -> Mapping[str, Hierarchy]:
    """One hierarchy per column, read from ``directory``."""
    if not directory.is_dir():
        raise HierarchyInvalid(column="*", reason=f"{directory} is not a directory")
    found: dict[str, Hierarchy] = {}
    for column in columns:
        path = find_hierarchy_file(directory, column)
        if path is None:
            raise HierarchyInvalid(
                column=column,
                reason=f"no file {column}.csv or *hierarchy_{column}.csv in {directory}",
            )
        found[column] = Hierarchy.from_csv(column, path, separator=separator)
    return found
