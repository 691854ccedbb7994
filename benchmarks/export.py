"""Benchmark: the access/portability export of one customer with 500 orders.

The customer is one of many (other customers, their audit entries and requests share the
tables), with consent changes, a long access trail and past requests. The export decrypts every
value (audited, committed), reads the consent ledger, receipts, audit trail and requests, and
writes the ZIP: data.json, the CSV tables, the HTML summary in French, the receipts.

Two baselines run in the same process, on the same rows:

- bare decryption: read the customer's ciphertexts by primary key, unwrap the data key, open
  every value and dump them as one JSON document (no audit, no ledger, no files);
- audited read: the vault's subject read alone (audit entry, commit) and the same JSON dump.

    python benchmarks/export.py
    python benchmarks/export.py --database-url postgresql+psycopg://postgres@127.0.0.1/test

Aim: the export in 200 ms or less.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from rich.console import Console
from sqlalchemy import select

from _common import ACTOR, add_database_option, customer_source, installation
from confiance import clock
from confiance.consent.rules import State
from confiance.consent.service import Change, ConsentContext
from confiance.crypto import context
from confiance.demo.generator import CustomerFactory
from confiance.rights.export import build_export
from confiance.rights.models import RightsRequest
from confiance.runtime import Runtime
from confiance.vault.models import Customer, FieldValue

console = Console(width=120)


def orders(count: int, *, seed: int) -> list[dict[str, Any]]:
    """``count`` orders shaped as the demo generator makes them, oldest first."""
    factory = CustomerFactory(seed=seed)
    found: list[dict[str, Any]] = []
    while len(found) < count:
        found.extend(factory.customer()["orders"])
    for n, order in enumerate(found):
        order["order_id"] = f"CMD-{n:06d}"
    return sorted(found[:count], key=lambda o: str(o["date"]))


def populate(runtime: Runtime, args: argparse.Namespace) -> uuid.UUID:
    _, purposes, make = customer_source(runtime, seed=4)
    others: list[uuid.UUID] = []
    for start in range(0, args.others, 1000):
        records = [make() for _ in range(min(1000, args.others - start))]
        with runtime.db.transaction() as session:
            created = runtime.vault.collect_many(
                session, actor=ACTOR, purposes=purposes, records=records
            )
        others.extend(c.id for c in created)

    values = make()
    values["orders"] = orders(args.orders, seed=9)
    with runtime.db.transaction() as session:
        subject = runtime.vault.collect(session, actor=ACTOR, purposes=purposes, values=values).id
    decisions = [
        ("email_marketing", "given"),
        ("personalised_offers", "refused"),
        ("email_marketing", "withdrawn"),
        ("personalised_offers", "given"),
        ("email_marketing", "given"),
        ("advertising_partner_sharing", "refused"),
    ]
    for target, state in decisions:
        with runtime.db.transaction() as session:
            runtime.consent.record(
                session,
                customer_id=subject,
                changes=[Change(target, State(state))],
                context=ConsentContext(channel="privacy_center", method="form"),
                actor=ACTOR,
            )
    # A long trail: the subject read for support and delivery, interleaved with other
    # customers' reads so that the audit table is not the subject's alone.
    for n in range(args.accesses):
        purpose = ("order_fulfilment", "customer_support")[n % 2]
        with runtime.db.transaction() as session:
            runtime.vault.read(session, actor=ACTOR, purpose=purpose, customer_id=subject)
            other = others[n % len(others)] if others else subject
            runtime.vault.read(session, actor=ACTOR, purpose=purpose, customer_id=other)
    now = clock.now()
    with runtime.db.transaction() as session:
        for n, pid in enumerate([subject, subject, *others[:200]]):
            session.add(
                RightsRequest(
                    id=uuid.uuid4(),
                    reference=f"R{n:07d}",
                    kind="access",
                    jurisdiction="gdpr",
                    status="completed",
                    channel="privacy_center",
                    language="fr",
                    customer_pid=str(pid),
                    received_at=now - timedelta(days=60),
                    due_at=now - timedelta(days=30),
                    closed_at=now - timedelta(days=40),
                )
            )
    return subject


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--others", type=int, default=5000, help="other customers")
    parser.add_argument("--accesses", type=int, default=300, help="reads of the customer")
    parser.add_argument("--runs", type=int, default=30)
    add_database_option(parser)
    args = parser.parse_args()

    with installation(args.database_url) as runtime:
        with console.status("Loading customers, consent changes, accesses and requests"):
            subject = populate(runtime, args)

        def bare() -> int:
            owner = str(subject)
            with runtime.db.transaction() as session:
                wrapped = session.execute(
                    select(Customer.wrapped_key).where(Customer.id == subject)
                ).scalar_one()
                rows = session.execute(
                    select(FieldValue.field, FieldValue.ciphertext).where(
                        FieldValue.customer_id == subject
                    )
                ).all()
            data_key = runtime.keys.get().unwrap(wrapped, owner=owner)
            values = {
                r.field: json.loads(data_key.open(r.ciphertext, ctx=context(owner, r.field)))
                for r in rows
            }
            return len(json.dumps(values, ensure_ascii=False, indent=2).encode())

        def audited() -> int:
            with runtime.db.transaction() as session:
                values = runtime.vault.subject_values(
                    session, actor=ACTOR, customer_id=subject, reason="rights.access"
                )
            return len(json.dumps(values, ensure_ascii=False, indent=2).encode())

        sizes: dict[str, int] = {}
        counts: dict[str, int] = {}

        def export() -> int:
            with runtime.db.transaction() as session:
                archive = build_export(
                    session, runtime=runtime, actor=ACTOR, customer_id=subject, language="fr"
                )
            counts.update(archive.counts)
            return len(archive.content)

        def timed(name: str, fn: Callable[[], int]) -> list[float]:
            for _ in range(3):  # warm-up
                fn()
            out = []
            for _ in range(args.runs):
                start = time.perf_counter()
                sizes[name] = fn()
                out.append(time.perf_counter() - start)
            return out

        results = {
            "bare decryption + JSON dump": timed("bare", bare),
            "audited subject read + JSON dump": timed("audited", audited),
            "build_export (ZIP: JSON, CSV, HTML)": timed("export", export),
        }

    backend = "PostgreSQL" if args.database_url else "SQLite"
    console.print(
        f"[bold]Export one customer with {counts.get('items.orders', 0)} orders on {backend}, "
        f"{args.runs} runs[/]  (access trail {counts.get('access_log', 0)} entries, "
        f"{counts.get('consent_events', 0)} consent events, {counts.get('requests', 0)} "
        f"requests; {args.others:,} other customers)"
    )
    base = statistics.median(results["bare decryption + JSON dump"])
    for (name, times), size in zip(results.items(), sizes.values(), strict=True):
        median = statistics.median(times)
        p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else median
        console.print(
            f"  {name:<38} median {median * 1e3:7.1f} ms  p95 {p95 * 1e3:7.1f} ms  "
            f"ratio {median / base:6.1f}  output {size / 1024:7.1f} KiB"
        )
    console.print("  aim: build_export at most 200 ms")


if __name__ == "__main__":
    main()
