"""Verification of the audit chain: recompute it, compare it with its signed checkpoints.

Entries are read in seq order, in chunks, each chunk in its own short transaction, so a long
verification never holds SQLite's write lock for more than one chunk. Each chunk transaction
also reads the head row, in the same snapshot (``BEGIN IMMEDIATE`` on SQLite, ``REPEATABLE
READ`` on PostgreSQL), so head and entries always agree even while the API keeps appending.

The checkpoint file is read first: every line in it was written after its transaction
committed, so the entries it names are visible to every later read. A checkpoint beyond the
last entry therefore always means a cut tail, never a race with a writer.

The fast path (:func:`confiance.audit.encoding.verify_run`) stops at the first row that does not
fit; only then does :class:`_Diagnosis` look around (queries by hash, with no index: a failed
verification may be slow, a successful one must be fast) to say what happened there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, LargeBinary, Table, literal_column, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.sql import ColumnElement, func

from confiance.audit.checkpoints import Checkpoint, read_checkpoint_file
from confiance.audit.encoding import GENESIS_HASH, TEXT_SLOTS, RawRow, raw_row_hash, verify_run
from confiance.audit.errors import AuditChainBroken
from confiance.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from confiance.crypto.errors import SignatureInvalid
from confiance.db import Database

__all__ = ["CHUNK_SIZE", "VerifyReport", "verify_chain"]

CHUNK_SIZE = 20_000
"""Entries read per transaction: about 40 ms of SQLite's lock on a small machine."""

_entries = cast(Table, AuditEntry.__table__)
_head = cast(Table, AuditHead.__table__)
_checkpoints = cast(Table, AuditCheckpoint.__table__)


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What a successful verification covered."""

    entries: int
    last_seq: int
    last_hash: str
    """Hex SHA-256 of the last entry (the value to compare with a copy kept elsewhere)."""
    checkpoints: int
    """Distinct signed checkpoints checked (one in both the table and the file counts once)."""
    checkpoints_in_file: int
    seconds: float
    rate: float
    """Entries verified per second."""

    def as_dict(self) -> dict[str, int | float | str]:
        return {
            "entries": self.entries,
            "last_seq": self.last_seq,
            "last_hash": self.last_hash,
            "checkpoints": self.checkpoints,
            "checkpoints_in_file": self.checkpoints_in_file,
            "seconds": self.seconds,
            "rate": self.rate,
        }


@dataclass(slots=True)
class _Known:
    """A checkpoint to check, with where it was found (the table, file lines, or both)."""

    checkpoint: Checkpoint
    sources: list[str] = field(default_factory=list)

    def where(self) -> str:
        return " and ".join(self.sources)


class _Reader:
    """Reads entries with their text columns as UTF-8 bytes, straight from the driver.

    The SQL is built by SQLAlchemy; the rows are taken from the DBAPI cursor because result
    rows cost more than the hashing itself, and the bytes go to the hash unchanged.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        texts: list[ColumnElement[Any]]
        if db.is_postgresql:
            texts = [func.convert_to(_entries.c[n], literal_column("'UTF8'")) for n in TEXT_SLOTS]
        else:
            texts = [sql_cast(_entries.c[n], LargeBinary) for n in TEXT_SLOTS]
        self.columns = [
            _entries.c.seq,
            _entries.c.at_us,
            *texts,
            _entries.c.prev_hash,
            _entries.c.hash,
        ]

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        with self.db.engine.connect() as conn:
            if self.db.is_postgresql:
                conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                yield conn

    def _rows(
        self, conn: Connection, *where: ColumnElement[bool], limit: int | None = None
    ) -> list[RawRow]:
        stmt = select(*self.columns).where(*where).order_by(_entries.c.seq).limit(limit)
        return cast(list[RawRow], conn.execute(stmt).cursor.fetchall())

    def chunk(self, conn: Connection, after: int, size: int) -> list[RawRow]:
        return self._rows(conn, _entries.c.seq > after, limit=size)

    def head(self, conn: Connection) -> tuple[int, bytes] | None:
        row = conn.execute(select(_head.c.seq, _head.c.hash).where(_head.c.id == 1)).one_or_none()
        return None if row is None else (row.seq, row.hash)

    def checkpoints(self, conn: Connection) -> list[Checkpoint]:
        stmt = select(_checkpoints).order_by(_checkpoints.c.seq)
        return [
            Checkpoint(r.seq, r.hash, r.at_us, r.key_id, r.signature) for r in conn.execute(stmt)
        ]

    def with_prev(self, prev_hash: bytes) -> list[RawRow]:
        with self.snapshot() as conn:
            return self._rows(conn, _entries.c.prev_hash == prev_hash)

    def with_hash(self, chain_hash: bytes) -> list[RawRow]:
        with self.snapshot() as conn:
            return self._rows(conn, _entries.c.hash == chain_hash)


def verify_chain(
    db: Database,
    *,
    public_key: bytes,
    checkpoint_file: Path | None,
    progress: Callable[[int, int], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> VerifyReport:
    """Verify the whole chain; raise :class:`AuditChainBroken` at the first problem."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    return _Verification(db, public_key, checkpoint_file, progress, chunk_size).run()


class _Verification:
    """One pass over the chain: entries in seq order, checkpoints as the chain reaches them.

    A checkpoint at seq ``c`` is compared with the chain only once the entry after ``c`` has
    been checked too: if that entry reveals an insertion or a move at ``c``, the diagnosis
    names it, rather than the bare "chain differs from its checkpoint" the comparison alone
    would give.
    """

    def __init__(
        self,
        db: Database,
        public_key: bytes,
        checkpoint_file: Path | None,
        progress: Callable[[int, int], None] | None,
        chunk_size: int,
    ) -> None:
        self.reader = _Reader(db)
        self.public_key = public_key
        self.checkpoint_file = checkpoint_file
        self.progress = progress
        self.chunk_size = chunk_size
        self.known: dict[Checkpoint, _Known] = {}
        self.pending: list[_Known] = []
        self.next_cp = 0
        self.checked = 0
        self.last_good_cp = 0
        self.in_file = 0

    def _add(self, checkpoint: Checkpoint, source: str) -> None:
        self.known.setdefault(checkpoint, _Known(checkpoint)).sources.append(source)

    def run(self) -> VerifyReport:
        started = time.perf_counter()
        # The file first: each of its lines was written after its entries committed.
        if self.checkpoint_file is not None:
            for line in read_checkpoint_file(self.checkpoint_file):
                if line.checkpoint is None:
                    raise AuditChainBroken(
                        kind="checkpoint-invalid",
                        seq=line.seq,
                        detail=f"line {line.number} of the checkpoint file is not a valid "
                        f"checkpoint ({line.problem})",
                    )
                self._add(line.checkpoint, f"line {line.number} of the checkpoint file")
                self.in_file += 1

        expected, running = 1, GENESIS_HASH
        last_row: RawRow | None = None
        total = 0
        first = True
        while True:
            with self.reader.snapshot() as conn:
                head = self.reader.head(conn)
                if first:
                    for cp in self.reader.checkpoints(conn):
                        self._add(cp, "the audit_checkpoints table")
                    self.pending = sorted(self.known.values(), key=lambda k: k.checkpoint.seq)
                    total = head[0] if head else 0
                    first = False
                rows = self.reader.chunk(conn, expected - 1, self.chunk_size)

            start, base = expected, running
            verified, running_after = verify_run(rows, expected_seq=start, prev_hash=base)
            if verified:
                last_row = rows[verified - 1]
                expected += verified
                running = running_after
            anomaly = verified < len(rows)
            final = len(rows) < self.chunk_size
            # Hashes known so far: ``base`` at start - 1, then the verified rows.
            limit = expected - 1 if anomaly or final else expected - 2
            problem = self._checkpoints_up_to(limit, start, base, rows)
            if anomaly:
                diagnosis = _Diagnosis(
                    self.reader, expected=expected, running=running, previous=last_row
                )
                found = diagnosis.explain(
                    rows[verified], head_seq=None if head is None else head[0]
                )
                # Report whichever comes first in the log; on a tie, the more precise diagnosis.
                raise problem if problem is not None and _before(problem, found) else found
            if problem is not None:
                raise problem
            if self.progress is not None:
                self.progress(expected - 1, max(total, expected - 1))
            if final:
                break

        last = expected - 1
        self._check_end(last, running, head)
        seconds = time.perf_counter() - started
        return VerifyReport(
            entries=last,
            last_seq=last,
            last_hash=running.hex(),
            checkpoints=self.checked,
            checkpoints_in_file=self.in_file,
            seconds=seconds,
            rate=last / seconds if seconds > 0 else 0.0,
        )

    def _checkpoints_up_to(
        self, limit: int, start: int, base: bytes, rows: list[RawRow]
    ) -> AuditChainBroken | None:
        """Check the pending checkpoints with seq <= ``limit``; the first problem, if any."""
        while self.next_cp < len(self.pending):
            item = self.pending[self.next_cp]
            cp = item.checkpoint
            if cp.seq > limit:
                return None
            problem = self._signature_problem(item)
            if problem is not None:
                return problem
            if cp.seq < 1:
                return AuditChainBroken(
                    kind="checkpoint-invalid",
                    seq=cp.seq,
                    detail=f"the checkpoint in {item.where()} does not point into the log",
                )
            chain_hash = base if cp.seq == start - 1 else rows[cp.seq - start][10]
            if cp.hash != chain_hash:
                return AuditChainBroken(
                    kind="changed",
                    seq=cp.seq,
                    detail=f"the chain at seq {cp.seq} differs from its signed checkpoint "
                    f"({item.where()}): entries after seq {self.last_good_cp} were rewritten "
                    "and re-chained",
                )
            self.checked += 1
            self.last_good_cp = cp.seq
            self.next_cp += 1
        return None

    def _signature_problem(self, item: _Known) -> AuditChainBroken | None:
        try:
            item.checkpoint.verify(self.public_key)
        except SignatureInvalid:
            return AuditChainBroken(
                kind="checkpoint-invalid",
                seq=item.checkpoint.seq,
                detail=f"the checkpoint in {item.where()} does not carry a valid signature of "
                f"the audit key (it names key id {item.checkpoint.key_id!r})",
            )
        return None

    def _check_end(self, last: int, running: bytes, head: tuple[int, bytes] | None) -> None:
        """After the last entry: no checkpoint beyond it, and the head agrees with it."""
        if self.next_cp < len(self.pending):
            item = self.pending[self.next_cp]
            problem = self._signature_problem(item)
            if problem is not None:
                raise problem
            raise AuditChainBroken(
                kind="truncated",
                seq=last + 1,
                detail=f"the log ends at seq {last}, but a signed checkpoint ({item.where()}) "
                f"shows it reached seq {item.checkpoint.seq}",
            )
        if head is None:
            if last:
                raise AuditChainBroken(
                    kind="truncated",
                    seq=last + 1,
                    detail="the chain head row is missing, so where the log ends is unknown",
                )
        elif head[0] > last:
            raise AuditChainBroken(
                kind="truncated",
                seq=last + 1,
                detail=f"the log ends at seq {last}, but its head says it reached seq {head[0]}",
            )
        elif head[0] < last:
            raise AuditChainBroken(
                kind="inserted",
                seq=head[0] + 1,
                detail=f"entries after the head (seq {head[0]}) up to seq {last} were added "
                "outside the audit log",
            )
        elif head[1] != running:
            raise AuditChainBroken(
                kind="changed",
                seq=last,
                detail=f"the head's hash differs from the chain's at seq {last}",
            )


def _before(a: AuditChainBroken, b: AuditChainBroken) -> bool:
    return a.seq is not None and b.seq is not None and a.seq < b.seq


class _Diagnosis:
    """Names what happened at the first entry that does not fit the chain.

    ``expected`` is the seq that entry should have, ``running`` the hash of the last entry that
    verified and ``previous`` that entry. An entry is *genuine at* a position when its stored
    hash recomputes from its content with that seq; the chain's links (``prev_hash``) tell
    where an entry was originally chained.
    """

    def __init__(
        self, reader: _Reader, *, expected: int, running: bytes, previous: RawRow | None
    ) -> None:
        self.reader = reader
        self.expected = expected
        self.running = running
        self.previous = previous

    def explain(self, row: RawRow, *, head_seq: int | None) -> AuditChainBroken:
        e = self.expected
        seq, prev, stored = row[0], row[9], row[10]
        previous = self.previous
        if (
            seq == e
            and previous is not None
            and prev == previous[9]
            and raw_row_hash(row, seq=e - 1) == stored
        ):
            # Two entries claim the same predecessor: the one before was slipped in, and this one
            # is the genuine entry it displaced.
            return AuditChainBroken(
                kind="inserted",
                seq=e - 1,
                detail=f"entry {e - 1} does not belong to the chain: entry {e} is the genuine "
                f"entry {e - 1}, moved up one place",
            )
        if head_seq is not None and seq > head_seq:
            return AuditChainBroken(
                kind="inserted",
                seq=seq,
                detail=f"entry {seq} lies beyond the chain head (seq {head_seq}): it was added "
                "outside the audit log",
            )
        if seq > e:
            missing = f"entry {e} is" if seq == e + 1 else f"entries {e} to {seq - 1} are"
            return AuditChainBroken(kind="removed", seq=e, detail=f"{missing} missing")
        if seq < e:
            return AuditChainBroken(
                kind="inserted", seq=seq, detail=f"a second entry carries seq {seq}"
            )

        genuine_e = self._genuine_elsewhere(e)
        if prev == self.running:
            if genuine_e is not None:
                return self._inserted_before(genuine_e)
            return AuditChainBroken(
                kind="changed",
                seq=e,
                detail=f"the stored hash of entry {e} does not match its content",
            )

        origin = self._origin(row, genuine_e)
        if origin is not None:
            return AuditChainBroken(
                kind="reordered",
                seq=e,
                detail=f"the entry at seq {e} was chained at seq {origin}",
            )
        if genuine_e is not None:
            return self._inserted_before(genuine_e)
        if raw_row_hash(row) == stored and e > 1:
            return AuditChainBroken(
                kind="changed",
                seq=e - 1,
                detail=f"entry {e - 1} was rewritten with a recomputed hash: entry {e} still "
                "links to its former hash",
            )
        return AuditChainBroken(
            kind="changed",
            seq=e,
            detail=f"the link of entry {e} to the previous entry was altered",
        )

    def _inserted_before(self, genuine: RawRow) -> AuditChainBroken:
        e = self.expected
        return AuditChainBroken(
            kind="inserted",
            seq=e,
            detail=f"entry {e} does not belong to the chain: the genuine entry {e} now sits at "
            f"seq {genuine[0]}",
        )

    def _genuine_elsewhere(self, seq: int) -> RawRow | None:
        """The entry chained at ``seq`` if it now sits at another position."""
        for row in self.reader.with_prev(self.running):
            if row[0] != seq and raw_row_hash(row, seq=seq) == row[10]:
                return row
        return None

    def _origin(self, row: RawRow, genuine_e: RawRow | None) -> int | None:
        """The position ``row`` was chained at, if it is a genuine entry moved elsewhere."""
        prev, stored = row[9], row[10]
        candidates: list[int] = []
        if prev == GENESIS_HASH:
            candidates.append(1)
        if genuine_e is not None and prev == genuine_e[10]:
            candidates.append(self.expected + 1)
        candidates += [p[0] + 1 for p in self.reader.with_hash(prev)]
        candidates += [s[0] - 1 for s in self.reader.with_prev(stored)]
        for seq in candidates:
            if seq >= 1 and seq != row[0] and raw_row_hash(row, seq=seq) == stored:
                return seq
        return None
