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

import pytest
from sqlalchemy import create_engine, text

from confiance.crypto import Keyring
from confiance.db import Database
from confiance.db.models import Base

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
