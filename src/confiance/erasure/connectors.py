"""Erasure in the company's other databases, as the manifest's ``connectors:`` declare them.

Crypto-shredding erases a customer inside Confiance; the same person's rows in a CRM, a shop
database or a newsletter tool are reached by connectors. Each connector names a table, the
column that identifies the customer there (matched against an e-mail, a phone number or
Confiance's customer id) and what to do with the matching rows: delete them, or mask some
columns with fixed values.

Each connector runs on its own engine (no pool, disposed at the end) in its own transaction:
either all of its rows change or none do, and a system that is down or misconfigured is
reported as failed without stopping the others. Results say how many rows were affected,
never which values were matched: the identity is bound as a statement parameter, SQLAlchemy is
told to hide parameters in its errors, and a failure is reported by a stable kind and the
exception's class name only, since a driver's message may quote a URL with its password.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    URL,
    ColumnElement,
    Connection,
    MetaData,
    Table,
    bindparam,
    create_engine,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    IntegrityError,
    NoSuchModuleError,
    NoSuchTableError,
    SQLAlchemyError,
)
from sqlalchemy.pool import NullPool

from confiance.manifest.errors import InvalidFieldValue
from confiance.manifest.schemas import (
    CUSTOMER_ID,
    Connector,
    ConnectorAction,
    FieldType,
    Manifest,
    is_sqlite_file_url,
)

__all__ = ["ERROR_HINTS", "ConnectorResult", "ConnectorStatus", "normalize_identity", "run"]

log = logging.getLogger(__name__)

ConnectorStatus = Literal["done", "skipped", "failed"]

#: What each failure kind means and what to do about it. Fixed texts: nothing from the
#: exception (which may quote a URL, a password or a matched value) is ever shown.
ERROR_HINTS: Mapping[str, str] = {
    "url-not-set": "the environment variable named by 'url_env' is not set or empty; set it "
    "to the system's SQLAlchemy URL",
    "url-invalid": "the URL is not a SQLAlchemy URL (or, written in the manifest, not a "
    "SQLite file); check its form, e.g. 'postgresql+psycopg://user:password@host/db'",
    "driver-missing": "the database driver named in the URL is not installed; install it "
    "beside Confiance",
    "database-missing": "the SQLite file does not exist; check the path in the URL",
    "connection-failed": "the database could not be reached or refused the credentials; "
    "check the host, port, user and password",
    "table-not-found": "the table (or schema) does not exist in this database; check 'table' "
    "and 'schema'",
    "column-not-found": "a column named in 'match' or 'columns' does not exist in the table",
    "integrity-error": "the database refused the change (a foreign key, a NOT NULL or UNIQUE "
    "constraint); nothing was changed in this system",
    "statement-failed": "the statement failed (permissions, column types); nothing was "
    "changed in this system",
    "unexpected": "an unexpected error; nothing was changed in this system",
}

# libpq waits for a silent host for minutes by default; an erasure should report it sooner.
_CONNECT_TIMEOUT_SECONDS = 10
_LIBPQ_DRIVERS = frozenset({"psycopg", "psycopg2"})


@dataclass(frozen=True, slots=True)
class ConnectorResult:
    """What one connector did: the basis of the erasure report, without any personal data."""

    name: str
    action: str
    table: str
    schema: str | None
    #: Rows deleted or masked (with ``dry_run``: rows that would be).
    rows: int
    status: ConnectorStatus
    #: For ``failed``: a key of :data:`ERROR_HINTS`.
    error_kind: str | None = None
    #: For ``failed``: the exception's class name, for whoever debugs it (never its message).
    error_class: str | None = None
    dry_run: bool = False

    @property
    def hint(self) -> str | None:
        return None if self.error_kind is None else ERROR_HINTS[self.error_kind]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "hint": self.hint}


class _Failed(Exception):
    """A connector's failure, already reduced to a kind and a class name."""

    def __init__(self, kind: str, error_class: str | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.error_class = error_class


def normalize_identity(manifest: Manifest, identity: Mapping[str, Any]) -> dict[str, str]:
    """The identity in the form connectors compare: each field's canonical form
    (:meth:`FieldSpec.normalize`, as the vault stores it) and the customer id as a UUID string.

    Only the fields some connector matches on are kept, so a caller may pass a customer's whole
    record; ``None`` values are dropped (the connectors on that field are skipped). Raises
    :class:`UnknownField` for a name the manifest does not declare (a typo would otherwise
    skip a connector) and :class:`InvalidFieldValue`, naming the field, never the value.
    """
    used = {connector.match.field for connector in manifest.connectors}
    normalized: dict[str, str] = {}
    for name, value in identity.items():
        spec = None if name == CUSTOMER_ID else manifest.field(name)
        if value is None or name not in used:
            continue
        if spec is None:
            normalized[name] = _customer_id(value)
            continue
        result = spec.normalize(value)
        if not isinstance(result, str):
            raise InvalidFieldValue(field=name, expected="a text value to match in other systems")
        normalized[name] = result
    return normalized


def _customer_id(value: Any) -> str:
    parsed: uuid.UUID | None = None
    if isinstance(value, uuid.UUID):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = uuid.UUID(value)
        except ValueError:
            parsed = None
    if parsed is None:
        raise InvalidFieldValue(field=CUSTOMER_ID, expected="a customer id (a UUID)")
    return str(parsed)


def run(
    manifest: Manifest,
    *,
    identity: Mapping[str, Any],
    environ: Mapping[str, str] = os.environ,
    dry_run: bool = False,
) -> list[ConnectorResult]:
    """Run every connector of ``manifest`` for one customer, in manifest order.

    ``identity`` maps ``customer_id`` and lookup fields (``email``, ``phone``) to the
    customer's values. It is checked whole before the first connector runs, so a bad value
    changes nothing anywhere. ``environ`` is where ``url_env`` names are read. With
    ``dry_run``, matching rows are counted and nothing is changed.

    Failures are results, not exceptions: one system being down must not keep the erasure
    from reaching the others. The caller records the results (audit entry, erasure report) in
    its own transaction.
    """
    values = normalize_identity(manifest, identity)
    email_fields = {spec.name for spec in manifest.fields if spec.type is FieldType.EMAIL}
    return [
        _run_one(
            connector,
            value=values.get(connector.match.field),
            case_insensitive=connector.match.field in email_fields,
            environ=environ,
            dry_run=dry_run,
        )
        for connector in manifest.connectors
    ]


def _run_one(
    connector: Connector,
    *,
    value: str | None,
    case_insensitive: bool,
    environ: Mapping[str, str],
    dry_run: bool,
) -> ConnectorResult:
    def result(
        status: ConnectorStatus, rows: int = 0, failure: _Failed | None = None
    ) -> ConnectorResult:
        return ConnectorResult(
            name=connector.name,
            action=str(connector.action),
            table=connector.table,
            schema=connector.db_schema,
            rows=rows,
            status=status,
            error_kind=failure.kind if failure else None,
            error_class=failure.error_class if failure else None,
            dry_run=dry_run,
        )

    if value is None:
        log.info("connector %s skipped: no value for its match field", connector.name)
        return result("skipped")
    try:
        rows = _execute(
            connector,
            url=_url(connector, environ),
            value=value,
            case_insensitive=case_insensitive,
            dry_run=dry_run,
        )
    except _Failed as failure:
        log.warning(
            "connector %s failed: %s (%s)", connector.name, failure.kind, failure.error_class
        )
        return result("failed", failure=failure)
    log.info(
        "connector %s %s %d row(s)%s",
        connector.name,
        "matched" if dry_run else str(connector.action) + "d",
        rows,
        " (dry run)" if dry_run else "",
    )
    return result("done", rows=rows)


def _url(connector: Connector, environ: Mapping[str, str]) -> URL:
    if connector.url is not None:
        # The checks refuse such a manifest; a Manifest built in code is refused here too.
        if not is_sqlite_file_url(connector.url):
            raise _Failed("url-invalid")
        text = connector.url
    else:
        text = environ.get(connector.url_env or "", "")
        if not text.strip():
            raise _Failed("url-not-set")
    try:
        url = make_url(text.strip())
    except (ArgumentError, ValueError) as exc:
        # The exception's message may quote the URL, password included.
        raise _Failed("url-invalid", type(exc).__name__) from None
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:"):
            raise _Failed("url-invalid")
        # SQLite would create a missing file and then report a missing table: say what it is.
        if url.query.get("uri") is None and not Path(database).is_file():
            raise _Failed("database-missing")
    return url


def _execute(
    connector: Connector, *, url: URL, value: str, case_insensitive: bool, dry_run: bool
) -> int:
    connect_args: dict[str, Any] = {}
    if url.get_driver_name() in _LIBPQ_DRIVERS and "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = _CONNECT_TIMEOUT_SECONDS
    try:
        engine = create_engine(
            url, poolclass=NullPool, hide_parameters=True, connect_args=connect_args
        )
    except (NoSuchModuleError, ImportError) as exc:
        raise _Failed("driver-missing", type(exc).__name__) from None
    except Exception as exc:
        # Whatever else the dialect raises on this URL: its message may quote the URL.
        raise _Failed("url-invalid", type(exc).__name__) from None
    try:
        try:
            connection = engine.connect()
        except Exception as exc:
            raise _Failed("connection-failed", type(exc).__name__) from None
        with connection:
            return _change(connection, connector, value, case_insensitive, dry_run)
    finally:
        engine.dispose()


def _change(
    connection: Connection,
    connector: Connector,
    value: str,
    case_insensitive: bool,
    dry_run: bool,
) -> int:
    try:
        with connection.begin() as transaction:
            table = _table(connection, connector)
            column = table.c[connector.match.column]
            # Typed as the column, so that a text value compares with a uuid column.
            bound = bindparam("identity", value, type_=column.type)
            condition: ColumnElement[bool] = (
                func.lower(column) == func.lower(bound) if case_insensitive else column == bound
            )
            if dry_run:
                count = connection.execute(
                    select(func.count()).select_from(table).where(condition)
                ).scalar_one()
                transaction.rollback()
                return int(count)
            if connector.action is ConnectorAction.DELETE:
                return connection.execute(delete(table).where(condition)).rowcount
            masks = {table.c[name]: mask for name, mask in (connector.columns or {}).items()}
            return connection.execute(update(table).where(condition).values(masks)).rowcount
    except _Failed:
        raise
    except NoSuchTableError as exc:
        raise _Failed("table-not-found", type(exc).__name__) from None
    except IntegrityError as exc:
        raise _Failed("integrity-error", type(exc).__name__) from None
    except SQLAlchemyError as exc:
        raise _Failed("statement-failed", type(exc).__name__) from None
    except Exception as exc:
        # One system's failure, whatever it is, must not stop the others.
        raise _Failed("unexpected", type(exc).__name__) from None


def _table(connection: Connection, connector: Connector) -> Table:
    """The table as the database describes it: its columns' types bind the values right, and
    a misspelt name is reported before anything changes."""
    table = Table(connector.table, MetaData(), schema=connector.db_schema, autoload_with=connection)
    needed = [connector.match.column, *(connector.columns or {})]
    if any(name not in table.c for name in needed):
        raise _Failed("column-not-found")
    return table
