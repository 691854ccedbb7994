"""The PII benchmark's peer environment: Presidio in a virtual environment of its own.

Presidio and its dependencies never enter the project's environment. This script creates
``benchmarks/.peers/pii`` (ignored by git: the folder carries its own ``.gitignore``) with the
interpreter running it, installs ``requirements-pii.txt`` there, and prints the path of the
peer's Python. ``benchmarks/pii.py`` calls :func:`ensure` itself; run this alone to prepare or
rebuild the environment ahead of time::

    python benchmarks/peers/pii_env.py            # create if missing
    python benchmarks/peers/pii_env.py --rebuild  # start over
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements-pii.txt"
PEERS = HERE.parent / ".peers"
ENV = PEERS / "pii"
STAMP = ENV / "requirements.installed"


def python_of(env: Path = ENV) -> Path:
    return env / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def ensure(*, rebuild: bool = False) -> Path:
    """The peer's Python, after creating the environment if it is missing or out of date."""
    PEERS.mkdir(exist_ok=True)
    (PEERS / ".gitignore").write_text("*\n", encoding="utf-8")
    wanted = REQUIREMENTS.read_text(encoding="utf-8")
    if rebuild and ENV.exists():
        shutil.rmtree(ENV)
    if STAMP.exists() and STAMP.read_text(encoding="utf-8") == wanted:
        return python_of()
    if not python_of().exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(ENV)
    subprocess.run(
        [str(python_of()), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
        check=True,
    )
    STAMP.write_text(wanted, encoding="utf-8")
    return python_of()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="Delete and recreate the env.")
    args = parser.parse_args()
    print(ensure(rebuild=args.rebuild))


if __name__ == "__main__":
    main()
