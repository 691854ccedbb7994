"""Several writers, one chain: the head row lock serialises appends on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from confiance.audit import AuditLog
from confiance.audit.models import AuditEntry
from confiance.db import Database

from .helpers import sample_event

PER_THREAD = 200


def test_two_writers_build_one_linear_chain(db: Database, log: AuditLog) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE; this is the PostgreSQL lock")
    # Both threads start together, so even the lazy creation of the head row is raced.
    start = threading.Barrier(2)
    errors: list[BaseException] = []
    seqs: dict[str, list[int]] = {"a": [], "b": []}

    def writer(name: str) -> None:
        try:
            start.wait()
            for i in range(PER_THREAD):
                with db.transaction() as session:
                    seqs[name].append(log.record(session, sample_event(i)))
        except BaseException as exc:  # Reported by the main thread below.
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(name,)) for name in seqs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(seqs["a"] + seqs["b"]) == list(range(1, 2 * PER_THREAD + 1))
    assert seqs["a"] == sorted(seqs["a"]) and seqs["b"] == sorted(seqs["b"])
    with db.transaction() as session:
        count = session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    assert count == 2 * PER_THREAD
    report = log.verify(db)
    assert report.entries == 2 * PER_THREAD
    assert report.checkpoints == 2 * PER_THREAD // 4
