"""The audit log: append entries to the chain, sign checkpoints, verify.

Every audited verb calls :meth:`AuditLog.record` (or :meth:`AuditLog.record_many`) with the
session of its own transaction, so the entry commits or rolls back with the action. Appends
lock the single head row (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the ``BEGIN
IMMEDIATE`` transaction already holds the write lock), which keeps one linear chain however
many API workers write at once. Entries hold field names, never their values, and the customer
only by pseudonymous id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Insert, Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from confiance import clock
from confiance.audit.checkpoints import Checkpoint, append_to_file_after_commit
from confiance.audit.encoding import GENESIS_HASH, encode_entry_bytes
from confiance.audit.errors import AuditWriteFailed
from confiance.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from confiance.audit.verify import VerifyReport, verify_chain
from confiance.crypto import Signer
from confiance.db import Database
from confiance.db.bulk import BulkInsert

if TYPE_CHECKING:
    from confiance.config import Settings

__all__ = ["AuditEvent", "AuditLog"]

_entries = cast(Table, AuditEntry.__table__)
_head = cast(Table, AuditHead.__table__)
_checkpoints = cast(Table, AuditCheckpoint.__table__)

_LIMITS = {"actor": 128, "action": 64, "customer_pid": 36, "outcome": 64}


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audited action, as a verb describes it. Field names only, never values.

    ``fields`` is stored sorted, without duplicates, joined with ``,``; a field name therefore
    may not be empty or contain a comma.
    """

    action: str
    actor: str
    customer_pid: str | None = None
    purpose: str | None = None
    fields: tuple[str, ...] = ()
    outcome: str = "ok"
    detail: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.fields, tuple):
            object.__setattr__(self, "fields", tuple(self.fields))
        for name, limit in _LIMITS.items():
            value = getattr(self, name)
            if value is not None and len(value) > limit:
                raise ValueError(f"audit {name} is longer than {limit} characters")
        if not self.action or not self.actor or not self.outcome:
            raise ValueError("an audit event names its action, actor and outcome")
        for name in self.fields:
            if not name or "," in name:
                raise ValueError("audit field names are non-empty and contain no comma")
        texts = (self.action, self.actor, self.customer_pid, self.purpose, self.outcome)
        if any("\x00" in t for t in (*texts, self.detail, *self.fields) if t is not None):
            # PostgreSQL cannot store NUL in text; refusing it everywhere keeps both backends alike.
            raise ValueError("audit events may not contain NUL characters")

    @property
    def stored_fields(self) -> str:
        return ",".join(sorted(set(self.fields)))


class AuditLog:
    """Appends to the audit chain and verifies it.

    ``checkpoint_every``: a signed checkpoint is made whenever an append crosses a multiple of
    it. ``checkpoint_file``: where checkpoints are copied once their transaction commits
    (``None``: only in the database, which does not protect the tail; see ``docs/audit.md``).
    """

    def __init__(
        self,
        signer: Signer,
        checkpoint_every: int = 256,
        checkpoint_file: Path | None = None,
    ) -> None:
        if checkpoint_every < 1:
            raise ValueError("checkpoint_every must be at least 1")
        self.signer = signer
        self.checkpoint_every = checkpoint_every
        self.checkpoint_file = None if checkpoint_file is None else Path(checkpoint_file).absolute()

    @classmethod
    def from_settings(cls, settings: Settings, *, signer: Signer) -> AuditLog:
        return cls(signer, settings.audit.checkpoint_every, settings.checkpoint_path)

    def __repr__(self) -> str:
        return (
            f"AuditLog(key_id={self.signer.key_id!r}, checkpoint_every={self.checkpoint_every}, "
            f"checkpoint_file={self.checkpoint_file!r})"
        )

    # -- appending -------------------------------------------------------------------------
    def record(self, session: Session, event: AuditEvent) -> int:
        """Append one entry in the caller's transaction; return its seq."""
        return self.record_many(session, (event,))

    def record_many(self, session: Session, events: Sequence[AuditEvent]) -> int:
        """Append entries in order, under one head lock and one bulk insert; return the last seq.

        Raises :class:`AuditWriteFailed` if they cannot be written: the caller lets it
        propagate, and the action rolls back with the transaction.
        """
        try:
            first_seq, prev = self._lock_head(session, create=bool(events))
            if not events:
                return first_seq
            at_us = clock.to_micros(clock.now())
            sha256 = hashlib.sha256
            seq = first_seq
            rows: list[tuple[Any, ...]] = []
            for event in events:
                seq += 1
                fields = event.stored_fields
                texts = (
                    event.actor,
                    event.action,
                    event.customer_pid,
                    event.purpose,
                    fields,
                    event.outcome,
                    event.detail,
                )
                encoded = encode_entry_bytes(
                    seq, at_us, [None if t is None else t.encode() for t in texts]
                )
                digest = sha256(prev + encoded).digest()
                rows.append(
                    (
                        seq,
                        at_us,
                        event.actor,
                        event.action,
                        event.customer_pid,
                        event.purpose,
                        fields,
                        event.outcome,
                        event.detail,
                        prev,
                        digest,
                    )
                )
                prev = digest
            # Straight to the driver's executemany: bulk collection appends 100,000 entries in
            # one call, and SQLAlchemy's per-row parameter processing would cost more than the
            # hashing (about 4x slower on SQLite).
            _ENTRIES.run(session, rows)
            session.connection().execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": prev})
            every = self.checkpoint_every
            if seq // every > first_seq // every:
                self._make_checkpoint(session, seq=seq, chain_hash=prev, at_us=at_us)
        except (SQLAlchemyError, UnicodeError) as exc:
            raise AuditWriteFailed(
                "The audit entry could not be written, so the action was not carried out.",
                reason=type(exc).__name__,
            ) from exc
        return seq

    def checkpoint(self, session: Session) -> Checkpoint | None:
        """A signed checkpoint of the current head (``None`` while the log is empty).

        Returns the existing checkpoint if the head has one already. Used by ``confiance audit
        verify``, at server shutdown and periodically, so the unprotected tail stays short.
        """
        try:
            seq, chain_hash = self._lock_head(session, create=False)
            if seq == 0:
                return None
            existing = session.execute(
                select(_checkpoints).where(_checkpoints.c.seq == seq)
            ).one_or_none()
            if existing is not None:
                return Checkpoint(
                    existing.seq, existing.hash, existing.at_us, existing.key_id, existing.signature
                )
            at_us = clock.to_micros(clock.now())
            return self._make_checkpoint(session, seq=seq, chain_hash=chain_hash, at_us=at_us)
        except SQLAlchemyError as exc:
            raise AuditWriteFailed(
                "The audit checkpoint could not be written.", reason=type(exc).__name__
            ) from exc

    def _lock_head(self, session: Session, *, create: bool) -> tuple[int, bytes]:
        """Lock the head row for the rest of the transaction; return its (seq, hash)."""
        locked = _LOCK_HEAD
        row = session.connection().execute(locked).one_or_none()
        if row is None:
            if not create:
                return 0, GENESIS_HASH
            # Two first appends may race on PostgreSQL: the second insert waits for the first
            # transaction and then does nothing, and both go on to lock the one row.
            session.execute(_insert_if_missing(session).values(id=1, seq=0, hash=GENESIS_HASH))
            row = session.execute(locked).one()
        return row.seq, row.hash

    def _make_checkpoint(
        self, session: Session, *, seq: int, chain_hash: bytes, at_us: int
    ) -> Checkpoint:
        cp = Checkpoint.sign(self.signer, seq=seq, chain_hash=chain_hash, at_us=at_us)
        session.execute(
            insert(_checkpoints).values(
                seq=cp.seq, hash=cp.hash, at_us=cp.at_us, key_id=cp.key_id, signature=cp.signature
            )
        )
        if self.checkpoint_file is not None:
            append_to_file_after_commit(session, self.checkpoint_file, cp)
        return cp

    # -- verifying -------------------------------------------------------------------------
    def verify(
        self,
        db: Database,
        *,
        public_key: bytes | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> VerifyReport:
        """Recompute the whole chain and check every checkpoint, in the database and the file.

        ``public_key`` defaults to this log's signer. Raises
        :class:`~confiance.audit.errors.AuditChainBroken` at the first problem; it never
        returns a failed report.
        """
        return verify_chain(
            db,
            public_key=self.signer.public_key if public_key is None else public_key,
            checkpoint_file=self.checkpoint_file,
            progress=progress,
        )


ENTRY_COLUMNS = (
    "seq",
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


# Built once: appending runs on every request.
_LOCK_HEAD = select(_head.c.seq, _head.c.hash).where(_head.c.id == 1).with_for_update()
_MOVE_HEAD = (
    update(_head)
    .where(_head.c.id == 1)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)


_ENTRIES = BulkInsert(_entries, ENTRY_COLUMNS)


def _insert_if_missing(session: Session) -> Insert:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(_head).on_conflict_do_nothing(index_elements=["id"])
    return sqlite.insert(_head).on_conflict_do_nothing(index_elements=["id"])
