"""The retention sweep: each value is kept only while some purpose may keep it.

For every customer and every value held, each purpose that uses the field says how long it may
keep it (the manifest's ``retention``), counted from:

- ``collection``: when the value was collected;
- ``last_contact``: the customer's last contact (a collection, a correction, a decision of
  theirs, a sign-in), or their creation if none is recorded;
- ``end_of_contract``: when the contract ended; while it runs, the purpose keeps the value.

A purpose resting on consent keeps a value only while the consent counts; one resting on a
legitimate interest only while the customer has not objected. A value that no purpose may keep
any longer is **deleted**, or **anonymised** when one of the purposes that held it says so
(analytics): the value goes, and only a count per month survives
(:class:`~confiance.retention.models.AnonymisedCount`; per value for short closed values such
as a postcode or a loyalty tier, ``*`` for the items of a list). A customer left with nothing
is erased (:meth:`confiance.erasure.service.Eraser.erase`). Values a legal obligation still
needs (invoices, ten years) stay, and the report says how many stay for that reason only.

The dry run computes the same plan and reports exactly the same numbers, changing nothing.
Each customer changed gets an audit entry (field names, never values).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from confiance import clock
from confiance.actors import Actor
from confiance.audit.service import AuditEvent, AuditLog
from confiance.consent.service import ConsentLedger
from confiance.crypto import KeyringSource, context
from confiance.db import Database
from confiance.erasure.service import Eraser
from confiance.manifest import service as manifest_service
from confiance.manifest.schemas import (
    LegalBasis,
    Manifest,
    PurposeSpec,
    RetentionAction,
    RetentionStart,
)
from confiance.retention.models import AnonymisedCount
from confiance.vault.models import BlindIndexEntry, Customer, FieldValue

__all__ = ["RetentionReport", "RetentionSweep", "Verdict"]

ACTOR = Actor.system("retention")
#: Values at most this long are counted per value when anonymised; longer ones as ``*``.
_BUCKET_MAX = 32
#: PostgreSQL advisory lock key of the sweep ("ret" + "sweep" as a number).
_LOCK = 0x726574_7377


@dataclass(frozen=True, slots=True)
class Verdict:
    """What happens to one value: kept (by which purposes), deleted or anonymised (why)."""

    field: str
    action: str  # "keep", "delete", "anonymise"
    reason: str
    only_by_obligation: bool = False


@dataclass
class RetentionReport:
    at: datetime
    dry_run: bool
    customers_examined: int = 0
    customers_changed: int = 0
    customers_erased: int = 0
    deleted: Counter[tuple[str, str]] = field(default_factory=Counter)
    anonymised: Counter[tuple[str, str]] = field(default_factory=Counter)
    kept_by_obligation: Counter[str] = field(default_factory=Counter)
    #: Another worker was sweeping: this one did nothing.
    skipped: bool = False

    @property
    def values_deleted(self) -> int:
        return sum(self.deleted.values())

    @property
    def values_anonymised(self) -> int:
        return sum(self.anonymised.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "dry_run": self.dry_run,
            "customers_examined": self.customers_examined,
            "customers_changed": self.customers_changed,
            "customers_erased": self.customers_erased,
            "values_deleted": self.values_deleted,
            "values_anonymised": self.values_anonymised,
            "deleted": [
                {"field": f, "reason": r, "values": n} for (f, r), n in sorted(self.deleted.items())
            ],
            "anonymised": [
                {"field": f, "reason": r, "values": n}
                for (f, r), n in sorted(self.anonymised.items())
            ],
            "kept_by_legal_obligation": dict(sorted(self.kept_by_obligation.items())),
        }


@dataclass(frozen=True)
class _Customer:
    id: uuid.UUID
    created_at: datetime
    last_contact_at: datetime | None
    contract_ended_at: datetime | None
    wrapped_key: bytes
    consent_version: int


def _start(purpose: PurposeSpec, customer: _Customer, collected_at: datetime) -> datetime | None:
    """When the purpose's retention clock started for this value (``None``: not yet)."""
    assert purpose.retention is not None
    counted = purpose.retention.counted_from
    if counted is RetentionStart.COLLECTION:
        return collected_at
    if counted is RetentionStart.LAST_CONTACT:
        return customer.last_contact_at or customer.created_at
    return customer.contract_ended_at


@dataclass
class RetentionSweep:
    keys: KeyringSource
    audit: AuditLog
    consent: ConsentLedger
    eraser: Eraser

    # -- the rules ----------------------------------------------------------------------------
    def verdicts(
        self,
        session: Session,
        manifest: Manifest,
        customer: _Customer,
        values: dict[str, datetime],
        now: datetime,
    ) -> list[Verdict]:
        """One verdict per value held (``values``: field -> collected_at)."""
        allowed: dict[str, bool] = {}

        def may_process(purpose: PurposeSpec) -> bool:
            if purpose.legal_basis not in (
                LegalBasis.CONSENT,
                LegalBasis.LEGITIMATE_INTEREST,
                LegalBasis.PUBLIC_TASK,
            ):
                return True
            if purpose.key not in allowed:
                allowed[purpose.key] = self.consent.allows(
                    session,
                    customer_id=customer.id,
                    purpose=purpose.key,
                    consent_version=customer.consent_version,
                )
            return allowed[purpose.key]

        verdicts = []
        for name, collected_at in sorted(values.items()):
            users = [p for p in manifest.purposes if name in p.fields]
            keepers: list[PurposeSpec] = []
            ended: list[tuple[PurposeSpec, datetime | None]] = []
            for purpose in users:
                if purpose.retention is None:
                    keepers.append(purpose)  # nothing declared: nothing to enforce
                    continue
                start = _start(purpose, customer, collected_at)
                until = None if start is None else purpose.retention.ends(start)
                if (until is None or until > now) and may_process(purpose):
                    keepers.append(purpose)
                else:
                    ended.append((purpose, until))
            if keepers:
                obligation = all(p.legal_basis is LegalBasis.LEGAL_OBLIGATION for p in keepers)
                verdicts.append(
                    Verdict(
                        name,
                        "keep",
                        ",".join(p.key for p in keepers),
                        only_by_obligation=obligation and len(users) > len(keepers),
                    )
                )
                continue
            anonymise = any(
                p.retention is not None and p.retention.after is RetentionAction.ANONYMISE
                for p, _ in ended
            )
            reason = "; ".join(
                f"{p.key}: "
                + (
                    f"{p.retention.period.describe()} after "
                    f"{p.retention.counted_from.value.replace('_', ' ')}"
                    if p.retention is not None and until is not None and until <= now
                    else "no longer allowed by the customer's decisions"
                )
                for p, until in ended
            )
            verdicts.append(Verdict(name, "anonymise" if anonymise else "delete", reason))
        return verdicts

    # -- the sweep ----------------------------------------------------------------------------
    def run(
        self,
        db: Database,
        *,
        dry_run: bool = False,
        batch: int = 500,
        progress: Callable[[int, int], None] | None = None,
    ) -> RetentionReport:
        """Apply (or, with ``dry_run``, only count) the retention of every customer. On
        PostgreSQL one sweep runs at a time across workers (an advisory lock); another finding
        it taken returns an empty report marked ``skipped``."""
        if dry_run or db.is_sqlite:
            return self._run(db, dry_run=dry_run, batch=batch, progress=progress)
        with db.engine.connect() as lock:
            taken = lock.execute(select(func.pg_try_advisory_lock(_LOCK))).scalar_one()
            if not taken:
                report = RetentionReport(at=clock.now(), dry_run=False, skipped=True)
                return report
            try:
                return self._run(db, dry_run=False, batch=batch, progress=progress)
            finally:
                lock.execute(select(func.pg_advisory_unlock(_LOCK)))
                lock.commit()

    def _run(
        self,
        db: Database,
        *,
        dry_run: bool,
        batch: int,
        progress: Callable[[int, int], None] | None,
    ) -> RetentionReport:
        now = clock.now()
        report = RetentionReport(at=now, dry_run=dry_run)
        with db.read() as session:
            total = session.execute(
                select(func.count()).select_from(Customer).where(Customer.erased_at.is_(None))
            ).scalar_one()
        after: uuid.UUID | None = None
        while True:
            with db.transaction() as session:
                customers = self._batch(session, after, batch)
                if not customers:
                    break
                manifest = manifest_service.current(session).manifest
                for customer in customers:
                    self._one(session, manifest, customer, now, report, dry_run)
                after = customers[-1].id
            if progress:
                progress(report.customers_examined, total)
        if not dry_run:
            self.eraser.after_commit(db)
            with db.transaction() as session:
                self.audit.record(
                    session,
                    AuditEvent(
                        action="retention.sweep",
                        actor=ACTOR.label,
                        detail=(
                            f"{report.customers_examined} customers, "
                            f"{report.values_deleted} values deleted, "
                            f"{report.values_anonymised} anonymised, "
                            f"{report.customers_erased} customers erased"
                        ),
                    ),
                )
        return report

    @staticmethod
    def _batch(session: Session, after: uuid.UUID | None, size: int) -> list[_Customer]:
        query = (
            select(
                Customer.id,
                Customer.created_at,
                Customer.last_contact_at,
                Customer.contract_ended_at,
                Customer.wrapped_key,
                Customer.consent_version,
            )
            .where(Customer.erased_at.is_(None))
            .order_by(Customer.id)
            .limit(size)
        )
        if after is not None:
            query = query.where(Customer.id > after)
        return [_Customer(*row) for row in session.execute(query)]

    def _one(
        self,
        session: Session,
        manifest: Manifest,
        customer: _Customer,
        now: datetime,
        report: RetentionReport,
        dry_run: bool,
    ) -> None:
        report.customers_examined += 1
        rows = {
            r.field: r.collected_at
            for r in session.execute(
                select(FieldValue.field, FieldValue.collected_at).where(
                    FieldValue.customer_id == customer.id
                )
            )
        }
        verdicts = self.verdicts(session, manifest, customer, rows, now)
        going = [v for v in verdicts if v.action != "keep"]
        for v in verdicts:
            if v.action == "keep" and v.only_by_obligation:
                report.kept_by_obligation[v.field] += 1
        if not going:
            return
        report.customers_changed += 1
        for v in going:
            (report.anonymised if v.action == "anonymise" else report.deleted)[
                (v.field, v.reason)
            ] += 1
        if len(going) == len(verdicts):
            report.customers_erased += 1
        if dry_run:
            return
        anonymised = [v.field for v in going if v.action == "anonymise"]
        if anonymised:
            self._count(session, manifest, customer, anonymised, now)
        if len(going) == len(verdicts):
            self.eraser.erase(session, customer_id=customer.id, actor=ACTOR)
            return
        names = [v.field for v in going]
        session.execute(
            delete(FieldValue).where(
                FieldValue.customer_id == customer.id, FieldValue.field.in_(names)
            )
        )
        session.execute(
            delete(BlindIndexEntry).where(
                BlindIndexEntry.customer_id == customer.id, BlindIndexEntry.field.in_(names)
            )
        )
        session.execute(update(Customer).where(Customer.id == customer.id).values(updated_at=now))
        self.audit.record(
            session,
            AuditEvent(
                action="retention.apply",
                actor=ACTOR.label,
                customer_pid=str(customer.id),
                purpose="retention",
                fields=tuple(names),
                detail=(f"{len(names) - len(anonymised)} deleted, {len(anonymised)} anonymised"),
            ),
        )

    def _count(
        self,
        session: Session,
        manifest: Manifest,
        customer: _Customer,
        names: list[str],
        now: datetime,
    ) -> None:
        """Turn values into counts per month before they go."""
        owner = str(customer.id)
        key = self.keys.get().unwrap(customer.wrapped_key, owner=owner)
        rows = session.execute(
            select(FieldValue.field, FieldValue.ciphertext).where(
                FieldValue.customer_id == customer.id,
                FieldValue.field.in_(names),
            )
        )
        period = now.strftime("%Y-%m")
        for row in rows:
            value = json.loads(key.open(row.ciphertext, ctx=context(owner, row.field)))
            for bucket, count in _buckets(value):
                _increment(session, row.field, bucket, period, count)


def _buckets(value: Any) -> Iterator[tuple[str, int]]:
    if isinstance(value, list):
        yield "*", len(value)
    elif (
        isinstance(value, str | int)
        and not isinstance(value, bool)
        and len(str(value)) <= _BUCKET_MAX
    ):
        yield str(value), 1
    else:
        yield "*", 1


def _increment(session: Session, name: str, bucket: str, period: str, count: int) -> None:
    """Add to a count, creating it if needed (one statement, on either database)."""
    dialect = session.get_bind().dialect.name
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert_(AnonymisedCount).values(
        field=name, value=bucket, period=period, count=count
    )
    statement = statement.on_conflict_do_update(
        index_elements=["field", "value", "period"],
        set_={"count": AnonymisedCount.count + count},
    )
    session.execute(statement)
