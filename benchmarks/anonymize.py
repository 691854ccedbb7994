"""Benchmark: k-anonymity of Adult (8 quasi-identifiers, k = 5), Confiance against anjana.

Side by side, in one run: Confiance's optimal full-domain search and its local recoding,
anjana's greedy k-anonymity (in its own environment, ``benchmarks/.peers/anonymize``, made by
``peers/peer_env.py``), and the known optimum of the data's README (precision loss
0.6875, no suppression). Each release is written to a CSV file and checked for k with pycanon
in the peers' environment, not by Confiance. Precision loss is the mean over the
quasi-identifiers' cells of level / height, a suppressed row counting 1 per cell.

    python benchmarks/anonymize.py
    python benchmarks/anonymize.py --k 10 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ADULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "adult"
QUASI = [
    "sex",
    "age",
    "race",
    "marital-status",
    "education",
    "native-country",
    "workclass",
    "occupation",
]
KNOWN_OPTIMUM = 0.6875


# -- runs inside the peers' environment (pandas, anjana, pycanon; no Confiance) -----------
def peer_worker(job: dict[str, Any]) -> dict[str, Any]:
    import contextlib
    import io

    import pandas as pd
    import pycanon.anonymity
    from anjana.anonymity import k_anonymity_inner  # type: ignore[attr-defined]

    data = pd.read_csv(ADULT / "adult.csv", sep=";", dtype=str)
    hierarchies = {
        qi: dict(pd.read_csv(ADULT / f"adult_hierarchy_{qi}.csv", sep=";", header=None, dtype=str))
        for qi in QUASI
    }
    heights = {qi: len(h) - 1 for qi, h in hierarchies.items()}
    results: dict[str, Any] = {"anjana": {}, "pycanon": {}}
    for suppression in job["suppression"]:
        times = []
        for _ in range(job["repeat"]):
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                released, suppressed, levels = k_anonymity_inner(
                    data, [], QUASI, job["k"], suppression * 100, hierarchies
                )
            times.append(time.perf_counter() - start)
        intensity = sum(levels[qi] / heights[qi] for qi in QUASI) / len(QUASI)
        n = len(data)
        path = Path(job["folder"]) / f"anjana-{suppression}.csv"
        released[QUASI].to_csv(path, sep=";", index=False)
        results["anjana"][str(suppression)] = {
            "seconds": statistics.median(times),
            "precision_loss": (intensity * (n - suppressed) + suppressed) / n,
            "suppressed": int(suppressed),
            "levels": {qi: int(levels[qi]) for qi in QUASI},
            "file": str(path),
        }
    for path in sorted(Path(job["folder"]).glob("*.csv")):
        released = pd.read_csv(path, sep=";", dtype=str)
        results["pycanon"][path.name] = int(pycanon.anonymity.k_anonymity(released, QUASI))
    return results


# -- runs in the project's environment ---------------------------------------------------------
def confiance_runs(
    k: int, suppression: list[float], repeat: int, folder: Path
) -> list[dict[str, Any]]:
    import polars as pl

    from confiance.anonymize import anonymize, load_hierarchies

    table = pl.read_csv(ADULT / "adult.csv", separator=";", infer_schema=False)
    hierarchies = load_hierarchies(ADULT, QUASI)
    rows = []
    cases = [("optimal", s) for s in suppression] + [("local", 0.0)]
    for mode, share in cases:
        times, release = [], None
        for _ in range(repeat):
            start = time.perf_counter()
            release = anonymize(
                table, quasi=QUASI, hierarchies=hierarchies, k=k, suppression=share, mode=mode
            )
            times.append(time.perf_counter() - start)
        assert release is not None
        name = f"confiance-{mode}-{share}.csv"
        release.table.write_csv(folder / name, separator=";")
        rows.append(
            {
                "tool": f"Confiance {mode}",
                "suppression": share,
                "seconds": statistics.median(times),
                "precision_loss": release.metrics.precision_loss,
                "suppressed": release.suppressed,
                "classes": release.metrics.classes,
                "levels": ""
                if release.levels is None
                else "".join(map(str, release.levels.values())),
                "checked": ""
                if release.lattice is None
                else f"{release.lattice.checked}/{release.lattice.nodes}",
                "file": name,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool (median time)")
    parser.add_argument("--suppression", type=float, nargs="+", default=[0.0, 0.01])
    parser.add_argument("--peer-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer_worker:
        job = json.loads(Path(args.peer_worker).read_text(encoding="utf-8"))
        Path(job["output"]).write_text(json.dumps(peer_worker(job)), encoding="utf-8")
        return
    if not ADULT.is_dir():
        raise SystemExit(f"Adult not found at {ADULT}")
    sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
    import peer_env

    peer_python = peer_env.ensure("anonymize")
    with tempfile.TemporaryDirectory(prefix="confiance-anonymize-") as tmp:
        folder = Path(tmp)
        rows = confiance_runs(args.k, args.suppression, args.repeat, folder)
        job = {
            "k": args.k,
            "suppression": args.suppression,
            "repeat": args.repeat,
            "folder": str(folder),
            "output": str(folder / "peer.json"),
        }
        (folder / "job.json").write_text(json.dumps(job), encoding="utf-8")
        subprocess.run(
            [str(peer_python), __file__, "--peer-worker", str(folder / "job.json")], check=True
        )
        peer = json.loads((folder / "peer.json").read_text(encoding="utf-8"))
    for share, result in peer["anjana"].items():
        rows.append(
            {
                "tool": "anjana (greedy)",
                "suppression": float(share),
                "seconds": result["seconds"],
                "precision_loss": result["precision_loss"],
                "suppressed": result["suppressed"],
                "classes": "",
                "levels": "".join(str(v) for v in result["levels"].values()),
                "checked": "",
                "file": Path(result["file"]).name,
            }
        )
    rows.sort(key=lambda r: (r["suppression"], r["tool"]))
    print(f"Adult: 30,162 rows, quasi-identifiers {', '.join(QUASI)}; k = {args.k}")
    print(f"levels in that order; known optimum (k = 5, no suppression): {KNOWN_OPTIMUM}")
    header = (
        f"{'tool':<20} {'max supp.':>9} {'seconds':>8} {'prec. loss':>10} {'vs opt.':>8} "
        f"{'suppr.':>7} {'classes':>7} {'levels':>9} {'nodes':>10} {'pycanon k':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        versus = (
            f"{(r['precision_loss'] / KNOWN_OPTIMUM - 1) * 100:+.1f}%"
            if args.k == 5 and r["suppression"] == 0.0
            else ""
        )
        print(
            f"{r['tool']:<20} {r['suppression']:>9.2%} {r['seconds']:>8.3f} "
            f"{r['precision_loss']:>10.4f} {versus:>8} {r['suppressed']:>7} {r['classes']!s:>7} "
            f"{r['levels']:>9} {r['checked']:>10} {peer['pycanon'][r['file']]:>9}"
        )


if __name__ == "__main__":
    main()
