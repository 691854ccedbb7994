"""Engines and transactions on SQLite and PostgreSQL.

SQLite is the embedded default. Every connection runs with ``synchronous=FULL`` (an
acknowledged commit survives a power cut), ``secure_delete=ON`` (freed pages are zeroed, so
erased ciphertext does not linger in the file) and ``foreign_keys=ON``. Transactions start with
``BEGIN IMMEDIATE``: almost every request of Confiance writes (even a read appends an audit
entry), so taking the write lock up front avoids deadlocked lock upgrades between processes.

SQLite 3.7.0 to 3.51.2 carry the WAL-reset bug, which can corrupt a database in WAL mode when
several connections write and checkpoint concurrently. On those versions Confiance uses the
rollback journal (``journal_mode=TRUNCATE``); WAL is used only from 3.51.3 on. See
``docs/adr/0001-sqlite-journal-mode.md``.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from confiance.errors import ConfigurationError

__all__ = ["WAL_SAFE_SQLITE", "Database", "sqlite_journal_mode"]

log = logging.getLogger(__name__)

WAL_SAFE_SQLITE = (3, 51, 3)


def sqlite_journal_mode(version: tuple[int, int, int] | None = None) -> str:
    """The journal mode that is safe for this SQLite library version."""
    version = version or sqlite3.sqlite_version_info
    return "wal" if version >= WAL_SAFE_SQLITE else "truncate"


class Database:
    """An engine, a session factory and the dialect's specifics."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        pool_size: int = 5,
        schema: str | None = None,
    ) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.is_postgresql = self.url.get_backend_name() == "postgresql"
        if not (self.is_sqlite or self.is_postgresql):
            raise ConfigurationError(
                "Confiance runs on SQLite or PostgreSQL; the database URL must start with "
                "'sqlite:///' or 'postgresql+psycopg://'.",
                backend=self.url.get_backend_name(),
            )
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_postgresql:
            kwargs |= {"pool_size": pool_size, "pool_pre_ping": True}
            if schema is not None:
                # A dedicated schema (used by the test suite) is selected through search_path.
                kwargs["connect_args"] = {"options": f"-csearch_path={schema}"}
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            self.journal_mode = sqlite_journal_mode()
            if self.journal_mode != "wal":
                log.info(
                    "SQLite %s has the WAL-reset bug (fixed in 3.51.3): using the rollback "
                    "journal instead of WAL",
                    sqlite3.sqlite_version,
                )
            _configure_sqlite(self.engine, self.journal_mode)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite takes one writer at a time. Threads of this process queue on this lock rather
        # than on SQLite's busy handler, which sleeps and retries (milliseconds lost per
        # conflict); other processes still wait through busy_timeout.
        self._write_lock = threading.RLock() if self.is_sqlite else None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed on success, rolled back on any error."""
        if self._write_lock is None:
            with self.sessions.begin() as session:
                yield session
            return
        with self._write_lock, self.sessions.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work. On SQLite it starts a deferred transaction, so it neither
        takes nor waits for the write lock; anything it writes is rolled back."""
        with self.engine.connect() as connection:
            connection.execution_options(confiance_read_only=True)
            with Session(bind=connection, expire_on_commit=False) as session:
                try:
                    yield session
                finally:
                    session.rollback()

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"


def _configure_sqlite(engine: Engine, journal_mode: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so that BEGIN IMMEDIATE is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute(f"PRAGMA journal_mode = {journal_mode}")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA secure_delete = ON")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get("confiance_read_only"):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
