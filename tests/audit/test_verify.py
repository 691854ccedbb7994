"""Verification against tampering done with raw SQL on the real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from confiance.audit import AuditChainBroken, AuditLog, TamperKind
from confiance.audit.encoding import encode_entry, entry_hash
from confiance.audit.verify import verify_chain
from confiance.crypto import Keyring, Signer
from confiance.db import Database

from . import helpers
from .helpers import build, change, delete, entry, insert_forged, sql, swap, truncate

# 30 entries; checkpoints at 4, 8, 12, 16 (one entry per transaction), then 22, 26 and 30
# (batches of 4 crossing 20, 24 and 28), in the table and the file.
SIZE = 30


@pytest.fixture
def built(db: Database, log: AuditLog) -> Database:
    build(db, log, 18)
    build(db, log, SIZE - 18, batch=4)  # Seq 19-22, 23-26, 27-30: checkpoints at 22, 26, 30.
    return db


def _broken(log: AuditLog, db: Database) -> AuditChainBroken:
    with pytest.raises(AuditChainBroken) as caught:
        log.verify(db)
    return caught.value


def _assert_broken(log: AuditLog, db: Database, kind: TamperKind, seq: int | None) -> None:
    exc = _broken(log, db)
    assert (exc.kind, exc.seq) == (kind, seq), exc.detail


def test_an_untouched_log_verifies(built: Database, log: AuditLog) -> None:
    report = log.verify(built)
    assert (report.entries, report.last_seq) == (SIZE, SIZE)
    assert report.last_hash == bytes(entry(built, SIZE)["hash"]).hex()
    assert report.checkpoints == len(helpers.checkpoint_seqs(built)) == 7
    assert report.checkpoints_in_file == 7
    assert report.rate > 0


def test_an_empty_log_verifies(db: Database, log: AuditLog) -> None:
    report = log.verify(db)
    assert (report.entries, report.checkpoints) == (0, 0)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "staff:mallory@maison.example"),
        ("action", "vault.erase"),
        ("customer_pid", "00000000-0000-4000-8000-000000000000"),
        ("purpose", "newsletter-x"),
        ("fields", "email"),
        ("outcome", "denied-x"),
        ("detail", "edited"),
        ("at_us", 0),
        ("prev_hash", bytes(32)),
        ("hash", bytes(32)),
    ],
)
def test_a_changed_column_is_caught(
    built: Database, log: AuditLog, column: str, value: object
) -> None:
    change(built, 11, column, value)
    _assert_broken(log, built, "changed", 11)


def test_none_turned_into_an_empty_string_is_a_change(built: Database, log: AuditLog) -> None:
    assert entry(built, 12)["detail"] is None and entry(built, 13)["detail"] == ""
    change(built, 12, "detail", "")
    _assert_broken(log, built, "changed", 12)


def test_a_change_with_a_recomputed_hash_is_caught_at_the_changed_entry(
    built: Database, log: AuditLog
) -> None:
    row = entry(built, 9)
    row["actor"] = "staff:mallory@maison.example"
    encoded = encode_entry(**{k: v for k, v in row.items() if k not in ("prev_hash", "hash")})
    change(built, 9, "actor", row["actor"])
    change(built, 9, "hash", entry_hash(bytes(row["prev_hash"]), encoded))
    _assert_broken(log, built, "changed", 9)


def test_a_rewritten_and_rechained_log_is_caught_by_the_next_checkpoint(
    built: Database, log: AuditLog
) -> None:
    # The attacker recomputes every hash from seq 10 on, and the head: only a signature stops it.
    prev = bytes(entry(built, 9)["hash"])
    for seq in range(10, SIZE + 1):
        row = entry(built, seq)
        if seq == 10:
            row["purpose"] = "profiling"
        fields = {k: v for k, v in row.items() if k not in ("prev_hash", "hash")}
        digest = entry_hash(prev, encode_entry(**fields))
        sql(
            built,
            "UPDATE audit_entries SET purpose = :p, prev_hash = :prev, hash = :h WHERE seq = :s",
            p=row["purpose"],
            prev=prev,
            h=digest,
            s=seq,
        )
        prev = digest
    sql(built, "UPDATE audit_head SET hash = :h WHERE id = 1", h=prev)
    exc = _broken(log, built)
    assert (exc.kind, exc.seq) == ("changed", 12)
    assert "after seq 8" in exc.detail


@pytest.mark.parametrize("seq", [1, 15, 29])
def test_a_removed_entry_is_caught(built: Database, log: AuditLog, seq: int) -> None:
    delete(built, seq)
    _assert_broken(log, built, "removed", seq)


def test_removing_the_last_entry_is_a_truncation(built: Database, log: AuditLog) -> None:
    delete(built, SIZE)
    _assert_broken(log, built, "truncated", SIZE)


@pytest.mark.parametrize("seq", [1, 14, 16, SIZE])
@pytest.mark.parametrize("consistent", [True, False], ids=["rehashed", "garbage-hash"])
def test_an_inserted_entry_is_caught(
    built: Database, log: AuditLog, seq: int, consistent: bool
) -> None:
    insert_forged(built, seq, consistent=consistent)
    _assert_broken(log, built, "inserted", seq)


@pytest.mark.parametrize("consistent", [True, False], ids=["rehashed", "garbage-hash"])
def test_an_entry_appended_behind_the_log_is_caught(
    built: Database, log: AuditLog, consistent: bool
) -> None:
    insert_forged(built, SIZE + 1, consistent=consistent)
    _assert_broken(log, built, "inserted", SIZE + 1)


@pytest.mark.parametrize(("a", "b"), [(1, 2), (5, 6), (3, 17), (12, SIZE), (SIZE - 1, SIZE)])
def test_swapped_entries_are_caught_as_reordered(
    built: Database, log: AuditLog, a: int, b: int
) -> None:
    swap(built, a, b)
    _assert_broken(log, built, "reordered", a)


@pytest.mark.parametrize("first", [1, 10, 27])
def test_a_truncated_tail_is_caught(built: Database, log: AuditLog, first: int) -> None:
    truncate(built, first, cover_up=False)
    _assert_broken(log, built, "truncated", first)


@pytest.mark.parametrize("first", [1, 10, 27, SIZE])
def test_a_covered_up_truncation_is_caught_by_the_checkpoint_file(
    built: Database, log: AuditLog, first: int
) -> None:
    # Entries, their checkpoint rows and the head all agree again: only the file remembers.
    truncate(built, first, cover_up=True)
    exc = _broken(log, built)
    assert (exc.kind, exc.seq) == ("truncated", first)
    assert "checkpoint file" in exc.detail


def test_without_the_file_a_covered_up_truncation_goes_unseen(
    built: Database, log: AuditLog
) -> None:
    """The residual risk the file exists for (docs/audit.md): this must stay visible."""
    truncate(built, 10, cover_up=True)
    no_file = AuditLog(log.signer, checkpoint_every=4, checkpoint_file=None)
    assert no_file.verify(built).entries == 9


def test_a_checkpoint_line_with_a_bad_signature_is_caught(
    built: Database, log: AuditLog, checkpoint_file: Path
) -> None:
    lines = checkpoint_file.read_text().splitlines(keepends=True)
    doc = json.loads(lines[2])
    signature = bytearray.fromhex(doc["signature"])
    signature[5] ^= 0x40
    doc["signature"] = signature.hex()
    lines[2] = json.dumps(doc) + "\n"
    checkpoint_file.write_text("".join(lines))
    _assert_broken(log, built, "checkpoint-invalid", doc["seq"])


def test_a_forged_checkpoint_line_beyond_the_end_is_invalid_not_a_truncation(
    built: Database, log: AuditLog, checkpoint_file: Path
) -> None:
    doc = json.loads(checkpoint_file.read_text().splitlines()[-1])
    doc["seq"] = SIZE + 50
    with checkpoint_file.open("a") as f:
        f.write(json.dumps(doc) + "\n")
    _assert_broken(log, built, "checkpoint-invalid", SIZE + 50)


def test_a_checkpoint_row_with_an_altered_hash_is_caught(built: Database, log: AuditLog) -> None:
    sql(built, "UPDATE audit_checkpoints SET hash = :h WHERE seq = 8", h=bytes(32))
    _assert_broken(log, built, "checkpoint-invalid", 8)


def test_checkpoints_signed_by_another_key_are_invalid(built: Database, log: AuditLog) -> None:
    other = Signer(Keyring.generate().audit_signing_key)
    with pytest.raises(AuditChainBroken) as caught:
        log.verify(built, public_key=other.public_key)
    assert (caught.value.kind, caught.value.seq) == ("checkpoint-invalid", 4)


def test_a_line_that_is_not_a_checkpoint_is_caught(
    built: Database, log: AuditLog, checkpoint_file: Path
) -> None:
    with checkpoint_file.open("a") as f:
        f.write("not json\n")
    exc = _broken(log, built)
    assert (exc.kind, exc.seq) == ("checkpoint-invalid", None)
    assert "line 8" in exc.detail


def test_an_unfinished_last_line_is_a_write_in_progress(
    built: Database, log: AuditLog, checkpoint_file: Path
) -> None:
    with checkpoint_file.open("a") as f:
        f.write('{"format":"confiance-audit-checkpoint/1","seq":3')
    assert log.verify(built).checkpoints_in_file == 7


def test_the_first_problem_in_seq_order_is_reported(built: Database, log: AuditLog) -> None:
    delete(built, 20)
    change(built, 7, "actor", "staff:mallory@maison.example")
    _assert_broken(log, built, "changed", 7)


@pytest.mark.parametrize("chunk_size", [1, 3, 4, 29, 30, 31])
def test_chunk_boundaries_do_not_matter(
    built: Database, log: AuditLog, checkpoint_file: Path, chunk_size: int
) -> None:
    def verify() -> int:
        return verify_chain(
            built,
            public_key=log.signer.public_key,
            checkpoint_file=checkpoint_file,
            chunk_size=chunk_size,
        ).entries

    assert verify() == SIZE
    # The forged entry takes seq 12, where a checkpoint sits, and fits the chain: the checkpoint
    # no longer matches, but the genuine entry 12 (now 13) tells what happened.
    insert_forged(built, 12, consistent=True)
    with pytest.raises(AuditChainBroken) as caught:
        verify()
    assert (caught.value.kind, caught.value.seq) == ("inserted", 12)


def test_progress_is_reported_and_writers_are_not_blocked(
    built: Database, log: AuditLog, checkpoint_file: Path
) -> None:
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        if len(seen) == 1:
            # Between two chunks the verifier holds no lock: a writer gets through at once.
            build(built, log, 2)

    report = verify_chain(
        built,
        public_key=log.signer.public_key,
        checkpoint_file=checkpoint_file,
        progress=progress,
        chunk_size=10,
    )
    assert report.entries == SIZE + 2
    assert seen[0] == (10, SIZE)
    assert seen[-1] == (SIZE + 2, SIZE + 2)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
