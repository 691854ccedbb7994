"""Backup and restore of a whole installation's database, with the erasure replay.

A backup is logical: every table of the models, in dependency order, read in one snapshot
(a deferred read transaction on SQLite, ``REPEATABLE READ`` on PostgreSQL) and streamed to one
gzip file (see :mod:`confiance.backup.format`). Values are already sealed in the database; the
key file is not in the backup, and a backup is useless without it.

A restore never serves a customer that the erasure log says was erased. The log is read from
the erasure log file and from the database being replaced, and applied while the rows are
loaded: an erased customer's rows are never written. All of it happens before the restored
database is made live: on SQLite it is built in a new file next to the target and renamed
into place; on PostgreSQL tables are dropped, recreated and filled in one transaction, and a
failure rolls everything back.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import secrets
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Table, column, func, insert, select, table, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from confiance import __version__, clock
from confiance.actors import Actor
from confiance.audit.checkpoints import Checkpoint
from confiance.audit.models import AuditCheckpoint, AuditHead
from confiance.audit.service import AuditEvent, AuditLog
from confiance.backup.errors import (
    BackupExists,
    BackupKeysMissing,
    BackupTooNew,
    ErasuresNotApplied,
    RestoreRefused,
)
from confiance.backup.format import (
    BackupHeader,
    BackupReader,
    BackupWriter,
    TableInfo,
    column_kind,
    type_for_kind,
)
from confiance.backup.replay import CUSTOMER_TABLE, ErasurePlan, check_erasures_applied
from confiance.config import Settings
from confiance.crypto import KeyringSource, Signer
from confiance.db import Database, migrate
from confiance.db.models import Base
from confiance.erasure.log import ErasureEntry, ErasureLogFile, entries_in_database
from confiance.erasure.models import ErasureRecord
from confiance.errors import ConfigurationError
from confiance.keys import service as keys_service

__all__ = [
    "BackupReport",
    "Progress",
    "RestoreReport",
    "TargetState",
    "backup",
    "inspect_target",
    "known_erasures",
    "read_backup",
    "require_erasures_applied",
    "restore",
]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
"""Called with (rows done, rows in all) as rows are written or loaded."""

_BATCH = 1000
_erasure_table = cast(Table, ErasureRecord.__table__)


# -- backup -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class BackupReport:
    path: Path
    header: BackupHeader
    sha256: str
    size: int
    """Bytes on disk (compressed)."""


def backup(
    db: Database,
    *,
    out: Path,
    audit: AuditLog | None = None,
    actor: Actor | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> BackupReport:
    """Write a backup of every table to ``out`` (mode 0600), from one consistent snapshot.

    The file appears under its name only once complete and on disk (written to a temporary
    name, fsynced, renamed). With ``audit``, a ``backup.create`` entry records it afterwards.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise BackupExists(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as stream:
                header, digest = _dump(db, stream, progress)
            raw.flush()
            os.fsync(raw.fileno())
        temp.replace(out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    _fsync_directory(out.parent)
    if audit is not None and actor is not None:
        with db.transaction() as session:
            audit.record(
                session,
                AuditEvent(
                    action="backup.create",
                    actor=actor.label,
                    detail=f"{header.total_rows} rows at revision {header.revision}, "
                    f"sha256 {digest}",
                ),
            )
    return BackupReport(path=out, header=header, sha256=digest, size=out.stat().st_size)


def _dump(db: Database, stream: Any, progress: Progress | None) -> tuple[BackupHeader, str]:
    with _snapshot(db) as conn:
        revision = MigrationContext.configure(conn).get_current_revision()
        if revision is None:
            raise ConfigurationError(
                "The database has no schema revision: run 'confiance init' before a backup.",
            )
        tables = Base.metadata.sorted_tables
        infos = tuple(
            TableInfo(
                name=t.name,
                columns=tuple((c.name, column_kind(c)) for c in t.columns),
                rows=int(conn.execute(select(func.count()).select_from(t)).scalar_one()),
            )
            for t in tables
        )
        header = BackupHeader(
            revision=revision,
            created_at=clock.now(),
            confiance_version=__version__,
            tables=infos,
        )
        writer = BackupWriter(stream, header)
        done, total = 0, header.total_rows
        if progress is not None:
            progress(0, total)
        for t in tables:
            order = list(t.primary_key.columns) or list(t.columns)
            result = conn.execute(select(t).order_by(*order).execution_options(yield_per=_BATCH))
            for partition in result.partitions():
                for row in partition:
                    writer.row(t.name, tuple(row))
                done += len(partition)
                if progress is not None:
                    progress(done, total)
        return header, writer.finish()


@contextlib.contextmanager
def _snapshot(db: Database) -> Iterator[Connection]:
    """One read transaction that sees a single state of every table."""
    with db.engine.connect() as conn:
        if db.is_postgresql:
            conn = conn.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        else:
            # A deferred BEGIN: the first read fixes the snapshot (WAL) or holds the shared
            # lock (rollback journal) until the end; writers are never blocked on WAL.
            conn = conn.execution_options(confiance_read_only=True)
        with conn.begin():
            yield conn


def read_backup(path: Path, *, progress: Progress | None = None) -> tuple[BackupHeader, str]:
    """Read a whole backup and check it, changing nothing; its header and SHA-256."""
    with BackupReader(path) as reader:
        total = reader.header.total_rows
        for done, _ in enumerate(reader.rows(), start=1):
            if progress is not None and done % _BATCH == 0:
                progress(done, total)
        if progress is not None:
            progress(total, total)
        assert reader.sha256 is not None
        return reader.header, reader.sha256


# -- the database being replaced --------------------------------------------------------------
@dataclass(frozen=True)
class TargetState:
    """What a restore needs to know about the database it replaces, read before anything."""

    exists: bool
    readable: bool
    customers: int = 0
    erasures: tuple[ErasureEntry, ...] = ()
    certificates: dict[tuple[str, datetime], str] = field(default_factory=dict)
    audit_head: tuple[int, bytes] | None = None


def inspect_target(db: Database) -> TargetState:
    """Customers, erasure log and audit head of ``db``; a missing or unreadable database is
    reported as such, never as an error (a restore is often what repairs it)."""
    if db.is_sqlite:
        path = _sqlite_path(db)
        if not path.exists():
            return TargetState(exists=False, readable=False)
    try:
        with db.read() as session:
            customers = session.execute(select(func.count()).select_from(_customers())).scalar_one()
            erasures = tuple(entries_in_database(session))
            certificates = {
                (row.customer_pid, row.erased_at.astimezone(UTC)): row.certificate
                for row in session.execute(
                    select(
                        ErasureRecord.customer_pid,
                        ErasureRecord.erased_at,
                        ErasureRecord.certificate,
                    ).where(ErasureRecord.certificate.is_not(None))
                )
            }
            head = session.execute(select(AuditHead.seq, AuditHead.hash)).one_or_none()
    except SQLAlchemyError as exc:
        log.warning("the database being replaced cannot be read (%s)", type(exc).__name__)
        return TargetState(exists=True, readable=False)
    return TargetState(
        exists=True,
        readable=True,
        customers=int(customers),
        erasures=erasures,
        certificates=certificates,
        audit_head=None if head is None else (head.seq, head.hash),
    )


def known_erasures(session: Session, *, log_file: ErasureLogFile) -> list[ErasureEntry]:
    """Every erasure the log file and the database's erasure_log table know of."""
    return [*log_file.read(), *entries_in_database(session)]


def require_erasures_applied(session: Session, *, log_file: ErasureLogFile) -> None:
    """Raise :class:`ErasuresNotApplied` if an erased customer's data is in the database
    (``serve`` checks this before it starts)."""
    bad = check_erasures_applied(session, known_erasures(session, log_file=log_file))
    if bad:
        raise ErasuresNotApplied(bad)


# -- restore ----------------------------------------------------------------------------------
@dataclass
class RestoreReport:
    header: BackupHeader
    rows: dict[str, int]
    """Rows written per table."""
    rows_left_out: dict[str, int]
    """Rows of the backup not written because their customer was erased."""
    erasures_known: int
    """Customers in the erasure log (file and database being replaced, merged)."""
    customers_kept_erased: int
    """Customers of the backup that the replay erased (again)."""
    erasure_rows_added: int
    """Erasures the backup's erasure_log table lacked, added to it."""
    file_entries_added: int
    """Erasures only the replaced database knew, appended to the erasure log file."""
    upgraded_to: str | None
    """The schema revision the backup was migrated to, if it was older."""
    previous_database_readable: bool
    checkpoint_file_archived: Path | None
    audit_seq: int


def restore(
    *,
    source: Path,
    db: Database,
    keys: KeyringSource,
    settings: Settings,
    actor: Actor,
    force: bool = False,
    progress: Progress | None = None,
) -> RestoreReport:
    """Replace the database of ``db`` with the backup ``source``, erasures replayed.

    Refused, with nothing changed, when the file is damaged, comes from a newer schema, needs
    key-encryption keys the key file lacks, or when the database holds customers and
    ``force`` is not given. Stop every ``confiance serve`` of the installation first.
    """
    source = Path(source)
    with BackupReader(source) as reader:
        header = reader.header
        head = migrate.head_revision()
        script = ScriptDirectory.from_config(migrate.alembic_config())
        try:
            known = script.get_revision(header.revision)
        except CommandError:
            known = None
        if known is None:
            raise BackupTooNew(source, header.revision, head)
        target = inspect_target(db)
        if target.customers and not force:
            raise RestoreRefused(target.customers)

        log_file = ErasureLogFile(settings.erasure_log_path)
        in_file = log_file.read()
        entries = _missing([*in_file, *target.erasures], [])
        plan = ErasurePlan(entries)
        missing_in_file = _missing(target.erasures, in_file)
        log_file.append(missing_in_file)

        signer = Signer(keys.get().audit_signing_key)
        # The checkpoint file is rewritten below, once the restored database is live.
        audit = AuditLog(signer, settings.audit.checkpoint_every, checkpoint_file=None)
        state = _Load(header=header, plan=plan, entries=entries, progress=progress)
        if db.is_sqlite:
            staging = _restore_sqlite(
                db, reader, state, keys=keys, target=target, audit=audit, actor=actor, head=head
            )
        else:
            staging = None
            _restore_postgresql(
                db, reader, state, keys=keys, target=target, audit=audit, actor=actor, head=head
            )
    if staging is not None:
        _swap_sqlite(db, staging)
    archived = _replace_checkpoint_file(settings.checkpoint_path, state.checkpoints)
    return RestoreReport(
        header=header,
        rows=dict(state.written),
        rows_left_out=dict(state.left_out),
        erasures_known=len(plan),
        customers_kept_erased=len(plan.kept_erased),
        erasure_rows_added=state.erasure_rows_added,
        file_entries_added=len(missing_in_file),
        upgraded_to=head if header.revision != head else None,
        previous_database_readable=target.readable,
        checkpoint_file_archived=archived,
        audit_seq=state.audit_seq,
    )


@dataclass
class _Load:
    header: BackupHeader
    plan: ErasurePlan
    entries: list[ErasureEntry]
    """Every erasure known (file and replaced database), each once."""
    progress: Progress | None
    written: Counter[str] = field(default_factory=Counter)
    left_out: Counter[str] = field(default_factory=Counter)
    kek_ids: set[str] = field(default_factory=set)
    erasures_in_backup: set[tuple[str, datetime]] = field(default_factory=set)
    erasure_rows_added: int = 0
    checkpoints: list[Checkpoint] = field(default_factory=list)
    audit_seq: int = 0


def _restore_sqlite(
    db: Database,
    reader: BackupReader,
    state: _Load,
    *,
    keys: KeyringSource,
    target: TargetState,
    audit: AuditLog,
    actor: Actor,
    head: str | None,
) -> Path:
    path = _sqlite_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.restore-{secrets.token_hex(4)}")
    staging_db = Database(f"sqlite:///{staging}")
    try:
        with staging_db.engine.connect() as conn, conn.begin():
            _fill(
                conn, reader, state, keys=keys, target=target, audit=audit, actor=actor, head=head
            )
        staging_db.dispose()
        staging.chmod(0o600)
        for suffix in ("-wal", "-shm", "-journal"):
            # An empty journal (journal_mode=TRUNCATE) is not a hot one.
            sidecar = _sidecar(staging, suffix)
            if sidecar.exists() and sidecar.stat().st_size:
                raise ConfigurationError(
                    f"The restored database {staging} was not closed cleanly; restore again.",
                )
            with contextlib.suppress(FileNotFoundError):
                sidecar.unlink()
    except BaseException:
        staging_db.dispose()
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                _sidecar(staging, suffix).unlink()
        raise
    return staging


def _swap_sqlite(db: Database, staging: Path) -> None:
    """Put the restored file in place of the target. The target's journal files go first: a
    journal left beside the new file would be applied to it."""
    path = _sqlite_path(db)
    db.dispose()
    for suffix in ("-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            _sidecar(path, suffix).unlink()
    staging.replace(path)
    _fsync_directory(path.parent)


def _restore_postgresql(
    db: Database,
    reader: BackupReader,
    state: _Load,
    *,
    keys: KeyringSource,
    target: TargetState,
    audit: AuditLog,
    actor: Actor,
    head: str | None,
) -> None:
    # PostgreSQL's DDL is transactional: dropping, recreating and filling the tables in one
    # transaction means the old database stays whole until the commit.
    with db.engine.connect() as conn, conn.begin():
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        _fill(conn, reader, state, keys=keys, target=target, audit=audit, actor=actor, head=head)


def _fill(
    conn: Connection,
    reader: BackupReader,
    state: _Load,
    *,
    keys: KeyringSource,
    target: TargetState,
    audit: AuditLog,
    actor: Actor,
    head: str | None,
) -> None:
    header = state.header
    _migrate(conn, header.revision)
    _load_rows(conn, reader, state)
    ring = keys.get()
    missing = sorted(state.kek_ids - set(ring.kek_ids))
    if missing:
        raise BackupKeysMissing(missing)
    if header.revision != head:
        _migrate(conn, "head")
    if conn.dialect.name == "postgresql":
        _reset_sequences(conn)
    with Session(bind=conn) as session:
        keys_service.ensure_registered(session, keys=keys)
        added = _add_erasure_rows(session, state, target)
        previous = (
            f"; the replaced log ended at seq {target.audit_head[0]} "
            f"(hash {target.audit_head[1].hex()[:16]})"
            if target.audit_head
            else ""
        )
        state.audit_seq = audit.record(
            session,
            AuditEvent(
                action="backup.restore",
                actor=actor.label,
                detail=f"backup of {header.created_at.isoformat(timespec='seconds')} at revision "
                f"{header.revision}; {len(state.plan)} erasures replayed, "
                f"{len(state.plan.kept_erased)} customers of the backup kept erased, "
                f"{added} added to the erasure log{previous}",
            ),
        )
        audit.checkpoint(session)
        state.erasure_rows_added = added
        state.checkpoints = [
            Checkpoint(r.seq, r.hash, r.at_us, r.key_id, r.signature)
            for r in session.execute(
                select(AuditCheckpoint).order_by(AuditCheckpoint.seq)
            ).scalars()
        ]
        session.flush()
        session.expunge_all()


def _migrate(conn: Connection, revision: str) -> None:
    config = migrate.alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, revision)


def _load_rows(conn: Connection, reader: BackupReader, state: _Load) -> None:
    """Insert every row the plan keeps, in batches; the trailer is checked before returning."""
    plan = state.plan
    total = state.header.total_rows
    batch: list[dict[str, Any]] = []
    current: TableInfo | None = None
    statement: Any = None
    columns: tuple[str, ...] = ()
    customer_kek = -1
    is_erasure_log = False

    def flush() -> None:
        if batch:
            conn.execute(statement, batch)
            batch.clear()

    for done, (info, values) in enumerate(reader.rows(), start=1):
        if info is not current:
            flush()
            current = info
            statement = insert(_insert_target(info))
            columns = info.column_names
            customer_kek = columns.index("kek_id") if info.name == CUSTOMER_TABLE else -1
            is_erasure_log = info.name == _erasure_table.name
        kept = plan.filter(info.name, columns, values)
        if kept is None:
            state.left_out[info.name] += 1
        else:
            if customer_kek >= 0:
                state.kek_ids.add(kept[customer_kek])
            if is_erasure_log:
                row = dict(zip(columns, kept, strict=True))
                state.erasures_in_backup.add(
                    (str(row["customer_pid"]), row["erased_at"].astimezone(UTC))
                )
            batch.append(dict(zip(columns, kept, strict=True)))
            state.written[info.name] += 1
            if len(batch) >= _BATCH:
                flush()
        if state.progress is not None and done % _BATCH == 0:
            state.progress(done, total)
    flush()
    if state.progress is not None:
        state.progress(total, total)


def _insert_target(info: TableInfo) -> Any:
    """The table to insert ``info``'s rows into, typed as the models type it (columns the
    models no longer have: as the backup's kinds say)."""
    model = Base.metadata.tables.get(info.name)
    columns = [
        column(
            name,
            model.c[name].type if model is not None and name in model.c else type_for_kind(kind),
        )
        for name, kind in info.columns
    ]
    return table(info.name, *columns)


def _reset_sequences(conn: Connection) -> None:
    """Rows were inserted with their ids: move each id sequence past the largest."""
    quote = conn.dialect.identifier_preparer.quote
    for t in Base.metadata.sorted_tables:
        auto = t.autoincrement_column
        if auto is None:
            continue
        largest = f"SELECT MAX({quote(auto.name)}) FROM {quote(t.name)}"  # noqa: S608 (model names)
        conn.execute(
            text(
                "SELECT setval(pg_get_serial_sequence(:t, :c), "
                f"COALESCE(({largest}), 0) + 1, false)"
            ),
            {"t": t.name, "c": auto.name},
        )


def _add_erasure_rows(session: Session, state: _Load, target: TargetState) -> int:
    """Add to the restored erasure_log the erasures it lacks, so it lists them all."""
    added = 0
    seen = set(state.erasures_in_backup)
    for entry in sorted(state.entries, key=lambda e: e.erased_at):
        key = (entry.customer_pid, entry.erased_at.astimezone(UTC))
        if key in seen:
            continue
        seen.add(key)
        session.add(
            ErasureRecord(
                customer_pid=entry.customer_pid,
                erased_at=entry.erased_at,
                request_id=entry.request_id,
                held_fields=",".join(entry.held_fields),
                certificate=target.certificates.get(key),
            )
        )
        added += 1
    session.flush()
    return added


def _missing(
    entries: Sequence[ErasureEntry], present: Sequence[ErasureEntry]
) -> list[ErasureEntry]:
    have = {(e.customer_pid, e.erased_at.astimezone(UTC)) for e in present}
    out = []
    for e in entries:
        key = (e.customer_pid, e.erased_at.astimezone(UTC))
        if key not in have:
            have.add(key)
            out.append(e)
    return out


# -- files ------------------------------------------------------------------------------------
def _replace_checkpoint_file(path: Path, checkpoints: list[Checkpoint]) -> Path | None:
    """Start the checkpoint file over from the restored chain's checkpoints; the old file, which
    names entries the restored log does not have, is kept beside it."""
    archived: Path | None = None
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    with os.fdopen(fd, "wb") as f:
        f.write("".join(cp.to_json_line() for cp in checkpoints).encode())
        f.flush()
        os.fsync(f.fileno())
    if path.exists():
        stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
        archived = path.with_name(f"{path.name}.before-restore-{stamp}")
        path.replace(archived)
    temp.replace(path)
    _fsync_directory(path.parent)
    return archived


def _sqlite_path(db: Database) -> Path:
    name = db.url.database
    if not name or name == ":memory:":
        raise ConfigurationError("Backup and restore need a SQLite database file, not memory.")
    return Path(name)


def _sidecar(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _fsync_directory(directory: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _customers() -> Table:
    return Base.metadata.tables[CUSTOMER_TABLE]
