"""What an attacker holding the database file sees: no value, no usable key."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from confiance.actors import Actor
from confiance.runtime import Runtime
from confiance.vault.models import Customer, FieldValue

RECENT_DATE = re.compile(r"20[2-9]\d-\d\d-\d\d")


def _needles(record: dict[str, Any], manifest_text: str) -> list[bytes]:
    """Every customer-specific string of a record, as stored text would show it."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str) and len(value) >= 6 and value not in manifest_text:
            # Recent dates (orders, visits) also appear in the rows' own timestamps; birth
            # dates and every other value are customer-specific.
            if RECENT_DATE.fullmatch(value):
                return
            found.append(value)

    walk(record)
    out: list[bytes] = []
    for text in found:
        out.append(text.encode())
        out.append(json.dumps(text, ensure_ascii=False).encode())
        out.append(text.encode("utf-16-le"))
    return out


def test_database_file_journal_and_copy_hold_no_value_and_no_unwrapped_key(
    runtime: Runtime, operator: Actor, make_record: Any, tmp_path: Path
) -> None:
    if not runtime.db.is_sqlite:
        pytest.skip("raw file bytes are inspected on the embedded SQLite database")
    manifest_text = (
        Path(__file__).resolve().parents[2] / "examples" / "maison-exemple.yaml"
    ).read_text()
    records = [make_record() for _ in range(25)]
    with runtime.db.transaction() as s:
        created = runtime.vault.collect_many(
            s, actor=operator, purposes=make_record.purposes, records=records
        )
    ids = [c.id for c in created]
    old_email = records[0]["email"]
    with runtime.db.transaction() as s:
        replaced = s.execute(
            select(FieldValue.ciphertext).where(
                FieldValue.customer_id == ids[0], FieldValue.field == "email"
            )
        ).scalar_one()
    with runtime.db.transaction() as s:
        runtime.vault.read(s, actor=operator, purpose="order_fulfilment", customer_id=ids[0])
        runtime.vault.rectify(
            s,
            actor=operator,
            purpose="order_fulfilment",
            customer_id=ids[0],
            values={"email": "rectifiee@exemple.example"},
        )
    ring = runtime.keys.get()
    with runtime.db.transaction() as s:
        wrapped = {
            row.id: row.wrapped_key for row in s.execute(select(Customer.id, Customer.wrapped_key))
        }
        old_ciphertext_rows = list(s.execute(select(FieldValue.ciphertext)).scalars())
    data_keys = [ring.unwrap(wrapped[i], owner=str(i)).material.reveal() for i in ids]
    secrets = [
        *data_keys,
        *(k.key.material.reveal() for k in ring.keks),
        ring.blind_index_key.reveal(),
        ring.audit_signing_key.reveal(),
    ]
    needles = [n for r in records for n in _needles(r, manifest_text)]
    needles += [b"rectifiee@exemple.example", old_email.encode()]
    assert len(needles) > 100

    db_path = Path(runtime.db.url.database or "")
    copy = tmp_path / "copy.db"
    with sqlite3.connect(db_path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    raw_copy = tmp_path / "raw-copy.db"
    shutil.copyfile(db_path, raw_copy)
    files = [db_path, copy, raw_copy, *db_path.parent.glob(db_path.name + "-*")]
    blobs = {str(p): p.read_bytes() for p in files if p.exists()}
    assert blobs[str(db_path)]
    for name, blob in blobs.items():
        for needle in needles:
            assert needle not in blob, f"a plaintext value is readable in {name}"
        for secret in secrets:
            assert secret not in blob, f"unwrapped key material is readable in {name}"
        assert replaced not in blob, f"the rectified value's old ciphertext lingers in {name}"
    # The ciphertexts are really there (the search above looked at the right bytes).
    assert old_ciphertext_rows and old_ciphertext_rows[0] in blobs[str(db_path)]
