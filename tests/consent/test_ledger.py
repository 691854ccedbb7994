"""The consent ledger through its service verbs, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from confiance import clock
from confiance.actors import Actor
from confiance.audit.models import AuditEntry
from confiance.consent.errors import ConsentNotGiven, NotDecidable, StateNotAllowed
from confiance.consent.models import ConsentEvent
from confiance.consent.rules import State
from confiance.consent.service import Change, ConsentContext, ConsentLedger
from confiance.manifest import service as manifest_service
from confiance.runtime import Runtime
from confiance.vault.errors import ConsentRequired, ProcessingRefused

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "maison-exemple.yaml"
CUSTOMER = Actor("apikey", "shop-frontend", frozenset(), frozenset({"consent.write"}))
OPERATOR = Actor.operator("dpo")
CTX = ConsentContext(channel="privacy_center", method="switch", language="fr", evidence="ab" * 32)


def set_(runtime: Runtime, customer: uuid.UUID, actor: Actor = CUSTOMER, **states: str) -> Any:
    with runtime.db.transaction() as s:
        return runtime.consent.record(
            s,
            customer_id=customer,
            changes=[Change(t.replace("__", "@"), State(v)) for t, v in states.items()],
            context=CTX,
            actor=actor,
        )


def allowed(runtime: Runtime, customer: uuid.UUID, purpose: str) -> bool:
    with runtime.db.transaction() as s:
        return runtime.consent.allows(s, customer_id=customer, purpose=purpose)


def test_nothing_is_pre_ticked(runtime: Runtime, customer: uuid.UUID) -> None:
    assert not allowed(runtime, customer, "email_marketing")
    assert not allowed(runtime, customer, "personalised_offers")
    assert allowed(runtime, customer, "order_fulfilment")  # contract
    assert allowed(runtime, customer, "analytics")  # legitimate interest until an objection


def test_withdrawal_stops_the_very_next_read(
    runtime: Runtime, customer: uuid.UUID, operator: Actor
) -> None:
    set_(runtime, customer, email_marketing="given")
    with runtime.db.transaction() as s:
        view = runtime.vault.read(
            s, actor=operator, purpose="email_marketing", customer_id=customer
        )
    assert set(view.values) == {"first_name", "email"}
    set_(runtime, customer, email_marketing="withdrawn")
    with pytest.raises(ConsentRequired), runtime.db.transaction() as s:
        runtime.vault.read(s, actor=operator, purpose="email_marketing", customer_id=customer)


def test_refusal_and_withdrawal_take_the_same_call_as_consent(
    runtime: Runtime, customer: uuid.UUID
) -> None:
    given = set_(runtime, customer, email_marketing="given", personalised_offers="given")
    refused = set_(runtime, customer, email_marketing="withdrawn", personalised_offers="withdrawn")
    assert len(given.changes) == len(refused.changes) == 2
    assert not allowed(runtime, customer, "email_marketing")
    with pytest.raises(ConsentNotGiven):
        set_(runtime, customer, email_marketing="withdrawn")


def test_accept_all_and_refuse_all_have_equal_weight(runtime: Runtime, customer: uuid.UUID) -> None:
    with runtime.db.transaction() as s:
        yes = runtime.consent.record_all(
            s, customer_id=customer, answer=State.GIVEN, context=CTX, actor=CUSTOMER
        )
    consent_purposes = {c.target for c in yes.changes}
    assert consent_purposes == {
        "email_marketing",
        "personalised_offers",
        "advertising_partner_sharing",
    }
    assert all(allowed(runtime, customer, p) for p in consent_purposes)
    with runtime.db.transaction() as s:
        no = runtime.consent.record_all(
            s, customer_id=customer, answer=State.REFUSED, context=CTX, actor=CUSTOMER
        )
    assert {c.target for c in no.changes} == consent_purposes
    assert {c.state for c in no.changes} == {State.WITHDRAWN}
    assert not any(allowed(runtime, customer, p) for p in consent_purposes)


def test_only_what_the_customer_can_decide_is_accepted(
    runtime: Runtime, customer: uuid.UUID
) -> None:
    with pytest.raises(NotDecidable, match="contract"):
        set_(runtime, customer, order_fulfilment="refused")
    with pytest.raises(StateNotAllowed):
        set_(runtime, customer, email_marketing="revoked")  # the controller's, not the customer's
    with pytest.raises(StateNotAllowed):
        set_(
            runtime, customer, analytics="withdrawn"
        )  # an objection is 'refused', lifted by 'given'
    set_(runtime, customer, Actor.operator("dpo"), email_marketing="given")
    set_(runtime, customer, Actor.operator("dpo"), email_marketing="revoked")
    assert not allowed(runtime, customer, "email_marketing")


def test_objection_and_opt_outs(runtime: Runtime, customer: uuid.UUID, operator: Actor) -> None:
    set_(runtime, customer, analytics="refused")
    with pytest.raises(ProcessingRefused), runtime.db.transaction() as s:
        runtime.vault.read(s, actor=operator, purpose="analytics", customer_id=customer)
    set_(runtime, customer, analytics="given")
    assert allowed(runtime, customer, "analytics")

    set_(runtime, customer, advertising_partner_sharing="given")
    assert allowed(runtime, customer, "advertising_partner_sharing")
    set_(runtime, customer, __sale_sharing="refused")
    assert not allowed(runtime, customer, "advertising_partner_sharing")
    assert allowed(runtime, customer, "email_marketing") is False  # never given
    set_(runtime, customer, email_marketing="given")
    assert allowed(runtime, customer, "email_marketing")  # not a sale or sharing


def test_consent_expires_after_the_purpose_validity(runtime: Runtime, customer: uuid.UUID) -> None:
    start = datetime(2026, 1, 10, 12, tzinfo=UTC)
    clock.set_clock(lambda: start)
    try:
        set_(runtime, customer, email_marketing="given")
        clock.set_clock(lambda: start + timedelta(days=390))  # 12 months and some days
        assert allowed(runtime, customer, "email_marketing")
        clock.set_clock(lambda: datetime(2027, 2, 10, 12, 0, 1, tzinfo=UTC))  # past 13 months
        assert not allowed(runtime, customer, "email_marketing")
        with runtime.db.transaction() as s:
            verdict = runtime.consent.verdict(s, customer_id=customer, purpose="email_marketing")
        assert verdict.reason == "consent-expired"
    finally:
        clock.set_clock(None)


def _load_variant(runtime: Runtime, *edits: tuple[str, str]) -> int:
    text = EXAMPLE.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    with runtime.db.transaction() as s:
        loaded = manifest_service.load(s, text=text, source_name="variant.yaml", actor="test")
    return loaded.seq


def test_a_widened_purpose_needs_consent_again_a_narrowed_one_does_not(
    runtime: Runtime, customer: uuid.UUID, new_customer: Any
) -> None:
    set_(runtime, customer, email_marketing="given", personalised_offers="given")
    # Narrow personalised offers (no more browsing events): the consent still counts.
    narrow = ("fields: [orders, browsing_events, loyalty_tier]", "fields: [orders, loyalty_tier]")
    _load_variant(runtime, narrow)
    assert allowed(runtime, customer, "personalised_offers")
    # Widen e-mail marketing (the phone number too): the earlier consent stops counting.
    widen = ("fields: [first_name, email]", "fields: [first_name, email, phone]")
    _load_variant(runtime, narrow, widen)
    assert not allowed(runtime, customer, "email_marketing")
    assert allowed(runtime, customer, "personalised_offers")
    with runtime.db.transaction() as s:
        reason = runtime.consent.verdict(s, customer_id=customer, purpose="email_marketing").reason
    assert reason == "consent-outdated"
    set_(runtime, customer, email_marketing="given")  # renewed under the new version
    assert allowed(runtime, customer, "email_marketing")
    audience = list(runtime.consent.audience(runtime.db, purpose="email_marketing", actor=OPERATOR))
    assert audience == [str(customer)]


def test_events_are_appended_with_their_context_and_audited(
    runtime: Runtime, customer: uuid.UUID
) -> None:
    first = set_(runtime, customer, email_marketing="given")
    second = set_(runtime, customer, email_marketing="withdrawn", personalised_offers="refused")
    with runtime.db.transaction() as s:
        history = runtime.consent.history(s, customer_id=customer, actor=OPERATOR)
        audited = (
            s.execute(
                select(AuditEntry).where(
                    AuditEntry.action == "consent.record", AuditEntry.customer_pid == str(customer)
                )
            )
            .scalars()
            .all()
        )
    assert [(e.target, e.state) for e in history] == [
        ("email_marketing", "given"),
        ("email_marketing", "withdrawn"),
        ("personalised_offers", "refused"),
    ]
    assert {e.receipt_id for e in history} == {first.receipt_id, second.receipt_id}
    e = history[0]
    assert (e.channel, e.method, e.language, e.evidence, e.actor) == (
        "privacy_center",
        "switch",
        "fr",
        "ab" * 32,
        CUSTOMER.label,
    )
    assert e.expires_at is not None and e.manifest_seq == 1
    assert history[1].expires_at is None
    assert len(audited) == 2
    runtime.audit.verify(runtime.db)


def test_a_failed_change_leaves_nothing(runtime: Runtime, customer: uuid.UUID) -> None:
    with runtime.db.transaction() as s:
        before = s.execute(select(func.count()).select_from(ConsentEvent)).scalar_one()
    with pytest.raises(ConsentNotGiven):
        set_(runtime, customer, email_marketing="given", personalised_offers="withdrawn")
    with runtime.db.transaction() as s:
        assert s.execute(select(func.count()).select_from(ConsentEvent)).scalar_one() == before
    assert not allowed(runtime, customer, "email_marketing")


def test_cached_decisions_are_never_stale_across_workers(
    runtime: Runtime, customer: uuid.UUID, operator: Actor
) -> None:
    from confiance.vault.service import Vault

    other_worker = ConsentLedger(audit=runtime.audit)
    other_vault = Vault(keys=runtime.keys, audit=runtime.audit, consent=other_worker)
    set_(runtime, customer, email_marketing="given")
    for _ in range(3):  # warm the other worker's cache
        with runtime.db.transaction() as s:
            other_vault.read(s, actor=operator, purpose="email_marketing", customer_id=customer)
    set_(runtime, customer, email_marketing="withdrawn")  # through this worker
    with pytest.raises(ConsentRequired), runtime.db.transaction() as s:
        other_vault.read(s, actor=operator, purpose="email_marketing", customer_id=customer)


def test_audiences_stream_exactly_who_is_allowed(runtime: Runtime, new_customer: Any) -> None:
    customers = [new_customer() for _ in range(7)]
    for c in customers[:4]:
        set_(runtime, c, advertising_partner_sharing="given")
    set_(runtime, customers[0], __sale_sharing="refused")
    set_(runtime, customers[1], advertising_partner_sharing="withdrawn")
    set_(runtime, customers[5], analytics="refused")
    ads = list(
        runtime.consent.audience(
            runtime.db, purpose="advertising_partner_sharing", actor=OPERATOR, batch=2
        )
    )
    assert ads == sorted(str(c) for c in customers[2:4])
    everyone_but = sorted(str(c) for c in customers if c != customers[5])
    assert (
        list(runtime.consent.audience(runtime.db, purpose="analytics", actor=OPERATOR, batch=3))
        == everyone_but
    )
    assert (
        len(list(runtime.consent.audience(runtime.db, purpose="order_fulfilment", actor=OPERATOR)))
        == 7
    )


def test_daily_counts_give_opt_in_and_withdrawal_rates(runtime: Runtime, new_customer: Any) -> None:
    a, b, c = new_customer(), new_customer(), new_customer()
    day1 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    clock.set_clock(lambda: day1)
    try:
        set_(runtime, a, email_marketing="given")
        set_(runtime, b, email_marketing="given")
        set_(runtime, c, email_marketing="refused")
        clock.set_clock(lambda: day1 + timedelta(days=1))
        set_(runtime, a, email_marketing="withdrawn")
    finally:
        clock.set_clock(None)
    with runtime.db.transaction() as s:
        counts = runtime.consent.daily_counts(
            s, since=date(2026, 3, 1), until=date(2026, 3, 31), actor=OPERATOR
        )
    by_day = {(x.day, x.target): x for x in counts}
    first = by_day[(date(2026, 3, 2), "email_marketing")]
    assert (first.given, first.refused, first.withdrawn) == (2, 1, 0)
    assert first.opt_in_rate == pytest.approx(2 / 3)
    second = by_day[(date(2026, 3, 3), "email_marketing")]
    assert (second.given, second.withdrawn) == (0, 1)
    assert second.withdrawal_rate is None


def test_api_keys_are_held_to_their_scopes(runtime: Runtime, customer: uuid.UUID) -> None:
    from confiance.actors import ScopeNotGranted

    reader = Actor("apikey", "crm", frozenset({"email_marketing"}), frozenset({"consent.read"}))
    with pytest.raises(ScopeNotGranted):
        set_(runtime, customer, reader, email_marketing="given")
    with runtime.db.transaction() as s:
        assert runtime.consent.history(s, customer_id=customer, actor=reader) == []
    with pytest.raises(ScopeNotGranted):
        list(runtime.consent.audience(runtime.db, purpose="email_marketing", actor=reader))
    exporter = Actor("apikey", "emailing", frozenset({"analytics"}), frozenset({"audiences"}))
    from confiance.vault.errors import PurposeNotGranted

    with pytest.raises(PurposeNotGranted):
        list(runtime.consent.audience(runtime.db, purpose="email_marketing", actor=exporter))
    assert list(runtime.consent.audience(runtime.db, purpose="analytics", actor=exporter)) == [
        str(customer)
    ]


def test_every_change_yields_a_signed_receipt(runtime: Runtime, customer: uuid.UUID) -> None:
    from confiance.receipts import ReceiptInvalid, ReceiptKey, verify

    change = set_(runtime, customer, email_marketing="given", __sale_sharing="refused")
    with runtime.db.transaction() as s:
        listed = runtime.consent.receipts_of(s, customer_id=customer, actor=OPERATOR)
        jws = runtime.consent.receipt(
            s, receipt_id=change.receipt_id, customer_id=customer, actor=OPERATOR
        )
    assert [r for r, _ in listed] == [change.receipt_id]
    public_key = ReceiptKey.from_ring(runtime.keys.get()).public_key
    receipt = verify(jws, public_key=public_key)
    assert receipt["consentReceiptID"] == change.receipt_id
    assert receipt["piiPrincipalId"] == str(customer)
    tampered = jws[:-3] + ("A" if jws[-3] != "A" else "B") + jws[-2:]
    with pytest.raises(ReceiptInvalid):
        verify(tampered, public_key=public_key)


def test_a_tc_string_becomes_decisions_through_the_manifest_mapping(
    runtime: Runtime, customer: uuid.UUID
) -> None:
    from confiance.consent import tcf

    def tc_string(purposes: set[int]) -> str:
        moment = datetime(2026, 11, 2, 10, tzinfo=UTC)
        return tcf.encode(
            tcf.TCModel(
                created=moment,
                last_updated=moment,
                cmp_id=300,
                cmp_version=2,
                consent_screen=1,
                consent_language="FR",
                vendor_list_version=120,
                policy_version=4,
                publisher_cc="FR",
                purposes_consent=frozenset(purposes),
            )
        )

    first = tc_string({1, 3, 4, 5})  # purpose 6 missing: personalised offers not given
    with runtime.db.transaction() as s:
        change = runtime.consent.import_tcf(
            s, customer_id=customer, tc_string=first, actor=CUSTOMER
        )
    assert {(c.target, c.state) for c in change.changes} == {
        ("advertising_partner_sharing", State.GIVEN),
        ("personalised_offers", State.REFUSED),
    }
    assert allowed(runtime, customer, "advertising_partner_sharing")
    with runtime.db.transaction() as s:
        change = runtime.consent.import_tcf(
            s, customer_id=customer, tc_string=tc_string({1}), actor=CUSTOMER
        )
        history = runtime.consent.history(s, customer_id=customer, actor=OPERATOR)
    assert ("advertising_partner_sharing", State.WITHDRAWN) in {
        (c.target, c.state) for c in change.changes
    }
    assert not allowed(runtime, customer, "advertising_partner_sharing")
    assert {e.channel for e in history} == {"tcf"}
    from confiance.consent.tcf import InvalidTCString

    with pytest.raises(InvalidTCString), runtime.db.transaction() as s:
        runtime.consent.import_tcf(
            s, customer_id=customer, tc_string="CO-not-a-string", actor=CUSTOMER
        )


def test_the_expiry_sweep_writes_what_decisions_already_knew(
    runtime: Runtime, customer: uuid.UUID, new_customer: Any
) -> None:
    other = new_customer()
    start = datetime(2026, 1, 10, 12, tzinfo=UTC)
    clock.set_clock(lambda: start)
    try:
        set_(runtime, customer, email_marketing="given", personalised_offers="given")
        set_(runtime, other, email_marketing="given")
        clock.set_clock(lambda: start + timedelta(days=200))
        assert runtime.consent.expire_due(runtime.db) == 0
        clock.set_clock(lambda: start + timedelta(days=400))
        assert not allowed(runtime, customer, "email_marketing")  # before any sweep
        assert runtime.consent.expire_due(runtime.db) == 3
        assert runtime.consent.expire_due(runtime.db) == 0
        with runtime.db.transaction() as s:
            history = runtime.consent.history(s, customer_id=customer, actor=OPERATOR)
            reason = runtime.consent.verdict(
                s, customer_id=customer, purpose="email_marketing"
            ).reason
    finally:
        clock.set_clock(None)
    expired = [e for e in history if e.state == "expired"]
    assert {e.target for e in expired} == {"email_marketing", "personalised_offers"}
    assert {e.actor for e in expired} == {"system:consent-expiry"}
    assert len({e.receipt_id for e in expired}) == 1
    assert reason == "consent-expired"
