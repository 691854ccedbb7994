"""The privacy models, checked per equivalence class: k-anonymity, l-diversity, t-closeness.

Every check is vectorised over classes: the callers (the lattice search, Mondrian) hand in a
class id per distinct row of the table and get back, per class, whether it may be released.
A release suppresses the rows of the classes that may not, within the suppression limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from confiance.anonymize.errors import InvalidParameter

__all__ = ["ClassCheck", "Criteria", "check_classes"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Dense per-class histograms of the sensitive attribute above this many cells are refused.
MAX_HISTOGRAM_CELLS = 50_000_000


@dataclass(frozen=True)
class Criteria:
    """What a released class must satisfy, and how many rows may be suppressed."""

    k: int
    l: int | None = None  # noqa: E741 - the letter the literature uses
    l_kind: Literal["distinct", "recursive"] = "distinct"
    c: float = 1.0
    t: float | None = None
    t_kind: Literal["equal", "ordered"] = "equal"
    suppression_rows: int = 0

    def __post_init__(self) -> None:
        if self.k < 1:
            raise InvalidParameter(parameter="k", reason="must be at least 1")
        if self.l is not None and self.l < 1:
            raise InvalidParameter(parameter="l", reason="must be at least 1")
        if self.l_kind not in ("distinct", "recursive"):
            raise InvalidParameter(parameter="l_kind", reason="must be distinct or recursive")
        if self.l_kind == "recursive" and self.c <= 0:
            raise InvalidParameter(parameter="c", reason="must be positive")
        if self.t is not None and not 0.0 <= self.t <= 1.0:
            raise InvalidParameter(parameter="t", reason="must be between 0 and 1")
        if self.t_kind not in ("equal", "ordered"):
            raise InvalidParameter(parameter="t_kind", reason="must be equal or ordered")
        if self.suppression_rows < 0:
            raise InvalidParameter(parameter="suppression", reason="must not be negative")

    @property
    def needs_sensitive(self) -> bool:
        return self.l is not None or self.t is not None

    @property
    def all_monotonic(self) -> bool:
        """Whether a release passing these criteria stays passing when generalised further.

        k-anonymity and distinct l-diversity are monotonic even with suppression: a class that
        passes still passes once merged with any other. Recursive (c,l)-diversity and
        t-closeness are monotonic only without suppression (a passing class merged with a
        failing one may fail), so with a suppression limit the search checks them node by node.
        """
        if self.suppression_rows == 0:
            return True
        return self.t is None and (self.l is None or self.l_kind == "distinct")


@dataclass(frozen=True)
class ClassCheck:
    """Per class: size, whether it passes every model (``ok``) and the monotonic ones
    (``ok_monotonic``, a superset of ``ok``)."""

    sizes: IntArray
    ok: BoolArray
    ok_monotonic: BoolArray

    def suppressed(self) -> int:
        return int(self.sizes[~self.ok].sum())

    def suppressed_monotonic(self) -> int:
        return int(self.sizes[~self.ok_monotonic].sum())


def check_classes(
    criteria: Criteria,
    *,
    class_ids: IntArray,
    classes: int,
    weights: IntArray,
    sensitive: IntArray | None,
    sensitive_values: int,
    distribution: npt.NDArray[np.float64] | None,
) -> ClassCheck:
    """Check every class; ``class_ids[i]`` is the class of distinct row ``i`` (with
    ``weights[i]`` rows), ``sensitive[i]`` its sensitive code and ``distribution`` the whole
    table's distribution of the sensitive attribute (for t-closeness)."""
    sizes = np.bincount(class_ids, weights=weights, minlength=classes).astype(np.int64)
    ok_k = sizes >= criteria.k
    if not criteria.needs_sensitive:
        return ClassCheck(sizes=sizes, ok=ok_k, ok_monotonic=ok_k)
    assert sensitive is not None
    cells = classes * sensitive_values
    if cells > MAX_HISTOGRAM_CELLS:
        raise InvalidParameter(
            parameter="sensitive",
            reason=f"{sensitive_values} distinct values in {classes} classes are too many "
            "for the l-diversity and t-closeness checks",
        )
    histogram = (
        np.bincount(class_ids * sensitive_values + sensitive, weights=weights, minlength=cells)
        .reshape(classes, sensitive_values)
        .astype(np.int64)
    )
    ok = ok_k.copy()
    ok_monotonic = ok_k.copy()
    if criteria.l is not None:
        if criteria.l_kind == "distinct":
            diverse = np.count_nonzero(histogram, axis=1) >= criteria.l
            ok_monotonic &= diverse
        else:
            descending = -np.sort(-histogram, axis=1)
            # (c,l): the most frequent value occurs less than c times the l-th and rarer ones.
            tail = (
                descending[:, criteria.l - 1 :].sum(axis=1) if criteria.l <= sensitive_values else 0
            )
            diverse = descending[:, 0] < criteria.c * tail
        ok &= diverse
    if criteria.t is not None:
        assert distribution is not None
        shares = histogram / np.maximum(sizes, 1)[:, None]
        difference = shares - distribution[None, :]
        if criteria.t_kind == "equal" or sensitive_values < 2:
            distance = 0.5 * np.abs(difference).sum(axis=1)
        else:
            distance = np.abs(np.cumsum(difference, axis=1)).sum(axis=1) / (sensitive_values - 1)
        ok &= distance <= criteria.t + 1e-12
    if criteria.all_monotonic:
        ok_monotonic = ok
    return ClassCheck(sizes=sizes, ok=ok, ok_monotonic=ok_monotonic)
