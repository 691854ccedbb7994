"""The ``confiance`` command. Each command calls services directly, in its own transaction."""

from __future__ import annotations

import functools
import json
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from confiance import __version__
from confiance.actors import SCOPES, Actor
from confiance.anonymize import cli as anonymize_cli
from confiance.apikeys import service as apikeys
from confiance.audit.errors import AuditChainBroken
from confiance.backup import cli as backup_cli
from confiance.cli_support import DataDir, progress_bar
from confiance.config import Settings
from confiance.consent.rules import State
from confiance.consent.service import Change, ConsentContext, evidence_of
from confiance.consent.tcf.cli import tcf_app
from confiance.dp import cli as dp_cli
from confiance.errors import ConfianceError
from confiance.keys import service as keys_service
from confiance.mail import cli as mail_cli
from confiance.manifest import service as manifest_service
from confiance.manifest.checks import check_file, format_problems
from confiance.pii import cli as pii_cli
from confiance.pseudonym import cli as pseudonym_cli
from confiance.receipts.cli import receipts_app
from confiance.rights import cli as rights_cli
from confiance.runtime import Runtime, initialize
from confiance.staff.errors import StaffNotFound
from confiance.staff.service import new_password
from confiance.webhooks import cli as webhooks_cli

app = typer.Typer(
    help="Confiance: customer personal data behind consent, encryption and a tamper-evident audit.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
manifest_app = typer.Typer(help="Check, load and list privacy manifests.", no_args_is_help=True)
apikey_app = typer.Typer(
    help="Service API keys, each limited to some purposes.", no_args_is_help=True
)
keys_app = typer.Typer(help="Key-encryption keys: status and rotation.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(manifest_app, name="manifest")
app.add_typer(apikey_app, name="apikey")
app.add_typer(keys_app, name="keys")
admin_app = typer.Typer(
    help="Staff accounts of the console: create, list, disable, reset MFA.",
    no_args_is_help=True,
)
app.add_typer(admin_app, name="admin")
retention_app = typer.Typer(
    help="Retention: delete or anonymise what no purpose may keep any longer.",
    no_args_is_help=True,
)
app.add_typer(retention_app, name="retention")
consent_app = typer.Typer(
    help="Customers' consent decisions, receipts and audiences.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")
app.add_typer(consent_app, name="consent")
app.add_typer(tcf_app, name="tcf")
app.add_typer(receipts_app, name="receipts")

console = Console()
err = Console(stderr=True)


def _settings(data_dir: Path | None) -> Settings:
    settings = Settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    return settings


def _operator() -> Actor:
    return Actor.operator(os.environ.get("USER") or "operator")


@contextmanager
def _runtime(data_dir: Path | None) -> Iterator[Runtime]:
    """The installation, opened for one command; any Confiance error ends it with its message
    and exit code 1 (no traceback: the message says what to fix)."""
    try:
        runtime = Runtime.open(_settings(data_dir))
    except ConfianceError as exc:
        raise _fail(exc) from None
    try:
        yield runtime
    except ConfianceError as exc:
        raise _fail(exc) from None
    finally:
        runtime.close()


def _fail(exc: ConfianceError) -> typer.Exit:
    err.print(f"[bold red]error[/]: {exc.detail}")
    return typer.Exit(code=1)


# -- init / serve / demo ---------------------------------------------------------------------
@app.command()
def init(data_dir: DataDir = None) -> None:
    """Create the data directory, the key file (mode 0600) and the database schema."""
    try:
        report = initialize(_settings(data_dir))
    except ConfianceError as exc:
        raise _fail(exc) from None
    if report.keyring_created:
        console.print(f"Key file created at [bold]{report.keyring_path}[/] (mode 0600).")
        console.print("Back it up somewhere safe: without it no customer data can be read.")
    console.print(f"Database ready: {report.database}")


@app.command()
def serve(
    data_dir: DataDir = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (PostgreSQL only).")] = None,
) -> None:
    """Start the API server."""
    settings = _settings(data_dir)
    _serve(settings, host=host, port=port, workers=workers)


def _serve(settings: Settings, *, host: str | None, port: int | None, workers: int | None) -> None:
    import uvicorn

    from confiance.db import Database
    from confiance.web.app import create_app

    host = host or settings.server.host
    port = port if port is not None else settings.server.port
    workers = workers or settings.server.workers
    if workers > 1:
        if Database(settings.database_url).is_sqlite:
            err.print(
                "[bold red]error[/]: several workers need PostgreSQL; the embedded SQLite "
                "database takes one worker (set CONFIANCE__DATABASE__URL)."
            )
            raise typer.Exit(code=2)
        os.environ["CONFIANCE__DATA_DIR"] = str(settings.data_dir.resolve())
        uvicorn.run(
            "confiance.web.app:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            access_log=settings.server.access_log,
        )
        return
    runtime = Runtime.open(settings)
    try:
        runtime.require_erasures_applied()
    except ConfianceError as exc:
        runtime.close()
        raise _fail(exc) from None
    uvicorn.run(
        create_app(runtime, own_runtime=True, deliver_webhooks=True),
        host=host,
        port=port,
        log_level="info",
        access_log=settings.server.access_log,
    )


@app.command()
def demo(
    data_dir: DataDir = None,
    customers: Annotated[int, typer.Option(help="Fictional customers to generate.")] = 2000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the server once the data is ready.")
    ] = True,
) -> None:
    """Set up the fictional retailer Maison Exemple, its customers, and start the server."""
    from confiance.demo import service as demo_service

    settings = _settings(data_dir)
    if settings.mail.host is None and settings.mail.directory is None:
        # The demo's mail (one-time codes, answers to requests) lands in a local folder.
        mail = settings.mail.model_copy(update={"directory": settings.data_dir / "mail"})
        settings = settings.model_copy(update={"mail": mail})
    initialize(settings)
    runtime = Runtime.open(settings)
    actor = Actor.system("demo")
    try:
        seq = demo_service.load_example_manifest(runtime, actor=actor)
        console.print(f"Privacy manifest of Maison Exemple loaded (version {seq}).")
        existing = demo_service.customer_count(runtime)
        missing = max(0, customers - existing)
        if missing:
            with progress_bar(err) as progress:
                task = progress.add_task("Collecting fictional customers", total=missing)
                demo_service.populate(
                    runtime,
                    count=missing,
                    actor=actor,
                    seed=2026 + existing,
                    progress=lambda n: progress.advance(task, n),
                )
        with err.status("Giving the demo a past: consents, rights requests, complaints"):
            demo_service.animate(runtime, actor=actor)
        with runtime.db.transaction() as session:
            manifest = manifest_service.current(session).manifest
            purposes = [p.key for p in manifest.purposes]
            _, token = apikeys.create(
                session,
                name="demo",
                purposes=purposes,
                scopes=sorted(SCOPES),
                actor=actor,
                audit=runtime.audit,
            )
            runtime.audit.checkpoint(session)
        dpo_account = demo_service.ensure_dpo(runtime, actor=actor)
        sample = demo_service.some_customer(runtime)
    finally:
        runtime.close()
    url = f"http://{host}:{port}/"
    say = functools.partial(console.print, soft_wrap=True)
    say(f"{max(existing, customers)} fictional customers are in the encrypted vault.")
    say(f"Demo API key, for every purpose and scope (shown once): [bold]{token}[/]")
    if sample is not None:
        say("Read what order fulfilment may see of one customer (an audit entry records it):")
        say(
            f"  curl -H 'Authorization: Bearer {token}' "
            f"'{url}v1/customers/{sample}?purpose=order_fulfilment'",
            markup=False,
            highlight=False,
        )
    say(
        f"Mail to customers (one-time codes, answers) is written to {settings.mail.directory}/ "
        "as .eml files."
    )
    say(f"Privacy center for customers: {url}privacy")
    if dpo_account is not None:
        email, password, secret = dpo_account
        say(f"Staff console: {url}console  (demo DPO account, shown once)")
        say(f"  address {email}  password {password}", markup=False, highlight=False)
        say(
            f"  TOTP secret {secret} (add it to an authenticator app, or: "
            f"python -c \"import pyotp; print(pyotp.TOTP('{secret}').now())\")",
            markup=False,
            highlight=False,
        )
    say(f"Confiance demo: [bold green]{url}[/]  (API description: {url}openapi.json)")
    if serve_after:
        _serve(settings, host=host, port=port, workers=1)


# -- manifest ---------------------------------------------------------------------------------
@manifest_app.command("check")
def manifest_check(
    file: Annotated[
        Path, typer.Argument(help="The manifest YAML file.", exists=True, dir_okay=False)
    ],
) -> None:
    """Report every problem of a manifest with its line; exit 1 if there is any error."""
    result = check_file(file)
    for line in format_problems(result, str(file)):
        (console if result.ok else err).print(line, markup=False, highlight=False, soft_wrap=True)
    if not result.ok:
        raise typer.Exit(code=1)
    console.print(f"{file}: ok")


@manifest_app.command("load")
def manifest_load(
    file: Annotated[
        Path, typer.Argument(help="The manifest YAML file.", exists=True, dir_okay=False)
    ],
    data_dir: DataDir = None,
) -> None:
    """Check a manifest and store it as the current version."""
    actor = _operator()
    with _runtime(data_dir) as runtime:
        try:
            with runtime.db.transaction() as session:
                loaded = manifest_service.load(
                    session,
                    text=file.read_text(encoding="utf-8"),
                    source_name=file.name,
                    actor=actor.label,
                    on_loaded=runtime.manifest_loaded_hook(actor),
                )
        except ConfianceError as exc:
            problems = exc.fields.get("problems") or []
            for p in problems:
                err.print(
                    f"{file}:{p['line']}: {p['code']}: {p['message']}",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
            raise _fail(exc) from None
    state = "stored as" if loaded.created else "already stored as"
    console.print(f"{file}: {state} version {loaded.seq} (sha256 {loaded.sha256[:16]}…)")


@manifest_app.command("history")
def manifest_history(data_dir: DataDir = None) -> None:
    """Every stored manifest version."""
    with _runtime(data_dir) as runtime, runtime.db.transaction() as session:
        rows = manifest_service.history(session)
    table = Table("version", "sha256", "loaded at", "by", "source")
    for row in rows:
        table.add_row(
            str(row.seq), row.sha256[:16], row.loaded_at.isoformat(), row.loaded_by, row.source_name
        )
    console.print(table)


# -- API keys ---------------------------------------------------------------------------------
@apikey_app.command("create")
def apikey_create(
    purposes: Annotated[str, typer.Option(help="Comma-separated purposes the key may use.")],
    name: Annotated[str, typer.Option(help="What the key is for (e.g. crm-sync).")] = "service",
    scopes: Annotated[
        str,
        typer.Option(
            help="Comma-separated scopes: " + ", ".join(f"{k} ({v})" for k, v in SCOPES.items())
        ),
    ] = "",
    data_dir: DataDir = None,
) -> None:
    """Create a key; it is printed once and only its digest is stored."""
    wanted = [p.strip() for p in purposes.split(",") if p.strip()]
    granted = [p.strip() for p in scopes.split(",") if p.strip()]
    with _runtime(data_dir) as runtime, runtime.db.transaction() as session:
        info, token = apikeys.create(
            session,
            name=name,
            purposes=wanted,
            scopes=granted,
            actor=_operator(),
            audit=runtime.audit,
        )
    scope_text = f"; scopes {', '.join(info.scopes)}" if info.scopes else ""
    err.print(f"API key {info.id} for {', '.join(info.purposes)}{scope_text} (shown once):")
    console.print(token, markup=False, highlight=False)


# -- retention --------------------------------------------------------------------------------
@retention_app.command("run")
def retention_run(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would go, change nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Apply the manifest's retention to every customer now (serve does it daily)."""
    with _runtime(data_dir) as runtime, progress_bar(err) as progress:
        task = progress.add_task("Applying retention", total=None)
        report = runtime.retention.run(
            runtime.db,
            dry_run=dry_run,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    if as_json:
        console.print_json(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    head = "Dry run: nothing was changed. " if dry_run else ""
    console.print(
        f"{head}{report.customers_examined} customers examined, {report.customers_changed} "
        f"with values past their retention, {report.customers_erased} erased entirely."
    )
    table = Table("field", "what", "values", "why", title="Retention")
    for (name, reason), count in sorted(report.deleted.items()):
        table.add_row(name, "deleted", str(count), reason)
    for (name, reason), count in sorted(report.anonymised.items()):
        table.add_row(name, "anonymised", str(count), reason)
    for name, count in sorted(report.kept_by_obligation.items()):
        table.add_row(name, "kept", str(count), "a legal obligation still needs it")
    console.print(table)


# -- staff accounts -----------------------------------------------------------------------------
@admin_app.command("create")
def admin_create(
    email: Annotated[str, typer.Option(help="The person's work address (their sign-in).")],
    name: Annotated[str, typer.Option(help="Their name, as the console shows it.")] = "",
    role: Annotated[
        str, typer.Option(help="admin, dpo, support, marketing or auditor (least privilege).")
    ] = "admin",
    data_dir: DataDir = None,
) -> None:
    """Create a staff account with a random password, printed once. The account enrols its
    authenticator app (TOTP) at its first sign-in; there is no default account."""
    password = new_password()
    with _runtime(data_dir) as runtime, runtime.db.transaction() as session:
        view = runtime.staff.create(
            session,
            email=email,
            display_name=name or email,
            role=role,
            password=password,
            actor=_operator(),
        )
    err.print(f"Account {view.email} ({view.role}) created. Password (shown once):")
    console.print(password, markup=False, highlight=False)
    err.print("At the first sign-in on /console/login, scan the QR code with an authenticator app.")


@admin_app.command("list")
def admin_list(data_dir: DataDir = None) -> None:
    """Staff accounts and their state (never a password or a secret)."""
    with _runtime(data_dir) as runtime, runtime.db.read() as session:
        views = runtime.staff.list(session, actor=_operator())
    table = Table("address", "name", "role", "MFA", "state", "created")
    for v in views:
        state = "disabled" if v.disabled else ("locked" if v.locked_until else "active")
        table.add_row(
            v.email,
            v.display_name,
            v.role,
            "enrolled" if v.enrolled else "to enrol",
            state,
            v.created_at.strftime("%Y-%m-%d"),
        )
    console.print(table)


def _account(runtime: Runtime, session: Session, email: str) -> uuid.UUID:
    for view in runtime.staff.list(session, actor=_operator()):
        if view.email == email.strip().lower():
            return view.id
    raise StaffNotFound()


@admin_app.command("disable")
def admin_disable(email: str, data_dir: DataDir = None) -> None:
    """Disable an account; its sessions end at once."""
    with _runtime(data_dir) as runtime, runtime.db.transaction() as session:
        runtime.staff.disable(session, user_id=_account(runtime, session, email), actor=_operator())
    console.print(f"{email} disabled.")


@admin_app.command("reset-mfa")
def admin_reset_mfa(email: str, data_dir: DataDir = None) -> None:
    """Forget an account's authenticator (a lost phone): it enrols again at next sign-in."""
    with _runtime(data_dir) as runtime, runtime.db.transaction() as session:
        runtime.staff.reset_mfa(
            session, user_id=_account(runtime, session, email), actor=_operator()
        )
    console.print(f"{email} will enrol a new authenticator at the next sign-in.")


@apikey_app.command("list")
def apikey_list(data_dir: DataDir = None) -> None:
    """Keys with their purposes (never their secret)."""
    with _runtime(data_dir) as runtime, runtime.db.transaction() as session:
        keys = apikeys.list_keys(session)
    table = Table("id", "name", "purposes", "scopes", "created", "revoked")
    for k in keys:
        table.add_row(
            k.id,
            k.name,
            ", ".join(k.purposes),
            ", ".join(k.scopes),
            k.created_at.isoformat(timespec="seconds"),
            k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else "",
        )
    console.print(table)


@apikey_app.command("revoke")
def apikey_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (the part after 'cfk_').")],
    data_dir: DataDir = None,
) -> None:
    """Revoke a key at once."""
    with _runtime(data_dir) as runtime:
        try:
            with runtime.db.transaction() as session:
                apikeys.revoke(session, key_id=key_id, actor=_operator(), audit=runtime.audit)
        except ConfianceError as exc:
            raise _fail(exc) from None
    console.print(f"API key {key_id} revoked.")


# -- keys -------------------------------------------------------------------------------------
@keys_app.command("status")
def keys_status(data_dir: DataDir = None) -> None:
    """Key-encryption keys and how many data keys each wraps (never the keys themselves)."""
    with _runtime(data_dir) as runtime, runtime.db.transaction() as session:
        usage = keys_service.usage(session)
        ring = runtime.keys.get()
    table = Table("KEK id", "role", "data keys")
    for kek_id in ring.kek_ids:
        role = "primary" if kek_id == ring.primary_id else "unwrap only"
        table.add_row(kek_id, role, str(usage.get(kek_id, 0)))
    console.print(table)


@keys_app.command("rotate")
def keys_rotate(
    data_dir: DataDir = None,
    grace: Annotated[
        float | None, typer.Option(help="Seconds to let running servers pick up the new key.")
    ] = None,
) -> None:
    """Rewrap every data key under a new KEK, then retire the old one. The API keeps serving."""
    with _runtime(data_dir) as runtime, progress_bar(err) as progress:
        task = progress.add_task("Rewrapping data keys", total=None)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            result = keys_service.rotate(
                runtime.db,
                keys=runtime.keys,
                audit=runtime.audit,
                actor=_operator(),
                grace_seconds=(
                    grace if grace is not None else runtime.settings.crypto.rotation_grace_seconds
                ),
                progress=report,
            )
        except ConfianceError as exc:
            raise _fail(exc) from None
    console.print(
        f"New primary KEK {result.new_kek_id}; {result.rewrapped} data keys rewrapped in "
        f"{result.seconds:.1f} s; retired: {', '.join(result.retired_kek_ids) or 'none'}."
    )


# -- audit ------------------------------------------------------------------------------------
@audit_app.command("verify")
def audit_verify(
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Recompute the hash chain and check every signed checkpoint; exit 1 on any tampering."""
    with _runtime(data_dir) as runtime:
        from confiance.crypto import Signer

        public_key = Signer(runtime.keys.get().audit_signing_key).public_key
        # Sign the head first, so that the tail no checkpoint covers is as short as can be.
        with runtime.db.transaction() as session:
            runtime.audit.checkpoint(session)
        with progress_bar(err) as progress:
            task = progress.add_task("Verifying the audit chain", total=None)
            try:
                report = runtime.audit.verify(
                    runtime.db,
                    public_key=public_key,
                    progress=lambda done, total: progress.update(task, completed=done, total=total),
                )
            except AuditChainBroken as exc:
                progress.stop()
                if as_json:
                    print(json.dumps(exc.to_problem()))
                err.print(f"[bold red]audit log tampered[/]: {exc.detail}")
                raise typer.Exit(code=1) from None
    if as_json:
        print(json.dumps(report.as_dict()))
        return
    console.print(
        f"[bold green]audit log intact[/]: {report.entries} entries, "
        f"{report.checkpoints} signed checkpoints, last hash {report.last_hash[:16]}…, "
        f"{report.rate:,.0f} entries/s"
    )


@audit_app.command("checkpoint")
def audit_checkpoint(data_dir: DataDir = None) -> None:
    """Sign the current head of the chain now (also done every N entries)."""
    with _runtime(data_dir) as runtime, runtime.db.transaction() as session:
        cp = runtime.audit.checkpoint(session)
    console.print(f"Checkpoint at entry {cp.seq}." if cp else "The audit log is empty.")


# -- consent --------------------------------------------------------------------------------
CustomerId = Annotated[uuid.UUID, typer.Argument(help="The customer's id (pseudonymous).")]


@consent_app.command("show")
def consent_show(customer: CustomerId, data_dir: DataDir = None) -> None:
    """Each purpose: the latest decision, since when, and whether it may run now."""
    with _runtime(data_dir) as runtime, runtime.db.transaction() as session:
        view = runtime.consent.overview(session, customer_id=customer, actor=_operator())
    table = Table("target", "legal basis", "state", "since", "expires", "may run", "why")
    for item in view.items:
        row = item.row
        table.add_row(
            item.target,
            (item.legal_basis or "opt-out").replace("_", " "),
            row.state if row else "—",
            item.since.isoformat(timespec="seconds") if item.since else "",
            row.expires_at.date().isoformat() if row and row.expires_at else "",
            "" if item.allowed is None else ("yes" if item.allowed else "no"),
            item.reason or "",
        )
    console.print(table)
    if view.gpc_honoured:
        console.print("A Global Privacy Control signal opted this customer out of sale/sharing.")


@consent_app.command("set")
def consent_set(
    customer: CustomerId,
    decisions: Annotated[
        list[str],
        typer.Argument(help="TARGET=STATE, e.g. email_marketing=withdrawn @sale_sharing=refused"),
    ],
    channel: Annotated[str, typer.Option(help="Where the decision was made.")] = "controller",
    method: Annotated[str, typer.Option(help="How it was collected.")] = "operator",
    language: Annotated[str, typer.Option(help="fr or en.")] = "fr",
    data_dir: DataDir = None,
) -> None:
    """Record decisions for a customer (e.g. given by phone), with a receipt."""
    changes = []
    for item in decisions:
        target, sep, state = item.partition("=")
        if not sep or state not in {s.value for s in State}:
            err.print(f"[bold red]error[/]: '{item}' is not TARGET=STATE (given, refused, ...)")
            raise typer.Exit(code=2)
        changes.append(Change(target, State(state)))
    context = ConsentContext(
        channel=channel,
        method=method,
        language=language,
        evidence=evidence_of(f"{customer}\n{' '.join(decisions)}".encode()),
    )
    with _runtime(data_dir) as runtime, runtime.db.transaction() as session:
        record = runtime.consent.record(
            session, customer_id=customer, changes=changes, context=context, actor=_operator()
        )
    console.print(f"Recorded; receipt {record.receipt_id}.")


@consent_app.command("history")
def consent_history(customer: CustomerId, data_dir: DataDir = None) -> None:
    """Every decision recorded for a customer, oldest first."""
    with _runtime(data_dir) as runtime, runtime.db.transaction() as session:
        events = runtime.consent.history(session, customer_id=customer, actor=_operator())
    table = Table("at", "target", "state", "channel", "method", "manifest", "actor", "receipt")
    for e in events:
        table.add_row(
            e.at.isoformat(timespec="seconds"),
            e.target,
            e.state,
            e.channel,
            e.method,
            str(e.manifest_seq),
            e.actor,
            e.receipt_id,
        )
    console.print(table)


@consent_app.command("receipt")
def consent_receipt(
    receipt_id: Annotated[str, typer.Argument(help="The receipt id.")],
    out: Annotated[Path | None, typer.Option(help="Write the JWS to this file.")] = None,
    data_dir: DataDir = None,
) -> None:
    """A signed receipt (compact JWS), to give to the customer or to verify."""
    with _runtime(data_dir) as runtime, runtime.db.transaction() as session:
        jws = runtime.consent.receipt(session, receipt_id=receipt_id, actor=_operator())
    if out is None:
        print(jws)
    else:
        out.write_text(jws + "\n", encoding="ascii")
        err.print(f"Receipt written to {out}; check it with 'confiance receipts verify {out}'.")


@consent_app.command("audience")
def consent_audience(
    purpose: Annotated[str, typer.Argument(help="The purpose whose audience to export.")],
    out: Annotated[Path, typer.Option(help="CSV file to write.")] = Path("audience.csv"),
    data_dir: DataDir = None,
) -> None:
    """Every customer the purpose may process now, as a CSV of pseudonymous ids."""
    with _runtime(data_dir) as runtime, progress_bar(err) as progress:
        task = progress.add_task(f"Customers who allow {purpose}", total=None)
        count = 0
        with out.open("w", encoding="ascii") as handle:
            handle.write("customer_id\n")
            for customer in runtime.consent.audience(
                runtime.db, purpose=purpose, actor=_operator()
            ):
                handle.write(customer + "\n")
                count += 1
                if count % 10_000 == 0:
                    progress.update(task, completed=count)
        progress.update(task, completed=count, total=count)
    console.print(f"{count} customers written to {out}.")


@consent_app.command("expire")
def consent_expire(data_dir: DataDir = None) -> None:
    """Record 'expired' for every consent past its validity (also done hourly by serve)."""
    with _runtime(data_dir) as runtime, progress_bar(err) as progress:
        task = progress.add_task("Expiring consents", total=None)
        total = 0
        while count := runtime.consent.expire_due(runtime.db, limit=5_000):
            total += count
            progress.update(task, completed=total)
        progress.update(task, completed=total, total=total)
    console.print(f"{total} consents recorded as expired.")


@consent_app.command("daily")
def consent_daily(
    days: Annotated[int, typer.Option(help="How many days back.")] = 30,
    data_dir: DataDir = None,
) -> None:
    """Opt-in, refusal and withdrawal counts and rates per purpose per day."""
    from datetime import timedelta

    from confiance import clock

    today = clock.now().date()
    with _runtime(data_dir) as runtime, runtime.db.transaction() as session:
        counts = runtime.consent.daily_counts(
            session, since=today - timedelta(days=days), until=today, actor=_operator()
        )
    table = Table("day", "target", "given", "refused", "withdrawn", "opt-in rate", "bar")
    for c in counts:
        rate = c.opt_in_rate
        table.add_row(
            c.day.isoformat(),
            c.target,
            str(c.given),
            str(c.refused),
            str(c.withdrawn),
            "" if rate is None else f"{rate:.0%}",
            "" if rate is None else "█" * round(rate * 20),
        )
    console.print(table)


app.add_typer(webhooks_cli.build_app(open_runtime=_runtime, operator=_operator), name="webhooks")
app.add_typer(rights_cli.build_app(open_runtime=_runtime, operator=_operator), name="rights")
app.add_typer(mail_cli.build_app(open_runtime=_runtime), name="mail")
backup_cli.register(app, open_runtime=_runtime, make_settings=_settings, operator=_operator)
app.add_typer(anonymize_cli.build_app(), name="anonymize")
app.add_typer(pii_cli.build_app(open_runtime=_runtime), name="pii")
app.add_typer(dp_cli.build_app(open_runtime=_runtime, operator=_operator), name="dp")
app.command("pseudonymise")(pseudonym_cli.build_command(open_runtime=_runtime, operator=_operator))


@app.command()
def version() -> None:
    """Print the version."""
    console.print(__version__)


def main() -> None:
    try:
        app()
    except ConfianceError as exc:
        err.print(f"[bold red]error[/]: {exc.detail}")
        sys.exit(1)
