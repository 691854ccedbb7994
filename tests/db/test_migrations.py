"""Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from confiance.db import Database
from confiance.db.engine import sqlite_journal_mode
from confiance.db.migrate import current_revision, head_revision, upgrade
from confiance.db.models import Base
from tests.conftest import PG_URL


def _assert_matches_models(database: Database) -> None:
    with database.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []
    assert current_revision(database) == head_revision()


def test_sqlite_migrations_match_the_models(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(database)
    _assert_matches_models(database)
    upgrade(database)  # idempotent
    database.dispose()


def test_postgresql_migrations_match_the_models() -> None:
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set CONFIANCE_TEST_DATABASE_URL")
    schema = "confiance_migrations_test"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    database = Database(PG_URL, schema=schema)
    try:
        upgrade(database)
        _assert_matches_models(database)
    finally:
        database.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_sqlite_connections_are_durable_and_zero_deleted_bytes(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'p.db'}")
    with database.engine.connect() as conn:
        pragmas = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("synchronous", "secure_delete", "foreign_keys", "journal_mode")
        }
    database.dispose()
    assert pragmas["synchronous"] == 2  # FULL
    assert pragmas["secure_delete"] == 1
    assert pragmas["foreign_keys"] == 1
    assert pragmas["journal_mode"] == sqlite_journal_mode()


@pytest.mark.parametrize(
    ("version", "mode"),
    [((3, 40, 1), "truncate"), ((3, 51, 2), "truncate"), ((3, 51, 3), "wal"), ((3, 52, 0), "wal")],
)
def test_wal_only_on_sqlite_versions_without_the_wal_reset_bug(
    version: tuple[int, int, int], mode: str
) -> None:
    assert sqlite_journal_mode(version) == mode


def test_upgrading_a_populated_0001_database_keeps_its_rows(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(database, "0001")
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO api_keys (id, name, secret_hash, purposes, created_at, created_by) "
                "VALUES ('k1', 'crm', x'00', '[\"order_fulfilment\"]', '2026-01-01 00:00:00', 't')"
            )
        )
    upgrade(database)
    with database.engine.connect() as conn:
        scopes = conn.execute(text("SELECT scopes FROM api_keys WHERE id = 'k1'")).scalar_one()
    assert scopes == "[]"
    _assert_matches_models(database)
    database.dispose()
