"""``confiance pseudonymise IN OUT --columns email,phone [--reversible]``, and its reversal.

The main CLI owns how an installation is opened and who the operator is; it hands both to
:func:`build_command` and registers the result as one command::

    app.command("pseudonymise")(
        pseudonym_cli.build_command(open_runtime=_runtime, operator=_operator)
    )

The key ring gives the keys, the manifest in force normalises columns named like its fields,
and the audit log records who pseudonymised which columns, and above all who reversed them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from confiance.actors import Actor
from confiance.audit.service import AuditEvent
from confiance.cli_support import DataDir, OpenRuntime, progress_bar
from confiance.errors import ValidationFailed
from confiance.manifest import service as manifest_service
from confiance.manifest.errors import NoManifestLoaded
from confiance.manifest.schemas import Manifest
from confiance.pseudonym import files
from confiance.pseudonym.errors import ReversalNotConfirmed
from confiance.pseudonym.service import OnInvalid, Pseudonymiser
from confiance.runtime import Runtime

__all__ = ["build_command", "parse_columns", "parse_domains"]


def parse_columns(text: str) -> list[str]:
    """``"email, phone"`` as ``["email", "phone"]`` (order kept, duplicates dropped)."""
    columns = list(dict.fromkeys(c.strip() for c in text.split(",") if c.strip()))
    if not columns:
        raise ValidationFailed("--columns names at least one column, e.g. --columns email,phone")
    return columns


def parse_domains(pairs: list[str]) -> dict[str, str]:
    """``["email2=email"]`` as ``{"email2": "email"}``."""
    domains: dict[str, str] = {}
    for pair in pairs:
        column, sep, domain = pair.partition("=")
        if not sep or not column.strip() or not domain.strip():
            raise ValidationFailed(
                "--domain is COLUMN=DOMAIN, e.g. --domain billing_email=email to give the "
                "column billing_email the same pseudonyms as the column email"
            )
        domains[column.strip()] = domain.strip()
    return domains


def _manifest(runtime: Runtime) -> Manifest | None:
    with runtime.db.read() as session:
        try:
            return manifest_service.current(session).manifest
        except NoManifestLoaded:
            return None


def build_command(
    *, open_runtime: OpenRuntime, operator: Callable[[], Actor]
) -> Callable[..., None]:
    """The ``pseudonymise`` command, opening the installation with ``open_runtime``."""

    def pseudonymise(
        source: Annotated[
            Path, typer.Argument(metavar="IN", help="The CSV or Parquet file to read.")
        ],
        target: Annotated[
            Path,
            typer.Argument(
                metavar="OUT", help="The file to write (.csv or .parquet); never the input."
            ),
        ],
        columns: Annotated[
            str, typer.Option(help="Comma-separated columns to pseudonymise, e.g. email,phone.")
        ],
        reversible: Annotated[
            bool,
            typer.Option(
                help="AES-SIV tokens that 'pseudonymise --reverse' can turn back into values, "
                "instead of one-way HMAC codes."
            ),
        ] = False,
        domain: Annotated[
            list[str] | None,
            typer.Option(
                help="COLUMN=DOMAIN: columns sharing a domain share pseudonyms (default: each "
                "column is its own domain). Repeatable."
            ),
        ] = None,
        invalid: Annotated[
            OnInvalid,
            typer.Option(
                help="A value its manifest field refuses: stop (error), pseudonymise it as "
                "written (raw), or leave it empty (empty)."
            ),
        ] = OnInvalid.ERROR,
        reverse: Annotated[
            bool,
            typer.Option(
                "--reverse",
                help="Turn reversible pseudonyms of --columns back into values (audited).",
            ),
        ] = False,
        confirm_reveal: Annotated[
            bool,
            typer.Option(
                "--confirm-reveal", help="Required with --reverse: you are authorised to see."
            ),
        ] = False,
        overwrite: Annotated[
            bool, typer.Option(help="Replace OUT if it exists (never IN).")
        ] = False,
        data_dir: DataDir = None,
    ) -> None:
        """Replace columns of a CSV or Parquet file by keyed, stable pseudonyms."""
        err = Console(stderr=True)
        with open_runtime(data_dir) as runtime:
            wanted = parse_columns(columns)
            domains = parse_domains(domain or [])
            if reverse and not confirm_reveal:
                raise ReversalNotConfirmed()
            rows = files.check_request(source, target, columns=wanted, overwrite=overwrite)
            pseudonymiser = Pseudonymiser(runtime.keys, manifest=_manifest(runtime))
            actor = operator()
            if reverse:
                # Recorded, and committed, before the first value is revealed.
                with runtime.db.transaction() as session:
                    runtime.audit.record(
                        session,
                        AuditEvent(
                            action="pseudonym.reverse",
                            actor=actor.label,
                            fields=tuple(wanted),
                            detail=f"{rows} rows",
                        ),
                    )
            with progress_bar(err) as progress:
                task = progress.add_task("Revealing" if reverse else "Pseudonymising", total=rows)

                def advance(n: int) -> None:
                    progress.advance(task, n)

                if reverse:
                    report = files.reverse_file(
                        pseudonymiser,
                        source=source,
                        target=target,
                        columns=wanted,
                        domains=domains,
                        overwrite=overwrite,
                        progress=advance,
                    )
                else:
                    report = files.pseudonymise_file(
                        pseudonymiser,
                        source=source,
                        target=target,
                        columns=wanted,
                        domains=domains,
                        reversible=reversible,
                        on_invalid=invalid,
                        overwrite=overwrite,
                        progress=advance,
                    )
            if not reverse:
                with runtime.db.transaction() as session:
                    runtime.audit.record(
                        session,
                        AuditEvent(
                            action="pseudonym.create",
                            actor=actor.label,
                            fields=report.columns,
                            detail=f"{report.rows} rows"
                            + (", reversible" if report.reversible else ""),
                        ),
                    )
        verb = "revealed" if reverse else "pseudonymised"
        kind = " (reversible)" if report.reversible and not reverse else ""
        err.print(
            f"{report.rows} rows written; columns {verb}{kind}: {', '.join(report.columns)}.",
            markup=False,
            highlight=False,
        )

    return pseudonymise
