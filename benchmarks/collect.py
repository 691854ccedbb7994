"""Benchmark (a): collecting customers through the vault vs bare SQLAlchemy Core inserts.

Both sides insert the same customers in batches, one transaction per batch, into the same
database. The baseline writes the *plaintext* rows (one customer row, one row per field value)
with bare Core; the vault validates against the manifest, generates and wraps a data key per
customer, seals every value, writes blind-index digests and one audit entry per customer.

    python benchmarks/collect.py --customers 100000
    python benchmarks/collect.py --customers 100000 --database-url postgresql+psycopg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import json
import time
import uuid

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import insert

from _common import (
    ACTOR,
    add_database_option,
    bare,
    bare_customers,
    bare_values,
    customer_source,
    installation,
)
from confiance import clock

console = Console(width=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    add_database_option(parser)
    args = parser.parse_args()

    with installation(args.database_url) as runtime:
        _, purposes, make = customer_source(runtime, seed=1)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("Generating fictional customers", total=args.customers)
            records = []
            for _ in range(args.customers):
                records.append(make())
                progress.advance(task)
        fields_per_customer = sum(len(r) for r in records) / len(records)
        bare.create_all(runtime.db.engine)

        def run_bare() -> float:
            started = time.perf_counter()
            for i in range(0, len(records), args.batch):
                batch = records[i : i + args.batch]
                now = clock.now().isoformat()
                customers, values = [], []
                for record in batch:
                    cid = uuid.uuid4()
                    customers.append({"id": cid, "created_at": now})
                    for name, value in record.items():
                        values.append(
                            {"customer_id": cid, "field": name, "value": json.dumps(value).encode()}
                        )
                with runtime.db.transaction() as session:
                    session.execute(insert(bare_customers), customers)
                    session.execute(insert(bare_values), values)
            return time.perf_counter() - started

        def run_vault() -> float:
            started = time.perf_counter()
            for i in range(0, len(records), args.batch):
                with runtime.db.transaction() as session:
                    runtime.vault.collect_many(
                        session, actor=ACTOR, purposes=purposes, records=records[i : i + args.batch]
                    )
            return time.perf_counter() - started

        with console.status("Bare SQLAlchemy Core inserts of the plaintext rows"):
            bare_seconds = run_bare()
        with console.status("Collecting through the vault"):
            vault_seconds = run_vault()

    backend = "PostgreSQL" if args.database_url else "SQLite"
    n = len(records)
    console.print(
        f"[bold]Collect {n:,} customers ({fields_per_customer:.1f} fields each) on {backend}[/]"
    )
    console.print(
        f"  bare Core, plaintext : {n / bare_seconds:>10,.0f} customers/s ({bare_seconds:.2f} s)"
    )
    console.print(
        f"  vault (sealed+audit) : {n / vault_seconds:>10,.0f} customers/s ({vault_seconds:.2f} s)"
    )
    console.print(
        f"  ratio vault / bare   : {bare_seconds / vault_seconds:.2f} (aim: 0.50 or more)"
    )


if __name__ == "__main__":
    main()
