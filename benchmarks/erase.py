"""Benchmark: erasing one customer among a million, connectors aside (aim: 50 ms or less).

A million customers are written straight into the tables (a wrapped key, three sealed values
and an e-mail blind-index entry each: collecting them through the vault would only slow the
set-up down), plus a few dozen real customers collected through the vault, with consents. Each
real customer is then erased in its own transaction, as an erasure request does it: legal holds
worked out, held values re-sealed under a new data key, every other value, blind-index entry
and consent row deleted, pending mail dropped, the erasure logged (database and fsynced file),
a certificate signed and an audit entry written, then committed. Half the customers have a
legal hold (invoicing fields), half none (the whole customer row goes).

The baseline, in the same run and database: ``DELETE FROM vault_customers WHERE id = ?`` (the
values, index entries and consents cascading) on customers of the same shape, committed.

    python benchmarks/erase.py [--customers 1000000] [--erasures 40] [--database-url ...]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
import uuid

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import delete

from _common import ACTOR, add_database_option, installation
from confiance import clock
from confiance.consent.rules import State
from confiance.consent.service import Change, ConsentContext
from confiance.db.bulk import BulkInsert
from confiance.demo.generator import CustomerFactory
from confiance.vault.models import BlindIndexEntry, Customer, FieldValue

console = Console(width=120)
CUSTOMERS = BulkInsert(
    Customer.__table__,
    ("id", "kek_id", "wrapped_key", "manifest_seq", "consent_version", "created_at", "updated_at"),
)
VALUES = BulkInsert(
    FieldValue.__table__,
    ("customer_id", "field", "ciphertext", "version", "collected_at", "updated_at"),
)
INDEX = BulkInsert(BlindIndexEntry.__table__, ("field", "digest", "customer_id"))
BATCH = 20_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--erasures", type=int, default=40)
    add_database_option(parser)
    args = parser.parse_args()
    rng = random.Random(5)

    with installation(args.database_url) as runtime:
        kek = runtime.keys.get().primary_id
        now = clock.now()
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("Writing a million customers", total=args.customers)
            for start in range(0, args.customers, BATCH):
                with runtime.db.transaction() as s:
                    dialect = s.get_bind().dialect
                    at = CUSTOMERS.convert(dialect, "created_at", now)
                    customers, values, index = [], [], []
                    for _ in range(start, min(start + BATCH, args.customers)):
                        cid = CUSTOMERS.convert(dialect, "id", uuid.UUID(int=rng.getrandbits(128)))
                        customers.append((cid, kek, os.urandom(77), 1, 0, at, at))
                        for name in ("email", "first_name", "city"):
                            values.append((cid, name, os.urandom(60), 1, at, at))
                        index.append(("email", os.urandom(32), cid))
                    CUSTOMERS.run(s, customers)
                    VALUES.run(s, values)
                    INDEX.run(s, index)
                progress.advance(task, min(BATCH, args.customers - start))

        factory = CustomerFactory(seed=11)
        held_shape = ["order_fulfilment"]
        real: list[tuple[uuid.UUID, bool]] = []
        baseline_ids = []
        context = ConsentContext(channel="privacy_center", method="benchmark")
        for i in range(args.erasures):
            record = factory.customer()
            with_hold = i % 2 == 0
            fields = (
                (
                    "first_name",
                    "last_name",
                    "email",
                    "phone",
                    "street_address",
                    "postal_code",
                    "city",
                    "orders",
                    "payment_token",
                )
                if with_hold
                else ("email", "phone", "payment_token")
            )
            with runtime.unit(ACTOR) as s:
                cid = runtime.vault.collect(
                    s, actor=ACTOR, purposes=held_shape, values={k: record[k] for k in fields}
                ).id
                runtime.consent.record(
                    s,
                    customer_id=cid,
                    changes=[Change("email_marketing", State.GIVEN)],
                    context=context,
                    actor=ACTOR,
                )
                other = runtime.vault.collect(
                    s, actor=ACTOR, purposes=held_shape, values={k: record[k] for k in fields}
                ).id
            real.append((cid, with_hold))
            baseline_ids.append(other)

        bare: list[float] = []
        for cid in baseline_ids:
            started = time.perf_counter()
            with runtime.db.transaction() as s:
                s.execute(delete(Customer).where(Customer.id == cid))
            bare.append(time.perf_counter() - started)

        timings: dict[bool, list[float]] = {True: [], False: []}
        for cid, with_hold in real:
            started = time.perf_counter()
            with runtime.unit(ACTOR) as s:
                report = runtime.eraser.erase(s, customer_id=cid, actor=ACTOR)
            runtime.eraser.after_commit(runtime.db)
            timings[with_hold].append(time.perf_counter() - started)
            assert bool(report.held) is with_hold

    backend = "PostgreSQL" if args.database_url else "SQLite"
    every = timings[True] + timings[False]
    console.print(
        f"[bold]Erasing one customer among {args.customers:,}, {backend} ({len(every)} erasures)[/]"
    )
    console.print(f"  bare DELETE (cascade)   : median {statistics.median(bare) * 1000:6.2f} ms")
    for label, values in (
        ("erasure, legal hold", timings[True]),
        ("erasure, no hold", timings[False]),
    ):
        console.print(
            f"  {label:<24}: median {statistics.median(values) * 1000:6.2f} ms   "
            f"max {max(values) * 1000:6.2f} ms"
        )
    console.print(
        f"  ratio to the bare delete (median of all): "
        f"{statistics.median(every) / statistics.median(bare):.1f}   (aim: 50 ms or less)"
    )


if __name__ == "__main__":
    main()
