"""Local recoding: Mondrian-style multidimensional partitioning along the hierarchies.

Full-domain generalisation lifts a whole column to one level, so a few rare rows can force
every row up. Here each group of rows gets its own levels: starting from the most general
labels, a partition is split on one quasi-identifier into the children of its current label
(one hierarchy level down) as long as every part still satisfies the privacy models. Children
that would fail alone stay together under the parent label (the "remainder"), so one rare
value does not block its siblings; a remainder is never split again on that attribute.

Among the attributes a partition can be split on, the one that lowers the precision loss the
most is taken (rows moved down one level, weighted by 1 / height), as Mondrian takes the
widest dimension. Labels are always labels of the hierarchy, so releases of both modes read
the same way and their losses compare.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from confiance.anonymize.encoding import EncodedTable, combine
from confiance.anonymize.errors import NoRelease
from confiance.anonymize.privacy import Criteria, check_classes

__all__ = ["Partitioning", "partition"]

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Partitioning:
    """Per distinct row of the table: its partition and its level and code per attribute."""

    partition: IntArray
    partitions: int
    levels: IntArray  # distinct rows x quasi-identifiers
    codes: IntArray


@dataclass
class _Part:
    rows: IntArray
    levels: list[int]
    frozen: set[int]


def _ok_groups(
    table: EncodedTable, criteria: Criteria, rows: IntArray, groups: IntArray, count: int
) -> npt.NDArray[np.bool_]:
    check = check_classes(
        criteria,
        class_ids=groups,
        classes=count,
        weights=table.weights[rows],
        sensitive=None if table.sensitive is None else table.sensitive[rows],
        sensitive_values=table.sensitive_values,
        distribution=table.distribution,
    )
    return check.ok


def _split(
    table: EncodedTable, criteria: Criteria, part: _Part, qi: int
) -> tuple[list[IntArray], IntArray, int] | None:
    """Children (rows one level down on ``qi``), the remainder and the rows moved down."""
    level = part.levels[qi] - 1
    codes = table.levels[qi][level][part.rows]
    groups, first = combine([(codes, table.cardinality(qi, level))])
    weights = table.weights[part.rows]
    if len(first) == 1:
        return [part.rows], part.rows[:0], int(weights.sum())
    ok = _ok_groups(table, criteria, part.rows, groups, len(first))
    sizes = np.bincount(groups, weights=weights, minlength=len(first))
    keep = np.flatnonzero(ok)
    remainder_mask = ~ok[groups]
    if remainder_mask.any():
        # The remainder must pass too: give it the smallest passing groups until it does.
        order = keep[np.argsort(sizes[keep], kind="stable")].tolist()
        while True:
            rest = part.rows[remainder_mask]
            single = np.zeros(len(rest), dtype=np.int64)
            if _ok_groups(table, criteria, rest, single, 1)[0]:
                break
            if not order:
                return None
            remainder_mask |= groups == order.pop(0)
        keep = np.asarray(order, dtype=np.int64)
    if len(keep) == 0:
        return None
    children = [part.rows[groups == g] for g in keep.tolist()]
    moved = int(sizes[keep].sum())
    return children, part.rows[remainder_mask], moved


def partition(table: EncodedTable, criteria: Criteria) -> Partitioning:
    """Split the table into partitions that each satisfy ``criteria``, none suppressed."""
    heights = table.heights
    qis = len(heights)
    scale = math.lcm(*heights)
    rows = table.weights.shape[0]
    top = list(heights)
    ids, first = combine(
        [(table.levels[qi][h], table.cardinality(qi, h)) for qi, h in enumerate(top)]
    )
    if not _ok_groups(table, criteria, np.arange(rows, dtype=np.int64), ids, len(first)).all():
        raise NoRelease(
            mode="local",
            reason="the most general labels already leave classes that fail the privacy models",
        )
    stack = [
        _Part(rows=np.flatnonzero(ids == g).astype(np.int64), levels=list(top), frozen=set())
        for g in range(len(first))
    ]
    done: list[_Part] = []
    while stack:
        part = stack.pop()
        best: tuple[int, int, list[IntArray], IntArray] | None = None
        for qi in range(qis):
            if part.levels[qi] == 0 or qi in part.frozen:
                continue
            split = _split(table, criteria, part, qi)
            if split is None:
                continue
            children, remainder, moved = split
            gain = moved * (scale // heights[qi])
            if best is None or gain > best[0]:
                best = (gain, qi, children, remainder)
        if best is None:
            done.append(part)
            continue
        _, qi, children, remainder = best
        for rows_down in children:
            levels = list(part.levels)
            levels[qi] -= 1
            stack.append(_Part(rows=rows_down, levels=levels, frozen=set(part.frozen)))
        if len(remainder):
            stack.append(_Part(rows=remainder, levels=list(part.levels), frozen=part.frozen | {qi}))
    partition_of = np.empty(rows, dtype=np.int64)
    level_of = np.empty((rows, qis), dtype=np.int64)
    for number, part in enumerate(done):
        partition_of[part.rows] = number
        level_of[part.rows] = part.levels
    codes = np.empty((rows, qis), dtype=np.int64)
    for qi in range(qis):
        for level in range(heights[qi] + 1):
            at = level_of[:, qi] == level
            codes[at, qi] = table.levels[qi][level][at]
    return Partitioning(partition=partition_of, partitions=len(done), levels=level_of, codes=codes)
