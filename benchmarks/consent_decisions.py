"""Benchmark: consent decisions per second, in process (cached) and through the ledger.

In process, a service that already holds a customer's consent version (the vault reads it with
the customer's row) asks the ledger's cache: the baseline is a bare dict lookup of the same keys
in the same run, the floor of any in-process cache. Through the ledger, `allows()` reads the
customer's consent version from the database first (one primary-key query), then the cache.

    python benchmarks/consent_decisions.py [--customers 10000] [--database-url ...]
"""

from __future__ import annotations

import argparse
import random
import time

from rich.console import Console
from sqlalchemy import select

from _common import ACTOR, add_database_option, customer_source, installation
from confiance.actors import Actor
from confiance.consent.rules import State
from confiance.consent.service import Change, ConsentContext
from confiance.manifest import service as manifest_service
from confiance.vault.models import Customer

console = Console(width=120)
PURPOSES = ("email_marketing", "personalised_offers", "analytics", "order_fulfilment")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--decisions", type=int, default=2_000_000)
    add_database_option(parser)
    args = parser.parse_args()
    rng = random.Random(5)
    writer = Actor.system("benchmark")

    with installation(args.database_url) as runtime:
        _, purposes, make = customer_source(runtime, seed=4)
        ids = []
        with console.status(f"Loading {args.customers:,} customers with decisions"):
            for start in range(0, args.customers, 1000):
                batch = [make() for _ in range(min(1000, args.customers - start))]
                with runtime.db.transaction() as s:
                    created = runtime.vault.collect_many(
                        s, actor=ACTOR, purposes=purposes, records=batch
                    )
                    for c in created:
                        runtime.consent.record(
                            s,
                            customer_id=c.id,
                            changes=[
                                Change("email_marketing", rng.choice((State.GIVEN, State.REFUSED)))
                            ],
                            context=ConsentContext(),
                            actor=writer,
                        )
                ids.extend(c.id for c in created)
        with runtime.db.transaction() as s:
            loaded = manifest_service.current(s)
            versions = {
                r.id: r.consent_version
                for r in s.execute(select(Customer.id, Customer.consent_version))
            }
            # Warm the cache through the public path, as the vault's reads do.
            for c in ids:
                for p in PURPOSES:
                    runtime.consent.allows(
                        s, customer_id=c, purpose=p, loaded=loaded, consent_version=versions[c]
                    )
        keys = [
            (rng.choice(ids), rng.choice(PURPOSES)) for _ in range(min(args.decisions, 1_000_000))
        ]
        seq = loaded.seq
        keyed = [(c, p, versions[c]) for c, p in keys]
        plain = {(c, p, versions[c], seq): True for c in ids for p in PURPOSES}

        started = time.perf_counter()
        for c, p, v in keyed:
            plain.get((c, p, v, seq))
        bare = time.perf_counter() - started

        decide = runtime.consent.decide_cached
        started = time.perf_counter()
        for c, p, v in keyed:
            decide(c, p, v, seq)
        cached = time.perf_counter() - started

        sample = keys[:20_000]
        started = time.perf_counter()
        with runtime.db.transaction() as s:
            for c, p in sample:
                runtime.consent.allows(s, customer_id=c, purpose=p, loaded=loaded)
        through = time.perf_counter() - started

    n = len(keys)
    backend = "PostgreSQL" if args.database_url else "SQLite"
    console.print(f"[bold]Consent decisions, {args.customers:,} customers, {backend}[/]")
    console.print(f"  bare dict lookup            : {n / bare:>12,.0f} /s")
    console.print(
        f"  cached decision (in process): {n / cached:>12,.0f} /s   ratio {bare / cached:.2f}"
        "   (aim: 1,000,000/s)"
    )
    console.print(
        f"  allows() reading the version: {len(sample) / through:>12,.0f} /s   "
        "(one primary-key query each)"
    )


if __name__ == "__main__":
    main()
