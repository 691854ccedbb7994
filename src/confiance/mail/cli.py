"""``confiance mail ...``: the outbox's state, sending what is due, the log.

The main CLI owns how an installation is opened for a command; it hands that to
:func:`build_app` and mounts the result::

    app.add_typer(mail_cli.build_app(open_runtime=_runtime), name="mail")

No command prints an address or a message: the log shows kinds, states and error kinds.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Column, Table

from confiance.cli_support import DataDir, OpenRuntime
from confiance.mail import delivery, service
from confiance.mail.errors import MailNotConfigured

__all__ = ["OpenRuntime", "build_app"]


def build_app(*, open_runtime: OpenRuntime) -> typer.Typer:
    """The ``mail`` command group; each command opens the installation with ``open_runtime``."""
    app = typer.Typer(
        help="Mail to customers (verification codes, answers): the outbox and its delivery.",
        no_args_is_help=True,
    )

    # Made per command, so that each sees the terminal's width at the time it runs.
    def console() -> Console:
        return Console()

    def err() -> Console:
        return Console(stderr=True)

    @app.command("status")
    def status(data_dir: DataDir = None) -> None:
        """Messages by state, and where mail goes."""
        with open_runtime(data_dir) as runtime, runtime.db.read() as session:
            counts = service.status(session)
            transport = delivery.transport_from_settings(runtime.settings)
        table = Table("state", Column("messages", justify="right"))
        table.add_row("pending", str(counts.pending))
        table.add_row("  due now", str(counts.due))
        table.add_row("sent", str(counts.sent))
        table.add_row("failed", str(counts.failed))
        console().print(table)
        if counts.oldest_pending_at is not None:
            console().print(
                "Oldest pending message queued at "
                f"{counts.oldest_pending_at.isoformat(timespec='seconds')}."
            )
        if transport is None:
            err().print(f"[bold yellow]warning[/]: {MailNotConfigured().detail}")
        else:
            console().print(f"Mail goes to {transport.describe()}.", markup=False)

    @app.command("deliver")
    def deliver(
        limit: Annotated[int, typer.Option(help="Send at most this many messages.")] = 1000,
        data_dir: DataDir = None,
    ) -> None:
        """Send the mail that is due now (what 'confiance serve' does on its own)."""
        with open_runtime(data_dir) as runtime:
            transport = delivery.transport_from_settings(runtime.settings)
            if transport is None:
                raise MailNotConfigured()
            with runtime.db.read() as session:
                due = min(service.status(session).due, max(0, limit))
            total = delivery.DeliveryReport()
            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=err(),
            ) as progress:
                task = progress.add_task(f"Sending to {transport.describe()}", total=due)
                while total.tried < due:
                    report = delivery.deliver_due(
                        runtime.db,
                        keys=runtime.keys,
                        settings=runtime.settings,
                        transport=transport,
                        limit=min(50, due - total.tried),
                        on_outcome=lambda _outcome: progress.advance(task),
                    )
                    if report.tried == 0:
                        break
                    total += report
        console().print(
            f"{total.sent} sent, {total.retried} to retry later, {total.failed} failed."
        )

    @app.command("log")
    def log(
        limit: Annotated[int, typer.Option(help="How many messages, newest first.")] = 20,
        state: Annotated[
            str | None, typer.Option(help="Only this state: pending, sent or failed.")
        ] = None,
        data_dir: DataDir = None,
    ) -> None:
        """The latest messages: kind, state, attempts, error kind (never an address)."""
        with open_runtime(data_dir) as runtime, runtime.db.read() as session:
            entries = service.log(session, limit=limit, state=state)
        table = Table(
            Column("queued (UTC)", no_wrap=True),
            Column("message", no_wrap=True, min_width=31),
            "kind",
            "state",
            "tries",
            Column("sent / next try (UTC)", no_wrap=True),
            "error",
            Column("request", no_wrap=True),
        )
        for e in entries:
            when = e.sent_at if e.state == "sent" else e.next_attempt_at
            table.add_row(
                e.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                e.id,
                e.kind,
                e.state,
                str(e.attempts),
                "" if e.state == "failed" or when is None else when.strftime("%Y-%m-%d %H:%M:%S"),
                e.last_error or "",
                e.request_id or "",
            )
        console().print(table)

    return app
