"""Benchmark (b): a purpose-bound read of one customer vs a bare primary-key read.

The baseline reads the same customer's plaintext rows by primary key with bare SQLAlchemy
Core, in a transaction, from the same database. The vault read checks the purpose, fetches only
that purpose's ciphertexts, appends the audit entry, commits it durably, unwraps the data key
and opens the values. The durable audit write is part of the read (fail closed), so the script
also reports the same read with its transaction rolled back instead of committed, to show how
much of the cost is the commit.

    python benchmarks/read.py
    python benchmarks/read.py --database-url postgresql+psycopg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
import uuid

from rich.console import Console
from sqlalchemy import insert, select

from _common import ACTOR, add_database_option, bare, bare_values, customer_source, installation

console = Console(width=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--purpose", default="order_fulfilment")
    add_database_option(parser)
    args = parser.parse_args()
    rng = random.Random(3)

    with installation(args.database_url) as runtime:
        manifest, purposes, make = customer_source(runtime, seed=2)
        bare.create_all(runtime.db.engine)
        ids: list[uuid.UUID] = []
        with console.status(f"Loading {args.customers:,} customers"):
            for start in range(0, args.customers, 1000):
                records = [make() for _ in range(min(1000, args.customers - start))]
                with runtime.db.transaction() as session:
                    created = runtime.vault.collect_many(
                        session, actor=ACTOR, purposes=purposes, records=records
                    )
                    session.execute(
                        insert(bare_values),
                        [
                            {"customer_id": c.id, "field": k, "value": json.dumps(v).encode()}
                            for c, r in zip(created, records, strict=True)
                            for k, v in r.items()
                        ],
                    )
                ids.extend(c.id for c in created)
        needed = list(manifest.purposes_by_key[args.purpose].fields)
        sample = [rng.choice(ids) for _ in range(args.reads)]

        def bare_read(cid: uuid.UUID) -> None:
            with runtime.db.transaction() as session:
                rows = session.execute(
                    select(bare_values.c.field, bare_values.c.value).where(
                        bare_values.c.customer_id == cid, bare_values.c.field.in_(needed)
                    )
                ).all()
                {r.field: json.loads(r.value) for r in rows}

        def vault_read(cid: uuid.UUID) -> None:
            with runtime.db.transaction() as session:
                runtime.vault.read(session, actor=ACTOR, purpose=args.purpose, customer_id=cid)

        def vault_read_uncommitted(cid: uuid.UUID) -> None:
            session = runtime.db.sessions()
            try:
                runtime.vault.read(session, actor=ACTOR, purpose=args.purpose, customer_id=cid)
            finally:
                session.rollback()
                session.close()

        def timed(fn: object) -> list[float]:
            out = []
            for cid in sample:
                t = time.perf_counter()
                fn(cid)  # type: ignore[operator]
                out.append(time.perf_counter() - t)
            return out

        for fn in (bare_read, vault_read):  # warm-up
            for cid in sample[:50]:
                fn(cid)
        results = {
            "bare primary-key read": timed(bare_read),
            "vault read (audited, committed)": timed(vault_read),
            "vault read, rolled back (no commit)": timed(vault_read_uncommitted),
        }

    backend = "PostgreSQL" if args.database_url else "SQLite"
    console.print(
        f"[bold]Read one customer for '{args.purpose}' ({len(needed)} fields) on {backend}, "
        f"{args.reads:,} reads[/]"
    )
    base = statistics.median(results["bare primary-key read"])
    for name, times in results.items():
        median = statistics.median(times)
        p95 = statistics.quantiles(times, n=20)[-1]
        console.print(
            f"  {name:<38} median {median * 1e6:8.0f} µs  p95 {p95 * 1e6:8.0f} µs  "
            f"ratio {median / base:5.2f}"
        )
    console.print("  aim: vault read at most 2x the bare read")


if __name__ == "__main__":
    main()
