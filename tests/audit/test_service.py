"""Appending to the audit chain: entries, the head, checkpoints in the table and the file."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from confiance.audit import AuditEvent, AuditLog, AuditWriteFailed, Checkpoint
from confiance.audit.checkpoints import read_checkpoint_file
from confiance.audit.encoding import GENESIS_HASH, encode_entry, entry_hash
from confiance.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from confiance.crypto import Keyring, Signer
from confiance.crypto.errors import SignatureInvalid
from confiance.db import Database

from .helpers import build, checkpoint_seqs, entries, reset, sample_event, sql


def _file_seqs(path: Path) -> list[int]:
    return [line.checkpoint.seq for line in read_checkpoint_file(path) if line.checkpoint]


def test_record_appends_a_linked_entry_with_field_names_only(
    db: Database, log: AuditLog, fixed_clock: datetime
) -> None:
    event = AuditEvent(
        action="vault.read",
        actor="staff:camille@maison.example",
        customer_pid="9f0c6a4e-1f43-4f7a-9d55-2b8f4c1e7a10",
        purpose="order-fulfilment",
        fields=("phone", "email", "phone"),
    )
    with db.transaction() as session:
        assert log.record(session, event) == 1
        assert log.record(session, event) == 2

    first, second = entries(db)
    assert first["fields"] == "email,phone"
    assert (first["outcome"], first["detail"]) == ("ok", None)
    at_us = 1_741_944_413_589_793
    assert first["at_us"] == at_us
    expected = entry_hash(
        GENESIS_HASH,
        encode_entry(
            seq=1,
            at_us=at_us,
            actor=event.actor,
            action=event.action,
            customer_pid=event.customer_pid,
            purpose=event.purpose,
            fields="email,phone",
            outcome="ok",
            detail=None,
        ),
    )
    assert (bytes(first["prev_hash"]), bytes(first["hash"])) == (GENESIS_HASH, expected)
    assert bytes(second["prev_hash"]) == expected
    with db.transaction() as session:
        head = session.get(AuditHead, 1)
        assert head is not None
        assert (head.seq, head.hash) == (2, second["hash"])


def test_record_many_chains_exactly_like_repeated_record(
    db: Database, log: AuditLog, fixed_clock: datetime
) -> None:
    events = [sample_event(i) for i in range(11)]
    with db.transaction() as session:
        for event in events:
            log.record(session, event)
    one_by_one = entries(db)
    checkpoints_one_by_one = checkpoint_seqs(db)

    reset(db)
    with db.transaction() as session:
        assert log.record_many(session, events[:5]) == 5
        assert log.record_many(session, events[5:]) == 11
    assert entries(db) == one_by_one
    # One append crossing one or more multiples of 4 signs one checkpoint, at its last entry.
    assert checkpoints_one_by_one == [4, 8]
    assert checkpoint_seqs(db) == [5, 11]
    assert log.verify(db).entries == 11


def test_record_many_of_nothing_writes_nothing(db: Database, log: AuditLog) -> None:
    with db.transaction() as session:
        assert log.record_many(session, []) == 0
        assert session.execute(select(func.count()).select_from(AuditHead)).scalar_one() == 0


def test_checkpoints_are_signed_and_copied_to_the_file_after_commit(
    db: Database, log: AuditLog, signer: Signer, checkpoint_file: Path
) -> None:
    for i in range(9):
        with db.transaction() as session:
            log.record(session, sample_event(i))
            if i == 3:
                # Inside the transaction that reached it: in the table, not yet in the file.
                assert session.get(AuditCheckpoint, 4) is not None
                assert not checkpoint_file.exists()
    assert checkpoint_seqs(db) == [4, 8]
    lines = read_checkpoint_file(checkpoint_file)
    assert [line.checkpoint for line in lines] == [
        Checkpoint(r.seq, r.hash, r.at_us, r.key_id, r.signature)
        for r in sql(db, "SELECT seq, hash, at_us, key_id, signature FROM audit_checkpoints")
    ]
    for line in lines:
        assert line.checkpoint is not None
        line.checkpoint.verify(signer.public_key)
        assert line.checkpoint.key_id == signer.key_id
        assert line.checkpoint.hash == bytes(entries(db)[line.checkpoint.seq - 1]["hash"])
    doc = json.loads(checkpoint_file.read_text().splitlines()[0])
    assert doc["format"] == "confiance-audit-checkpoint/1"


def test_a_checkpoint_signature_does_not_verify_with_another_key(
    db: Database, log: AuditLog
) -> None:
    build(db, log, 4)
    with db.transaction() as session:
        cp = log.checkpoint(session)
    assert cp is not None
    other = Signer(Keyring.generate().audit_signing_key)
    with pytest.raises(SignatureInvalid):
        cp.verify(other.public_key)


def test_a_rolled_back_transaction_leaves_no_entry_and_no_checkpoint_line(
    db: Database, log: AuditLog, checkpoint_file: Path
) -> None:
    build(db, log, 3)
    with pytest.raises(RuntimeError), db.transaction() as session:
        log.record_many(session, [sample_event(i) for i in range(3, 9)])
        assert session.get(AuditCheckpoint, 9) is not None
        raise RuntimeError("the audited action failed")
    assert not checkpoint_file.exists()
    assert len(entries(db)) == 3
    assert log.verify(db).entries == 3

    build(db, log, 2)  # Seq 4 and 5: crosses 4 again, and commits this time.
    assert _file_seqs(checkpoint_file) == [4]


def test_a_rolled_back_savepoint_drops_only_its_checkpoint_line(
    db: Database, log: AuditLog, checkpoint_file: Path
) -> None:
    build(db, log, 3)
    with db.transaction() as session:
        with pytest.raises(RuntimeError), session.begin_nested():
            log.record(session, sample_event(3))  # Seq 4: a checkpoint, rolled back below.
            raise RuntimeError("inner step failed")
        with session.begin_nested():
            log.record_many(session, [sample_event(i) for i in range(4)])  # Seq 4 to 7.
        assert not checkpoint_file.exists()  # Released savepoint: still waiting for the commit.
    assert _file_seqs(checkpoint_file) == [7]
    assert checkpoint_seqs(db) == [7]
    assert log.verify(db).entries == 7


def test_forced_checkpoint_signs_the_current_head_once(
    db: Database, log: AuditLog, checkpoint_file: Path
) -> None:
    with db.transaction() as session:
        assert log.checkpoint(session) is None
    build(db, log, 6)
    with db.transaction() as session:
        cp = log.checkpoint(session)
    with db.transaction() as session:
        again = log.checkpoint(session)
    assert cp is not None
    assert cp.seq == 6
    assert again == cp
    assert checkpoint_seqs(db) == [4, 6]
    assert _file_seqs(checkpoint_file) == [4, 6]


def test_a_failed_write_raises_and_the_action_rolls_back(db: Database, log: AuditLog) -> None:
    build(db, log, 2)
    # An entry that already occupies the next position makes the append collide.
    sql(
        db,
        "INSERT INTO audit_entries (seq, at_us, actor, action, fields, outcome, prev_hash, hash) "
        "VALUES (3, 0, 'x', 'x', '', 'ok', :h, :h)",
        h=bytes(32),
    )
    with pytest.raises(AuditWriteFailed), db.transaction() as session:
        session.add(AuditCheckpoint(seq=99, hash=bytes(32), at_us=0, key_id="k", signature=b""))
        session.flush()
        log.record(session, sample_event(2))
    with db.transaction() as session:
        assert session.get(AuditCheckpoint, 99) is None
        head = session.get(AuditHead, 1)
        assert head is not None
        assert head.seq == 2


def test_a_checkpoint_file_that_cannot_be_written_is_reported_not_raised(
    db: Database, signer: Signer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-file"
    blocked.mkdir()
    log = AuditLog(signer, checkpoint_every=1, checkpoint_file=blocked)
    with (
        caplog.at_level(logging.ERROR, logger="confiance.audit.checkpoints"),
        db.transaction() as session,
    ):
        log.record(session, sample_event(0))
    assert "seq 1 committed but not copied" in caplog.text
    assert checkpoint_seqs(db) == [1]


def test_the_writer_starts_a_fresh_line_after_a_torn_write(
    db: Database, log: AuditLog, checkpoint_file: Path
) -> None:
    checkpoint_file.write_text('{"format":"confiance-audit-checkp')
    build(db, log, 4)
    lines = checkpoint_file.read_text().splitlines()
    assert lines[0] == '{"format":"confiance-audit-checkp'
    assert json.loads(lines[1])["seq"] == 4


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fields": ("email,phone",)},
        {"fields": ("",)},
        {"action": "a" * 65},
        {"customer_pid": "c" * 37},
        {"detail": "nul\x00"},
        {"action": ""},
    ],
)
def test_malformed_events_are_refused(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {"action": "vault.read", "actor": "staff:x"}
    with pytest.raises(ValueError):
        AuditEvent(**(base | kwargs))  # type: ignore[arg-type]


def test_a_batch_crossing_a_multiple_is_checkpointed_at_its_last_entry(
    db: Database, log: AuditLog
) -> None:
    build(db, log, 10, batch=3)  # Seq 1-3, 4-6 (crosses 4), 7-9 (crosses 8), 10.
    with db.transaction() as session:
        assert session.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == 10
    assert checkpoint_seqs(db) == [6, 9]
    assert log.verify(db).checkpoints == 2
