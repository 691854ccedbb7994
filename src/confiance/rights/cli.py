"""``confiance rights ...``: take, verify, follow and answer rights requests from the shell.

Mounted by the main CLI with its way of opening an installation and naming the operator::

    app.add_typer(rights_cli.build_app(open_runtime=_runtime, operator=_operator), name="rights")
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from confiance.actors import Actor
from confiance.cli_support import DataDir, OpenRuntime
from confiance.erasure.service import verify_certificate
from confiance.rights import export as rights_export
from confiance.rights.errors import CodeRejected, InvalidRequestDetails
from confiance.rights.service import RequestView

__all__ = ["build_app"]


RequestRef = Annotated[str, typer.Argument(help="The request's reference (R-7K2M-9QXD...) or id.")]

_STANDING_STYLE = {"overdue": "bold red", "due_soon": "yellow", "on_time": "green"}


def _styled(text: str) -> str:
    style = _STANDING_STYLE.get(text)
    return f"[{style}]{text}[/]" if style else text


def _when(moment: Any) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def _pairs(items: list[str], option: str) -> dict[str, str]:
    parsed = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InvalidRequestDetails(f"{option} takes field=value, e.g. {option} city=Lyon")
        parsed[name.strip()] = value
    return parsed


def build_app(*, open_runtime: OpenRuntime, operator: Callable[[], Actor]) -> typer.Typer:
    app = typer.Typer(
        help="Rights requests: access, erasure, rectification, objection, opt-outs.",
        no_args_is_help=True,
    )

    def console() -> Console:
        return Console()

    def show(view: RequestView) -> None:
        out = console()
        out.print(
            f"[bold]{view.reference}[/] {view.kind} ({view.legal_ground}) - {view.status}"
            f" - due {_when(view.due_at)} {_styled(view.standing or view.status)}"
        )
        if view.customer_pid:
            out.print(f"customer {view.customer_pid}")
        if view.extension_reason:
            out.print(f"extended: {view.extension_reason}")
        if view.refusal_reason:
            out.print(f"refused: {view.refusal_reason}")
        if view.outcome:
            shown = {k: v for k, v in view.outcome.items() if k != "certificate"}
            out.print_json(json.dumps(shown, ensure_ascii=False))
        if view.history:
            table = Table("when", "who", "step", "status", "note")
            for step in view.history:
                table.add_row(
                    _when(step["at"]),
                    step["actor"],
                    step["action"],
                    step["status"],
                    step["note"] or "",
                )
            out.print(table)

    @app.command("submit")
    def submit(
        kind: Annotated[
            str,
            typer.Option(
                help="access, portability, rectification, erasure, "
                "restriction, objection, opt_out_sale, limit_sensitive"
            ),
        ],
        email: Annotated[str, typer.Option(help="The requester's address; the code goes there.")],
        jurisdiction: Annotated[str, typer.Option(help="gdpr or ccpa")] = "gdpr",
        language: Annotated[str, typer.Option(help="fr or en")] = "fr",
        value: Annotated[
            list[str] | None, typer.Option(help="Rectification: field=new value (repeatable).")
        ] = None,
        purpose: Annotated[
            list[str] | None, typer.Option(help="Objection: a purpose key (repeatable).")
        ] = None,
        note: Annotated[str | None, typer.Option(help="What the requester said.")] = None,
        data_dir: DataDir = None,
    ) -> None:
        """Record a request received by phone, letter or at a counter; a code is e-mailed."""
        with open_runtime(data_dir) as runtime:
            details: dict[str, Any] = {}
            if value:
                details["values"] = _pairs(value, "--value")
            if purpose:
                details["purposes"] = purpose
            if note:
                details["note"] = note
            with runtime.db.transaction() as session:
                intake = runtime.rights.submit(
                    session,
                    kind=kind,
                    email=email,
                    actor=operator(),
                    jurisdiction=jurisdiction,
                    language=language,
                    channel="cli",
                    details=details,
                )
        out = console()
        out.print(f"Request [bold]{intake.reference}[/] received, due {_when(intake.due_at)}.")
        if intake.code_sent:
            out.print(
                "A one-time code was e-mailed to the requester; enter it with "
                f"'confiance rights verify {intake.reference} CODE'."
            )
        else:
            out.print(
                "[yellow]No code was sent: too many codes went to this address within the hour.[/]"
            )

    @app.command("verify")
    def verify(ref: RequestRef, code: str, data_dir: DataDir = None) -> None:
        """Enter the code the requester received."""
        with open_runtime(data_dir) as runtime:
            with runtime.db.transaction() as session:
                result = runtime.rights.verify(
                    session,
                    request_id=runtime.rights.resolve(session, ref=ref),
                    code=code,
                    actor=operator(),
                )
            if isinstance(result, CodeRejected):
                raise result
        console().print(f"Request [bold]{result.reference}[/] verified: {result.status}.")

    @app.command("resend")
    def resend(ref: RequestRef, data_dir: DataDir = None) -> None:
        """Send a new code (the previous one stops working)."""
        with open_runtime(data_dir) as runtime, runtime.db.transaction() as session:
            runtime.rights.resend_code(session, request_id=runtime.rights.resolve(session, ref=ref))
        console().print("A new code was e-mailed.")

    @app.command("queue")
    def queue(
        status: Annotated[list[str] | None, typer.Option(help="Filter by status.")] = None,
        kind: Annotated[str | None, typer.Option(help="Filter by kind.")] = None,
        standing: Annotated[str | None, typer.Option(help="on_time, due_soon or overdue.")] = None,
        assignee: Annotated[str | None, typer.Option(help="Assigned to.")] = None,
        data_dir: DataDir = None,
    ) -> None:
        """Open requests, soonest deadline first."""
        with open_runtime(data_dir) as runtime, runtime.db.read() as session:
            views = runtime.rights.queue(
                session,
                actor=operator(),
                status=status,
                kind=kind,
                standing=standing,
                assignee=assignee,
            )
        table = Table(
            "reference",
            "kind",
            "law",
            "status",
            "received",
            "due",
            "standing",
            "assignee",
            title="Rights requests",
        )
        for v in views:
            table.add_row(
                v.reference,
                v.kind,
                v.jurisdiction.upper(),
                v.status,
                _when(v.received_at),
                _when(v.due_at),
                _styled(v.standing or "-"),
                v.assignee or "",
            )
        console().print(table)

    @app.command("show")
    def show_request(ref: RequestRef, data_dir: DataDir = None) -> None:
        """A request with its history."""
        with open_runtime(data_dir) as runtime, runtime.db.read() as session:
            view = runtime.rights.get(
                session, request_id=runtime.rights.resolve(session, ref=ref), actor=operator()
            )
        show(view)

    def act(data_dir: Path | None, ref: str, verb: Callable[..., RequestView], **kw: Any) -> None:
        with open_runtime(data_dir) as runtime:
            actor = operator()
            with runtime.unit(actor) as session:
                view = verb(
                    runtime,
                    session,
                    request_id=runtime.rights.resolve(session, ref=ref),
                    actor=actor,
                    **kw,
                )
            runtime.eraser.after_commit(runtime.db)
        show(view)

    @app.command("assign")
    def assign(ref: RequestRef, assignee: str, data_dir: DataDir = None) -> None:
        """Give a request to a member of staff."""
        act(data_dir, ref, lambda rt, s, **kw: rt.rights.assign(s, **kw), assignee=assignee)

    @app.command("verify-identity")
    def verify_identity(
        ref: RequestRef,
        note: Annotated[str, typer.Option(help="How the identity was checked.")],
        data_dir: DataDir = None,
    ) -> None:
        """Confirm the identity by other means than the code."""
        act(data_dir, ref, lambda rt, s, **kw: rt.rights.staff_verify(s, **kw), note=note)

    @app.command("approve")
    def approve(
        ref: RequestRef,
        accept_failed_connectors: Annotated[
            bool,
            typer.Option(help="Erase in Confiance even if an external system could not be."),
        ] = False,
        data_dir: DataDir = None,
    ) -> None:
        """Carry the request out and answer the requester."""
        act(
            data_dir,
            ref,
            lambda rt, s, **kw: rt.rights.approve(s, **kw),
            accept_failed_connectors=accept_failed_connectors,
        )

    @app.command("refuse")
    def refuse(
        ref: RequestRef,
        reason: Annotated[str, typer.Option(help="Why, in words the requester understands.")],
        data_dir: DataDir = None,
    ) -> None:
        """Refuse, telling the requester why and how to complain."""
        act(data_dir, ref, lambda rt, s, **kw: rt.rights.refuse(s, **kw), reason=reason)

    @app.command("extend")
    def extend(
        ref: RequestRef,
        reason: Annotated[str, typer.Option(help="Why more time is needed (sent to them).")],
        data_dir: DataDir = None,
    ) -> None:
        """Extend the deadline once (GDPR +2 months, CCPA +45 days)."""
        act(data_dir, ref, lambda rt, s, **kw: rt.rights.extend(s, **kw), reason=reason)

    @app.command("lift-restriction")
    def lift(
        ref: RequestRef,
        reason: Annotated[str, typer.Option(help="Why the restriction ends.")],
        data_dir: DataDir = None,
    ) -> None:
        """End a restriction of processing."""
        act(data_dir, ref, lambda rt, s, **kw: rt.rights.lift_restriction(s, **kw), reason=reason)

    @app.command("export")
    def export(
        ref: RequestRef,
        out: Annotated[Path, typer.Option(help="Where to write the ZIP archive.")],
        language: Annotated[
            str | None, typer.Option(help="fr or en (default: the request's)")
        ] = None,
        data_dir: DataDir = None,
    ) -> None:
        """Write the archive of a completed access or portability request."""
        with open_runtime(data_dir) as runtime:
            actor = operator()
            with runtime.db.transaction() as session:
                view = runtime.rights.get(
                    session, request_id=runtime.rights.resolve(session, ref=ref), actor=actor
                )
                if view.kind not in ("access", "portability") or view.status != "completed":
                    raise InvalidRequestDetails(
                        "only a completed access or portability request has an export"
                    )
                if view.customer_pid is None:
                    raise InvalidRequestDetails("no customer has this address: nothing to export")
                archive = rights_export.build_export(
                    session,
                    runtime=runtime,
                    actor=actor,
                    customer_id=uuid.UUID(view.customer_pid),
                    language=language or view.language,
                    reason=f"rights.{view.kind}",
                )
                runtime.rights.record_download(
                    session, request_id=view.id, actor=actor, sha256=archive.sha256
                )
        out.write_bytes(archive.content)
        out.chmod(0o600)
        console().print(f"Wrote {out} ({len(archive.content)} bytes, sha256 {archive.sha256}).")

    @app.command("certificate")
    def certificate(
        ref: RequestRef,
        out: Annotated[Path | None, typer.Option(help="Write the certificate (JWS) here.")] = None,
        data_dir: DataDir = None,
    ) -> None:
        """The signed erasure certificate of a completed erasure request."""
        with open_runtime(data_dir) as runtime, runtime.db.read() as session:
            view = runtime.rights.get(
                session, request_id=runtime.rights.resolve(session, ref=ref), actor=operator()
            )
            token = (view.outcome or {}).get("certificate")
            if not token:
                raise InvalidRequestDetails("this request has no erasure certificate")
            claims = verify_certificate(token, keys=runtime.keys)
        if out is not None:
            out.write_text(token + "\n")
        console().print_json(json.dumps(claims, ensure_ascii=False))

    @app.command("sweep")
    def sweep(data_dir: DataDir = None) -> None:
        """Close requests whose address was never verified (CONFIANCE__RIGHTS__UNVERIFIED_DAYS)."""
        with open_runtime(data_dir) as runtime:
            older = timedelta(days=runtime.settings.rights.unverified_days)
            closed = 0
            while True:
                with runtime.db.transaction() as session:
                    done = runtime.rights.close_unverified(session, older_than=older)
                if not done:
                    break
                closed += done
        console().print(f"{closed} unverified requests closed.")

    @app.command("check-certificate")
    def check_certificate(
        file: Annotated[Path, typer.Argument(help="A certificate file (compact JWS).")],
        data_dir: DataDir = None,
    ) -> None:
        """Verify an erasure certificate's signature and print what it certifies."""
        with open_runtime(data_dir) as runtime:
            claims = verify_certificate(file.read_text(), keys=runtime.keys)
        console().print("[green]valid[/]: signed by this installation")
        console().print_json(json.dumps(claims, ensure_ascii=False))

    return app
