"""Rights requests end to end through the service, on both databases: intake that reveals
nothing, one-time codes, every kind of request carried out, deadlines, staff actions."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from confiance import deadlines
from confiance.actors import Actor
from confiance.audit.models import AuditEntry
from confiance.consent.rules import SALE_SHARING
from confiance.deadlines import Jurisdiction
from confiance.erasure.log import ErasureLogFile
from confiance.erasure.service import verify_certificate
from confiance.mail import service as mail_service
from confiance.mail.models import MailMessage
from confiance.rights.errors import (
    CodeRejected,
    InvalidRequestDetails,
    KindNotAvailable,
    TooManyCodes,
    WrongStatus,
)
from confiance.rights.models import RightsRequest
from confiance.runtime import Runtime
from confiance.vault.errors import CustomerNotFound, ProcessingRefused, ProcessingRestricted
from confiance.vault.models import Customer, FieldValue
from tests.support import ManualClock

STAFF = Actor(
    "staff", "dpo@maison-exemple.example", scopes=frozenset({"rights.read", "rights.manage"})
)
REQUESTER = Actor.system("privacy-center")
OPERATOR = Actor.operator("test")


def collect(runtime: Runtime, values: dict[str, Any], purposes: list[str]) -> uuid.UUID:
    with runtime.unit(OPERATOR) as session:
        return runtime.vault.collect(session, actor=OPERATOR, purposes=purposes, values=values).id


def mails_to(runtime: Runtime, address: str) -> list[mail_service.Content]:
    """The messages queued for ``address``, opened as the delivery worker would."""
    with runtime.db.transaction() as session:
        rows = (
            session.execute(
                select(MailMessage)
                .where(MailMessage.recipient_sealed.is_not(None))
                .order_by(MailMessage.created_at, MailMessage.id)
            )
            .scalars()
            .all()
        )
        found = []
        for row in rows:
            assert row.recipient_sealed is not None and row.message_sealed is not None
            to = mail_service.open_recipient(runtime.keys, row.id, row.recipient_sealed)
            if to.lower() == address.lower():
                found.append(mail_service.open_content(runtime.keys, row.id, row.message_sealed))
        return found


def last_code(runtime: Runtime, address: str) -> str:
    codes = [m for m in mails_to(runtime, address) if "code" in m.subject.lower()]
    assert codes, "no code was sent"
    match = re.search(r"\b(\d{6})\b", codes[-1].text)
    assert match is not None
    return match.group(1)


def submit(runtime: Runtime, email: str, kind: str = "access", **kw: Any) -> uuid.UUID:
    with runtime.db.transaction() as session:
        return runtime.rights.submit(session, kind=kind, email=email, actor=REQUESTER, **kw).id


def verify(runtime: Runtime, request_id: uuid.UUID, code: str) -> Any:
    with runtime.db.transaction() as session:
        result = runtime.rights.verify(session, request_id=request_id, code=code, actor=REQUESTER)
    if isinstance(result, CodeRejected):
        raise result
    return result


def verified(runtime: Runtime, email: str, kind: str = "access", **kw: Any) -> uuid.UUID:
    request_id = submit(runtime, email, kind, **kw)
    verify(runtime, request_id, last_code(runtime, email))
    return request_id


def approve(runtime: Runtime, request_id: uuid.UUID, **kw: Any) -> Any:
    with runtime.db.transaction() as session:
        return runtime.rights.approve(session, request_id=request_id, actor=STAFF, **kw)


@pytest.fixture
def anne(runtime: Runtime, make_record: Any) -> tuple[uuid.UUID, dict[str, Any]]:
    record = make_record()
    record["email"] = "anne.martin@courriel.example"
    return collect(runtime, record, make_record.purposes), record


# -- intake ---------------------------------------------------------------------------------
def test_intake_is_the_same_for_a_known_and_an_unknown_address(
    runtime: Runtime, anne: tuple[uuid.UUID, dict[str, Any]]
) -> None:
    with runtime.db.transaction() as session:
        known = runtime.rights.submit(
            session, kind="access", email=anne[1]["email"], actor=REQUESTER
        )
        unknown = runtime.rights.submit(
            session, kind="access", email="nobody@courriel.example", actor=REQUESTER
        )
    assert (
        (known.status, known.code_sent)
        == (unknown.status, unknown.code_sent)
        == (
            "received",
            True,
        )
    )
    assert known.due_at == unknown.due_at
    # Nobody was looked up: no request names a customer before the code is given back.
    with runtime.db.transaction() as session:
        pids = session.execute(select(RightsRequest.customer_pid)).scalars().all()
    assert pids == [None, None]
    assert len(mails_to(runtime, anne[1]["email"])) == 1
    assert len(mails_to(runtime, "nobody@courriel.example")) == 1


def test_the_code_mail_is_in_the_requesters_language(runtime: Runtime) -> None:
    submit(runtime, "lea@courriel.example", language="en")
    submit(runtime, "paul@courriel.example", language="fr")
    [en] = mails_to(runtime, "lea@courriel.example")
    [fr] = mails_to(runtime, "paul@courriel.example")
    assert "verification code" in en.subject and "access to your data" in en.text
    assert "code de vérification" in fr.subject and "accès à vos données" in fr.text


def test_kinds_follow_the_law(runtime: Runtime) -> None:
    with runtime.db.transaction() as session, pytest.raises(KindNotAvailable) as info:
        runtime.rights.submit(
            session, kind="restriction", email="a@b.example", actor=REQUESTER, jurisdiction="ccpa"
        )
    assert "limit_sensitive" in info.value.fields["available"]
    with runtime.db.transaction() as session, pytest.raises(KindNotAvailable):
        runtime.rights.submit(session, kind="limit_sensitive", email="a@b.example", actor=REQUESTER)


def test_a_bad_address_is_refused_without_echoing_it(runtime: Runtime) -> None:
    with runtime.db.transaction() as session, pytest.raises(InvalidRequestDetails) as info:
        runtime.rights.submit(session, kind="access", email="not-an-address", actor=REQUESTER)
    assert "not-an-address" not in str(info.value)
    with runtime.db.transaction() as session:
        assert session.execute(select(func.count()).select_from(RightsRequest)).scalar_one() == 0


def test_deadlines_per_jurisdiction(runtime: Runtime) -> None:
    with runtime.db.transaction() as session:
        gdpr = runtime.rights.submit(session, kind="erasure", email="a@b.example", actor=REQUESTER)
        ccpa = runtime.rights.submit(
            session, kind="erasure", email="a@b.example", actor=REQUESTER, jurisdiction="ccpa"
        )
        opt = runtime.rights.submit(
            session, kind="opt_out_sale", email="a@b.example", actor=REQUESTER, jurisdiction="ccpa"
        )
        rows = {r.id: r for r in session.execute(select(RightsRequest)).scalars()}
    g, c, o = rows[gdpr.id], rows[ccpa.id], rows[opt.id]
    assert g.due_at == deadlines.response_due(
        jurisdiction=Jurisdiction.GDPR, received=g.received_at
    )
    assert g.ack_due_at is None
    assert c.due_at == deadlines.response_due(
        jurisdiction=Jurisdiction.CCPA, received=c.received_at
    )
    assert c.ack_due_at == deadlines.acknowledgement_due(
        jurisdiction=Jurisdiction.CCPA, received=c.received_at
    )
    assert o.due_at == deadlines.opt_out_due(received=o.received_at)


# -- codes ----------------------------------------------------------------------------------
def test_wrong_codes_count_and_burn_the_code(runtime: Runtime) -> None:
    email = "lea@courriel.example"
    request_id = submit(runtime, email)
    code = last_code(runtime, email)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    attempts = runtime.settings.rights.code_attempts
    for left in range(attempts - 1, -1, -1):
        with pytest.raises(CodeRejected) as info:
            verify(runtime, request_id, wrong)
        assert info.value.fields["attempts_left"] == left
    # Burnt: even the right code no longer works.
    with pytest.raises(CodeRejected):
        verify(runtime, request_id, code)


def test_a_code_expires_and_works_once(runtime: Runtime, manual_clock: ManualClock) -> None:
    email = "lea@courriel.example"
    request_id = submit(runtime, email)
    code = last_code(runtime, email)
    manual_clock.advance(minutes=runtime.settings.rights.code_ttl_minutes, seconds=1)
    with pytest.raises(CodeRejected):
        verify(runtime, request_id, code)
    with runtime.db.transaction() as session:
        runtime.rights.resend_code(session, request_id=request_id)
    fresh = last_code(runtime, email)
    assert verify(runtime, request_id, fresh).status == "verified"
    with pytest.raises(CodeRejected):
        verify(runtime, request_id, fresh)


def test_codes_per_address_are_limited(runtime: Runtime, manual_clock: ManualClock) -> None:
    email = "lea@courriel.example"
    limit = runtime.settings.rights.codes_per_hour
    ids = [submit(runtime, email) for _ in range(limit)]
    with runtime.db.transaction() as session:
        held = runtime.rights.submit(session, kind="access", email=email, actor=REQUESTER)
    assert not held.code_sent
    assert len(mails_to(runtime, email)) == limit
    with runtime.db.transaction() as session, pytest.raises(TooManyCodes):
        runtime.rights.resend_code(session, request_id=ids[0])
    manual_clock.advance(hours=1, seconds=1)
    with runtime.db.transaction() as session:
        runtime.rights.resend_code(session, request_id=held.id)
    assert len(mails_to(runtime, email)) == limit + 1


# -- carrying requests out ------------------------------------------------------------------
def test_access_request_finds_the_customer_once_verified(
    runtime: Runtime, anne: tuple[uuid.UUID, dict[str, Any]]
) -> None:
    customer_id, record = anne
    request_id = verified(runtime, record["email"].upper())  # an address is case-insensitive
    with runtime.db.transaction() as session:
        view = runtime.rights.get(session, request_id=request_id, actor=STAFF)
    assert view.status == "verified" and view.customer_pid == str(customer_id)
    view = approve(runtime, request_id)
    assert view.status == "completed" and view.outcome["result"] == "export_ready"
    texts = [m.text for m in mails_to(runtime, record["email"])]
    assert any("téléchargez" in t for t in texts)
    actions = [h["action"] for h in runtime_history(runtime, request_id)]
    assert actions == ["receive", "verify", "approve", "complete"]


def runtime_history(runtime: Runtime, request_id: uuid.UUID) -> list[dict[str, Any]]:
    with runtime.db.transaction() as session:
        return runtime.rights.get(session, request_id=request_id, actor=STAFF).history


def test_a_shared_address_is_noted_however_the_identity_was_checked(
    runtime: Runtime, make_record: Any
) -> None:
    shared = "famille.durand@courriel.example"
    for _ in range(2):
        record = make_record()
        record["email"] = shared
        collect(runtime, record, make_record.purposes)
    by_code = verified(runtime, shared)
    by_staff = submit(runtime, shared)
    with runtime.db.transaction() as session:
        runtime.rights.staff_verify(
            session, request_id=by_staff, actor=STAFF, note="identity card seen in store"
        )
    [code_step] = [h for h in runtime_history(runtime, by_code) if h["action"] == "verify"]
    [staff_step] = [
        h for h in runtime_history(runtime, by_staff) if h["action"] == "verify-by-staff"
    ]
    assert code_step["note"] == "2 customers share this address"
    assert staff_step["note"] == "identity card seen in store; 2 customers share this address"


def test_an_unknown_address_gets_told_nothing_is_held(runtime: Runtime) -> None:
    request_id = verified(runtime, "nobody@courriel.example", "erasure")
    view = approve(runtime, request_id)
    assert view.outcome == {"result": "no_data"}
    [*_, answer] = mails_to(runtime, "nobody@courriel.example")
    assert "aucune donnée" in answer.text


def test_erasure_keeps_only_what_the_law_holds(
    runtime: Runtime, anne: tuple[uuid.UUID, dict[str, Any]]
) -> None:
    customer_id, record = anne
    request_id = verified(runtime, record["email"], "erasure")
    view = approve(runtime, request_id)
    assert view.status == "completed"
    held = {h["field"] for h in view.outcome["held"]}
    invoicing = set(manifest_fields(runtime, "invoicing"))
    assert held == invoicing & set(record)
    assert set(view.outcome["erased_fields"]) == set(record) - held
    with runtime.db.transaction() as session:
        kept = set(
            session.execute(
                select(FieldValue.field).where(FieldValue.customer_id == customer_id)
            ).scalars()
        )
    assert kept == held
    # Only the legal obligation may still read the held fields; everything else finds nobody.
    with runtime.unit(OPERATOR) as session:
        view_inv = runtime.vault.read(
            session, actor=OPERATOR, purpose="invoicing", customer_id=customer_id
        )
    assert view_inv.values == {k: v for k, v in record.items() if k in held}
    with pytest.raises(CustomerNotFound), runtime.unit(OPERATOR) as session:
        runtime.vault.read(
            session, actor=OPERATOR, purpose="order_fulfilment", customer_id=customer_id
        )
    with runtime.unit(OPERATOR) as session:
        assert (
            runtime.vault.find(
                session,
                actor=OPERATOR,
                purpose="order_fulfilment",
                field="email",
                value=record["email"],
            )
            == []
        )
    claims = verify_certificate(view.outcome["certificate"], keys=runtime.keys)
    assert claims["sub"] == str(customer_id)
    assert {h["field"] for h in claims["held"]} == held
    assert [e.customer_pid for e in ErasureLogFile(runtime.settings.erasure_log_path).read()] == [
        str(customer_id)
    ]
    # The requester's address is gone once the answer is queued.
    with runtime.db.transaction() as session:
        row = session.get(RightsRequest, request_id)
        assert row is not None and row.contact_sealed is None and row.contact_digest is None
    answer = mails_to(runtime, record["email"])[-1]
    assert "sauf celles que la loi nous oblige à garder" in answer.text


def manifest_fields(runtime: Runtime, purpose: str) -> list[str]:
    from tests.support import manifest_of

    return list(manifest_of(runtime).purposes_by_key[purpose].fields)


def test_erasure_without_a_hold_removes_the_customer(runtime: Runtime) -> None:
    customer_id = collect(
        runtime,
        {"email": "tom@courriel.example", "phone": "+33 6 12 34 56 78"},
        ["order_fulfilment"],
    )
    request_id = verified(runtime, "tom@courriel.example", "erasure")
    view = approve(runtime, request_id)
    assert view.outcome["held"] == []
    with runtime.db.transaction() as session:
        assert session.get(Customer, customer_id) is None
    with runtime.db.transaction() as session:
        erased = session.execute(
            select(AuditEntry).where(
                AuditEntry.customer_pid == str(customer_id), AuditEntry.action == "erasure.erase"
            )
        ).scalar_one()
    assert erased.fields == "email,phone"
    assert "tom@" not in (erased.detail or "")


def test_a_ccpa_opt_out_takes_effect_on_verification(
    runtime: Runtime, anne: tuple[uuid.UUID, dict[str, Any]]
) -> None:
    customer_id, record = anne
    request_id = verified(runtime, record["email"], "opt_out_sale", jurisdiction="ccpa")
    with runtime.db.transaction() as session:
        view = runtime.rights.get(session, request_id=request_id, actor=STAFF)
        states = runtime.consent.states(session, customer_id=customer_id)
    assert view.status == "completed"
    assert states[SALE_SHARING].state == "refused"
    assert states[SALE_SHARING].channel == "rights_request"


def test_an_objection_stops_a_legitimate_interest_purpose(
    runtime: Runtime, anne: tuple[uuid.UUID, dict[str, Any]]
) -> None:
    customer_id, record = anne
    with runtime.unit(OPERATOR) as session:
        runtime.vault.read(
            session, actor=OPERATOR, purpose="fraud_prevention", customer_id=customer_id
        )
    verified(runtime, record["email"], "objection", details={"purposes": ["fraud_prevention"]})
    with pytest.raises(ProcessingRefused), runtime.unit(OPERATOR) as session:
        runtime.vault.read(
            session, actor=OPERATOR, purpose="fraud_prevention", customer_id=customer_id
        )


def test_an_objection_to_a_contract_purpose_is_refused_at_intake(runtime: Runtime) -> None:
    with runtime.db.transaction() as session, pytest.raises(InvalidRequestDetails) as info:
        runtime.rights.submit(
            session,
            kind="objection",
            email="a@b.example",
            actor=REQUESTER,
            details={"purposes": ["order_fulfilment"]},
        )
    assert info.value.fields["purpose"] == "order_fulfilment"


def test_restriction_stops_processing_but_the_legal_obligation(
    runtime: Runtime, anne: tuple[uuid.UUID, dict[str, Any]]
) -> None:
    customer_id, record = anne
    request_id = verified(runtime, record["email"], "restriction")
    approve(runtime, request_id)
    with pytest.raises(ProcessingRestricted), runtime.unit(OPERATOR) as session:
        runtime.vault.read(
            session, actor=OPERATOR, purpose="customer_support", customer_id=customer_id
        )
    with runtime.unit(OPERATOR) as session:
        runtime.vault.read(session, actor=OPERATOR, purpose="invoicing", customer_id=customer_id)
    with runtime.db.transaction() as session:
        runtime.rights.lift_restriction(
            session, request_id=request_id, actor=STAFF, reason="the dispute is settled"
        )
    with runtime.unit(OPERATOR) as session:
        runtime.vault.read(
            session, actor=OPERATOR, purpose="customer_support", customer_id=customer_id
        )


def test_rectification_rewrites_the_value_and_its_index(
    runtime: Runtime, anne: tuple[uuid.UUID, dict[str, Any]]
) -> None:
    customer_id, record = anne
    request_id = verified(
        runtime,
        record["email"],
        "rectification",
        details={"values": {"email": "anne.durand@courriel.example", "city": "Lyon"}},
    )
    approve(runtime, request_id)
    with runtime.unit(OPERATOR) as session:
        view = runtime.vault.read(
            session, actor=OPERATOR, purpose="order_fulfilment", customer_id=customer_id
        )
        assert view.values["email"] == "anne.durand@courriel.example"
        assert view.values["city"] == "Lyon"
        assert runtime.vault.find(
            session,
            actor=OPERATOR,
            purpose="order_fulfilment",
            field="email",
            value="anne.durand@courriel.example",
        ) == [customer_id]


# -- staff ----------------------------------------------------------------------------------
def test_extension_once_with_a_reason_sent_to_the_customer(runtime: Runtime) -> None:
    request_id = verified(runtime, "lea@courriel.example", "access")
    with runtime.db.transaction() as session:
        before = runtime.rights.get(session, request_id=request_id, actor=STAFF)
        after = runtime.rights.extend(
            session, request_id=request_id, actor=STAFF, reason="Votre dossier compte 40 000 pages."
        )
    assert after.due_at == deadlines.response_due(
        jurisdiction=Jurisdiction.GDPR, received=before.received_at, extended=True
    )
    assert after.extended and after.due_at > before.due_at
    notice = mails_to(runtime, "lea@courriel.example")[-1]
    assert "40 000 pages" in notice.text
    with runtime.db.transaction() as session, pytest.raises(InvalidRequestDetails):
        runtime.rights.extend(session, request_id=request_id, actor=STAFF, reason="encore")


def test_no_extension_once_the_deadline_passed(runtime: Runtime, manual_clock: ManualClock) -> None:
    request_id = verified(runtime, "lea@courriel.example", "access")
    manual_clock.advance(days=40)
    with runtime.db.transaction() as session, pytest.raises(InvalidRequestDetails):
        runtime.rights.extend(session, request_id=request_id, actor=STAFF, reason="trop tard")


def test_refusal_tells_the_customer_why_and_closes(runtime: Runtime) -> None:
    request_id = verified(runtime, "lea@courriel.example", "access")
    with runtime.db.transaction() as session:
        view = runtime.rights.refuse(
            session,
            request_id=request_id,
            actor=STAFF,
            reason="Une demande identique a reçu réponse la semaine dernière.",
        )
    assert view.status == "refused"
    refusal = mails_to(runtime, "lea@courriel.example")[-1]
    assert "semaine dernière" in refusal.text and "dpo@maison-exemple.example" in refusal.text
    with runtime.db.transaction() as session, pytest.raises(WrongStatus):
        runtime.rights.approve(session, request_id=request_id, actor=STAFF)


def test_staff_cannot_act_on_an_unverified_request(runtime: Runtime) -> None:
    request_id = submit(runtime, "lea@courriel.example", "erasure")
    with runtime.db.transaction() as session, pytest.raises(WrongStatus):
        runtime.rights.approve(session, request_id=request_id, actor=STAFF)


def test_queue_lists_overdue_and_due_soon(runtime: Runtime, manual_clock: ManualClock) -> None:
    old = verified(runtime, "a@courriel.example", "access")
    manual_clock.advance(days=20)
    middle = verified(runtime, "b@courriel.example", "access")
    # One month after day 20 is day 48 to 51, the next working day at worst 54: 2 to 6 days on.
    manual_clock.advance(days=28)
    fresh = verified(runtime, "c@courriel.example", "access")
    with runtime.db.transaction() as session:

        def ids(**kw: Any) -> list[uuid.UUID]:
            return [v.id for v in runtime.rights.queue(session, actor=STAFF, **kw)]

        assert ids() == [old, middle, fresh]  # soonest deadline first
        assert ids(standing="overdue") == [old]
        assert ids(standing="due_soon") == [middle]
        assert ids(standing="on_time") == [fresh]
        views = runtime.rights.queue(session, actor=STAFF)
    assert [v.standing for v in views] == ["overdue", "due_soon", "on_time"]


def test_staff_actions_need_the_scopes(runtime: Runtime) -> None:
    request_id = verified(runtime, "a@courriel.example", "access")
    reader = Actor("apikey", "reader", scopes=frozenset({"rights.read"}))
    with runtime.db.transaction() as session:
        assert runtime.rights.queue(session, actor=reader)
        with pytest.raises(Exception) as info:
            runtime.rights.approve(session, request_id=request_id, actor=reader)
    assert getattr(info.value, "code", None) == "scope-not-granted"


def test_every_step_is_audited_without_the_address(runtime: Runtime) -> None:
    request_id = verified(runtime, "secret.person@courriel.example", "access")
    approve(runtime, request_id)
    with runtime.db.transaction() as session:
        entries = (
            session.execute(
                select(AuditEntry)
                .where(AuditEntry.action.like("rights.%"))
                .order_by(AuditEntry.seq)
            )
            .scalars()
            .all()
        )
    assert [e.action for e in entries] == [
        "rights.receive",
        "rights.verify",
        "rights.approve",
        "rights.complete",
    ]
    assert all("secret.person" not in f"{e.detail}{e.fields}{e.actor}" for e in entries)


def test_the_requester_follows_their_request_with_the_token(runtime: Runtime) -> None:
    request_id = submit(runtime, "lea@courriel.example")
    verification = verify(runtime, request_id, last_code(runtime, "lea@courriel.example"))
    with runtime.db.transaction() as session:
        view = runtime.rights.authorize(
            session, request_id=request_id, token=verification.access_token
        )
        assert view.reference == verification.reference
        with pytest.raises(Exception) as info:
            runtime.rights.authorize(session, request_id=request_id, token="guess")
    assert getattr(info.value, "status", None) == 404


def test_keys_are_not_shared_between_requests(runtime: Runtime) -> None:
    """The sealed address is bound to its request: moved to another row it does not open."""
    first = submit(runtime, "a@courriel.example")
    second = submit(runtime, "b@courriel.example")
    with runtime.db.transaction() as session:
        a = session.get(RightsRequest, first)
        b = session.get(RightsRequest, second)
        assert a is not None and b is not None and a.contact_sealed is not None
        b.contact_sealed = a.contact_sealed
        b_row = b
    with pytest.raises(Exception) as info:
        runtime.rights._contact(b_row)
    assert type(info.value).__name__ == "DecryptionFailed"


def test_timedelta_due_soon_setting_is_used(runtime: Runtime, manual_clock: ManualClock) -> None:
    request_id = verified(runtime, "a@courriel.example", "access")
    with runtime.db.transaction() as session:
        view = runtime.rights.get(session, request_id=request_id, actor=STAFF)
    manual_clock.now = view.due_at - timedelta(days=runtime.settings.rights.due_soon_days, hours=1)
    with runtime.db.transaction() as session:
        assert runtime.rights.get(session, request_id=request_id, actor=STAFF).standing == "on_time"
    manual_clock.advance(hours=2)
    with runtime.db.transaction() as session:
        assert (
            runtime.rights.get(session, request_id=request_id, actor=STAFF).standing == "due_soon"
        )


def test_a_ccpa_deadline_is_written_as_a_californian_reads_it(
    runtime: Runtime, manual_clock: ManualClock
) -> None:
    # 03:00 UTC on 10 March is still 9 March in California (and already 10 March in Paris).
    manual_clock.now = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    verified(runtime, "jo@courriel.example", "access", jurisdiction="ccpa", language="en")
    acknowledgement = mails_to(runtime, "jo@courriel.example")[-1]
    # 9 March + 45 days = 23 April, counted in California.
    assert "April 23, 2026" in acknowledgement.text


def test_unverified_requests_are_closed_and_forgotten(
    runtime: Runtime, manual_clock: ManualClock
) -> None:
    stale = submit(runtime, "a@courriel.example")
    manual_clock.advance(days=runtime.settings.rights.unverified_days - 1)
    recent = submit(runtime, "b@courriel.example")
    verified_one = verified(runtime, "c@courriel.example")
    manual_clock.advance(days=2)
    with runtime.db.transaction() as session:
        closed = runtime.rights.close_unverified(
            session, older_than=timedelta(days=runtime.settings.rights.unverified_days)
        )
    assert closed == 1
    with runtime.db.transaction() as session:
        rows = {r.id: r for r in session.execute(select(RightsRequest)).scalars()}
    assert rows[stale].status == "refused" and rows[stale].contact_sealed is None
    assert rows[recent].status == "received" and rows[recent].contact_sealed is not None
    assert rows[verified_one].status == "verified"
