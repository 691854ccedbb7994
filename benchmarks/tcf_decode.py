"""Benchmark: TC strings decoded (and validated) per second, against the floor of unpacking them.

Decodes each published string in ``../shared/data/tcf`` (the valid vectors and the seeds)
with :func:`confiance.consent.tcf.decode` in strict mode, and encodes the result back. The
floor, measured in the same run: turning each string's characters into its bit string, the
first step of any decoder, with no field read and no check.

    python benchmarks/tcf_decode.py
    python benchmarks/tcf_decode.py --seconds 3
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path

from confiance.consent.tcf import InvalidTCString, decode, encode

TCF_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "tcf"
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
TO_BITS = str.maketrans({c: format(i, "06b") for i, c in enumerate(ALPHABET)})


def published() -> list[tuple[str, str]]:
    cases = [
        (f"vector {i}", case["tc_string"])
        for i, case in enumerate(
            json.loads((TCF_DATA / "vectors.json").read_text(encoding="utf-8"))["tcf_v2_valid"]
        )
    ]
    for path in sorted((TCF_DATA / "seeds-v2").glob("*.json")):
        cases.append((path.stem, json.loads(path.read_text(encoding="utf-8"))["consent"]))
    return cases


def rate(work: Callable[[], object], seconds: float) -> float:
    """Calls per second, over at least ``seconds`` of repeated calls."""
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(50):
            work()
        count += 50
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = parser.parse_args()
    if not TCF_DATA.is_dir():
        raise SystemExit(f"reference data not found at {TCF_DATA}")
    print(f"{'string':<12} {'chars':>6} {'floor/s':>10} {'decode/s':>10} {'encode/s':>10}")
    for name, tc_string in published():
        floor = rate(lambda s=tc_string: [p.translate(TO_BITS) for p in s.split(".")], args.seconds)
        try:
            model = decode(tc_string)
        except InvalidTCString:
            rejected = rate(lambda s=tc_string: _reject(s), args.seconds)
            print(f"{name:<12} {len(tc_string):>6} {floor:>10,.0f} {rejected:>10,.0f}   (rejected)")
            continue
        decoded = rate(lambda s=tc_string: decode(s), args.seconds)
        encoded = rate(lambda m=model: encode(m), args.seconds)
        print(f"{name:<12} {len(tc_string):>6} {floor:>10,.0f} {decoded:>10,.0f} {encoded:>10,.0f}")


def _reject(tc_string: str) -> None:
    with contextlib.suppress(InvalidTCString):
        decode(tc_string)


if __name__ == "__main__":
    main()
