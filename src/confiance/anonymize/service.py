"""``anonymize``: a release of a table that satisfies k-anonymity (and l-diversity,
t-closeness) within a suppression limit, with its utility and its risk before and after."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from confiance.anonymize import lattice, mondrian
from confiance.anonymize.encoding import EncodedTable, encode
from confiance.anonymize.errors import InvalidParameter, UnknownColumn
from confiance.anonymize.hierarchy import Hierarchy, load_hierarchies
from confiance.anonymize.metrics import RiskReport, UtilityMetrics, class_sizes, risk_report
from confiance.anonymize.privacy import Criteria, check_classes

__all__ = ["LatticeStats", "Release", "anonymize"]

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class LatticeStats:
    """How much of the lattice the optimal search had to look at."""

    nodes: int
    tagging_checks: int
    checked: int


@dataclass(frozen=True)
class Release:
    """An anonymised table and what it cost.

    ``table`` holds the released rows in their original order: the quasi-identifiers
    generalised, the sensitive attribute and the ``keep`` columns as they were, every other
    column dropped, suppressed rows removed. ``levels`` is the transformation (optimal mode)
    or ``None`` (local mode, where each class has its own levels).
    """

    table: pl.DataFrame
    mode: Literal["optimal", "local"]
    levels: Mapping[str, int] | None
    suppressed: int
    metrics: UtilityMetrics
    risk_before: RiskReport
    risk_after: RiskReport
    parameters: Mapping[str, Any]
    lattice: LatticeStats | None = None

    def report(self) -> dict[str, Any]:
        """A JSON-ready account of the release; it holds no value from the table."""
        return {
            "mode": self.mode,
            "parameters": dict(self.parameters),
            "rows_in": self.risk_before.rows,
            "rows_out": self.table.height,
            "suppressed": self.suppressed,
            "levels": None if self.levels is None else dict(self.levels),
            "metrics": self.metrics.as_dict(),
            "risk_before": self.risk_before.as_dict(),
            "risk_after": self.risk_after.as_dict(),
            "lattice": None if self.lattice is None else self.lattice.__dict__.copy(),
        }


def _resolve_hierarchies(
    hierarchies: Mapping[str, Hierarchy | Path] | Path, quasi: Sequence[str]
) -> dict[str, Hierarchy]:
    if isinstance(hierarchies, Path):
        return dict(load_hierarchies(hierarchies, quasi))
    return {
        column: h if isinstance(h, Hierarchy) else Hierarchy.from_csv(column, Path(h))
        for column, h in hierarchies.items()
        if column in quasi
    }


def _check_parameters(
    table: pl.DataFrame,
    *,
    quasi: Sequence[str],
    sensitive: str | None,
    keep: Sequence[str],
    l: int | None,  # noqa: E741
    t: float | None,
    suppression: float,
    mode: str,
    risk_threshold: float,
) -> None:
    if not quasi:
        raise InvalidParameter(parameter="quasi", reason="name at least one quasi-identifier")
    if len(set(quasi)) != len(quasi):
        raise InvalidParameter(parameter="quasi", reason="a column is named twice")
    for column in quasi:
        if column not in table.columns:
            raise UnknownColumn(column=column, role="quasi-identifier")
    if sensitive is not None:
        if sensitive not in table.columns:
            raise UnknownColumn(column=sensitive, role="sensitive attribute")
        if sensitive in quasi:
            raise InvalidParameter(
                parameter="sensitive",
                reason="a column cannot be both quasi-identifier and sensitive",
            )
    for column in keep:
        if column not in table.columns:
            raise UnknownColumn(column=column, role="kept column")
    if (l is not None or t is not None) and sensitive is None:
        raise InvalidParameter(
            parameter="sensitive", reason="l-diversity and t-closeness need a sensitive attribute"
        )
    if not 0.0 <= suppression <= 1.0:
        raise InvalidParameter(parameter="suppression", reason="must be between 0 and 1")
    if mode not in ("optimal", "local"):
        raise InvalidParameter(parameter="mode", reason="must be optimal or local")
    if not 0.0 < risk_threshold <= 1.0:
        raise InvalidParameter(parameter="risk_threshold", reason="must be in (0, 1]")


def anonymize(
    table: pl.DataFrame,
    *,
    quasi: Sequence[str],
    hierarchies: Mapping[str, Hierarchy | Path] | Path,
    k: int,
    sensitive: str | None = None,
    l: int | None = None,  # noqa: E741
    l_kind: Literal["distinct", "recursive"] = "distinct",
    c: float = 1.0,
    t: float | None = None,
    t_kind: Literal["auto", "equal", "ordered"] = "auto",
    suppression: float = 0.0,
    mode: Literal["optimal", "local"] = "optimal",
    keep: Sequence[str] = (),
    risk_threshold: float = 0.2,
) -> Release:
    """Anonymise ``table`` over the quasi-identifiers ``quasi``.

    ``hierarchies`` maps each quasi-identifier to its :class:`Hierarchy` (or the path of its
    CSV file), or is a directory holding ``<column>.csv`` / ``*hierarchy_<column>.csv``.
    ``suppression`` is the share of rows that may be removed (optimal mode; local mode never
    suppresses). ``t_kind="auto"`` measures t-closeness with the ordered distance for a
    numeric sensitive column and the equal distance otherwise.
    """
    quasi = list(quasi)
    _check_parameters(
        table,
        quasi=quasi,
        sensitive=sensitive,
        keep=keep,
        l=l,
        t=t,
        suppression=suppression,
        mode=mode,
        risk_threshold=risk_threshold,
    )
    resolved = _resolve_hierarchies(hierarchies, quasi)
    ordered = t_kind == "ordered" or (
        t_kind == "auto" and sensitive is not None and table.schema[sensitive].is_numeric()
    )
    if t_kind not in ("auto", "equal", "ordered"):
        raise InvalidParameter(parameter="t_kind", reason="must be auto, equal or ordered")
    criteria = Criteria(
        k=k,
        l=l,
        l_kind=l_kind,
        c=c,
        t=t,
        t_kind="ordered" if ordered else "equal",
        suppression_rows=math.floor(suppression * table.height + 1e-9) if mode == "optimal" else 0,
    )
    encoded = encode(
        table,
        quasi=quasi,
        hierarchies=resolved,
        sensitive=sensitive if criteria.needs_sensitive else None,
        ordered_sensitive=ordered,
    )
    parameters: dict[str, Any] = {
        "quasi": quasi,
        "sensitive": sensitive,
        "k": k,
        "l": l,
        "l_kind": l_kind if l is not None else None,
        "c": c if l is not None and l_kind == "recursive" else None,
        "t": t,
        "t_kind": criteria.t_kind if t is not None else None,
        "suppression": suppression,
        "suppression_rows": criteria.suppression_rows,
        "mode": mode,
    }
    heights = np.asarray(encoded.heights, dtype=np.float64)
    stats: LatticeStats | None = None
    if mode == "optimal":
        result = lattice.search(encoded, criteria)
        stats = LatticeStats(result.nodes, result.tagging_checks, result.checked)
        chosen = result.best.levels
        kept_distinct = _passing_rows(encoded, criteria, chosen)
        distinct_levels = np.tile(np.asarray(chosen, dtype=np.int64), (len(encoded.weights), 1))
        distinct_codes = np.stack(
            [encoded.levels[qi][level] for qi, level in enumerate(chosen)], axis=1
        )
        levels: dict[str, int] | None = dict(zip(quasi, chosen, strict=True))
        intensity: float | None = float((np.asarray(chosen) / heights).mean())
    else:
        parts = mondrian.partition(encoded, criteria)
        kept_distinct = np.ones(len(encoded.weights), dtype=np.bool_)
        distinct_levels, distinct_codes = parts.levels, parts.codes
        levels, intensity = None, None
    kept_rows = kept_distinct[encoded.row_group]
    released = _release_table(
        table,
        encoded,
        quasi=quasi,
        distinct_levels=distinct_levels,
        distinct_codes=distinct_codes,
        kept_rows=kept_rows,
        sensitive=sensitive,
        keep=keep,
    )
    suppressed = table.height - released.height
    cell_loss = (distinct_levels / heights).mean(axis=1)
    weights = encoded.weights * kept_distinct
    precision = (
        (float((cell_loss * weights).sum()) + suppressed) / table.height if table.height else 0.0
    )
    sizes = class_sizes(released, quasi)
    classes = sizes.len()
    metrics = UtilityMetrics(
        precision_loss=precision,
        discernibility=int((sizes.cast(pl.Int64) ** 2).sum()) + suppressed * table.height,
        average_class_size=(released.height / classes) / k if classes else 0.0,
        classes=classes,
        smallest_class=int(sizes.min()) if classes else 0,  # type: ignore[arg-type]
        generalisation_intensity=intensity,
    )
    return Release(
        table=released,
        mode=mode,
        levels=levels,
        suppressed=suppressed,
        metrics=metrics,
        risk_before=risk_report(table, quasi, threshold=risk_threshold),
        risk_after=risk_report(released, quasi, threshold=risk_threshold),
        parameters=parameters,
        lattice=stats,
    )


def _passing_rows(
    encoded: EncodedTable, criteria: Criteria, levels: tuple[int, ...]
) -> npt.NDArray[np.bool_]:
    """Per distinct row: whether its class under ``levels`` is released (not suppressed)."""
    ids = lattice.class_ids(encoded, levels)
    check = check_classes(
        criteria,
        class_ids=ids,
        classes=int(ids.max()) + 1 if len(ids) else 0,
        weights=encoded.weights,
        sensitive=encoded.sensitive,
        sensitive_values=encoded.sensitive_values,
        distribution=encoded.distribution,
    )
    ok: npt.NDArray[np.bool_] = check.ok[ids]
    return ok


def _release_table(
    table: pl.DataFrame,
    encoded: EncodedTable,
    *,
    quasi: Sequence[str],
    distinct_levels: IntArray,
    distinct_codes: IntArray,
    kept_rows: npt.NDArray[np.bool_],
    sensitive: str | None,
    keep: Sequence[str],
) -> pl.DataFrame:
    wanted = set(quasi) | set(keep) | ({sensitive} if sensitive else set())
    rows = encoded.row_group[kept_rows]
    columns: dict[str, pl.Series] = {}
    for qi, (column, hierarchy) in enumerate(zip(quasi, encoded.hierarchies, strict=True)):
        offsets = np.cumsum([0] + [len(labels) for labels in hierarchy.labels])
        label_index = offsets[distinct_levels[:, qi]] + distinct_codes[:, qi]
        labels = pl.Series(column, [lab for labels in hierarchy.labels for lab in labels])
        columns[column] = labels.gather(pl.Series(label_index[rows]))
    kept = table.filter(pl.Series(kept_rows))
    return pl.DataFrame(
        [
            columns[name] if name in columns else kept.get_column(name)
            for name in table.columns
            if name in wanted
        ]
    )
