"""Property: whatever the log and whichever single tampering, verify names it and where."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confiance.audit import AuditChainBroken, AuditEvent, AuditLog, TamperKind
from confiance.audit.checkpoints import read_checkpoint_file
from confiance.audit.verify import verify_chain
from confiance.crypto import Signer
from confiance.db import Database

from .helpers import (
    ACTIONS,
    FIELDS,
    PURPOSES,
    build_batches,
    change,
    changed_value,
    delete,
    entry,
    insert_forged,
    reset,
    swap,
    truncate,
)

TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=16
)
EVENTS = st.builds(
    AuditEvent,
    action=st.sampled_from(ACTIONS),
    actor=st.sampled_from(("staff:ines@maison.example", "apikey:k-crm", "system:retention")),
    customer_pid=st.none() | st.uuids().map(str),
    purpose=st.sampled_from(PURPOSES),
    fields=st.lists(st.sampled_from(FIELDS), max_size=4).map(tuple),
    outcome=st.sampled_from(("ok", "denied", "not-found")),
    detail=st.none() | TEXT,
)
COLUMNS = (
    "at_us",
    "actor",
    "action",
    "customer_pid",
    "purpose",
    "fields",
    "outcome",
    "detail",
    "prev_hash",
    "hash",
)
NULLABLE = ("customer_pid", "purpose", "detail")


@st.composite
def batch_sizes(draw: st.DrawFn, total: int) -> list[int]:
    sizes: list[int] = []
    while total:
        size = draw(st.integers(1, min(total, 6)))
        sizes.append(size)
        total -= size
    return sizes


def _tamper(db: Database, data: st.DataObject, n: int, file_seqs: list[int]) -> tuple[str, int]:
    """Apply one tampering; return the (kind, seq) verification must report."""
    ops = ["change", "nullify", "delete", "insert", "truncate"] + (["swap"] if n >= 2 else [])
    op = data.draw(st.sampled_from(ops), label="tampering")
    if op in ("change", "nullify"):
        k = data.draw(st.integers(1, n), label="seq")
        if op == "change":
            column = data.draw(st.sampled_from(COLUMNS), label="column")
            change(db, k, column, changed_value(column, entry(db, k)[column]))
        else:
            column = data.draw(st.sampled_from(NULLABLE), label="column")
            change(db, k, column, "" if entry(db, k)[column] is None else None)
        return "changed", k
    if op == "delete":
        k = data.draw(st.integers(1, n), label="seq")
        delete(db, k)
        return ("removed", k) if k < n else ("truncated", n)
    if op == "insert":
        k = data.draw(st.integers(1, n + 1), label="seq")
        insert_forged(db, k, consistent=data.draw(st.booleans(), label="consistent"))
        return "inserted", k
    if op == "swap":
        a = data.draw(st.integers(1, n - 1), label="a")
        b = data.draw(st.integers(a + 1, n), label="b")
        swap(db, a, b)
        return "reordered", a
    # A cut tail is caught in the database, or, when the database was made consistent again,
    # by a checkpoint line in the file; without one beyond the cut, nothing can see it.
    cover_up = bool(file_seqs) and data.draw(st.booleans(), label="cover_up")
    k = data.draw(st.integers(1, max(file_seqs) if cover_up else n), label="first removed")
    truncate(db, k, cover_up=cover_up)
    return "truncated", k


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_single_tampering_is_caught_and_located(
    db: Database, signer: Signer, tmp_path: Path, data: st.DataObject
) -> None:
    reset(db)
    checkpoint_file = tmp_path / f"checkpoints-{uuid.uuid4().hex}.jsonl"
    log = AuditLog(signer, data.draw(st.integers(1, 6), label="every"), checkpoint_file)
    events = data.draw(st.lists(EVENTS, min_size=1, max_size=24), label="events")
    n = len(events)
    build_batches(db, log, events, data.draw(batch_sizes(n), label="batches"))
    assert log.verify(db).entries == n

    file_seqs = [
        line.checkpoint.seq for line in read_checkpoint_file(checkpoint_file) if line.checkpoint
    ]
    kind, seq = _tamper(db, data, n, file_seqs)
    chunk_size = data.draw(st.integers(1, n + 2), label="chunk size")
    with pytest.raises(AuditChainBroken) as caught:
        verify_chain(
            db, public_key=signer.public_key, checkpoint_file=checkpoint_file, chunk_size=chunk_size
        )
    found: tuple[TamperKind, int | None] = (caught.value.kind, caught.value.seq)
    assert found == (kind, seq), caught.value.detail
