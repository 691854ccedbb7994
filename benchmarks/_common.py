"""Shared set-up for the benchmarks: a fresh installation on SQLite or a PostgreSQL schema."""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Column, LargeBinary, MetaData, String, Table, Uuid, create_engine, text

from confiance.actors import Actor
from confiance.config import Settings
from confiance.crypto import Keyring, KeyringSource, write_keyring
from confiance.db import Database
from confiance.db.migrate import upgrade
from confiance.demo.generator import CustomerFactory
from confiance.demo.service import example_manifest_text
from confiance.keys import service as keys_service
from confiance.manifest import service as manifest_service
from confiance.manifest.schemas import LegalBasis, Manifest
from confiance.runtime import Runtime

ACTOR = Actor.system("benchmark")

# The baseline's plaintext rows: one per customer, one per field value.
bare = MetaData()
bare_customers = Table(
    "bench_customers", bare, Column("id", Uuid, primary_key=True), Column("created_at", String(40))
)
bare_values = Table(
    "bench_values",
    bare,
    Column("customer_id", Uuid, primary_key=True),
    Column("field", String(64), primary_key=True),
    Column("value", LargeBinary),
)


def customer_source(
    runtime: Runtime, *, seed: int
) -> tuple[Manifest, list[str], Callable[[], dict[str, Any]]]:
    """The manifest, its purposes without consent, and a maker of fictional customers
    restricted to the fields those purposes need."""
    with runtime.db.transaction() as session:
        manifest = manifest_service.current(session).manifest
    purposes = [p.key for p in manifest.purposes if p.legal_basis is not LegalBasis.CONSENT]
    allowed = {f for p in manifest.purposes if p.key in purposes for f in p.fields}
    factory = CustomerFactory(seed=seed)

    def make() -> dict[str, Any]:
        return {k: v for k, v in factory.customer().items() if k in allowed}

    return manifest, purposes, make


def add_database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL URL (postgresql+psycopg://...); default: a SQLite file in a temp dir",
    )


@contextmanager
def installation(database_url: str | None) -> Iterator[Runtime]:
    with tempfile.TemporaryDirectory(prefix="confiance-bench-") as tmp:
        data_dir = Path(tmp)
        settings = Settings(data_dir=data_dir)
        schema = None
        if database_url:
            schema = f"confiance_bench_{secrets.token_hex(4)}"
            admin = create_engine(database_url)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            # The schema travels in the URL, so a server started from it finds the same tables.
            separator = "&" if "?" in database_url else "?"
            db = Database(f"{database_url}{separator}options=-csearch_path%3D{schema}")
        else:
            db = Database(settings.database_url)
        try:
            upgrade(db)
            write_keyring(settings.keyring_path, Keyring.generate())
            keys = KeyringSource(path=settings.keyring_path)
            runtime = Runtime.assemble(settings, db=db, keys=keys)
            with db.transaction() as session:
                keys_service.ensure_registered(session, keys=keys)
                manifest_service.load(
                    session,
                    text=example_manifest_text(),
                    source_name="maison-exemple.yaml",
                    actor=ACTOR.label,
                )
            yield runtime
        finally:
            db.dispose()
            if schema:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()


@contextmanager
def serving(runtime: Runtime, database_url: str | None, *, workers: int = 1) -> Iterator[str]:
    """``confiance serve`` on the benchmark's installation, in a process of its own; yields its
    base URL once it answers, and stops it afterwards."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFIANCE__")}
    env["CONFIANCE__DATA_DIR"] = str(runtime.settings.data_dir)
    if database_url:
        env["CONFIANCE__DATABASE__URL"] = runtime.db.url.render_as_string(hide_password=False)
    server = subprocess.Popen(
        [sys.executable, "-m", "confiance", "serve", "--port", str(port)]
        + (["--workers", str(workers)] if workers > 1 else []),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
