"""``confiance pii scan FILE``: personal data in a text, CSV or JSON file.

The main CLI mounts the group built by :func:`build_app`::

    app.add_typer(pii_cli.build_app(open_runtime=_runtime), name="pii")

Scanning a file reads no installation: ``open_runtime`` is accepted so every command group
is mounted the same way, and is not called. The report gives locations, types, offsets and
scores, never the values found; ``--operator`` with ``--out`` writes the file back with the
values redacted, masked or replaced.
"""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from confiance.cli_support import OpenRuntime
from confiance.errors import ConfianceError
from confiance.pii.documents import Located, load_document
from confiance.pii.engine import Scanner, default_scanner
from confiance.pii.operators import Operator

__all__ = ["build_app"]


class LanguageOption(StrEnum):
    FR = "fr"
    EN = "en"
    AUTO = "auto"


class ReportFormat(StrEnum):
    TEXT = "text"
    CSV = "csv"
    JSON = "json"


def _rows(located: list[Located]) -> list[dict[str, object]]:
    return [
        {
            "location": item.location,
            "entity": item.finding.entity.value,
            "start": item.finding.start,
            "end": item.finding.end,
            "score": round(item.finding.score, 2),
            "recognizer": item.finding.recognizer,
        }
        for item in located
    ]


def build_app(*, open_runtime: OpenRuntime | None = None) -> typer.Typer:
    """The ``pii`` command group."""
    app = typer.Typer(help="Find personal data in free text (French and English).")

    @app.callback()
    def group() -> None:
        """Find personal data in free text (French and English)."""

    @app.command("scan")
    def scan(
        file: Annotated[
            Path,
            typer.Argument(
                help="A text, .csv or .json file.", exists=True, dir_okay=False, readable=True
            ),
        ],
        lang: Annotated[
            LanguageOption, typer.Option("--lang", help="Language of the text, or auto.")
        ] = LanguageOption.AUTO,
        columns: Annotated[
            str | None,
            typer.Option("--columns", help="CSV columns or JSON keys to scan, e.g. notes,body."),
        ] = None,
        report_format: Annotated[
            ReportFormat, typer.Option("--format", help="How to print the report.")
        ] = ReportFormat.TEXT,
        operator: Annotated[
            Operator | None,
            typer.Option("--operator", help="Rewrite the findings (needs --out)."),
        ] = None,
        out: Annotated[
            Path | None,
            typer.Option("--out", help="Where to write the rewritten file.", dir_okay=False),
        ] = None,
    ) -> None:
        """Report the personal data found in FILE, and optionally write it back cleaned."""
        err = Console(stderr=True)
        if (operator is None) != (out is None):
            err.print("[red]--operator and --out go together.[/]")
            raise typer.Exit(2)
        if out is not None and out.resolve() == file.resolve():
            err.print("[red]--out must not be the scanned file.[/]")
            raise typer.Exit(2)
        wanted = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
        try:
            document = load_document(file, columns=wanted)
            scanner: Scanner = default_scanner()
            results = document.scan(scanner, language=lang.value)
        except ConfianceError as exc:
            err.print(f"[red]{exc.detail}[/]")
            raise typer.Exit(1) from None
        rows = _rows(document.locate(results))
        if report_format is ReportFormat.JSON:
            sys.stdout.write(json.dumps({"findings": rows}, indent=2) + "\n")
        elif report_format is ReportFormat.CSV:
            writer = csv.DictWriter(
                sys.stdout,
                fieldnames=["location", "entity", "start", "end", "score", "recognizer"],
                lineterminator="\n",
            )
            writer.writeheader()
            writer.writerows(rows)
        else:
            table = Table("location", "entity", "start", "end", "score", "recognizer")
            for row in rows:
                table.add_row(*(str(v) for v in row.values()))
            console = Console()
            console.print(table)
            console.print(f"{len(rows)} finding(s) in {len(document.cells)} cell(s).")
        if operator is not None and out is not None:
            out.write_text(document.rewrite(results, operator), encoding="utf-8")
            err.print(f"Written with the {operator.value} operator to {out}.")

    return app
