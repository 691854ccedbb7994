"""Changes recorded in groups (one transaction, one statement per table) behave exactly as if
they had come one at a time; the writer groups what arrives together and answers each change
once it is committed. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from confiance.actors import SCOPES, Actor
from confiance.apikeys import service as apikeys
from confiance.audit.models import AuditEntry
from confiance.consent.errors import ConsentNotGiven
from confiance.consent.models import ConsentEvent, ConsentReceipt, ConsentState
from confiance.consent.rules import SALE_SHARING, State
from confiance.consent.service import (
    Change,
    ChangeJob,
    ChangeRecord,
    ConsentContext,
    ConsentLedger,
)
from confiance.consent.writer import ConsentWriter
from confiance.errors import ConfianceError
from confiance.manifest.errors import UnknownPurpose
from confiance.receipts import verify
from confiance.receipts.service import ReceiptKey
from confiance.runtime import Runtime
from confiance.vault.errors import CustomerNotFound
from confiance.vault.models import Customer
from confiance.web.app import create_app
from confiance.webhooks import service as webhooks

CUSTOMER = Actor("apikey", "shop-frontend", frozenset(), frozenset({"consent.write"}))
READER = Actor("apikey", "reports", frozenset(), frozenset({"consent.read"}))
CTX = ConsentContext(channel="privacy_center", method="switch", language="fr", evidence="cd" * 32)


def job(customer: uuid.UUID, actor: Actor = CUSTOMER, **states: str) -> ChangeJob:
    return ChangeJob(
        customer, actor, CTX, changes=tuple(Change(t, State(v)) for t, v in states.items())
    )


def count(session: Session, table: Any, **where: Any) -> int:
    query = select(func.count()).select_from(table)
    for name, value in where.items():
        query = query.where(getattr(table, name) == value)
    return int(session.execute(query).scalar_one())


def state_of(runtime: Runtime, customer: uuid.UUID) -> dict[str, str]:
    with runtime.db.read() as s:
        return {t: r.state for t, r in runtime.consent.states(s, customer_id=customer).items()}


def test_a_group_is_recorded_in_order_and_a_refused_change_writes_nothing(
    runtime: Runtime, new_customer: Any
) -> None:
    ann, bob = new_customer(), new_customer()
    jobs = [
        job(ann, email_marketing="given"),
        job(bob, email_marketing="withdrawn"),  # never given: refused, alone
        job(ann, email_marketing="withdrawn"),  # sees the consent given just before
        job(bob, no_such_purpose="given"),
        job(uuid.uuid4(), email_marketing="given"),
        job(bob, email_marketing="refused", personalised_offers="given"),
        job(ann, READER, email_marketing="given"),  # no consent.write scope
    ]
    with runtime.db.transaction() as s:
        versions_before = dict(s.execute(select(Customer.id, Customer.consent_version)).all())
        outcomes = runtime.consent.record_group(s, jobs)
    kinds = [type(o) for o in outcomes]
    assert kinds[0] is ChangeRecord and kinds[2] is ChangeRecord and kinds[5] is ChangeRecord
    assert isinstance(outcomes[1], ConsentNotGiven)
    assert isinstance(outcomes[3], UnknownPurpose)
    assert isinstance(outcomes[4], CustomerNotFound)
    assert isinstance(outcomes[6], ConfianceError) and outcomes[6].code == "scope-not-granted"

    assert state_of(runtime, ann) == {"email_marketing": "withdrawn"}
    assert state_of(runtime, bob) == {"email_marketing": "refused", "personalised_offers": "given"}
    with runtime.db.read() as s:
        events = s.execute(
            select(ConsentEvent.customer_id, ConsentEvent.target, ConsentEvent.state).order_by(
                ConsentEvent.id
            )
        ).all()
        versions = dict(s.execute(select(Customer.id, Customer.consent_version)).all())
        state_events = dict(
            s.execute(
                select(ConsentState.target, ConsentState.event_id).where(
                    ConsentState.customer_id == ann
                )
            ).all()
        )
        last_of_ann = s.execute(
            select(func.max(ConsentEvent.id)).where(ConsentEvent.customer_id == ann)
        ).scalar_one()
        receipts = count(s, ConsentReceipt)
        audited = count(s, AuditEntry, action="consent.record")
    assert events == [
        (ann, "email_marketing", "given"),
        (ann, "email_marketing", "withdrawn"),
        (bob, "email_marketing", "refused"),
        (bob, "personalised_offers", "given"),
    ]
    # Each change bumps the version once, as it would alone; the state names the last event.
    assert versions[ann] == versions_before[ann] + 2
    assert versions[bob] == versions_before[bob] + 1
    assert state_events == {"email_marketing": last_of_ann}
    assert receipts == audited == 3
    runtime.audit.verify(runtime.db)


def test_each_grouped_record_carries_its_own_overview_and_signed_receipt(
    runtime: Runtime, customer: uuid.UUID
) -> None:
    with runtime.db.transaction() as s:
        first, second = runtime.consent.record_group(
            s,
            [job(customer, email_marketing="given"), job(customer, email_marketing="withdrawn")],
        )
    assert isinstance(first, ChangeRecord) and isinstance(second, ChangeRecord)
    assert first.overview is not None and second.overview is not None

    def allowed(record: ChangeRecord) -> bool | None:
        assert record.overview is not None
        return next(i.allowed for i in record.overview.items if i.target == "email_marketing")

    assert (allowed(first), allowed(second)) == (True, False)
    # The overview worked out in memory is what a fresh read says once committed.
    with runtime.db.read() as s:
        fresh = runtime.consent.overview(s, customer_id=customer, actor=READER)
    assert [(i.target, i.allowed, i.reason) for i in fresh.items] == [
        (i.target, i.allowed, i.reason) for i in second.overview.items
    ]
    key = ReceiptKey.from_ring(runtime.keys.get())
    for record in (first, second):
        assert record.receipt is not None
        body = verify(record.receipt, public_key=key.public_key)
        assert body["consentReceiptID"] == record.receipt_id


def test_a_gpc_signal_in_a_group_is_honoured_once_and_before_the_change(
    runtime: Runtime, customer: uuid.UUID
) -> None:
    signal = "ef" * 32
    jobs = [
        ChangeJob(customer, CUSTOMER, CTX, gpc_evidence=signal),
        ChangeJob(
            customer,
            CUSTOMER,
            CTX,
            changes=(Change("email_marketing", State.GIVEN),),
            gpc_evidence=signal,
        ),
    ]
    with runtime.db.transaction() as s:
        gpc, change = runtime.consent.record_group(s, jobs)
    assert isinstance(gpc, ChangeRecord) and gpc.context.channel == "gpc"
    assert isinstance(change, ChangeRecord) and change.overview is not None
    assert change.overview.gpc_honoured
    with runtime.db.read() as s:
        opt_outs = count(s, ConsentEvent, target=SALE_SHARING)
    assert opt_outs == 1  # the second signal found the customer opted out already
    assert state_of(runtime, customer)[SALE_SHARING] == "refused"


def test_grouped_changes_queue_their_webhook_events_in_order(
    runtime: Runtime, new_customer: Any
) -> None:
    with runtime.db.transaction() as s:
        webhooks.create_subscription(
            s,
            name="crm",
            url="https://crm.example/hooks",
            event_types=["consent.changed"],
            actor=Actor.operator("t"),
            audit=runtime.audit,
            keys=runtime.keys,
        )
    customers = [new_customer() for _ in range(5)]
    with runtime.db.transaction() as s:
        records = runtime.consent.record_group(
            s, [job(c, email_marketing="given") for c in customers]
        )
    with runtime.db.read() as s:
        queued = s.execute(
            select(webhooks._outbox.c.payload).order_by(webhooks._outbox.c.id)
        ).scalars()
        receipts = [p["receipt"] for p in queued]
    assert receipts == [r.receipt_id for r in records if isinstance(r, ChangeRecord)]


def _writer_actor(runtime: Runtime) -> Actor:
    with runtime.db.transaction() as s:
        _, token = apikeys.create(
            s,
            name="bench",
            purposes=["email_marketing"],
            scopes=sorted(SCOPES),
            actor=Actor.operator("t"),
            audit=runtime.audit,
        )
    with runtime.db.read() as s:
        return apikeys.authenticate(s, token=token)


class _Gated(ConsentLedger):
    """A ledger whose first write waits for the test, so that changes queue up meanwhile."""

    def __init__(self, runtime: Runtime, *, fail_groups: bool = False) -> None:
        super().__init__(
            audit=runtime.audit, receipts=runtime.consent.receipts, outbox=runtime.consent.outbox
        )
        self.entered = threading.Event()
        self.release = threading.Event()
        self.fail_groups = fail_groups
        self.failed_groups = 0

    def record_group(
        self, session: Session, jobs: Any
    ) -> list[ChangeRecord | ConfianceError | None]:
        if not self.entered.is_set():
            self.entered.set()
            self.release.wait(30)
        if self.fail_groups and len(jobs) > 1:
            self.failed_groups += 1
            # The way a lost database connection fails.
            raise OperationalError("INSERT", {}, Exception("connection lost"))
        return super().record_group(session, jobs)


def _queue_behind_a_first_change(
    runtime: Runtime, writer: ConsentWriter, ledger: _Gated, jobs: list[ChangeJob]
) -> list[Any]:
    """Run ``jobs[0]``, queue the others while it is held, then let all of them go."""
    outcomes: list[Any] = [None] * len(jobs)

    def client(n: int) -> None:
        try:
            outcomes[n] = writer.run(jobs[n])
        except ConfianceError as exc:
            outcomes[n] = exc

    threads = [threading.Thread(target=client, args=(n,)) for n in range(len(jobs))]
    threads[0].start()
    assert ledger.entered.wait(30)
    for t in threads[1:]:
        t.start()
    while writer.queued < len(jobs) - 1:
        threading.Event().wait(0.01)
    ledger.release.set()
    for t in threads:
        t.join()
    writer.close()
    return outcomes


def test_the_writer_groups_waiting_changes_and_answers_each(
    runtime: Runtime, new_customer: Any
) -> None:
    actor = _writer_actor(runtime)
    ledger = _Gated(runtime)
    writer = ConsentWriter(runtime.db, ledger, unit=runtime.unit, on_refused=runtime.record_refusal)
    customers = [new_customer() for _ in range(4)]
    jobs = [job(customers[0], actor, email_marketing="given")]
    for customer in customers:  # each customer twice: the second change sees the first
        jobs.append(job(customer, actor, personalised_offers="given"))
        jobs.append(job(customer, actor, personalised_offers="withdrawn"))
    jobs.append(job(customers[1], actor, email_marketing="withdrawn"))  # never given
    outcomes = _queue_behind_a_first_change(runtime, writer, ledger, jobs)

    assert isinstance(outcomes[-1], ConsentNotGiven)
    assert all(isinstance(o, ChangeRecord) for o in outcomes[:-1])
    # The first change alone, then everything that queued behind it in one transaction.
    assert (writer.groups, writer.grouped) == (2, len(jobs))
    for customer in customers:
        assert state_of(runtime, customer)["personalised_offers"] == "withdrawn"


def test_the_writer_reports_a_change_refused_in_a_group_to_its_caller_alone(
    runtime: Runtime, customer: uuid.UUID
) -> None:
    actor = _writer_actor(runtime)
    with pytest.raises(ConsentNotGiven):
        runtime.consent_writer.run(job(customer, actor, email_marketing="withdrawn"))
    record = runtime.consent_writer.run(job(customer, actor, email_marketing="given"))
    assert isinstance(record, ChangeRecord)
    unknown = uuid.uuid4()
    with pytest.raises(CustomerNotFound):
        runtime.consent_writer.run(job(unknown, actor, email_marketing="given"))
    with runtime.db.read() as s:
        refused = count(s, AuditEntry, action="access.refused", customer_pid=str(unknown))
    assert refused == 1  # probing an unknown customer leaves a trace, as everywhere


def test_a_failed_group_falls_back_to_one_transaction_per_change(
    runtime: Runtime, new_customer: Any
) -> None:
    actor = _writer_actor(runtime)
    ledger = _Gated(runtime, fail_groups=True)
    writer = ConsentWriter(runtime.db, ledger, unit=runtime.unit, on_refused=runtime.record_refusal)
    customers = [new_customer() for _ in range(6)]
    jobs = [job(c, actor, email_marketing="given") for c in customers]
    outcomes = _queue_behind_a_first_change(runtime, writer, ledger, jobs)

    assert ledger.failed_groups == 1
    assert all(isinstance(o, ChangeRecord) for o in outcomes)
    # Six transactions of one change each: the first alone, then each of the failed group.
    assert writer.groups == writer.grouped == len(jobs)
    for customer in customers:
        assert state_of(runtime, customer) == {"email_marketing": "given"}


def test_a_closed_writer_finishes_its_queue_and_refuses_new_work(
    runtime: Runtime, customer: uuid.UUID
) -> None:
    actor = _writer_actor(runtime)
    writer = ConsentWriter(
        runtime.db, runtime.consent, unit=runtime.unit, on_refused=lambda actor, exc: None
    )
    assert isinstance(writer.run(job(customer, actor, email_marketing="given")), ChangeRecord)
    writer.close()
    with pytest.raises(RuntimeError, match="closed"):
        writer.run(job(customer, actor, email_marketing="refused"))
    assert state_of(runtime, customer) == {"email_marketing": "given"}


def test_concurrent_http_changes_are_each_answered_after_their_commit(
    runtime: Runtime, new_customer: Any
) -> None:
    with runtime.db.transaction() as s:
        _, token = apikeys.create(
            s,
            name="front",
            purposes=["order_fulfilment"],
            scopes=["consent.write", "consent.read"],
            actor=Actor.operator("t"),
            audit=runtime.audit,
        )
    customers = [new_customer() for _ in range(12)]
    app = create_app(runtime)

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://confiance") as c:
            return await asyncio.gather(
                *(
                    c.post(
                        f"/v1/customers/{customer}/consents",
                        json={"decisions": {"email_marketing": "given"}, "channel": "api"},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    for customer in customers
                ),
                c.post(
                    f"/v1/customers/{customers[0]}/consents",
                    json={"decisions": {"no_such_purpose": "given"}},
                    headers={"Authorization": f"Bearer {token}"},
                ),
            )

    # On a thread of its own: an event loop another test left on this one must not matter.
    with ThreadPoolExecutor(1) as pool:
        *answers, refused = pool.submit(asyncio.run, run()).result()
    assert [a.status_code for a in answers] == [200] * 12
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    with runtime.db.read() as s:
        stored = set(s.execute(select(ConsentReceipt.id)).scalars())
    for answer, customer in zip(answers, customers, strict=True):
        body = answer.json()
        assert body["receipt_id"] in stored
        decision = next(
            d for d in body["overview"]["decisions"] if d["target"] == "email_marketing"
        )
        assert decision["allowed"] is True
        assert body["overview"]["customer"] == str(customer)
