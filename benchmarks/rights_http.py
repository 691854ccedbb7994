"""Benchmark: creating a rights request over HTTP (aim: 10 ms or less).

Each request is validated, its address sealed and digested, written with its first history
step, an audit entry, a one-time code (keyed hash) and the code's e-mail in the outbox (sealed),
and committed durably, before the answer leaves. Sequential requests from one client against
``confiance serve`` (one worker); every request uses its own address, so the hourly limit of
codes per address never applies. The baseline, against the same server in the same run, is
``GET /health`` (a route running ``SELECT 1`` in a transaction).

    python benchmarks/rights_http.py [--requests 500] [--database-url ...]
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx
from rich.console import Console
from rich.progress import Progress

from _common import add_database_option, installation, serving

console = Console(width=120)


def _timed(client: httpx.Client, count: int, call: object, label: str) -> list[float]:
    timings = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(label, total=count)
        for i in range(count):
            started = time.perf_counter()
            response = call(client, i)  # type: ignore[operator]
            timings.append(time.perf_counter() - started)
            response.raise_for_status()
            progress.advance(task)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    add_database_option(parser)
    args = parser.parse_args()

    with (
        installation(args.database_url) as runtime,
        serving(runtime, args.database_url) as base,
        httpx.Client(base_url=base, timeout=10) as client,
    ):
        # Warm-up: imports, caches, connections.
        for i in range(20):
            client.get("/health")
            client.post(
                "/v1/rights/requests",
                json={"kind": "access", "email": f"warm{i}@courriel.example"},
            )
        health = _timed(client, args.requests, lambda c, i: c.get("/health"), "GET /health")
        created = _timed(
            client,
            args.requests,
            lambda c, i: c.post(
                "/v1/rights/requests",
                json={
                    "kind": ("access", "erasure", "opt_out_sale")[i % 3],
                    "email": f"demandeur{i}@courriel.example",
                    "language": "fr",
                },
            ),
            "POST /v1/rights/requests",
        )

    def ms(values: list[float], q: int) -> float:
        if q == 50:
            return statistics.median(values) * 1000
        return statistics.quantiles(values, n=100)[q - 1] * 1000

    backend = "PostgreSQL" if args.database_url else "SQLite"
    console.print(f"[bold]Creating a rights request over HTTP, {backend}, one worker[/]")
    for label, values in (("GET /health (baseline)", health), ("POST rights request", created)):
        console.print(
            f"  {label:<24}: median {ms(values, 50):6.2f} ms   p95 {ms(values, 95):6.2f} ms"
        )
    ratio = statistics.median(created) / statistics.median(health)
    console.print(f"  ratio to the baseline (median): {ratio:.1f}   (aim: 10 ms or less)")


if __name__ == "__main__":
    main()
