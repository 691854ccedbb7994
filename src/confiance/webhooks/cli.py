"""``confiance webhooks ...``: subscriptions, the delivery log and the delivery worker.

The main CLI owns how an installation is opened for a command and who the operator is; it
hands both to :func:`build_app` and mounts the result::

    app.add_typer(webhooks_cli.build_app(open_runtime=_runtime, operator=_operator),
                  name="webhooks")
"""

from __future__ import annotations

import signal
import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Column, Table
from sqlalchemy.exc import SQLAlchemyError

from confiance.actors import Actor
from confiance.cli_support import DataDir, OpenRuntime
from confiance.runtime import Runtime
from confiance.webhooks import service, worker

__all__ = ["OpenRuntime", "build_app"]


def build_app(*, open_runtime: OpenRuntime, operator: Callable[[], Actor]) -> typer.Typer:
    """The ``webhooks`` command group; each command opens the installation with
    ``open_runtime`` and runs in its own transaction."""
    app = typer.Typer(
        help="Webhooks: send consent changes and erasures to downstream systems.",
        no_args_is_help=True,
    )

    # Made per command, so that each sees the terminal's width at the time it runs.
    def console() -> Console:
        return Console()

    def err() -> Console:
        return Console(stderr=True)

    @app.command("add")
    def add(
        url: Annotated[str, typer.Option(help="Where to POST events (http or https).")],
        events: Annotated[
            str,
            typer.Option(help="Comma-separated: consent.changed, customer.erased, or '*'."),
        ] = "*",
        name: Annotated[str, typer.Option(help="What the receiver is (e.g. crm).")] = "receiver",
        data_dir: DataDir = None,
    ) -> None:
        """Subscribe a receiver; its signing secret is printed once."""
        wanted = [e.strip() for e in events.split(",") if e.strip()]
        with open_runtime(data_dir) as runtime, runtime.db.transaction() as session:
            info, secret = service.create_subscription(
                session,
                name=name,
                url=url,
                event_types=wanted,
                actor=operator(),
                audit=runtime.audit,
                keys=runtime.keys,
            )
        err().print(
            f"Webhook {info.id} for {', '.join(info.event_types)}; signing secret (shown once):"
        )
        console().print(secret, markup=False, highlight=False)

    @app.command("list")
    def list_(data_dir: DataDir = None) -> None:
        """Subscriptions (never their secrets)."""
        with open_runtime(data_dir) as runtime, runtime.db.read() as session:
            infos = service.list_subscriptions(session)
            pending = service.pending_count(session)
        # Ids are copied into other commands: never wrapped or cut.
        table = Table(
            Column("id", no_wrap=True, min_width=16), "name", "url", "events", "active", "created"
        )
        for i in infos:
            table.add_row(
                i.id,
                i.name,
                i.url,
                ", ".join(i.event_types),
                "yes" if i.active else "no",
                i.created_at.isoformat(timespec="seconds"),
            )
        console().print(table)
        console().print(f"{pending} messages waiting for delivery.")

    @app.command("disable")
    def disable(
        subscription_id: Annotated[str, typer.Argument(help="The subscription id.")],
        data_dir: DataDir = None,
    ) -> None:
        """Stop deliveries to a receiver (its pending messages are dropped)."""
        with open_runtime(data_dir) as runtime, runtime.db.transaction() as session:
            service.disable_subscription(
                session, subscription_id=subscription_id, actor=operator(), audit=runtime.audit
            )
        console().print(f"Webhook {subscription_id} disabled.")

    @app.command("rotate-secret")
    def rotate_secret(
        subscription_id: Annotated[str, typer.Argument(help="The subscription id.")],
        overlap_hours: Annotated[
            float, typer.Option(help="How long the previous secret keeps signing too.")
        ] = 24.0,
        data_dir: DataDir = None,
    ) -> None:
        """A new signing secret, printed once; the old one signs alongside it for a while."""
        with open_runtime(data_dir) as runtime, runtime.db.transaction() as session:
            info, secret = service.rotate_secret(
                session,
                subscription_id=subscription_id,
                actor=operator(),
                audit=runtime.audit,
                keys=runtime.keys,
                overlap=timedelta(hours=overlap_hours),
            )
        until = info.previous_secret_until
        err().print(
            f"New signing secret for webhook {info.id} (shown once)"
            + (
                f"; the previous one signs until {until.isoformat(timespec='seconds')}:"
                if until
                else ":"
            )
        )
        console().print(secret, markup=False, highlight=False)

    @app.command("deliveries")
    def deliveries(
        subscription_id: Annotated[
            str | None, typer.Argument(help="Only this subscription's attempts.")
        ] = None,
        limit: Annotated[int, typer.Option(help="How many attempts, newest first.")] = 20,
        data_dir: DataDir = None,
    ) -> None:
        """The latest delivery attempts: outcome, HTTP status or error, duration."""
        with open_runtime(data_dir) as runtime, runtime.db.read() as session:
            records = service.delivery_log(session, subscription_id=subscription_id, limit=limit)
        # The message id names its subscription too (its last part); it is what a receiver
        # logs as webhook-id, so it is shown whole.
        table = Table(
            Column("at (UTC)", no_wrap=True),
            Column("message", no_wrap=True, min_width=47),
            "event",
            "try",
            "outcome",
            "status",
            "ms",
        )
        for r in records:
            table.add_row(
                r.at.strftime("%Y-%m-%d %H:%M:%S"),
                r.message_id,
                r.event_type,
                str(r.attempt),
                r.outcome,
                str(r.status_code) if r.status_code is not None else (r.error or ""),
                "" if r.duration_ms is None else str(r.duration_ms),
            )
        console().print(table)

    @app.command("worker")
    def run(
        poll_interval: Annotated[
            float, typer.Option(help="Seconds between looks at the outbox when it is empty.")
        ] = 0.5,
        data_dir: DataDir = None,
    ) -> None:
        """Deliver queued events until Ctrl-C (or SIGTERM). Safe beside 'confiance serve' and
        other workers: each message is claimed by one of them at a time."""
        with open_runtime(data_dir) as runtime:
            _run_worker(runtime, err=err(), poll_interval=poll_interval)

    return app


def _run_worker(runtime: Runtime, *, err: Console, poll_interval: float) -> None:
    stop = threading.Event()
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def count(outcome: str) -> None:
        with lock:
            counts[outcome] += 1

    def on_sigterm(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    thread = threading.Thread(
        target=worker.run_worker,
        name="confiance-webhooks",
        kwargs={
            "db": runtime.db,
            "keys": runtime.keys,
            "stop": stop,
            "poll_interval": poll_interval,
            "on_outcome": count,
        },
        daemon=True,
    )
    # A service manager stops the worker with SIGTERM: finish the delivery in flight, then exit.
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, on_sigterm) if in_main else None
    thread.start()
    try:
        with err.status("Delivering webhooks") as status:
            while thread.is_alive() and not stop.wait(1.0):
                try:
                    with runtime.db.read() as session:
                        pending = str(service.pending_count(session))
                except SQLAlchemyError:
                    # The worker retries on its own; the status line just cannot tell.
                    pending = "?"
                with lock:
                    done = dict(counts)
                status.update(
                    f"Delivering webhooks: {done.get('delivered', 0)} delivered, "
                    f"{done.get('retry', 0)} to retry, {done.get('failed', 0)} failed; "
                    f"{pending} waiting. Ctrl-C stops."
                )
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        thread.join()
        if in_main:
            signal.signal(signal.SIGTERM, previous)
    with lock:
        done = dict(counts)
    err.print(
        f"Webhook worker stopped: {done.get('delivered', 0)} delivered, "
        f"{done.get('retry', 0)} to retry, {done.get('failed', 0)} failed."
    )
