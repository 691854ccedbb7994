"""``confiance backup OUT`` and ``confiance restore IN``.

The main CLI owns how an installation is opened and who the operator is; it hands them to
:func:`register`, which adds both commands to its app::

    backup_cli.register(app, open_runtime=_runtime, make_settings=_settings, operator=_operator)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from confiance.actors import Actor
from confiance.backup import service
from confiance.cli_support import DataDir, OpenRuntime, progress_bar
from confiance.config import Settings
from confiance.errors import ConfianceError
from confiance.runtime import Runtime

__all__ = ["register"]


def register(
    app: typer.Typer,
    *,
    open_runtime: OpenRuntime,
    make_settings: Callable[[Path | None], Settings],
    operator: Callable[[], Actor],
) -> None:
    """Add ``backup`` and ``restore`` to ``app``."""

    @app.command("backup")
    def backup(
        out: Annotated[Path, typer.Argument(help="The backup file to write (e.g. x.jsonl.gz).")],
        overwrite: Annotated[
            bool, typer.Option("--overwrite", help="Replace OUT if it exists.")
        ] = False,
        data_dir: DataDir = None,
    ) -> None:
        """Write every table to one compressed, checksummed file (mode 0600), from a single
        snapshot, while the API keeps serving. The key file is not in it: back it up apart."""
        err = Console(stderr=True)
        with open_runtime(data_dir) as runtime, progress_bar(err) as progress:
            task = progress.add_task("Backing up", total=None)
            report = service.backup(
                runtime.db,
                out=out,
                audit=runtime.audit,
                actor=operator(),
                overwrite=overwrite,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        Console().print(
            f"Backup written to [bold]{report.path}[/]: {report.header.total_rows} rows, "
            f"schema revision {report.header.revision}, {report.size:,} bytes, "
            f"sha256 {report.sha256[:16]}…"
        )
        err.print(
            "The values in it are sealed: keep the key file "
            f"({runtime.settings.keyring_path}) backed up too, elsewhere. Without it the "
            "backup cannot be read."
        )

    @app.command("restore")
    def restore(
        source: Annotated[
            Path,
            typer.Argument(help="The backup file.", exists=True, dir_okay=False, readable=True),
        ],
        yes: Annotated[
            bool,
            typer.Option("--yes", help="Replace a database that already holds customers."),
        ] = False,
        verify_only: Annotated[
            bool,
            typer.Option("--verify-only", help="Check the whole file and change nothing."),
        ] = False,
        data_dir: DataDir = None,
    ) -> None:
        """Replace the database with a backup, replaying the erasure log first: a customer
        erased after the backup stays erased. Stop 'confiance serve' before restoring."""
        err = Console(stderr=True)
        try:
            if verify_only:
                with progress_bar(err) as progress:
                    task = progress.add_task("Checking the backup", total=None)
                    header, digest = service.read_backup(
                        source,
                        progress=lambda d, t: progress.update(task, completed=d, total=t),
                    )
                Console().print(
                    f"{source}: intact; {header.total_rows} rows taken "
                    f"{header.created_at.isoformat(timespec='seconds')} at schema revision "
                    f"{header.revision} (sha256 {digest[:16]}…)."
                )
                return
            settings = make_settings(data_dir)
            runtime = Runtime.open(settings, check_schema=False)
            try:
                with progress_bar(err) as progress:
                    task = progress.add_task("Restoring", total=None)
                    report = service.restore(
                        source=source,
                        db=runtime.db,
                        keys=runtime.keys,
                        settings=settings,
                        actor=operator(),
                        force=yes,
                        progress=lambda d, t: progress.update(task, completed=d, total=t),
                    )
            finally:
                runtime.close()
        except ConfianceError as exc:
            err.print(f"[bold red]error[/]: {exc.detail}")
            raise typer.Exit(code=1) from None
        _print_report(report)


def _print_report(report: service.RestoreReport) -> None:
    console = Console()
    table = Table("table", "rows restored", "left out (erased)")
    for info in report.header.tables:
        table.add_row(
            info.name,
            str(report.rows.get(info.name, 0)),
            str(report.rows_left_out.get(info.name, 0))
            if report.rows_left_out.get(info.name)
            else "",
        )
    console.print(table)
    header = report.header
    console.print(
        f"Restored the backup of {header.created_at.isoformat(timespec='seconds')} "
        f"(schema revision {header.revision}"
        + (f", migrated to {report.upgraded_to}" if report.upgraded_to else "")
        + ")."
    )
    console.print(
        f"Erasure log replayed: {report.erasures_known} erased customers known, "
        f"{report.customers_kept_erased} of them in the backup and kept erased; "
        f"{report.erasure_rows_added} erasures added to the restored erasure log."
    )
    if report.file_entries_added:
        console.print(
            f"{report.file_entries_added} erasures known only to the replaced database were "
            "added to the erasure log file."
        )
    if not report.previous_database_readable:
        console.print(
            "The replaced database could not be read (or there was none): only the erasure log "
            "file was replayed."
        )
    if report.checkpoint_file_archived is not None:
        console.print(
            f"The audit checkpoint file was started again from the restored log; the previous "
            f"one is kept as {report.checkpoint_file_archived}."
        )
    console.print(f"Audit entry {report.audit_seq} records the restore.")
