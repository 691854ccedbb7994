"""Benchmark: rows per second pseudonymised from a CSV file, against a bare Polars hash.

Writes a CSV of fictional customers (e-mail, phone, postcode, tier; 1,000,000 rows by
default), then times, each run reading the CSV and writing a new one:

- the baseline: ``pl.col(c).hash()`` on the same columns, Polars' native unkeyed 64-bit hash,
  streamed from CSV to CSV. It is not a pseudonym (unkeyed, so anyone can recompute it), only
  the floor of reading, hashing and writing the file;
- Confiance, one-way: :func:`confiance.pseudonym.files.pseudonymise_file` with the manifest,
  so each e-mail is normalised and each phone number parsed to E.164 before HMAC-SHA256;
- Confiance, one-way without a manifest (values only trimmed): the HMAC cost alone;
- Confiance, reversible (AES-SIV).

    python benchmarks/pseudonymise.py
    python benchmarks/pseudonymise.py --rows 200000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

from confiance.crypto import Keyring, KeyringSource, write_keyring
from confiance.demo.generator import CustomerFactory
from confiance.demo.service import example_manifest_text
from confiance.manifest.loader import parse
from confiance.pseudonym import Pseudonymiser
from confiance.pseudonym.files import pseudonymise_file

COLUMNS = ["email", "phone"]


def make_csv(path: Path, rows: int) -> None:
    """Distinct fictional customers: a few thousand from Faker, repeated with a counter so that
    every e-mail and phone number differs (as in a real customer file)."""
    factory = CustomerFactory(seed=2026)
    base = [factory.customer() for _ in range(5000)]
    emails, phones, postcodes, tiers = [], [], [], []
    for i in range(rows):
        c = base[i % len(base)]
        local, domain = c["email"].split("@")
        emails.append(f"{local}.{i}@{domain}")
        phones.append(factory.phone())
        postcodes.append(c["postal_code"])
        tiers.append(c["loyalty_tier"])
    pl.DataFrame(
        {"email": emails, "phone": phones, "postal_code": postcodes, "loyalty_tier": tiers}
    ).write_csv(path)


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = work / "customers.csv"
        print(f"Writing {args.rows:,} fictional rows...")
        make_csv(source, args.rows)
        write_keyring(work / "keys.json", Keyring.generate())
        keys = KeyringSource(path=work / "keys.json")
        manifest = parse(example_manifest_text()).manifest
        with_manifest = Pseudonymiser(keys, manifest=manifest)
        bare = Pseudonymiser(keys)

        def baseline() -> None:
            (
                pl.scan_csv(source, infer_schema=False)
                .with_columns([pl.col(c).hash().cast(pl.String) for c in COLUMNS])
                .sink_csv(work / "baseline.csv")
            )

        def run(p: Pseudonymiser, name: str, *, reversible: bool = False) -> Callable[[], None]:
            return lambda: pseudonymise_file(
                p,
                source=source,
                target=work / f"{name}.csv",
                columns=COLUMNS,
                reversible=reversible,
            )

        results = [
            ("Polars hash (baseline)", timed(baseline)),
            ("HMAC-SHA256, normalised (manifest)", timed(run(with_manifest, "normalised"))),
            ("HMAC-SHA256, trimmed only", timed(run(bare, "trimmed"))),
            ("AES-SIV, reversible (manifest)", timed(run(with_manifest, "siv", reversible=True))),
        ]
    floor = results[0][1]
    print(f"{'':38} {'seconds':>8} {'rows/s':>12} {'vs baseline':>12}")
    for name, seconds in results:
        print(f"{name:38} {seconds:8.2f} {args.rows / seconds:12,.0f} {seconds / floor:11.1f}x")


if __name__ == "__main__":
    main()
