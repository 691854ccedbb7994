"""Pseudonymise (or reverse) columns of a CSV or Parquet file, streaming.

The file is scanned lazily and written by Polars' streaming engine in batches, so a file larger
than memory goes through; only the named columns are touched, every other column is copied as
it is. CSV is read as text (no type guessing), so ``0612345678`` keeps its leading zero.

The output is written to a hidden file next to the target, made readable by its owner only,
and renamed over the target once complete: a failure leaves no half-written output, and the
input is never the output.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from confiance.errors import ConfianceError
from confiance.pseudonym.errors import (
    InputNotFound,
    OutputExists,
    OutputIsInput,
    UnknownColumns,
    UnsupportedFormat,
)
from confiance.pseudonym.service import OnInvalid, Pseudonymiser

__all__ = ["FileReport", "check_request", "count_rows", "pseudonymise_file", "reverse_file"]

_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True, slots=True)
class FileReport:
    rows: int
    columns: tuple[str, ...]
    domains: tuple[str, ...]
    reversible: bool
    reversed: bool = False


def _format(path: Path) -> str:
    kind = _FORMATS.get(path.suffix.lower())
    if kind is None:
        raise UnsupportedFormat(path.suffix or "(no suffix)")
    return kind


def _scan(path: Path) -> pl.LazyFrame:
    if _format(path) == "csv":
        return pl.scan_csv(path, infer_schema=False)
    return pl.scan_parquet(path)


def count_rows(source: Path) -> int:
    """Rows in ``source`` (a native pass over a CSV; the footer of a Parquet file)."""
    if not source.is_file():
        raise InputNotFound()
    count: int = _scan(source).select(pl.len()).collect().item()
    return count


def _check_paths(source: Path, target: Path, *, overwrite: bool) -> None:
    _format(source)
    _format(target)
    if not source.is_file():
        raise InputNotFound()
    if source.resolve() == target.resolve() or (target.exists() and target.samefile(source)):
        raise OutputIsInput()
    if target.exists() and not overwrite:
        raise OutputExists()


def _check_columns(lf: pl.LazyFrame, columns: Sequence[str]) -> None:
    available = lf.collect_schema().names()
    missing = [c for c in dict.fromkeys(columns) if c not in available]
    if missing or not columns:
        raise UnknownColumns(missing, available)


class _Batches:
    """Wraps the per-batch functions: reports progress once per batch (on the first column)
    and keeps the first Confiance error, which Polars would otherwise reword."""

    def __init__(self, progress: Callable[[int], None] | None) -> None:
        self.progress = progress
        self.error: ConfianceError | None = None

    def wrap(
        self, fn: Callable[[pl.Series], pl.Series], *, counts: bool
    ) -> Callable[[pl.Series], pl.Series]:
        def run(series: pl.Series) -> pl.Series:
            try:
                out = fn(series)
            except ConfianceError as exc:
                self.error = self.error or exc
                raise
            if counts and self.progress is not None:
                self.progress(len(series))
            return out

        return run


def _run(
    source: Path,
    target: Path,
    *,
    functions: Mapping[str, Callable[[pl.Series], pl.Series]],
    progress: Callable[[int], None] | None,
) -> int:
    lf = _scan(source)
    batches = _Batches(progress)
    exprs = [
        pl.col(column).map_batches(
            batches.wrap(fn, counts=i == 0), return_dtype=pl.String, is_elementwise=True
        )
        for i, (column, fn) in enumerate(functions.items())
    ]
    out = lf.with_columns(exprs)
    part = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    try:
        if _format(target) == "csv":
            out.sink_csv(part)
        else:
            out.sink_parquet(part)
        part.chmod(0o600)
        part.replace(target)
    except Exception:
        part.unlink(missing_ok=True)
        if batches.error is not None:
            raise batches.error from None
        raise
    return count_rows(target)


def _domains(columns: Sequence[str], domains: Mapping[str, str] | None) -> dict[str, str]:
    domains = domains or {}
    unknown = [c for c in domains if c not in columns]
    if unknown:
        raise UnknownColumns(unknown, list(columns))
    return {c: domains.get(c, c) for c in dict.fromkeys(columns)}


def pseudonymise_file(
    pseudonymiser: Pseudonymiser,
    *,
    source: Path,
    target: Path,
    columns: Sequence[str],
    domains: Mapping[str, str] | None = None,
    reversible: bool = False,
    on_invalid: OnInvalid = OnInvalid.ERROR,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> FileReport:
    """Write ``target`` with ``columns`` of ``source`` replaced by their pseudonyms.

    ``domains`` maps a column to its pseudonym domain (default: the column's own name), so two
    columns share codes only when given one domain. ``progress`` receives row counts as batches
    are done."""
    _check_paths(source, target, overwrite=overwrite)
    _check_columns(_scan(source), columns)
    plan = _domains(columns, domains)
    functions = {
        column: pseudonymiser.series_function(
            column=column, domain=domain, reversible=reversible, on_invalid=on_invalid
        )
        for column, domain in plan.items()
    }
    rows = _run(source, target, functions=functions, progress=progress)
    return FileReport(rows, tuple(plan), tuple(plan.values()), reversible)


def reverse_file(
    pseudonymiser: Pseudonymiser,
    *,
    source: Path,
    target: Path,
    columns: Sequence[str],
    domains: Mapping[str, str] | None = None,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> FileReport:
    """Write ``target`` with the reversible pseudonyms of ``columns`` replaced by the values.

    The caller authorises and audits the reversal first (see ``confiance pseudonymise
    --reverse``); this function only checks the paths and the columns."""
    _check_paths(source, target, overwrite=overwrite)
    _check_columns(_scan(source), columns)
    plan = _domains(columns, domains)
    functions = {
        column: pseudonymiser.reverse_function(column=column, domain=domain)
        for column, domain in plan.items()
    }
    rows = _run(source, target, functions=functions, progress=progress)
    return FileReport(rows, tuple(plan), tuple(plan.values()), True, reversed=True)


def check_request(source: Path, target: Path, *, columns: Sequence[str], overwrite: bool) -> int:
    """Validate paths and columns without writing anything; the number of rows to process."""
    _check_paths(source, target, overwrite=overwrite)
    _check_columns(_scan(source), columns)
    return count_rows(source)
