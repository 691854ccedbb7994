"""The erasure replay: what an erased customer leaves in a database, applied to a restore
row by row, and checked before serving.

It mirrors the erasure service's rules:

- erased without held fields: the customer's row goes, and with it every row that refers to
  it (values, blind index, consent events, states and receipts);
- erased with held fields (a legal hold, e.g. invoicing): the customer's row stays with
  ``erased_at`` set, only the values of the held fields stay; every other value, every
  blind-index entry and every consent row goes;
- in both cases, mail to the customer that still holds a sealed address or message goes.

Rows that refer to a customer are found through the foreign keys to ``vault_customers.id``,
so a table added later with such a key is covered without changing this module.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from confiance.db.models import Base
from confiance.erasure.log import ErasureEntry
from confiance.mail.models import MailMessage
from confiance.vault.models import Customer, FieldValue

__all__ = [
    "CUSTOMER_TABLE",
    "ErasedCustomer",
    "ErasurePlan",
    "check_erasures_applied",
    "customer_references",
]

CUSTOMER_TABLE = cast(Table, Customer.__table__).name
_VALUES = cast(Table, FieldValue.__table__).name
_MAIL = cast(Table, MailMessage.__table__).name
_CHUNK = 500


def customer_references() -> dict[str, str]:
    """Table name -> the column that refers to a customer by foreign key."""
    refs: dict[str, str] = {}
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == CUSTOMER_TABLE and fk.column.name == "id":
                refs[table.name] = fk.parent.name
    return refs


def _pid(value: str) -> str:
    """The canonical text of a customer id (ids are UUIDs; anything else is kept as is)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return value


@dataclass(frozen=True, slots=True)
class ErasedCustomer:
    customer_pid: str
    erased_at: datetime
    """The first erasure of this customer."""
    held_fields: frozenset[str]
    """Fields every erasure of this customer held: a field released once never comes back."""


class ErasurePlan:
    """Erasure log entries merged per customer, and the decision for each restored row."""

    def __init__(self, entries: Iterable[ErasureEntry]) -> None:
        merged: dict[str, ErasedCustomer] = {}
        for entry in entries:
            pid = _pid(entry.customer_pid)
            at = entry.erased_at.astimezone(UTC)
            held = frozenset(entry.held_fields)
            known = merged.get(pid)
            if known is not None:
                at = min(at, known.erased_at)
                held &= known.held_fields
            merged[pid] = ErasedCustomer(pid, at, held)
        self.customers = merged
        self.references = customer_references()
        self.kept_erased: set[str] = set()
        """Customers of the backup that the plan erased (fully or down to held fields)."""

    def __len__(self) -> int:
        return len(self.customers)

    def filter(
        self, table: str, columns: Sequence[str], values: tuple[Any, ...]
    ) -> tuple[Any, ...] | None:
        """The row to write (possibly changed), or ``None`` to leave it out."""
        if table == CUSTOMER_TABLE:
            row = dict(zip(columns, values, strict=True))
            erased = self.customers.get(str(row["id"]))
            if erased is None:
                return values
            self.kept_erased.add(erased.customer_pid)
            if not erased.held_fields:
                return None
            if row.get("erased_at") is None or row["erased_at"] > erased.erased_at:
                row["erased_at"] = erased.erased_at
            return tuple(row[c] for c in columns)
        column = self.references.get(table)
        if column is not None:
            customer = values[columns.index(column)]
            erased = self.customers.get(str(customer))
            if erased is None:
                return values
            if table == _VALUES and values[columns.index("field")] in erased.held_fields:
                return values
            return None
        if table == _MAIL and "customer_pid" in columns:
            pid = values[columns.index("customer_pid")]
            if pid is not None and _pid(pid) in self.customers and _holds_sealed(columns, values):
                return None
        return values


def _holds_sealed(columns: Sequence[str], values: tuple[Any, ...]) -> bool:
    return any(
        values[columns.index(c)] is not None
        for c in ("recipient_sealed", "message_sealed")
        if c in columns
    )


def check_erasures_applied(session: Session, entries: Iterable[ErasureEntry]) -> list[str]:
    """Pseudonymous ids of erased customers whose erased data is still in the database (the
    customer's row when nothing was held; otherwise a value outside the held fields, a
    blind-index entry, a consent row, or ``erased_at`` unset), sorted. Empty when every
    erasure of ``entries`` holds."""
    plan = ErasurePlan(entries)
    by_id: dict[uuid.UUID, ErasedCustomer] = {}
    for erased in plan.customers.values():
        try:
            by_id[uuid.UUID(erased.customer_pid)] = erased
        except ValueError:
            continue
    customers = cast(Table, Customer.__table__)
    tables = Base.metadata.tables
    bad: set[str] = set()
    ids = list(by_id)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for cid, erased_at in session.execute(
            select(customers.c.id, customers.c.erased_at).where(customers.c.id.in_(chunk))
        ):
            if not by_id[cid].held_fields or erased_at is None:
                bad.add(str(cid))
        for name, column in plan.references.items():
            table = tables[name]
            if name == _VALUES:
                rows = session.execute(
                    select(table.c[column], table.c.field).where(table.c[column].in_(chunk))
                )
                for cid, field in rows:
                    if field not in by_id[cid].held_fields:
                        bad.add(str(cid))
            else:
                found = session.execute(
                    select(table.c[column]).where(table.c[column].in_(chunk)).distinct()
                ).scalars()
                bad.update(str(cid) for cid in found)
    return sorted(bad)
