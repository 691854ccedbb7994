"""The consent ledger: record decisions, decide, stream audiences, count.

Rules held here (the pure ones are in :mod:`confiance.consent.rules`):

- Events are appended, never updated; the current state per (customer, target) is kept in the
  same transaction. No event means "not given": nothing is pre-ticked.
- A change records every target it names in one call, with one receipt: giving, refusing and
  withdrawing take the same call and the same number of steps.
- Each change bumps the customer's ``consent_version``; cached decisions are keyed by it, so a
  worker never answers from a state another worker has changed.
- A change becomes an audit entry, a signed receipt and an outbox event for downstream
  systems, all in the caller's transaction: all of them happen, or none does.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import Column, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from confiance import clock
from confiance.actors import Actor
from confiance.audit.service import AuditEvent, AuditLog
from confiance.consent import tcf
from confiance.consent.errors import (
    ConsentNotGiven,
    DuplicateTarget,
    NotDecidable,
    ReceiptNotFound,
    StateNotAllowed,
)
from confiance.consent.models import ConsentEvent, ConsentReceipt, ConsentState
from confiance.consent.rules import (
    CUSTOMER_STATES,
    SALE_SHARING,
    SENSITIVE,
    Kind,
    State,
    StateRow,
    Verdict,
    baselines,
    decide,
    kind_of,
    sale_or_targeting,
    uses_sensitive_data,
)
from confiance.db import Database
from confiance.db.base import UtcDateTime
from confiance.db.bulk import bind_value
from confiance.errors import ConfianceError
from confiance.manifest import service as manifest_service
from confiance.manifest.errors import NoManifestLoaded, UnknownPurpose
from confiance.manifest.models import ManifestVersion
from confiance.manifest.schemas import LegalBasis, Manifest
from confiance.manifest.service import LoadedManifest
from confiance.vault.errors import CustomerNotFound, PurposeNotGranted
from confiance.vault.models import Customer

__all__ = [
    "CHANNELS",
    "Change",
    "ChangeJob",
    "ChangeRecord",
    "ConsentContext",
    "ConsentLedger",
    "DailyCount",
    "EventView",
    "Overview",
    "OverviewItem",
    "evidence_of",
]

CHANNELS = frozenset(
    {"privacy_center", "api", "import", "gpc", "tcf", "controller", "rights_request"}
)
_CONTROLLER_STATES = frozenset({State.REVOKED, State.INVALIDATED})
_CACHE_SIZE = 200_000


def evidence_of(raw: bytes) -> str:
    """The evidence kept with an event: a SHA-256 of the request that carried the decision."""
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True, slots=True)
class Change:
    target: str
    state: State


@dataclass(frozen=True, slots=True)
class ConsentContext:
    """How a decision reached Confiance."""

    channel: str = "api"
    method: str = "api-call"
    language: str = "fr"
    evidence: str = ""
    #: The manifest version the customer was shown; ``None`` means the one in force.
    manifest_seq: int | None = None


@dataclass(frozen=True, slots=True)
class EventView:
    id: int
    target: str
    kind: str
    state: str
    manifest_seq: int
    language: str
    channel: str
    method: str
    at: datetime
    expires_at: datetime | None
    actor: str
    evidence: str
    receipt_id: str


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """What one change did; handed to the receipt issuer and the outbox."""

    customer_id: uuid.UUID
    receipt_id: str
    at: datetime
    manifest: LoadedManifest
    manifest_seq_seen: int
    #: The manifest version the customer was shown (usually the one in force).
    seen: LoadedManifest
    context: ConsentContext
    actor: str
    changes: tuple[Change, ...]
    kinds: tuple[Kind, ...]
    receipt: str | None = None
    #: Every purpose as it stands once the change is committed (worked out from the states
    #: the change read and wrote, without reading them again).
    overview: Overview | None = None


@dataclass(frozen=True, slots=True)
class DailyCount:
    day: date
    target: str
    given: int
    refused: int
    withdrawn: int

    @property
    def decisions(self) -> int:
        return self.given + self.refused

    @property
    def opt_in_rate(self) -> float | None:
        """Share of decisions made that day that said yes."""
        return None if not self.decisions else self.given / self.decisions

    @property
    def withdrawal_rate(self) -> float | None:
        """Withdrawals for every consent given that day (above 1 when more leave than join)."""
        return None if not self.given else self.withdrawn / self.given


@dataclass(frozen=True, slots=True)
class OverviewItem:
    target: str
    legal_basis: str | None
    row: StateRow | None
    since: datetime | None
    allowed: bool | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class Overview:
    customer_id: uuid.UUID
    manifest_seq: int
    items: list[OverviewItem]
    gpc_honoured: bool


@dataclass(frozen=True, slots=True)
class ChangeJob:
    """One consent change as a caller asked for it (see :meth:`ConsentLedger.record_group`)."""

    customer_id: uuid.UUID
    actor: Actor
    context: ConsentContext
    #: The decisions; or none, with ``answer`` for "accept all" / "refuse all".
    changes: tuple[Change, ...] = ()
    answer: State | None = None
    #: Set when the request carried ``Sec-GPC: 1``: the opt-out is recorded first.
    gpc_evidence: str | None = None


class ReceiptIssuer(Protocol):
    def __call__(self, record: ChangeRecord) -> str: ...


class OutboxWriter(Protocol):
    def __call__(
        self, session: Session, *, event_type: str, payloads: Sequence[Mapping[str, Any]]
    ) -> Any: ...


@dataclass
class _Plan:
    """What a group of changes will write, worked out before anything is."""

    records: list[ChangeRecord] = field(default_factory=list)
    #: Per customer: how many changes, and the time of the latest one they made themselves.
    bumps: dict[uuid.UUID, tuple[int, datetime | None]] = field(default_factory=dict)

    def add(self, record: ChangeRecord) -> None:
        self.records.append(record)
        count, contact = self.bumps.get(record.customer_id, (0, None))
        if record.context.channel in _CUSTOMER_CHANNELS:
            contact = record.at
        self.bumps[record.customer_id] = (count + 1, contact)


def _raise_or_return(outcome: ChangeRecord | ConfianceError | None) -> ChangeRecord | None:
    if isinstance(outcome, ConfianceError):
        raise outcome
    return outcome


@dataclass
class _Cached:
    states: dict[str, StateRow]


# Built once: they run on every decision and every change.
_VERSION = select(Customer.consent_version).where(Customer.id == bindparam("customer_id"))
#: The customer's consent version and the manifest version in force, in one read: what makes
#: a cached decision current (also read by the decision fast lane).
VERSION_AND_MANIFEST = select(
    Customer.consent_version,
    select(func.max(ManifestVersion.seq)).scalar_subquery(),
).where(Customer.id == bindparam("customer_id"))
_STATES = select(
    ConsentState.target,
    ConsentState.state,
    ConsentState.manifest_seq,
    ConsentState.expires_at,
    ConsentState.channel,
    ConsentState.at,
).where(ConsentState.customer_id == bindparam("customer_id"))
_MANIFEST_SEQ = select(func.max(ManifestVersion.seq))
_CUSTOMERS_FOR_UPDATE = (
    select(Customer.id)
    .where(Customer.id.in_(bindparam("ids", expanding=True)))
    .order_by(Customer.id)
    .with_for_update()
)
_STATES_OF = select(
    ConsentState.customer_id,
    ConsentState.target,
    ConsentState.state,
    ConsentState.manifest_seq,
    ConsentState.expires_at,
    ConsentState.channel,
    ConsentState.at,
).where(ConsentState.customer_id.in_(bindparam("ids", expanding=True)))
# Several rows at once, their ids returned in the order of the rows.
_INSERT_EVENTS = insert(ConsentEvent).returning(ConsentEvent.id, sort_by_parameter_order=True)
_INSERT_RECEIPT = insert(ConsentReceipt)
_UPDATE_STATE = (
    update(ConsentState)
    .where(
        ConsentState.customer_id == bindparam("b_customer"),
        ConsentState.target == bindparam("b_target"),
    )
    .values(
        state=bindparam("state"),
        channel=bindparam("channel"),
        manifest_seq=bindparam("manifest_seq"),
        at=bindparam("at"),
        expires_at=bindparam("expires_at"),
        event_id=bindparam("event_id"),
    )
)
_INSERT_STATE = insert(ConsentState).values(
    customer_id=bindparam("b_customer"),
    target=bindparam("b_target"),
    state=bindparam("state"),
    channel=bindparam("channel"),
    manifest_seq=bindparam("manifest_seq"),
    at=bindparam("at"),
    expires_at=bindparam("expires_at"),
    event_id=bindparam("event_id"),
)
_BUMP = (
    update(Customer)
    .where(Customer.id == bindparam("customer_id"))
    .values(
        consent_version=Customer.consent_version + bindparam("n"),
        # A decision of the customer's is a contact; an expiry or the controller's is not.
        last_contact_at=func.coalesce(
            bindparam("contact", type_=UtcDateTime()), Customer.last_contact_at
        ),
    )
)
#: Channels through which the customer themselves decided.
_CUSTOMER_CHANNELS = frozenset({"privacy_center", "api", "gpc", "tcf", "import", "rights_request"})


class ConsentLedger:
    def __init__(
        self,
        *,
        audit: AuditLog,
        receipts: ReceiptIssuer | None = None,
        outbox: OutboxWriter | None = None,
    ) -> None:
        self.audit = audit
        self.receipts = receipts
        self.outbox = outbox
        self._cache: OrderedDict[tuple[uuid.UUID, int, int], _Cached] = OrderedDict()
        # (customer, consent version, manifest version, purpose) -> (allowed, valid until).
        self._decisions: dict[tuple[uuid.UUID, int, int, str], tuple[Verdict, float | None]] = {}
        self._manifests: dict[int, LoadedManifest] = {}
        self._baselines: dict[int, dict[str, int]] = {}

    # -- manifest versions --------------------------------------------------------------------
    def baseline(self, session: Session, loaded: LoadedManifest) -> dict[str, int]:
        """Per purpose, the oldest manifest version a consent may have been given under."""
        cached = self._baselines.get(loaded.seq)
        if cached is None:
            versions = [
                (v.seq, manifest_service.get(session, seq=v.seq).manifest)
                for v in reversed(manifest_service.history(session))
                if v.seq <= loaded.seq
            ]
            cached = baselines(versions)
            self._baselines[loaded.seq] = cached
        return cached

    # -- recording ----------------------------------------------------------------------------
    def record(
        self,
        session: Session,
        *,
        customer_id: uuid.UUID,
        changes: Sequence[Change],
        context: ConsentContext,
        actor: Actor,
    ) -> ChangeRecord:
        """Record decisions on several targets at once, with one receipt."""
        actor.require("consent.write")
        return self._record(
            session, customer_id=customer_id, changes=changes, context=context, actor=actor
        )

    def _record(
        self,
        session: Session,
        *,
        customer_id: uuid.UUID,
        changes: Sequence[Change],
        context: ConsentContext,
        actor: Actor,
    ) -> ChangeRecord:
        job = ChangeJob(customer_id, actor, context, changes=tuple(changes))
        record = _raise_or_return(self._record_group(session, [job])[0])
        assert record is not None
        return record

    def record_all(
        self,
        session: Session,
        *,
        customer_id: uuid.UUID,
        answer: State,
        context: ConsentContext,
        actor: Actor,
    ) -> ChangeRecord:
        """ "Accept all" / "Refuse all": one call, every consent purpose, equal weight.

        Refusing all withdraws the consents that were given and refuses the others;
        accepting all gives every consent purpose. Opt-outs and objections are not touched.
        """
        record = self.record_one(session, ChangeJob(customer_id, actor, context, answer=answer))
        assert record is not None
        return record

    def honour_gpc(
        self,
        session: Session,
        *,
        customer_id: uuid.UUID,
        actor: Actor,
        evidence: str,
        language: str = "fr",
    ) -> ChangeRecord | None:
        """Record an opt-out of sale/sharing and targeted advertising from a ``Sec-GPC: 1``
        request, unless the customer is already opted out. Returns the change, if any.

        The signal is the customer's own, relayed by whoever calls: honouring it needs no
        scope, since it can only restrict processing."""
        job = ChangeJob(
            customer_id, actor, ConsentContext(language=language), gpc_evidence=evidence
        )
        return _raise_or_return(self._record_group(session, [job])[0])

    def record_one(self, session: Session, job: ChangeJob) -> ChangeRecord | None:
        """:meth:`record_group` of one job: its record, or its error raised."""
        return _raise_or_return(self.record_group(session, [job])[0])

    def record_group(
        self, session: Session, jobs: Sequence[ChangeJob]
    ) -> list[ChangeRecord | ConfianceError | None]:
        """Record several changes in the caller's transaction, in order, as if one after the
        other: each sees the ones before it. A change refused for a reason of its own gets its
        error in the returned list and writes nothing; the others are recorded.

        Every change is first worked out in memory from one read of the customers' states;
        then all of them are written with one statement per table. The result of a job is its
        record (``None`` for a ``Sec-GPC`` signal already honoured), or its error.
        """
        outcomes: list[ChangeRecord | ConfianceError | None] = []
        for job in jobs:
            if job.changes or job.answer is not None:
                try:
                    job.actor.require("consent.write")
                except ConfianceError as exc:
                    outcomes.append(exc)
                    continue
            outcomes.append(None)
        allowed = [j for j, o in zip(jobs, outcomes, strict=True) if o is None]
        results = iter(self._record_group(session, allowed))
        return [next(results) if o is None else o for o in outcomes]

    def _record_group(
        self, session: Session, jobs: Sequence[ChangeJob]
    ) -> list[ChangeRecord | ConfianceError | None]:
        if not jobs:
            return []
        connection = session.connection()
        seq = connection.execute(_MANIFEST_SEQ).scalar()
        if seq is None:
            raise NoManifestLoaded()
        loaded = self._manifest(session, seq)
        # Customers in id order, locked (PostgreSQL) for the rest of the transaction: two
        # groups lock their customers in the same order and never wait on each other in a cycle.
        ids = sorted({job.customer_id for job in jobs})
        found = {row[0] for row in connection.execute(_CUSTOMERS_FOR_UPDATE, {"ids": ids})}
        states: dict[uuid.UUID, dict[str, StateRow]] = {cid: {} for cid in found}
        stored: set[tuple[uuid.UUID, str]] = set()
        if found:
            for r in connection.execute(_STATES_OF, {"ids": sorted(found)}):
                states[r.customer_id][r.target] = StateRow(
                    r.state, r.manifest_seq, r.expires_at, r.channel, r.at
                )
                stored.add((r.customer_id, r.target))
        plan = _Plan()
        outcomes: list[ChangeRecord | ConfianceError | None] = []
        for job in jobs:
            try:
                if job.customer_id not in found:
                    raise CustomerNotFound(str(job.customer_id))
                current = states[job.customer_id]
                after, records = self._plan_job(session, loaded, current, job)
            except ConfianceError as exc:
                outcomes.append(exc)
                continue
            states[job.customer_id] = after
            for record in records:
                plan.add(record)
            outcomes.append(records[-1] if records else None)
        self._write(session, plan, stored)
        return outcomes

    def _plan_job(
        self,
        session: Session,
        loaded: LoadedManifest,
        current: dict[str, StateRow],
        job: ChangeJob,
    ) -> tuple[dict[str, StateRow], list[ChangeRecord]]:
        """The records one job makes, and the customer's states after them (nothing written)."""
        records: list[ChangeRecord] = []
        states = current
        if job.gpc_evidence is not None:
            row = states.get(SALE_SHARING)
            if row is None or row.state != State.REFUSED:
                context = ConsentContext(
                    channel="gpc",
                    method="Sec-GPC: 1",
                    language=job.context.language,
                    evidence=job.gpc_evidence,
                )
                changes: Sequence[Change] = [Change(SALE_SHARING, State.REFUSED)]
                states, record = self._plan_change(
                    session, loaded, states, job.customer_id, changes, context, job.actor
                )
                records.append(record)
        if job.answer is not None:
            changes = self._all(loaded.manifest, states, job.answer)
        elif job.changes:
            changes = job.changes
        else:
            return states, records
        states, record = self._plan_change(
            session, loaded, states, job.customer_id, changes, job.context, job.actor
        )
        records.append(record)
        return states, records

    @staticmethod
    def _all(manifest: Manifest, current: Mapping[str, StateRow], answer: State) -> list[Change]:
        if answer not in (State.GIVEN, State.REFUSED, State.WITHDRAWN):
            raise StateNotAllowed("*", answer.value, ["given", "refused"])
        changes = []
        for spec in manifest.purposes:
            if spec.legal_basis is not LegalBasis.CONSENT:
                continue
            if answer is State.GIVEN:
                changes.append(Change(spec.key, State.GIVEN))
            else:
                given = current.get(spec.key)
                was_given = given is not None and given.state == State.GIVEN
                changes.append(Change(spec.key, State.WITHDRAWN if was_given else State.REFUSED))
        return changes

    def _plan_change(
        self,
        session: Session,
        loaded: LoadedManifest,
        current: dict[str, StateRow],
        customer_id: uuid.UUID,
        changes: Sequence[Change],
        context: ConsentContext,
        actor: Actor,
    ) -> tuple[dict[str, StateRow], ChangeRecord]:
        manifest = loaded.manifest
        seen = context.manifest_seq or loaded.seq
        seen_manifest = loaded if seen == loaded.seq else self._manifest(session, seen)
        kinds = self._validate(manifest, current, changes, actor)
        now = clock.now()
        after = dict(current)
        for change in changes:
            after[change.target] = StateRow(
                change.state.value,
                seen,
                self._expiry(manifest, change, now),
                context.channel,
                now,
            )
        record = ChangeRecord(
            customer_id=customer_id,
            receipt_id=str(uuid.uuid4()),
            at=now,
            manifest=loaded,
            manifest_seq_seen=seen,
            seen=seen_manifest,
            context=context,
            actor=actor.label,
            changes=tuple(changes),
            kinds=tuple(kinds[c.target] for c in changes),
            overview=self._overview_of(session, customer_id, loaded, after, now),
        )
        if self.receipts is not None:
            record = ChangeRecord(**{**_fields(record), "receipt": self.receipts(record)})
        return after, record

    def _write(self, session: Session, plan: _Plan, stored: set[tuple[uuid.UUID, str]]) -> None:
        """Write what :meth:`_plan_job` worked out: one statement per table for the group."""
        if not plan.records:
            return
        connection = session.connection()
        events: list[dict[str, Any]] = []
        for record in plan.records:
            for change, kind in zip(record.changes, record.kinds, strict=True):
                events.append(
                    {
                        "customer_id": record.customer_id,
                        "target": change.target,
                        "kind": kind.value,
                        "state": change.state.value,
                        "manifest_seq": record.manifest_seq_seen,
                        "language": record.context.language,
                        "channel": record.context.channel,
                        "method": record.context.method,
                        "at": record.at,
                        "expires_at": self._expiry(record.manifest.manifest, change, record.at),
                        "actor": record.actor,
                        "evidence": record.context.evidence,
                        "receipt_id": record.receipt_id,
                    }
                )
        event_ids = connection.execute(_INSERT_EVENTS, events).scalars().all()
        # The latest event per (customer, target) becomes its current state.
        latest: dict[tuple[uuid.UUID, str], dict[str, Any]] = {}
        for event, event_id in zip(events, event_ids, strict=True):
            latest[(event["customer_id"], event["target"])] = {
                "b_customer": event["customer_id"],
                "b_target": event["target"],
                "state": event["state"],
                "channel": event["channel"],
                "manifest_seq": event["manifest_seq"],
                "at": event["at"],
                "expires_at": event["expires_at"],
                "event_id": event_id,
            }
        updates = [v for k, v in latest.items() if k in stored]
        inserts = [v for k, v in latest.items() if k not in stored]
        if updates:
            connection.execute(_UPDATE_STATE, updates)
        if inserts:
            connection.execute(_INSERT_STATE, inserts)
        connection.execute(
            _BUMP,
            [
                {"customer_id": cid, "n": n, "contact": contact}
                for cid, (n, contact) in plan.bumps.items()
            ],
        )
        if self.receipts is not None:
            connection.execute(
                _INSERT_RECEIPT,
                [
                    {
                        "id": r.receipt_id,
                        "customer_id": r.customer_id,
                        "issued_at": r.at,
                        "jws": r.receipt,
                    }
                    for r in plan.records
                ],
            )
        self.audit.record_many(
            session,
            [
                AuditEvent(
                    action="consent.record",
                    actor=r.actor,
                    customer_pid=str(r.customer_id),
                    purpose=",".join(sorted(c.target for c in r.changes)),
                    detail="; ".join(f"{c.target}={c.state.value}" for c in r.changes)
                    + f" via {r.context.channel}",
                )
                for r in plan.records
            ],
        )
        if self.outbox is not None:
            self.outbox(
                session,
                event_type="consent.changed",
                payloads=[
                    {
                        "customer": str(r.customer_id),
                        "at": r.at.isoformat(),
                        "manifest_version": r.manifest_seq_seen,
                        "channel": r.context.channel,
                        "receipt": r.receipt_id,
                        "changes": [
                            {"target": c.target, "state": c.state.value} for c in r.changes
                        ],
                    }
                    for r in plan.records
                ],
            )

    def import_tcf(
        self,
        session: Session,
        *,
        customer_id: uuid.UUID,
        tc_string: str,
        actor: Actor,
        language: str = "fr",
    ) -> ChangeRecord:
        """Record the decisions of an IAB TCF v2.2 TC string through the manifest's ``tcf``
        mapping: a mapped purpose is given when every TCF purpose feeding it is; a refusal of
        a consent that was given is recorded as a withdrawal."""
        actor.require("consent.write")
        manifest = manifest_service.current(session).manifest
        if manifest.tcf is None:
            raise NotDecidable(
                "tcf", "the manifest has no 'tcf:' section mapping TCF purposes to its purposes"
            )
        model = tcf.decode(tc_string)
        current = self.states(session, customer_id=customer_id)
        changes = []
        for decision in tcf.decisions(model, manifest.tcf):
            if decision.given:
                state = State.GIVEN
            else:
                row = current.get(decision.purpose_key)
                was_given = row is not None and row.state == State.GIVEN
                consent = manifest.purposes_by_key[decision.purpose_key].legal_basis
                state = (
                    State.WITHDRAWN
                    if was_given and consent is LegalBasis.CONSENT
                    else State.REFUSED
                )
            changes.append(Change(decision.purpose_key, state))
        return self.record(
            session,
            customer_id=customer_id,
            changes=changes,
            context=ConsentContext(
                channel="tcf",
                method=f"TC string (CMP {model.cmp_id}, policy {model.policy_version})",
                language=language,
                evidence=evidence_of(tc_string.encode()),
            ),
            actor=actor,
        )

    def expire_due(self, db: Database, *, limit: int = 10_000) -> int:
        """Record an ``expired`` event for every consent whose validity has run out.

        Decisions never wait for this: an expired consent stops counting at its expiry time.
        The sweep writes the fact into the history (and a receipt, and a webhook event) so that
        customers, analytics and downstream systems see it. Returns how many were recorded."""
        actor = Actor.system("consent-expiry")
        with db.read() as session:
            due = list(
                session.execute(
                    select(ConsentState.customer_id, ConsentState.target)
                    .where(ConsentState.state == State.GIVEN.value)
                    .where(ConsentState.expires_at <= clock.now())
                    .order_by(ConsentState.customer_id, ConsentState.target)
                    .limit(limit)
                )
            )
        by_customer: dict[uuid.UUID, list[Change]] = {}
        for customer_id, target in due:
            by_customer.setdefault(customer_id, []).append(Change(target, State.EXPIRED))
        for customer_id, changes in by_customer.items():
            with db.transaction() as session:
                current = self.states(session, customer_id=customer_id)
                still_due = [
                    c
                    for c in changes
                    if (row := current.get(c.target)) is not None
                    and row.state == State.GIVEN
                    and row.expires_at is not None
                    and row.expires_at <= clock.now()
                ]
                if still_due:
                    self._record(
                        session,
                        customer_id=customer_id,
                        changes=still_due,
                        context=ConsentContext(channel="controller", method="expiry"),
                        actor=actor,
                    )
        return len(due)

    def _validate(
        self,
        manifest: Manifest,
        current: Mapping[str, StateRow],
        changes: Sequence[Change],
        actor: Actor,
    ) -> dict[str, Kind]:
        kinds: dict[str, Kind] = {}
        if not changes:
            raise NotDecidable("*", "no decision was given")
        for change in changes:
            if change.target in kinds:
                raise DuplicateTarget(change.target)
            if not change.target.startswith("@") and change.target not in manifest.purposes_by_key:
                raise UnknownPurpose(change.target)
            kind = kind_of(manifest, change.target)
            if kind is None:
                basis = manifest.purposes_by_key[change.target].legal_basis.value
                raise NotDecidable(
                    change.target,
                    f"it rests on '{basis.replace('_', ' ')}', which does not depend on the "
                    "customer's say",
                )
            allowed = set(CUSTOMER_STATES)
            if kind in (Kind.OPT_OUT_SALE_SHARING, Kind.LIMIT_SENSITIVE, Kind.OBJECTION):
                allowed = {State.GIVEN, State.REFUSED}
            if kind is Kind.CONSENT and actor.kind in ("cli", "staff", "system"):
                allowed |= _CONTROLLER_STATES
            if kind is Kind.CONSENT and actor.kind == "system":
                allowed.add(State.EXPIRED)
            if change.state not in allowed:
                raise StateNotAllowed(change.target, change.state.value, sorted(allowed))
            if change.state is State.WITHDRAWN:
                row = current.get(change.target)
                if row is None or row.state != State.GIVEN:
                    raise ConsentNotGiven(change.target)
            kinds[change.target] = kind
        return kinds

    @staticmethod
    def _expiry(manifest: Manifest, change: Change, now: datetime) -> datetime | None:
        if change.state is not State.GIVEN or change.target.startswith("@"):
            return None
        period = manifest.purposes_by_key[change.target].consent_period
        return None if period is None else period.after(now)

    # -- state and decisions ------------------------------------------------------------------
    def _load_states(self, session: Session, customer_id: uuid.UUID) -> dict[str, StateRow]:
        rows = session.connection().execute(_STATES, {"customer_id": customer_id})
        return {
            r.target: StateRow(r.state, r.manifest_seq, r.expires_at, r.channel, r.at) for r in rows
        }

    def states(self, session: Session, *, customer_id: uuid.UUID) -> dict[str, StateRow]:
        return self._load_states(session, customer_id)

    def _cached(
        self, session: Session, customer_id: uuid.UUID, version: int, manifest_seq: int
    ) -> _Cached:
        key = (customer_id, version, manifest_seq)
        entry = self._cache.get(key)
        if entry is None:
            entry = _Cached(self._load_states(session, customer_id))
            self._cache[key] = entry
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return entry

    def verdict(
        self,
        session: Session,
        *,
        customer_id: uuid.UUID,
        purpose: str,
        loaded: LoadedManifest | None = None,
        consent_version: int | None = None,
    ) -> Verdict:
        """Whether ``purpose`` may process this customer's data now, and why.

        Without ``loaded`` and ``consent_version``, one query reads both the customer's
        consent version and the manifest version in force, so that the answer can come from the
        cache and is still never stale."""
        if loaded is None and consent_version is None:
            row = (
                session.connection()
                .execute(VERSION_AND_MANIFEST, {"customer_id": customer_id})
                .first()
            )
            if row is None:
                raise CustomerNotFound(str(customer_id), purpose=purpose)
            consent_version = row[0]
            loaded = self._manifest(session, row[1])
        loaded = loaded or manifest_service.current(session)
        if purpose not in loaded.manifest.purposes_by_key:
            raise UnknownPurpose(purpose)
        if consent_version is None:
            consent_version = (
                session.connection()
                .execute(_VERSION, {"customer_id": customer_id})
                .scalar_one_or_none()
            )
            if consent_version is None:
                raise CustomerNotFound(str(customer_id), purpose=purpose)
        key = (customer_id, consent_version, loaded.seq, purpose)
        hit = self._decisions.get(key)
        if hit is not None and (hit[1] is None or clock.timestamp() < hit[1]):
            return hit[0]
        entry = self._cached(session, customer_id, consent_version, loaded.seq)
        verdict = decide(
            loaded.manifest,
            self.baseline(session, loaded),
            entry.states,
            purpose,
            clock.now(),
        )
        if len(self._decisions) >= _CACHE_SIZE:
            self._decisions.clear()
        until = None if verdict.valid_until is None else verdict.valid_until.timestamp()
        self._decisions[key] = (verdict, until)
        return verdict

    def decision(
        self, session: Session, *, customer_id: uuid.UUID, purpose: str, actor: Actor
    ) -> Verdict:
        """:meth:`verdict` for a caller that must hold the ``consent.read`` scope."""
        actor.require("consent.read")
        return self.verdict(session, customer_id=customer_id, purpose=purpose)

    def _manifest(self, session: Session, seq: int) -> LoadedManifest:
        loaded = self._manifests.get(seq)
        if loaded is None:
            loaded = self._manifests[seq] = manifest_service.get(session, seq=seq)
        return loaded

    def allows(
        self,
        session: Session,
        *,
        customer_id: uuid.UUID,
        purpose: str,
        loaded: LoadedManifest | None = None,
        consent_version: int | None = None,
    ) -> bool:
        """The vault's consent gate. Cached per (customer, consent version, manifest version):
        a change anywhere bumps the version, so the cache is never stale."""
        if loaded is not None and consent_version is not None:
            hit = self._decisions.get((customer_id, consent_version, loaded.seq, purpose))
            if hit is not None and (hit[1] is None or clock.timestamp() < hit[1]):
                return hit[0].allowed
        return self.verdict(
            session,
            customer_id=customer_id,
            purpose=purpose,
            loaded=loaded,
            consent_version=consent_version,
        ).allowed

    def cached_verdict(
        self, customer_id: uuid.UUID, purpose: str, consent_version: int, manifest_seq: int
    ) -> Verdict | None:
        """A verdict from the in-process cache alone (``None`` on a miss or once it expired)."""
        hit = self._decisions.get((customer_id, consent_version, manifest_seq, purpose))
        if hit is None or (hit[1] is not None and clock.timestamp() >= hit[1]):
            return None
        return hit[0]

    def decide_cached(
        self, customer_id: uuid.UUID, purpose: str, consent_version: int, manifest_seq: int
    ) -> bool | None:
        """A decision from the in-process cache alone (``None`` on a miss): the hot path of
        services that already hold the customer's consent version."""
        hit = self._decisions.get((customer_id, consent_version, manifest_seq, purpose))
        if hit is None or (hit[1] is not None and clock.timestamp() >= hit[1]):
            return None
        return hit[0].allowed

    def overview(self, session: Session, *, customer_id: uuid.UUID, actor: Actor) -> Overview:
        """Every decidable target and every purpose: state, since when, until when, and
        whether it may process data now."""
        actor.require("consent.read")
        connection = session.connection()
        found = connection.execute(VERSION_AND_MANIFEST, {"customer_id": customer_id}).first()
        if found is None:
            raise CustomerNotFound(str(customer_id))
        if found[1] is None:
            raise NoManifestLoaded()
        loaded = self._manifest(session, found[1])
        entry = self._cached(session, customer_id, found[0], loaded.seq)
        return self._overview_of(session, customer_id, loaded, entry.states, clock.now())

    def _overview_of(
        self,
        session: Session,
        customer_id: uuid.UUID,
        loaded: LoadedManifest,
        states: Mapping[str, StateRow],
        now: datetime,
    ) -> Overview:
        baseline = self.baseline(session, loaded)
        items = []
        for spec in loaded.manifest.purposes:
            row = states.get(spec.key)
            verdict = decide(loaded.manifest, baseline, states, spec.key, now)
            items.append(
                OverviewItem(
                    target=spec.key,
                    legal_basis=spec.legal_basis.value,
                    row=row,
                    since=row.at if row else None,
                    allowed=verdict.allowed,
                    reason=verdict.reason,
                )
            )
        for scope in (SALE_SHARING, SENSITIVE):
            row = states.get(scope)
            items.append(
                OverviewItem(
                    target=scope,
                    legal_basis=None,
                    row=row,
                    since=row.at if row else None,
                    allowed=None,
                    reason=None,
                )
            )
        sale = states.get(SALE_SHARING)
        gpc = sale is not None and sale.state == State.REFUSED and sale.channel == "gpc"
        return Overview(customer_id, loaded.seq, items, gpc)

    def verdicts(
        self, session: Session, *, customer_id: uuid.UUID, actor: Actor
    ) -> dict[str, Verdict]:
        """Every purpose's decision for one customer, as the privacy center shows them."""
        actor.require("consent.read")
        loaded = manifest_service.current(session)
        return {
            p.key: self.verdict(session, customer_id=customer_id, purpose=p.key, loaded=loaded)
            for p in loaded.manifest.purposes
        }

    # -- history and receipts -----------------------------------------------------------------
    def history(self, session: Session, *, customer_id: uuid.UUID, actor: Actor) -> list[EventView]:
        actor.require("consent.read")
        self._require_customer(session, customer_id)
        rows = session.execute(
            select(ConsentEvent)
            .where(ConsentEvent.customer_id == customer_id)
            .order_by(ConsentEvent.id)
        ).scalars()
        return [
            EventView(
                id=r.id,
                target=r.target,
                kind=r.kind,
                state=r.state,
                manifest_seq=r.manifest_seq,
                language=r.language,
                channel=r.channel,
                method=r.method,
                at=r.at,
                expires_at=r.expires_at,
                actor=r.actor,
                evidence=r.evidence,
                receipt_id=r.receipt_id,
            )
            for r in rows
        ]

    def receipts_of(
        self, session: Session, *, customer_id: uuid.UUID, actor: Actor
    ) -> list[tuple[str, datetime]]:
        actor.require("consent.read")
        self._require_customer(session, customer_id)
        return [
            (r.id, r.issued_at)
            for r in session.execute(
                select(ConsentReceipt.id, ConsentReceipt.issued_at)
                .where(ConsentReceipt.customer_id == customer_id)
                .order_by(ConsentReceipt.issued_at, ConsentReceipt.id)
            )
        ]

    def receipt(
        self,
        session: Session,
        *,
        receipt_id: str,
        actor: Actor,
        customer_id: uuid.UUID | None = None,
    ) -> str:
        actor.require("consent.read")
        query = select(ConsentReceipt.jws).where(ConsentReceipt.id == receipt_id)
        if customer_id is not None:
            query = query.where(ConsentReceipt.customer_id == customer_id)
        jws = session.execute(query).scalar_one_or_none()
        if jws is None:
            raise ReceiptNotFound(receipt_id)
        return jws

    @staticmethod
    def _require_customer(session: Session, customer_id: uuid.UUID) -> None:
        found = session.connection().execute(_VERSION, {"customer_id": customer_id}).first()
        if found is None:
            raise CustomerNotFound(str(customer_id))

    # -- audiences ----------------------------------------------------------------------------
    def audience(
        self, db: Database, *, purpose: str, actor: Actor, batch: int = 50_000
    ) -> Iterator[str]:
        """Ids of every customer ``purpose`` may process now, streamed in id order.

        One SQL query per batch (keyset pagination, each batch in its own short transaction),
        so a million customers stream without holding a lock or the whole list in memory.
        """
        actor.require("audiences")
        with db.transaction() as session:
            loaded = manifest_service.current(session)
            spec = loaded.manifest.purposes_by_key.get(purpose)
            if spec is None:
                raise UnknownPurpose(purpose)
            if not actor.may_use(purpose):
                raise PurposeNotGranted(purpose, actor.label)
            baseline = self.baseline(session, loaded).get(purpose, 0)
            self.audit.record(
                session,
                AuditEvent(action="audience.export", actor=actor.label, purpose=purpose),
            )
        sql, params, last = self._audience_sql(db, loaded.manifest, purpose, baseline)
        while True:
            with db.transaction() as session:
                rows = (
                    session.connection()
                    .exec_driver_sql(sql, {**params, "after": last, "batch": batch})
                    .all()
                )
            if not rows:
                return
            for (customer,) in rows:
                yield _as_uuid_text(customer)
            last = str(rows[-1][0])
            if len(rows) < batch:
                return

    @staticmethod
    def _audience_sql(
        db: Database, manifest: Manifest, purpose: str, baseline: int
    ) -> tuple[str, dict[str, Any], str]:
        """The batch query, its parameters, and the id to start after."""
        spec = manifest.purposes_by_key[purpose]
        pg = db.is_postgresql

        def ph(name: str) -> str:
            return f"%({name})s" if pg else f":{name}"

        conditions: list[str] = []
        params: dict[str, Any] = {"purpose": purpose}
        consent = spec.legal_basis is LegalBasis.CONSENT
        # A consent purpose walks its own range of the consent_state index (target, state,
        # customer); any other purpose walks the customers.
        key = "s.customer_id" if consent else "c.id"

        def blocked(target: str) -> str:
            return (
                "NOT EXISTS (SELECT 1 FROM consent_state b "  # noqa: S608
                f"WHERE b.customer_id = {key} AND b.target = '{target}' AND b.state = 'refused')"
            )

        if consent:
            params["baseline"] = baseline
            params["now"] = bind_value(
                db.engine.dialect,
                cast(Column[Any], ConsentState.__table__.c.expires_at),
                clock.now(),
            )
            conditions += [
                f"s.target = {ph('purpose')}",
                "s.state = 'given'",
                f"s.manifest_seq >= {ph('baseline')}",
                f"(s.expires_at IS NULL OR s.expires_at > {ph('now')})",
            ]
            source = "consent_state s"
        else:
            source = "vault_customers c"
            if spec.legal_basis in (LegalBasis.LEGITIMATE_INTEREST, LegalBasis.PUBLIC_TASK):
                conditions.append(
                    "NOT EXISTS (SELECT 1 FROM consent_state s WHERE s.customer_id = c.id "  # noqa: S608
                    f"AND s.target = {ph('purpose')} AND s.state IN ('refused', 'withdrawn'))"
                )
        if sale_or_targeting(spec):
            conditions.append(blocked(SALE_SHARING))
        if spec.legal_basis not in (
            LegalBasis.CONTRACT,
            LegalBasis.LEGAL_OBLIGATION,
            LegalBasis.VITAL_INTEREST,
        ) and uses_sensitive_data(manifest, spec):
            conditions.append(blocked(SENSITIVE))
        if pg:
            after = f"{key} > CAST({ph('after')} AS uuid)"
            start = "00000000-0000-0000-0000-000000000000"
            column = f"{key}::text"
        else:
            after, start, column = f"{key} > {ph('after')}", "", key
        where = " AND ".join([after, *conditions])
        sql = (
            f"SELECT {column} FROM {source} WHERE {where} "  # noqa: S608 (fixed parts)
            f"ORDER BY {key} LIMIT {ph('batch')}"
        )
        return sql, params, start

    # -- analytics ----------------------------------------------------------------------------
    def daily_counts(
        self, session: Session, *, since: date, until: date, actor: Actor
    ) -> list[DailyCount]:
        """Given, refused and withdrawn decisions per target and per day (UTC): aggregates
        only, no customer. Open to ``analytics`` (marketing sees rates, not people) as well as
        ``consent.read``."""
        if not actor.may("analytics"):
            actor.require("consent.read")
        dialect = session.get_bind().dialect.name
        day = (
            func.date(func.timezone("UTC", ConsentEvent.at))
            if dialect == "postgresql"
            else func.date(ConsentEvent.at)
        )
        start = datetime(since.year, since.month, since.day, tzinfo=clock.now().tzinfo)
        end = datetime(until.year, until.month, until.day, tzinfo=clock.now().tzinfo)
        rows = session.execute(
            select(day.label("day"), ConsentEvent.target, ConsentEvent.state, func.count())
            .where(ConsentEvent.at >= start, ConsentEvent.at < end + _ONE_DAY)
            .group_by(day, ConsentEvent.target, ConsentEvent.state)
        ).all()
        table: dict[tuple[date, str], dict[str, int]] = {}
        for d, target, state, n in rows:
            when = d if isinstance(d, date) else date.fromisoformat(str(d))
            table.setdefault((when, target), {})[state] = int(n)
        return [
            DailyCount(
                day=d,
                target=t,
                given=c.get("given", 0),
                refused=c.get("refused", 0),
                withdrawn=c.get("withdrawn", 0),
            )
            for (d, t), c in sorted(table.items())
        ]


def _fields(record: ChangeRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__dataclass_fields__}


def _as_uuid_text(value: Any) -> str:
    text_value = str(value)
    if len(text_value) == 32:
        return (
            f"{text_value[:8]}-{text_value[8:12]}-{text_value[12:16]}-"
            f"{text_value[16:20]}-{text_value[20:]}"
        )
    return text_value


_ONE_DAY = timedelta(days=1)
