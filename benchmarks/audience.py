"""Benchmark: streaming the audience of a consent purpose over a million customers.

The customers and their consent states are written straight into the tables (the audience
reads nothing else; collecting a million real customers would only slow the set-up down).
About 60% gave consent to e-mail marketing, some withdrew, some opted out of sale/sharing.
The baseline, in the same run and database: streaming every customer id (as text) with one
bare ``SELECT id FROM vault_customers ORDER BY id`` through the raw driver.

    python benchmarks/audience.py [--customers 1000000] [--database-url ...]
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from datetime import timedelta

from rich.console import Console
from rich.progress import Progress

from _common import add_database_option, installation
from confiance import clock
from confiance.actors import Actor
from confiance.consent.models import ConsentState
from confiance.db.bulk import BulkInsert
from confiance.vault.models import Customer

console = Console(width=120)
CUSTOMERS = BulkInsert(
    Customer.__table__,
    ("id", "kek_id", "wrapped_key", "manifest_seq", "consent_version", "created_at", "updated_at"),
)
STATES = BulkInsert(
    ConsentState.__table__,
    ("customer_id", "target", "state", "channel", "manifest_seq", "at", "expires_at", "event_id"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    add_database_option(parser)
    args = parser.parse_args()
    rng = random.Random(9)
    exporter = Actor("apikey", "emailing", frozenset({"email_marketing"}), frozenset({"audiences"}))

    with installation(args.database_url) as runtime:
        kek = runtime.keys.get().primary_id
        now = clock.now()
        expected = 0
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("Writing customers and consent states", total=args.customers)
            for start in range(0, args.customers, 20_000):
                with runtime.db.transaction() as s:
                    dialect = s.get_bind().dialect
                    at = CUSTOMERS.convert(dialect, "created_at", now)
                    later = CUSTOMERS.convert(dialect, "created_at", now + timedelta(days=300))
                    customers, states = [], []
                    for i in range(start, min(start + 20_000, args.customers)):
                        cid = CUSTOMERS.convert(dialect, "id", uuid.UUID(int=rng.getrandbits(128)))
                        customers.append((cid, kek, b"\0" * 77, 1, 1, at, at))
                        roll = rng.random()
                        if roll < 0.6:
                            states.append((cid, "email_marketing", "given", "api", 1, at, later, i))
                            expected += 1
                        elif roll < 0.7:
                            states.append(
                                (cid, "email_marketing", "withdrawn", "api", 1, at, None, i)
                            )
                    CUSTOMERS.run(s, customers)
                    STATES.run(s, states)
                progress.advance(task, min(20_000, args.customers - start))

        raw = runtime.db.engine.raw_connection()
        try:
            started = time.perf_counter()
            cursor = raw.cursor()
            # As text on PostgreSQL too, as the audience returns them (no UUID objects built).
            column = "id::text" if args.database_url else "id"
            cursor.execute(f"SELECT {column} FROM vault_customers ORDER BY id")
            bare_count = 0
            while rows := cursor.fetchmany(50_000):
                bare_count += len(rows)
            bare = time.perf_counter() - started
        finally:
            raw.close()

        started = time.perf_counter()
        count = sum(
            1
            for _ in runtime.consent.audience(runtime.db, purpose="email_marketing", actor=exporter)
        )
        streamed = time.perf_counter() - started
    assert count == expected, (count, expected)
    backend = "PostgreSQL" if args.database_url else "SQLite"
    console.print(
        f"[bold]Audience of e-mail marketing among {args.customers:,} customers, {backend}[/]"
    )
    console.print(f"  bare SELECT of every id : {bare_count:>9,} ids in {bare:6.2f} s")
    console.print(
        f"  audience, streamed      : {count:>9,} ids in {streamed:6.2f} s   "
        f"ratio {bare / streamed:.2f}   (aim: under 5 s)"
    )


if __name__ == "__main__":
    main()
