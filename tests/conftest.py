"""Shared fixtures: a real database per test, SQLite always, PostgreSQL when configured.

``CONFIANCE_TEST_DATABASE_URL`` (set by CI) points at a PostgreSQL server; tests using the
``db`` fixture then run twice, once per backend. Without it, the PostgreSQL runs are skipped
with a reason. On PostgreSQL the suite works in a schema of its own, dropped at the end.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import create_engine, text

from confiance.actors import Actor
from confiance.config import Settings
from confiance.crypto import Keyring
from confiance.db import Database
from confiance.db.models import Base
from tests.support import ManualClock, install

if TYPE_CHECKING:
    from confiance.runtime import Runtime

PG_URL = os.environ.get("CONFIANCE_TEST_DATABASE_URL")
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def pytest_report_header() -> str:
    where = "SQLite and PostgreSQL" if PG_URL else "SQLite only (CONFIANCE_TEST_DATABASE_URL unset)"
    return f"confiance databases: {where}"


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set CONFIANCE_TEST_DATABASE_URL")
    schema = f"confiance_test_{secrets.token_hex(4)}"
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = Database(PG_URL, schema=schema)
    Base.metadata.create_all(scoped.engine)
    scoped.dispose()
    yield schema
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def _truncate_all(database: Database) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'confiance.db'}")
        Base.metadata.create_all(database.engine)
        yield database
        database.dispose()
    else:
        schema = request.getfixturevalue("pg_schema")
        assert PG_URL is not None
        database = Database(PG_URL, schema=schema)
        _truncate_all(database)
        yield database
        database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """A SQLite file database, for tests that inspect the file's raw bytes."""
    database = Database(f"sqlite:///{tmp_path / 'confiance.db'}")
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def keyring() -> Keyring:
    return Keyring.generate()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def settings(tmp_path: Path) -> Settings:

    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def runtime(db: Database, settings: Settings, keyring: Keyring) -> Iterator[Runtime]:
    """A wired installation on the ``db`` fixture, with the example manifest loaded."""
    rt = install(db, settings, keyring)
    yield rt


@pytest.fixture
def operator() -> Actor:
    return Actor.operator("test-operator")


@pytest.fixture
def make_record(runtime: Runtime) -> Any:
    """Make fictional customers restricted to the fields the non-consent purposes need;
    ``make_record.purposes`` lists those purposes."""
    from confiance.demo.generator import CustomerFactory
    from tests.support import manifest_of, non_consent_purposes

    factory = CustomerFactory(seed=7)
    manifest = manifest_of(runtime)
    purposes = non_consent_purposes(manifest)
    allowed = {f for p in manifest.purposes if p.key in purposes for f in p.fields}

    def make() -> dict[str, Any]:
        return {k: v for k, v in factory.customer().items() if k in allowed}

    make.purposes = purposes  # type: ignore[attr-defined]
    return make


@pytest.fixture
def manual_clock() -> Iterator[ManualClock]:
    """The Confiance clock set by hand for the test, starting at the real time."""
    from confiance import clock

    moved = ManualClock()
    clock.set_clock(lambda: moved.now)
    yield moved
    clock.set_clock(None)
