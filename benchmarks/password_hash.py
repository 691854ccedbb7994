"""Benchmark: the cost of one staff password check with the configured argon2id parameters.

A password hash must be slow for an attacker and quick enough for a person signing in. The
figure printed is the time of one verification with ``CONFIANCE__STAFF__ARGON2_*`` (RFC 9106's
second recommended set by default: t=3, 64 MiB, with as many lanes as this machine has cores),
next to the same check with argon2-cffi's own defaults, measured in the same run.

    python benchmarks/password_hash.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from argon2 import PasswordHasher
from rich.console import Console

from confiance.config import Settings

console = Console(width=120)


def timed(hasher: PasswordHasher, rounds: int) -> float:
    digest = hasher.hash("a sample password to time")
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        hasher.verify(digest, "a sample password to time")
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    staff = Settings().staff
    configured = PasswordHasher(
        time_cost=staff.argon2_time_cost,
        memory_cost=staff.argon2_memory_kib,
        parallelism=staff.argon2_parallelism,
    )
    library = PasswordHasher()
    ours = timed(configured, args.rounds)
    theirs = timed(library, args.rounds)
    console.print(f"[bold]argon2id password check on {os.cpu_count()} cores[/]")
    console.print(
        f"  argon2-cffi defaults (t={library.time_cost}, {library.memory_cost // 1024} MiB, "
        f"p={library.parallelism}) : {theirs:7.1f} ms"
    )
    console.print(
        f"  Confiance (t={staff.argon2_time_cost}, {staff.argon2_memory_kib // 1024} MiB, "
        f"p={staff.argon2_parallelism})          : {ours:7.1f} ms   ratio {ours / theirs:.2f}"
    )
    console.print("  aim: 50 to 250 ms per sign-in, as much memory as that allows")


if __name__ == "__main__":
    main()
