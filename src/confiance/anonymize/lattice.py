"""Globally optimal full-domain generalisation: a search of the generalisation lattice.

A node of the lattice gives each quasi-identifier a level of its hierarchy; node ``a`` is below
``b`` when every level of ``a`` is at most ``b``'s. The search follows ARX's Flash: it walks up
from the lowest untagged node along a path of untagged successors, binary-searches the path for
the lowest node that passes, and tags predictively. A node that passes the monotonic models
(k-anonymity, distinct l-diversity, and with no suppression also recursive l-diversity and
t-closeness) makes all its successors pass; one that fails makes all its predecessors fail.

The loss of a node (:func:`loss_numerator`) never drops below its generalisation intensity
(the mean of level / height), which only grows going up; nodes whose intensity is already worse
than the best release found are never checked. A last pass walks the passing nodes by
increasing intensity and checks what the monotonic models could not decide (suppression, and
the non-monotonic models when suppression is allowed) until no node can beat the best.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from confiance.anonymize.encoding import EncodedTable, combine
from confiance.anonymize.errors import LatticeTooLarge, NoRelease
from confiance.anonymize.privacy import ClassCheck, Criteria, check_classes

__all__ = ["MAX_NODES", "Evaluation", "SearchResult", "class_ids", "search"]

IntArray = npt.NDArray[np.int64]
MAX_NODES = 2_000_000
UNKNOWN, PASSES, FAILS = 0, 1, -1


@dataclass(frozen=True)
class Evaluation:
    levels: tuple[int, ...]
    check: ClassCheck
    suppressed: int
    passes: bool
    discernibility: int


@dataclass(frozen=True)
class Snapshot:
    """A node's classes (split by sensitive value when a model needs it) as distinct rows:
    evaluating any node above it starts from these instead of the whole table."""

    levels: tuple[int, ...]
    codes: tuple[IntArray, ...]
    weights: IntArray
    sensitive: IntArray | None

    @property
    def rows(self) -> int:
        return len(self.weights)


@dataclass
class SearchResult:
    best: Evaluation
    loss: float
    nodes: int
    #: Nodes checked while tagging the lattice, and in all (with the exact losses after).
    tagging_checks: int
    checked: int


def base_snapshot(table: EncodedTable) -> Snapshot:
    return Snapshot(
        levels=(0,) * len(table.quasi),
        codes=tuple(levels[0] for levels in table.levels),
        weights=table.weights,
        sensitive=table.sensitive,
    )


def class_ids(table: EncodedTable, levels: tuple[int, ...]) -> IntArray:
    """The equivalence class of each distinct row of ``table`` under ``levels``."""
    ids, _ = combine(
        [(table.levels[qi][level], table.cardinality(qi, level)) for qi, level in enumerate(levels)]
    )
    return ids


def evaluate(
    table: EncodedTable, criteria: Criteria, levels: tuple[int, ...], source: Snapshot
) -> tuple[Evaluation, Snapshot]:
    """Check the node ``levels``, starting from ``source`` (a node at or below it)."""
    codes = [
        table.up[qi][low][high][source.codes[qi]]
        for qi, (low, high) in enumerate(zip(source.levels, levels, strict=True))
    ]
    ids, first = combine(
        [
            (c, table.cardinality(qi, level))
            for qi, (c, level) in enumerate(zip(codes, levels, strict=True))
        ]
    )
    check = check_classes(
        criteria,
        class_ids=ids,
        classes=len(first),
        weights=source.weights,
        sensitive=source.sensitive,
        sensitive_values=table.sensitive_values,
        distribution=table.distribution,
    )
    suppressed = check.suppressed()
    kept = check.sizes[check.ok]
    evaluation = Evaluation(
        levels=levels,
        check=check,
        suppressed=suppressed,
        passes=suppressed <= criteria.suppression_rows,
        discernibility=int((kept * kept).sum()) + suppressed * table.rows,
    )
    if source.sensitive is None:
        snapshot = Snapshot(
            levels=levels,
            codes=tuple(c[first] for c in codes),
            weights=check.sizes,
            sensitive=None,
        )
    else:
        pairs, pair_first = combine([(ids, len(first)), (source.sensitive, table.sensitive_values)])
        snapshot = Snapshot(
            levels=levels,
            codes=tuple(c[pair_first] for c in codes),
            weights=np.bincount(pairs, weights=source.weights, minlength=len(pair_first)).astype(
                np.int64
            ),
            sensitive=source.sensitive[pair_first],
        )
    return evaluation, snapshot


class SnapshotCache:
    """Snapshots of checked nodes, the smallest kept when the cells budget is exceeded."""

    def __init__(self, base: Snapshot, *, cells: int = 20_000_000) -> None:
        self.base = base
        self.budget = cells
        self.entries: list[Snapshot] = []
        self.levels = np.zeros((0, len(base.levels)), dtype=np.int16)
        self.sizes = np.zeros(0, dtype=np.int64)

    def source_for(self, levels: tuple[int, ...]) -> Snapshot:
        """The cached node below ``levels`` with the fewest rows (the table when none is)."""
        if not self.entries:
            return self.base
        below = np.all(self.levels <= np.asarray(levels, dtype=np.int16), axis=1)
        if not below.any():
            return self.base
        candidates = np.flatnonzero(below)
        return self.entries[int(candidates[np.argmin(self.sizes[candidates])])]

    def add(self, snapshot: Snapshot) -> None:
        if snapshot.rows * 2 > self.base.rows:
            return
        self.entries.append(snapshot)
        self.levels = np.vstack([self.levels, np.asarray(snapshot.levels, dtype=np.int16)])
        self.sizes = np.append(self.sizes, snapshot.rows)
        while int(self.sizes.sum()) * len(snapshot.levels) > self.budget:
            largest = int(np.argmax(self.sizes))
            del self.entries[largest]
            self.levels = np.delete(self.levels, largest, axis=0)
            self.sizes = np.delete(self.sizes, largest)


def loss_scale(heights: tuple[int, ...]) -> int:
    """A common multiple of the heights, so that losses compare as exact integers."""
    return math.lcm(*heights)


def loss_numerator(intensity: int, suppressed: int, *, rows: int, qis: int, scale: int) -> int:
    """Precision loss times ``qis * scale * rows``: kept rows lose level / height per cell,
    suppressed rows lose every cell. ``intensity`` is sum(level * scale / height)."""
    return intensity * (rows - suppressed) + suppressed * qis * scale


def search(table: EncodedTable, criteria: Criteria) -> SearchResult:
    """The transformation of least precision loss that passes ``criteria``."""
    heights = table.heights
    nodes = math.prod(h + 1 for h in heights)
    if nodes > MAX_NODES:
        raise LatticeTooLarge(nodes=nodes, limit=MAX_NODES)
    qis, rows = len(heights), table.rows
    scale = loss_scale(heights)
    grid = np.array(list(itertools.product(*(range(h + 1) for h in heights))), dtype=np.int16)
    weights = np.array([scale // h for h in heights], dtype=np.int64)
    intensity = grid.astype(np.int64) @ weights
    strides = [math.prod(h + 1 for h in heights[i + 1 :]) for i in range(qis)]
    status = np.zeros(nodes, dtype=np.int8)
    evaluated: dict[int, Evaluation] = {}
    cache = SnapshotCache(base_snapshot(table))
    # (loss numerator, discernibility, levels, node): equal losses go to the finer classes.
    best: list[tuple[int, int, tuple[int, ...], int]] = []

    def run(node: int) -> Evaluation:
        levels = tuple(int(v) for v in grid[node])
        evaluation, snapshot = evaluate(table, criteria, levels, cache.source_for(levels))
        cache.add(snapshot)
        evaluated[node] = evaluation
        return evaluation

    def bound_ok(node: int) -> bool:
        return not best or int(intensity[node]) * rows <= best[0][0]

    def consider(node: int, evaluation: Evaluation) -> None:
        if not evaluation.passes:
            return
        numerator = loss_numerator(
            int(intensity[node]), evaluation.suppressed, rows=rows, qis=qis, scale=scale
        )
        candidate = (numerator, evaluation.discernibility, evaluation.levels, node)
        if not best or candidate < best[0]:
            best[:] = [candidate]

    def check(node: int) -> bool:
        evaluation = run(node)
        if evaluation.check.suppressed_monotonic() <= criteria.suppression_rows:
            status[np.all(grid >= grid[node], axis=1) & (status == UNKNOWN)] = PASSES
            status[node] = PASSES
            consider(node, evaluation)
            return True
        status[np.all(grid <= grid[node], axis=1) & (status == UNKNOWN)] = FAILS
        status[node] = FAILS
        return False

    def successors(node: int) -> list[int]:
        here = grid[node]
        ups = [node + strides[i] for i in range(qis) if here[i] < heights[i]]
        return sorted(ups, key=lambda up: (int(intensity[up]), up))

    def predecessors(node: int) -> list[int]:
        here = grid[node]
        downs = [node - strides[i] for i in range(qis) if here[i] > 0]
        return sorted(downs, key=lambda down: (-int(intensity[down]), down))

    def path_from(node: int) -> list[int]:
        path = [node]
        while ups := [up for up in successors(path[-1]) if status[up] == UNKNOWN]:
            path.append(ups[0])
        return path

    def climb(node: int) -> None:
        """From a failing node up to a maximal one: it tags the most nodes below it."""
        while True:
            for up in successors(node):
                if status[up] == UNKNOWN and not check(up):
                    node = up
                    break
            else:
                return

    def descend(node: int) -> None:
        """From a passing node down to a minimal one: the optimum is among those."""
        while True:
            for down in predecessors(node):
                if status[down] == UNKNOWN and bound_ok(down) and check(down):
                    node = down
                    break
            else:
                return

    level_sums = grid.sum(axis=1)
    for node in np.lexsort((intensity, level_sums)).tolist():
        if status[node] != UNKNOWN or not bound_ok(node):
            continue
        path = path_from(node)
        low, high = 0, len(path) - 1
        lowest_pass = highest_fail = -1
        while low <= high:
            middle = (low + high) // 2
            here = path[middle]
            if status[here] == UNKNOWN:
                check(here)
            if status[here] == PASSES:
                lowest_pass, high = here, middle - 1
            else:
                highest_fail, low = here, middle + 1
        if highest_fail >= 0:
            climb(highest_fail)
        if lowest_pass >= 0:
            descend(lowest_pass)

    tagged = len(evaluated)
    # Passing nodes whose exact loss is unknown (tagged, or non-monotonic models undecided).
    passing = np.flatnonzero(status == PASSES)
    for node in passing[np.argsort(intensity[passing], kind="stable")].tolist():
        if not bound_ok(node):
            break
        if node not in evaluated:
            consider(node, run(node))
    if not best:
        raise NoRelease(
            mode="optimal",
            reason="even the most general transformation leaves too many rows in classes "
            "that fail the privacy models",
        )
    numerator, _, _, node = best[0]
    return SearchResult(
        best=evaluated[node],
        loss=numerator / (qis * scale * rows) if rows else 0.0,
        nodes=nodes,
        tagging_checks=tagged,
        checked=len(evaluated),
    )
