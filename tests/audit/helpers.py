"""Building audit logs, and tampering with them the way an attacker with SQL access would.

Every tampering helper works with raw SQL on the real database, in its own transaction, and
never through the audit service. Table and column names in the SQL are fixed identifiers of this
module, hence the S608 exemption; values are always bound parameters.
"""

# ruff: noqa: S608

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from faker import Faker
from sqlalchemy import text

from confiance.audit import AuditEvent, AuditLog, encode_entry, entry_hash
from confiance.audit.encoding import GENESIS_HASH
from confiance.audit.service import ENTRY_COLUMNS
from confiance.db import Database

fake = Faker()
Faker.seed(20250314)

ACTIONS = ("vault.collect", "vault.read", "vault.rectify", "apikey.create", "manifest.load")
PURPOSES = ("order-fulfilment", "newsletter", "loyalty", None)
FIELDS = ("email", "first_name", "last_name", "phone", "postal_address", "birth_date")
COLUMNS = ENTRY_COLUMNS


def sample_event(i: int) -> AuditEvent:
    """A plausible entry: a staff member or API key acting on a fictional customer."""
    return AuditEvent(
        action=ACTIONS[i % len(ACTIONS)],
        actor=f"staff:{fake.user_name()}@maison.example" if i % 3 else "apikey:k-crm",
        customer_pid=str(uuid.uuid4()) if i % 4 else None,
        purpose=PURPOSES[i % len(PURPOSES)],
        fields=tuple(FIELDS[j] for j in range(len(FIELDS)) if (i >> j) & 1),
        outcome="ok" if i % 5 else "denied",
        detail=None if i % 2 else "",
    )


def build(db: Database, log: AuditLog, count: int, *, batch: int = 1) -> None:
    """Append ``count`` entries, ``batch`` per transaction (``record`` when 1)."""
    done = 0
    while done < count:
        size = min(batch, count - done)
        with db.transaction() as session:
            if size == 1:
                log.record(session, sample_event(done))
            else:
                log.record_many(session, [sample_event(done + i) for i in range(size)])
        done += size


def build_batches(
    db: Database, log: AuditLog, events: Sequence[AuditEvent], sizes: list[int]
) -> None:
    position = 0
    for size in sizes:
        with db.transaction() as session:
            log.record_many(session, events[position : position + size])
        position += size


def sql(db: Database, statement: str, **params: Any) -> list[Any]:
    with db.engine.begin() as conn:
        result = conn.execute(text(statement), params)
        return list(result) if result.returns_rows else []


def entry(db: Database, seq: int) -> dict[str, Any]:
    rows = sql(db, f"SELECT {', '.join(COLUMNS)} FROM audit_entries WHERE seq = :seq", seq=seq)
    return dict(zip(COLUMNS, rows[0], strict=True))


def entries(db: Database) -> list[dict[str, Any]]:
    rows = sql(db, f"SELECT {', '.join(COLUMNS)} FROM audit_entries ORDER BY seq")
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]


def hash_at(db: Database, seq: int) -> bytes:
    return GENESIS_HASH if seq == 0 else bytes(entry(db, seq)["hash"])


def checkpoint_seqs(db: Database) -> list[int]:
    return [row[0] for row in sql(db, "SELECT seq FROM audit_checkpoints ORDER BY seq")]


def reset(db: Database) -> None:
    for table in ("audit_checkpoints", "audit_entries", "audit_head"):
        sql(db, f"DELETE FROM {table}")


# -- tampering ------------------------------------------------------------------------------
def change(db: Database, seq: int, column: str, value: Any) -> None:
    sql(db, f"UPDATE audit_entries SET {column} = :value WHERE seq = :seq", value=value, seq=seq)


def changed_value(column: str, old: Any) -> Any:
    """A different value of the same type for ``column``."""
    if column == "at_us":
        return old + 1
    if column in ("prev_hash", "hash"):
        raw = bytearray(old)
        raw[0] ^= 0x01
        return bytes(raw)
    return "x" if old != "x" else "y"


def delete(db: Database, seq: int) -> None:
    sql(db, "DELETE FROM audit_entries WHERE seq = :seq", seq=seq)


def forged_row(db: Database, seq: int, *, consistent: bool) -> dict[str, Any]:
    """An entry for position ``seq`` that links to the entry before it.

    ``consistent``: its hash is computed with the published algorithm, as an attacker who read
    the documentation would; otherwise the hash is made up.
    """
    prev = hash_at(db, seq - 1)
    row: dict[str, Any] = {
        "seq": seq,
        "at_us": 1_741_944_413_589_793,
        "actor": "staff:mallory@maison.example",
        "action": "vault.read",
        "customer_pid": str(uuid.uuid4()),
        "purpose": "newsletter",
        "fields": "email",
        "outcome": "ok",
        "detail": None,
        "prev_hash": prev,
    }
    encoded = encode_entry(**{k: v for k, v in row.items() if k != "prev_hash"})
    row["hash"] = entry_hash(prev, encoded) if consistent else bytes(range(32))
    return row


def insert_forged(db: Database, seq: int, *, consistent: bool) -> None:
    """Insert a forged entry at ``seq``, moving the entries from ``seq`` on one place up."""
    row = forged_row(db, seq, consistent=consistent)
    # Two steps, so that no intermediate state violates the primary key.
    sql(db, "UPDATE audit_entries SET seq = -seq WHERE seq >= :seq", seq=seq)
    sql(db, "UPDATE audit_entries SET seq = 1 - seq WHERE seq < 0")
    names = ", ".join(COLUMNS)
    sql(db, f"INSERT INTO audit_entries ({names}) VALUES (:{', :'.join(COLUMNS)})", **row)


def swap(db: Database, a: int, b: int) -> None:
    """Exchange the positions of two entries (each keeps its content and hashes)."""
    sql(db, "UPDATE audit_entries SET seq = -1 WHERE seq = :a", a=a)
    sql(db, "UPDATE audit_entries SET seq = :a WHERE seq = :b", a=a, b=b)
    sql(db, "UPDATE audit_entries SET seq = :b WHERE seq = -1", b=b)


def truncate(db: Database, first: int, *, cover_up: bool) -> None:
    """Delete the entries from ``first`` on.

    ``cover_up``: also delete their checkpoint rows and move the head back, so that the
    database alone is consistent again.
    """
    sql(db, "DELETE FROM audit_entries WHERE seq >= :first", first=first)
    if cover_up:
        sql(db, "DELETE FROM audit_checkpoints WHERE seq >= :first", first=first)
        sql(
            db,
            "UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1",
            seq=first - 1,
            hash=hash_at(db, first - 1),
        )
