"""``confiance anonymize IN OUT``: anonymise a CSV or Parquet file.

The main CLI mounts it with ``app.add_typer(anonymize_cli.build_app(), name="anonymize")``.
It needs no installation: the input, the hierarchies and the output are files. Nothing from
the table is printed, only counts and metrics.
"""

from __future__ import annotations

import json
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console

from confiance.anonymize.errors import InvalidParameter
from confiance.anonymize.service import anonymize
from confiance.errors import ConfianceError

__all__ = ["build_app", "read_table", "write_table"]


class Mode(StrEnum):
    optimal = "optimal"
    local = "local"


class LKind(StrEnum):
    distinct = "distinct"
    recursive = "recursive"


def read_table(path: Path, *, separator: str) -> pl.DataFrame:
    """A CSV (every column read as text, as hierarchies are) or Parquet file."""
    if not path.is_file():
        raise InvalidParameter(parameter="IN", reason=f"{path} is not a file")
    try:
        if path.suffix.lower() == ".parquet":
            return pl.read_parquet(path)
        return pl.read_csv(path, separator=separator, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InvalidParameter(
            parameter="IN", reason=f"cannot read {path.name} ({type(exc).__name__})"
        ) from None


def write_table(table: pl.DataFrame, path: Path, *, separator: str) -> None:
    if path.suffix.lower() == ".parquet":
        table.write_parquet(path)
    else:
        table.write_csv(path, separator=separator)


def _columns(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def build_app() -> typer.Typer:
    """The ``anonymize`` command (a Typer app whose callback is the command itself)."""
    app = typer.Typer(
        help="Anonymise a table: k-anonymity, l-diversity, t-closeness over hierarchies.",
        pretty_exceptions_enable=False,
        # A group parses options only before its first argument unless told otherwise; this
        # group has no subcommand, so options may follow IN and OUT as in any command.
        context_settings={"allow_interspersed_args": True},
    )
    console = Console(stderr=True)

    @app.callback(invoke_without_command=True)
    def run(
        source: Annotated[Path, typer.Argument(help="Input table (.csv or .parquet).")],
        target: Annotated[Path, typer.Argument(help="Output table (.csv or .parquet).")],
        quasi: Annotated[str, typer.Option("--quasi", help="Quasi-identifiers, comma-separated.")],
        hierarchies: Annotated[
            Path,
            typer.Option(
                "--hierarchies",
                help="Folder of hierarchies (<column>.csv or *hierarchy_<column>.csv).",
            ),
        ],
        k: Annotated[int, typer.Option("--k", help="Smallest class size.")],
        report: Annotated[
            Path | None, typer.Option("--report", help="Write the JSON report here.")
        ] = None,
        sensitive: Annotated[
            str | None, typer.Option("--sensitive", help="Sensitive attribute (kept as is).")
        ] = None,
        l: Annotated[  # noqa: E741
            int | None, typer.Option("--l", help="l-diversity of the sensitive attribute.")
        ] = None,
        l_kind: Annotated[LKind, typer.Option("--l-kind", help="distinct or recursive.")] = (
            LKind.distinct
        ),
        c: Annotated[float, typer.Option("--c", help="c of recursive (c,l)-diversity.")] = 1.0,
        t: Annotated[float | None, typer.Option("--t", help="t-closeness threshold.")] = None,
        suppression: Annotated[
            float, typer.Option("--suppression", help="Share of rows that may be removed.")
        ] = 0.0,
        mode: Annotated[Mode, typer.Option("--mode", help="optimal or local.")] = Mode.optimal,
        keep: Annotated[
            str, typer.Option("--keep", help="Other columns to keep as they are, comma-separated.")
        ] = "",
        separator: Annotated[str, typer.Option("--separator", help="CSV separator.")] = ";",
    ) -> None:
        started = time.perf_counter()
        try:
            table = read_table(source, separator=separator)
            release = anonymize(
                table,
                quasi=_columns(quasi),
                hierarchies=hierarchies,
                k=k,
                sensitive=sensitive,
                l=l,
                l_kind=l_kind.value,
                c=c,
                t=t,
                suppression=suppression,
                mode=mode.value,
                keep=_columns(keep),
            )
        except ConfianceError as exc:
            console.print(f"[bold red]error[/]: {exc.detail}")
            raise typer.Exit(code=1) from None
        write_table(release.table, target, separator=separator)
        document = release.report()
        document["seconds"] = round(time.perf_counter() - started, 3)
        if report is not None:
            report.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        metrics, before, after = release.metrics, release.risk_before, release.risk_after
        levels = (
            ", ".join(f"{name} {level}" for name, level in release.levels.items())
            if release.levels is not None
            else "per class (local recoding)"
        )
        console.print(
            f"{release.table.height} rows written to {target} ({release.suppressed} suppressed); "
            f"levels: {levels}"
        )
        console.print(
            f"precision loss {metrics.precision_loss:.4f}, {metrics.classes} classes, "
            f"smallest {metrics.smallest_class}; highest risk {before.highest_risk:.3f}"
            f" -> {after.highest_risk:.3f}, unique rows {before.unique_rows} -> "
            f"{after.unique_rows}"
        )

    return app
