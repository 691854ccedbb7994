"""Signed checkpoints of the audit chain, and their copy in a file outside the database.

A checkpoint is the chain head (seq, hash) at a moment, signed with the audit key, which lives
in the key ring and never in the database. Each one is stored twice: in ``audit_checkpoints``,
in the transaction that reached it, and as one JSON line appended to the checkpoint file once
that transaction has committed. Someone who can write the database can delete the last entries
together with their checkpoint rows; the lines in the file (or in a copy shipped elsewhere)
still say how far the log went, so the cut is seen.

File format: one JSON object per line, ``format`` ``confiance-audit-checkpoint/1``, ``hash``
and ``signature`` in hex. Lines are written with a single ``write`` on a descriptor opened with
``O_APPEND`` and fsynced, so several processes can append to the same file.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from confiance.audit.encoding import HASH_SIZE, checkpoint_message
from confiance.crypto import Signer, verify_signature

__all__ = [
    "CHECKPOINT_FILE_FORMAT",
    "Checkpoint",
    "FileLine",
    "append_to_file",
    "append_to_file_after_commit",
    "read_checkpoint_file",
]

log = logging.getLogger(__name__)

CHECKPOINT_FILE_FORMAT = "confiance-audit-checkpoint/1"
_PENDING_KEY = "confiance.audit.checkpoint_lines_pending"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The chain head at ``seq``, signed over :func:`checkpoint_message`."""

    seq: int
    hash: bytes
    at_us: int
    key_id: str
    signature: bytes

    @classmethod
    def sign(cls, signer: Signer, *, seq: int, chain_hash: bytes, at_us: int) -> Checkpoint:
        message = checkpoint_message(seq=seq, at_us=at_us, chain_hash=chain_hash)
        return cls(seq, chain_hash, at_us, signer.key_id, signer.sign(message))

    def verify(self, public_key: bytes) -> None:
        """Raise :class:`~confiance.crypto.SignatureInvalid` unless the signature holds."""
        message = checkpoint_message(seq=self.seq, at_us=self.at_us, chain_hash=self.hash)
        verify_signature(public_key, message, self.signature)

    def to_json_line(self) -> str:
        doc = {
            "format": CHECKPOINT_FILE_FORMAT,
            "seq": self.seq,
            "at_us": self.at_us,
            "hash": self.hash.hex(),
            "key_id": self.key_id,
            "signature": self.signature.hex(),
        }
        return json.dumps(doc, separators=(",", ":")) + "\n"

    @classmethod
    def from_json(cls, doc: Any) -> Checkpoint:
        """Parse one decoded JSON line; ``ValueError`` if it is not a checkpoint."""
        if not isinstance(doc, dict) or doc.get("format") != CHECKPOINT_FILE_FORMAT:
            raise ValueError("not a checkpoint line")
        seq, at_us, key_id = doc.get("seq"), doc.get("at_us"), doc.get("key_id")
        if not (isinstance(seq, int) and isinstance(at_us, int) and isinstance(key_id, str)):
            raise ValueError("checkpoint line with missing or mistyped fields")
        chain_hash = bytes.fromhex(str(doc.get("hash")))
        if len(chain_hash) != HASH_SIZE:
            raise ValueError("checkpoint hash is not 32 bytes")
        return cls(seq, chain_hash, at_us, key_id, bytes.fromhex(str(doc.get("signature"))))

    def __repr__(self) -> str:
        return f"Checkpoint(seq={self.seq}, hash={self.hash.hex()[:16]}…, key_id={self.key_id!r})"


@dataclass(frozen=True, slots=True)
class FileLine:
    """One line of the checkpoint file: a checkpoint, or the reason it is not one."""

    number: int
    checkpoint: Checkpoint | None
    seq: int | None = None
    problem: str | None = None


def read_checkpoint_file(path: Path) -> list[FileLine]:
    """Every complete line of the file (none if it does not exist).

    A last line without its newline is a write in progress (or cut by a crash before its
    fsync) and is left out; the writer starts the next line on a fresh line.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")
    lines.pop()  # Empty if the file ends with a newline, else the unfinished last line.
    out: list[FileLine] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        seq: int | None = None
        try:
            doc = json.loads(raw)
            if isinstance(doc, dict) and isinstance(doc.get("seq"), int):
                seq = doc["seq"]
            out.append(FileLine(number, Checkpoint.from_json(doc), seq))
        except ValueError as exc:
            out.append(FileLine(number, None, seq, problem=str(exc) or type(exc).__name__))
    return out


def append_to_file(path: Path, lines: list[str]) -> None:
    """Append whole lines with one ``write`` and fsync them (and the directory if new)."""
    data = "".join(lines).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        size = os.fstat(fd).st_size
        if size:
            os.lseek(fd, size - 1, os.SEEK_SET)
            if os.read(fd, 1) != b"\n":
                # A previous write was cut short: keep its fragment on a line of its own.
                data = b"\n" + data
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    if created and os.name == "posix":
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@dataclass(frozen=True, slots=True)
class _Pending:
    path: Path
    line: str
    seq: int
    transaction: SessionTransaction


def append_to_file_after_commit(session: Session, path: Path, checkpoint: Checkpoint) -> None:
    """Queue a checkpoint line, written only once the session's transaction has committed.

    A rolled-back transaction, or a rolled-back savepoint the checkpoint was made in, drops
    its lines: the file never holds a checkpoint of entries that do not exist.
    """
    pending: list[_Pending] | None = session.info.get(_PENDING_KEY)
    if pending is None:
        pending = session.info[_PENDING_KEY] = []
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_soft_rollback", _after_soft_rollback)
        event.listen(session, "after_transaction_end", _after_transaction_end)
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:
        raise RuntimeError("an audit checkpoint is made inside a transaction")
    pending.append(_Pending(path, checkpoint.to_json_line(), checkpoint.seq, transaction))


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # A savepoint was released; the lines wait for the outermost commit.
    pending: list[_Pending] = session.info[_PENDING_KEY]
    by_path: dict[Path, list[_Pending]] = {}
    for item in pending:
        by_path.setdefault(item.path, []).append(item)
    pending.clear()
    for path, items in by_path.items():
        try:
            append_to_file(path, [item.line for item in items])
        except OSError as exc:
            # The transaction has committed: raising would report a failure for an action that
            # happened. The checkpoints stay in the database; the operator is told loudly.
            log.error(
                "audit checkpoints up to seq %d committed but not copied to %s: %s",
                max(item.seq for item in items),
                path,
                exc.strerror or exc,
            )


def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    pending: list[_Pending] = session.info[_PENDING_KEY]
    pending[:] = [p for p in pending if not _within(p.transaction, previous_transaction)]


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info[_PENDING_KEY].clear()


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False
