"""Key-encryption key registry and rotation.

Rotation runs while the API keeps serving:

1. A new KEK is registered in the database, then written to the key file as primary (the old
   ones stay, to unwrap). Servers re-read the key file when it changes, so new customers get
   their data key wrapped under the new KEK.
2. After a grace period, every data key still wrapped under an older KEK is rewrapped, in small
   batches, each in its own transaction (readers are never blocked for long).
3. The old KEKs' rows are deleted from the registry. Data keys reference the registry by
   foreign key, so this fails if anything still uses them (then step 2 runs again), and a late
   writer still holding an old KEK fails instead of storing a key nobody could unwrap.
4. The old KEKs are removed from the key file: retired.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from confiance import clock
from confiance.actors import Actor
from confiance.audit.service import AuditEvent, AuditLog
from confiance.crypto import KeyringError, KeyringSource
from confiance.db import Database
from confiance.errors import Conflict
from confiance.keys.models import KekRecord
from confiance.vault.models import Customer

__all__ = ["RotationInProgress", "RotationReport", "ensure_registered", "rotate", "usage"]


class RotationInProgress(Conflict):
    code = "rotation-in-progress"
    title = "A key rotation is already running"

    def __init__(self) -> None:
        super().__init__(
            "Another 'confiance keys rotate' is running on this key file; wait for it to finish."
        )


@dataclass(frozen=True)
class RotationReport:
    new_kek_id: str
    retired_kek_ids: list[str]
    rewrapped: int
    seconds: float


def ensure_registered(session: Session, *, keys: KeyringSource) -> None:
    """Make sure every KEK of the ring has its registry row (data keys point at it)."""
    ring = keys.get()
    known = set(session.execute(select(KekRecord.kek_id)).scalars())
    for kek in ring.keks:
        if kek.id not in known:
            session.add(KekRecord(kek_id=kek.id, created_at=kek.created_at))
    session.flush()


def usage(session: Session) -> dict[str, int]:
    """How many data keys each registered KEK wraps."""
    counts = {
        kek_id: int(n)
        for kek_id, n in session.execute(
            select(Customer.kek_id, func.count()).group_by(Customer.kek_id)
        )
    }
    return {k: counts.get(k, 0) for k in session.execute(select(KekRecord.kek_id)).scalars()}


def rotate(
    db: Database,
    *,
    keys: KeyringSource,
    audit: AuditLog,
    actor: Actor,
    grace_seconds: float = 2.0,
    batch_size: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> RotationReport:
    """Rewrap every data key under a new KEK, then retire the old KEKs.

    One rotation at a time: a second one would rewrite the key file concurrently and could
    drop the other's new KEK, so it is refused while the first holds the rotation lock.
    """
    with _rotation_lock(keys):
        return _rotate(
            db,
            keys=keys,
            audit=audit,
            actor=actor,
            grace_seconds=grace_seconds,
            batch_size=batch_size,
            progress=progress,
        )


@contextmanager
def _rotation_lock(keys: KeyringSource) -> Iterator[None]:
    if keys.path is None:
        raise KeyringError(
            "The key ring comes from the environment and cannot be rewritten; rotate with "
            "a key file (CONFIANCE__CRYPTO__KEYRING_FILE).",
        )
    lock_path = keys.path.with_name(keys.path.name + ".rotation-lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RotationInProgress() from None
        yield
    finally:
        os.close(fd)


def _rotate(
    db: Database,
    *,
    keys: KeyringSource,
    audit: AuditLog,
    actor: Actor,
    grace_seconds: float,
    batch_size: int,
    progress: Callable[[int, int], None] | None,
) -> RotationReport:
    started = time.perf_counter()
    old_ring = keys.get()
    new_ring = old_ring.with_new_primary()
    new_id = new_ring.primary_id
    with db.transaction() as session:
        session.add(KekRecord(kek_id=new_id, created_at=clock.now()))
        audit.record(
            session,
            AuditEvent(action="keys.rotate.begin", actor=actor.label, detail=f"new KEK {new_id}"),
        )
    keys.save(new_ring)
    if grace_seconds:
        time.sleep(grace_seconds)

    rewrapped = 0
    while True:
        with db.transaction() as session:
            total = session.execute(
                select(func.count()).select_from(Customer).where(Customer.kek_id != new_id)
            ).scalar_one()
        if progress:
            progress(rewrapped, rewrapped + total)
        if total:
            rewrapped += _rewrap_all(
                db,
                keys=keys,
                new_id=new_id,
                batch_size=batch_size,
                done=rewrapped,
                total=rewrapped + total,
                progress=progress,
            )
        retired = sorted(set(keys.get().kek_ids) - {new_id})
        stale = [k for k in _registered(db) if k != new_id]
        try:
            with db.transaction() as session:
                if stale:
                    session.execute(delete(KekRecord).where(KekRecord.kek_id.in_(stale)))
                audit.record(
                    session,
                    AuditEvent(
                        action="keys.rotate.retire",
                        actor=actor.label,
                        detail=f"retired KEKs {','.join(sorted(set(stale) | set(retired)))}; "
                        f"{rewrapped} data keys rewrapped",
                    ),
                )
        except IntegrityError:
            # A data key was wrapped under an old KEK meanwhile: rewrap again.
            continue
        break
    keys.save(keys.get().without(set(retired)))
    return RotationReport(
        new_kek_id=new_id,
        retired_kek_ids=sorted(set(stale) | set(retired)),
        rewrapped=rewrapped,
        seconds=time.perf_counter() - started,
    )


# Only if unchanged meanwhile: an erasure or a concurrent rewrap wins.
_REWRAP = (
    update(Customer)
    .where(Customer.id == bindparam("b_id"), Customer.kek_id == bindparam("b_old"))
    .values(kek_id=bindparam("b_new"), wrapped_key=bindparam("b_wrapped"))
)


def _registered(db: Database) -> list[str]:
    with db.transaction() as session:
        return list(session.execute(select(KekRecord.kek_id)).scalars())


def _rewrap_all(
    db: Database,
    *,
    keys: KeyringSource,
    new_id: str,
    batch_size: int,
    done: int,
    total: int,
    progress: Callable[[int, int], None] | None,
) -> int:
    count = 0
    while True:
        ring = keys.get()
        with db.transaction() as session:
            rows = session.execute(
                select(Customer.id, Customer.kek_id, Customer.wrapped_key)
                .where(Customer.kek_id != new_id)
                .order_by(Customer.id)
                .limit(batch_size)
            ).all()
            if not rows:
                return count
            changes = []
            for row in rows:
                owner = str(row.id)
                data_key = ring.unwrap(row.wrapped_key, owner=owner)
                kek_id, wrapped = ring.wrap(data_key, owner=owner)
                changes.append(
                    {"b_id": row.id, "b_old": row.kek_id, "b_new": kek_id, "b_wrapped": wrapped}
                )
            session.connection().execute(_REWRAP, changes)
            count += len(rows)
        if progress:
            progress(done + count, max(total, done + count))


def erasures_awaiting_rotation(session: Session) -> datetime | None:
    """The oldest erasure made since the newest KEK was created, if any: until a rotation
    retires the KEK, PostgreSQL's old row versions of that customer can still be opened."""
    from confiance.erasure.models import ErasureRecord

    newest = session.execute(select(func.max(KekRecord.created_at))).scalar_one_or_none()
    query = select(func.min(ErasureRecord.erased_at))
    if newest is not None:
        query = query.where(ErasureRecord.erased_at >= newest)
    oldest: datetime | None = session.execute(query).scalar_one_or_none()
    return oldest


def rotate_if_erasures_wait(
    db: Database,
    *,
    keys: KeyringSource,
    audit: AuditLog,
    after: timedelta,
    grace_seconds: float = 2.0,
) -> RotationReport | None:
    """Rotate when an erasure has waited ``after`` for its KEK to be retired (PostgreSQL only:
    SQLite overwrites erased bytes at once). A rotation already running elsewhere wins."""
    if db.is_sqlite or keys.path is None:
        return None
    with db.read() as session:
        oldest = erasures_awaiting_rotation(session)
    if oldest is None or clock.now() - oldest < after:
        return None
    try:
        return rotate(
            db,
            keys=keys,
            audit=audit,
            actor=Actor.system("erasure-rotation"),
            grace_seconds=grace_seconds,
        )
    except RotationInProgress:
        return None
