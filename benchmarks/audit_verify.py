"""Benchmark: ``audit verify`` against the floor of reading the same rows and hashing them.

Builds an audit log of N entries (default 1,000,000) with the real service, as bulk collection
does (``record_many`` of 256 events, so one signed checkpoint per 256 entries, the default
density), then times :meth:`AuditLog.verify`: chunked short transactions, canonical
re-encoding, SHA-256 chain, every checkpoint signature (database rows and file lines).

The floor, measured in the same run on the same rows: one bare ``SELECT`` of the eleven
columns with the raw driver (``sqlite3``, or ``psycopg`` for PostgreSQL), iterating the cursor
and computing one ``hashlib.sha256`` per row over its stored ``prev_hash || hash`` bytes. No
encoding, no comparison, no transactions, no signatures: what no verifier can go below.

    python benchmarks/audit_verify.py
    python benchmarks/audit_verify.py --entries 200000 --repeat 5
    python benchmarks/audit_verify.py --database-url postgresql+psycopg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import hashlib
import secrets
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import Table, create_engine, text

from confiance.audit import AuditEvent, AuditLog
from confiance.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from confiance.crypto import Keyring, Signer
from confiance.db import Base, Database

console = Console()

ACTIONS = ("vault.collect", "vault.read", "vault.rectify", "vault.read", "vault.read")
PURPOSES = ("order-fulfilment", "newsletter", "loyalty", None)
FIELDS = ("email", "first_name", "last_name", "phone", "postal_address", "birth_date")
FLOOR_SQL = (
    "SELECT seq, at_us, actor, action, customer_pid, purpose, fields, outcome, detail, "
    "prev_hash, hash FROM audit_entries ORDER BY seq"
)


def events(count: int) -> Iterator[AuditEvent]:
    """Realistic entries: many customers, a few staff and API keys, field names, no values."""
    staff = [f"staff:agent{i:02d}@maison.example" for i in range(20)] + ["apikey:k-crm"]
    for i in range(count):
        yield AuditEvent(
            action=ACTIONS[i % len(ACTIONS)],
            actor=staff[i % len(staff)],
            customer_pid=str(uuid.UUID(int=secrets.randbits(128), version=4)),
            purpose=PURPOSES[i % len(PURPOSES)],
            fields=tuple(FIELDS[j] for j in range(len(FIELDS)) if (i >> j) & 1),
            outcome="ok" if i % 50 else "denied",
            detail=None if i % 10 else "bulk import",
        )


@contextmanager
def database(url: str | None, tmp: Path) -> Iterator[Database]:
    tables: list[Table] = [
        AuditEntry.__table__,  # type: ignore[list-item]
        AuditHead.__table__,  # type: ignore[list-item]
        AuditCheckpoint.__table__,  # type: ignore[list-item]
    ]
    if url is None:
        db = Database(f"sqlite:///{tmp / 'confiance.db'}")
        Base.metadata.create_all(db.engine, tables=tables)
        try:
            yield db
        finally:
            db.dispose()
        return
    schema = f"confiance_bench_{secrets.token_hex(4)}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(url, schema=schema)
    try:
        Base.metadata.create_all(db.engine, tables=tables)
        yield db
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def build(db: Database, log: AuditLog, count: int, *, batch: int, per_transaction: int) -> None:
    columns = [
        TextColumn("Building the audit log"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    ]
    source = events(count)
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("build", total=count)
        done = 0
        while done < count:
            size = min(per_transaction, count - done)
            with db.transaction() as session:
                for start in range(0, size, batch):
                    chunk = [next(source) for _ in range(min(batch, size - start))]
                    log.record_many(session, chunk)
            done += size
            progress.update(task, completed=done)


def floor_sqlite(path: Path) -> Callable[[], int]:
    def run() -> int:
        sha256 = hashlib.sha256
        conn = sqlite3.connect(path)
        try:
            n = 0
            for row in conn.execute(FLOOR_SQL):
                sha256(row[9] + row[10]).digest()
                n += 1
            return n
        finally:
            conn.close()

    return run


def floor_postgresql(url: str, schema: str) -> Callable[[], int]:
    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)

    def run() -> int:
        sha256 = hashlib.sha256
        with psycopg.connect(dsn, options=f"-csearch_path={schema}") as conn:
            n = 0
            with conn.cursor(name="floor") as cur:  # Server-side: streamed, not all in memory.
                cur.itersize = 20_000
                cur.execute(FLOOR_SQL)
                for row in cur:
                    sha256(row[9] + row[10]).digest()
                    n += 1
            return n

    return run


def timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    times: list[float] = []
    result: Any = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return times, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="entries in the log")
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL URL (postgresql+psycopg://...); default: a SQLite file in a temp dir",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each side")
    parser.add_argument("--batch", type=int, default=256, help="events per record_many call")
    parser.add_argument(
        "--checkpoint-every", type=int, default=256, help="signed checkpoint every N entries"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="confiance-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        with database(args.database_url, tmp) as db:
            log = AuditLog(
                Signer(Keyring.generate().audit_signing_key),
                checkpoint_every=args.checkpoint_every,
                checkpoint_file=tmp / "audit-checkpoints.jsonl",
            )
            started = time.perf_counter()
            build(db, log, args.entries, batch=args.batch, per_transaction=50_000)
            build_seconds = time.perf_counter() - started

            if db.is_sqlite:
                floor = floor_sqlite(Path(str(db.url.database)))
            else:
                floor = floor_postgresql(args.database_url, _schema_of(db))

            with console.status("Timing the floor (bare SELECT + sha256 per row)"):
                floor_times, floor_rows = timed(floor, args.repeat)
            with console.status("Timing audit verify"):
                verify_times, report = timed(lambda: log.verify(db), args.repeat)

    n = report.entries
    assert floor_rows == n, (floor_rows, n)
    backend = "PostgreSQL" if args.database_url else f"SQLite {sqlite3.sqlite_version}"
    best_verify, best_floor = min(verify_times), min(floor_times)
    rate = n / best_verify
    console.print(f"[bold]audit verify: {n:,} entries on {backend}[/]")
    console.print(f"  built in             : {build_seconds:,.1f} s")
    console.print(f"  checkpoints checked  : {report.checkpoints:,} (table and file, deduplicated)")
    for label, times in (("floor (SELECT+sha256)", floor_times), ("audit verify", verify_times)):
        console.print(
            f"  {label:<21}: {n / min(times):>9,.0f} entries/s best of {len(times)}, "
            f"{n / statistics.median(times):>9,.0f} median"
        )
    console.print(f"  verify / floor speed : {best_floor / best_verify:.2f}")
    if db.is_sqlite:
        verdict = "met" if rate >= 200_000 else "NOT met"
        console.print(f"  target 200,000/s     : {verdict}")


def _schema_of(db: Database) -> str:
    with db.engine.connect() as conn:
        return str(conn.execute(text("SELECT current_schema()")).scalar_one())


if __name__ == "__main__":
    main()
