"""Helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from confiance.actors import Actor
from confiance.config import Settings
from confiance.crypto import Keyring, KeyringSource, write_keyring
from confiance.db import Database
from confiance.keys import service as keys_service
from confiance.manifest import service as manifest_service
from confiance.manifest.schemas import LegalBasis, Manifest
from confiance.runtime import Runtime

EXAMPLE_MANIFEST = Path(__file__).resolve().parents[1] / "examples" / "maison-exemple.yaml"


def install(
    db: Database, settings: Settings, keyring: Keyring, *, actor: Actor | None = None
) -> Runtime:
    """What 'confiance init' and 'manifest load' leave behind on ``db`` (its tables made): the
    key file, the key ring registered, the example manifest loaded and audited."""
    actor = actor or Actor.system("test")
    write_keyring(settings.keyring_path, keyring)
    keys = KeyringSource(path=settings.keyring_path)
    runtime = Runtime.assemble(settings, db=db, keys=keys)
    with db.transaction() as session:
        keys_service.ensure_registered(session, keys=keys)
        manifest_service.load(
            session,
            text=EXAMPLE_MANIFEST.read_text(encoding="utf-8"),
            source_name=EXAMPLE_MANIFEST.name,
            actor=actor.label,
            on_loaded=runtime.manifest_loaded_hook(actor),
        )
    return runtime


def manifest_of(runtime: Runtime) -> Manifest:
    with runtime.db.transaction() as session:
        return manifest_service.current(session).manifest


def non_consent_purposes(manifest: Manifest) -> list[str]:
    return [p.key for p in manifest.purposes if p.legal_basis is not LegalBasis.CONSENT]


class ManualClock:
    """The Confiance clock, starting at the real time and moved by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``confiance ARGS`` in a process of its own with ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "confiance", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def start_server(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[str], str]:
    """Start ``confiance serve ARGS`` on a free port and wait until it answers; return the
    process (its output piped) and its base URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "confiance", "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            output, _ = server.communicate(timeout=30)
            raise AssertionError(f"the server did not start:\n{output}")
        time.sleep(0.2)
