"""Peer environments of the benchmarks: each peer library in a virtual environment of its own.

Peers (Presidio for ``benchmarks/pii.py``; anjana and pycanon, which pin exact numpy and pandas
versions, for ``benchmarks/anonymize.py``) never enter the project's environment. For a peer
named ``NAME``, this creates ``benchmarks/.peers/NAME`` (ignored by git: the folder carries its
own ``.gitignore``) with the interpreter running it, installs ``requirements-NAME.txt`` there,
and returns the path of the peer's Python. The benchmarks call :func:`ensure` themselves; run
this alone to prepare or rebuild an environment ahead of time::

    python benchmarks/peers/peer_env.py pii              # create if missing
    python benchmarks/peers/peer_env.py anonymize --rebuild
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = HERE.parent / ".peers"
NAMES = sorted(p.stem.removeprefix("requirements-") for p in HERE.glob("requirements-*.txt"))


def python_of(env: Path) -> Path:
    return env / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def ensure(name: str, *, rebuild: bool = False) -> Path:
    """The peer's Python, after creating its environment if it is missing or out of date."""
    requirements = HERE / f"requirements-{name}.txt"
    if not requirements.exists():
        raise SystemExit(f"no peer named '{name}'; known: {', '.join(NAMES)}")
    env = PEERS / name
    stamp = env / "requirements.installed"
    PEERS.mkdir(exist_ok=True)
    (PEERS / ".gitignore").write_text("*\n", encoding="utf-8")
    wanted = requirements.read_text(encoding="utf-8")
    if rebuild and env.exists():
        shutil.rmtree(env)
    if stamp.exists() and stamp.read_text(encoding="utf-8") == wanted:
        return python_of(env)
    if not python_of(env).exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(env)
    subprocess.run(
        [str(python_of(env)), "-m", "pip", "install", "--quiet", "-r", str(requirements)],
        check=True,
    )
    stamp.write_text(wanted, encoding="utf-8")
    return python_of(env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=NAMES, help="Which peer environment.")
    parser.add_argument("--rebuild", action="store_true", help="Delete and recreate the env.")
    args = parser.parse_args()
    print(ensure(args.name, rebuild=args.rebuild))


if __name__ == "__main__":
    main()
