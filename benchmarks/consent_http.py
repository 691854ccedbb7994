"""Benchmark: consent over HTTP on one API worker (or ``--workers N`` on PostgreSQL): decisions
read, and decisions written (each with its event, state, receipt signed with Ed25519, audit
entry and outbox row, committed durably before it is answered; changes arriving together share
one commit, see ``docs/consent.md``).

Uses ``wrk`` (Debian package ``wrk``) as the load generator; the baseline, measured against
the same server in the same run, is ``GET /health`` (a FastAPI route running ``SELECT 1`` in a
transaction), the floor of any route that touches the database.

    python benchmarks/consent_http.py [--customers 2000] [--seconds 10] [--database-url ...]
        [--workers N]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from rich.console import Console

from _common import ACTOR, add_database_option, customer_source, installation, serving
from confiance.actors import SCOPES
from confiance.apikeys import service as apikeys

console = Console(width=120)

LUA = """
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local i = 0
local method = "%(method)s"
local token = "%(token)s"
request = function()
  i = i + 1
  local path = paths[(i %% #paths) + 1]
  local headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
  local body = nil
  if method == "POST" then
    local state = (i %% 2 == 0) and "given" or "refused"
    body = '{"decisions": {"email_marketing": "' .. state .. '"}, "channel": "privacy_center"}'
  end
  return wrk.format(method, path, headers, body)
end
"""


def _wrk(url: str, script: Path, seconds: int, connections: int = 32) -> tuple[float, float, int]:
    threads = min(2, connections)
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    median_ms = float(p50.group(1)) * scale[p50.group(2)] if p50 else float("nan")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, median_ms, int(errors.group(1)) if errors else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--workers", type=int, default=1, help="API worker processes (PostgreSQL only)"
    )
    add_database_option(parser)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")

    with installation(args.database_url) as runtime:
        _, purposes, make = customer_source(runtime, seed=6)
        ids = []
        for start in range(0, args.customers, 1000):
            batch = [make() for _ in range(min(1000, args.customers - start))]
            with runtime.db.transaction() as s:
                ids += [
                    c.id
                    for c in runtime.vault.collect_many(
                        s, actor=ACTOR, purposes=purposes, records=batch
                    )
                ]
        with runtime.db.transaction() as s:
            _, token = apikeys.create(
                s,
                name="bench",
                purposes=["email_marketing"],
                scopes=sorted(SCOPES),
                actor=ACTOR,
                audit=runtime.audit,
            )
        with (
            serving(runtime, args.database_url, workers=args.workers) as base,
            tempfile.TemporaryDirectory() as tmp,
        ):
            results = {}
            for name, method, paths in (
                ("GET /health (baseline)", "GET", ["/health"]),
                (
                    "GET decision",
                    "GET",
                    [f"/v1/customers/{c}/decisions/email_marketing" for c in ids],
                ),
                ("POST consent change", "POST", [f"/v1/customers/{c}/consents" for c in ids]),
                # One client alone: how long one change takes to be durable and answered.
                ("POST, one client", "POST", [f"/v1/customers/{c}/consents" for c in ids]),
            ):
                if name == "GET decision":
                    # Steady state: each customer's decision asked once before the run (the
                    # first ask per customer and consent version goes through the regular
                    # route, which fills the caches).
                    with httpx.Client(
                        base_url=base, headers={"Authorization": f"Bearer {token}"}
                    ) as warm:
                        for path in paths:
                            warm.get(path).raise_for_status()
                listing = Path(tmp) / f"{len(results)}.txt"
                listing.write_text("\n".join(paths) + "\n")
                script = Path(tmp) / f"{len(results)}.lua"
                script.write_text(LUA % {"paths": listing, "method": method, "token": token})
                connections = 1 if name == "POST, one client" else 32
                results[name] = _wrk(base, script, args.seconds, connections)
        with runtime.db.transaction() as s:
            from sqlalchemy import func, select

            from confiance.consent.models import ConsentReceipt

            receipts = s.execute(select(func.count()).select_from(ConsentReceipt)).scalar_one()

    backend = "PostgreSQL" if args.database_url else "SQLite"
    console.print(
        f"[bold]Consent over HTTP, {args.workers} worker(s), {backend}, wrk -t2 -c32 "
        "(and -c1 for one client)[/]"
    )
    floor = results["GET /health (baseline)"][0]
    for name, (rate, median, errors) in results.items():
        console.print(
            f"  {name:<24} {rate:>8,.0f} req/s  median {median:6.2f} ms  "
            f"ratio {rate / floor:4.2f}  non-2xx {errors}"
        )
    console.print(f"  receipts signed during the run: {receipts:,}")
    console.print("  aims: decisions 3,000/s or more; changes 500/s or more")


if __name__ == "__main__":
    main()
