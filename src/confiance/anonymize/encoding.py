"""The table as integers: each quasi-identifier's code at every level, per distinct row.

Everything the searches do happens here once: values are looked up in their hierarchies, the
rows are reduced to distinct (quasi-identifiers, sensitive value) combinations with a count,
and every level's code of every combination is precomputed. Evaluating a transformation is
then a few integer multiply-adds and one sort.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from confiance.anonymize.errors import HierarchyInvalid, UnknownColumn, ValueNotInHierarchy
from confiance.anonymize.hierarchy import Hierarchy

__all__ = ["EncodedTable", "combine", "encode"]

IntArray = npt.NDArray[np.int64]
KEY_LIMIT = 1 << 62


@dataclass(frozen=True)
class EncodedTable:
    """A table reduced to distinct rows, with integer codes at every hierarchy level."""

    quasi: tuple[str, ...]
    hierarchies: tuple[Hierarchy, ...]
    rows: int
    #: ``levels[i][level]``: code of quasi-identifier ``i`` at ``level``, per distinct row.
    levels: tuple[tuple[IntArray, ...], ...]
    #: ``up[i][a][b]``: code at level ``b`` of each code of quasi-identifier ``i`` at level ``a``.
    up: tuple[tuple[tuple[IntArray, ...], ...], ...]
    weights: IntArray
    #: The distinct row of each input row.
    row_group: IntArray
    sensitive: IntArray | None
    sensitive_values: int
    distribution: npt.NDArray[np.float64] | None

    @property
    def heights(self) -> tuple[int, ...]:
        return tuple(h.height for h in self.hierarchies)

    def cardinality(self, qi: int, level: int) -> int:
        return self.hierarchies[qi].cardinality(level)


def combine(columns: Sequence[tuple[IntArray, int]]) -> tuple[IntArray, IntArray]:
    """Group the rows by all ``(codes, cardinality)`` columns: the group (dense from 0) of
    each row, and one row of each group."""
    key = np.zeros(len(columns[0][0]), dtype=np.int64)
    span = 1
    for codes, cardinality in columns:
        if span * cardinality >= KEY_LIMIT:
            _, key = np.unique(key, return_inverse=True)
            span = int(key.max()) + 1 if len(key) else 1
        key = key * cardinality + codes
        span *= cardinality
    rows = len(key)
    if span <= max(4 * rows, 1 << 16):
        # Small key space: a presence table instead of a sort.
        present = np.zeros(span, dtype=np.bool_)
        present[key] = True
        dense = np.cumsum(present, dtype=np.int64) - 1
        inverse = dense[key]
        # Any row of a group represents it (they agree on every grouped column).
        representative = np.empty(int(dense[-1]) + 1 if span else 0, dtype=np.int64)
        representative[inverse] = np.arange(rows, dtype=np.int64)
        return inverse, representative
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return inverse.astype(np.int64, copy=False), first.astype(np.int64, copy=False)


def _up_maps(hierarchy: Hierarchy) -> tuple[tuple[IntArray, ...], ...]:
    maps: list[tuple[IntArray, ...]] = []
    for low in range(hierarchy.height + 1):
        row: list[IntArray] = []
        for high in range(hierarchy.height + 1):
            table = np.zeros(hierarchy.cardinality(low), dtype=np.int64)
            if high >= low:
                table[hierarchy.codes[low]] = hierarchy.codes[high]
            row.append(table)
        maps.append(tuple(row))
    return tuple(maps)


def _leaf_codes(table: pl.DataFrame, hierarchy: Hierarchy) -> IntArray:
    column = hierarchy.column
    leaves = pl.Series(hierarchy.leaves, dtype=pl.String)
    codes = (
        table.get_column(column)
        .cast(pl.String)
        .replace_strict(
            leaves, pl.int_range(len(leaves), eager=True), default=None, return_dtype=pl.Int64
        )
    )
    missing = codes.is_null()
    if missing.any():
        raise ValueNotInHierarchy(
            column=column, rows=int(missing.sum()), first_row=int(missing.arg_true()[0])
        )
    return codes.to_numpy().astype(np.int64, copy=False)


def _sensitive_codes(column: pl.Series, *, ordered: bool) -> tuple[IntArray, int]:
    """Codes of the sensitive values; for ordered distances the codes follow the values' order
    (numeric order for a numeric column, lexicographic otherwise)."""
    if column.null_count():
        column = column.cast(pl.String).fill_null("")
    values = column.unique(maintain_order=not ordered)
    if ordered:
        values = values.sort()
    codes = column.replace_strict(
        values, pl.int_range(len(values), eager=True), return_dtype=pl.Int64
    )
    return codes.to_numpy().astype(np.int64, copy=False), len(values)


def encode(
    table: pl.DataFrame,
    *,
    quasi: Sequence[str],
    hierarchies: Mapping[str, Hierarchy],
    sensitive: str | None,
    ordered_sensitive: bool = False,
) -> EncodedTable:
    """Look every quasi-identifier up in its hierarchy and reduce the table to distinct rows."""
    for column in quasi:
        if column not in table.columns:
            raise UnknownColumn(column=column, role="quasi-identifier")
        if column not in hierarchies:
            raise HierarchyInvalid(column=column, reason="no hierarchy given for it")
    if sensitive is not None and sensitive not in table.columns:
        raise UnknownColumn(column=sensitive, role="sensitive attribute")
    ordered = [hierarchies[column] for column in quasi]
    leaf_codes = [_leaf_codes(table, h) for h in ordered]
    columns = [(codes, len(h.leaves)) for codes, h in zip(leaf_codes, ordered, strict=True)]
    sensitive_codes: IntArray | None = None
    sensitive_values = 0
    distribution = None
    if sensitive is not None:
        sensitive_codes, sensitive_values = _sensitive_codes(
            table.get_column(sensitive), ordered=ordered_sensitive
        )
        columns.append((sensitive_codes, sensitive_values))
        counts = np.bincount(sensitive_codes, minlength=sensitive_values)
        distribution = counts / max(table.height, 1)
    row_group, first = combine(columns)  # first: one row per distinct combination
    groups = len(first)
    weights = np.bincount(row_group, minlength=groups).astype(np.int64)
    levels = tuple(
        tuple(level_codes[codes[first]] for level_codes in h.codes)
        for codes, h in zip(leaf_codes, ordered, strict=True)
    )
    return EncodedTable(
        quasi=tuple(quasi),
        up=tuple(_up_maps(h) for h in ordered),
        hierarchies=tuple(ordered),
        rows=table.height,
        levels=levels,
        weights=weights,
        row_group=row_group,
        sensitive=None if sensitive_codes is None else sensitive_codes[first],
        sensitive_values=sensitive_values,
        distribution=distribution,
    )
