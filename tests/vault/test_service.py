"""The vault through its service verbs, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from confiance.actors import Actor
from confiance.audit.errors import AuditWriteFailed
from confiance.audit.models import AuditEntry
from confiance.crypto import DecryptionFailed
from confiance.manifest.errors import (
    InvalidFieldValue,
    NotALookupField,
    UnknownField,
    UnknownPurpose,
)
from confiance.manifest.schemas import LegalBasis
from confiance.runtime import Runtime
from confiance.vault.errors import (
    ConsentRequired,
    CustomerNotFound,
    FieldNotNeeded,
    PurposeNotGranted,
)
from confiance.vault.models import BlindIndexEntry, Customer, FieldValue
from tests.support import manifest_of


def _counts(runtime: Runtime) -> tuple[int, int, int, int]:
    with runtime.db.transaction() as s:
        return (
            s.execute(select(func.count()).select_from(Customer)).scalar_one(),
            s.execute(select(func.count()).select_from(FieldValue)).scalar_one(),
            s.execute(select(func.count()).select_from(BlindIndexEntry)).scalar_one(),
            s.execute(select(func.count()).select_from(AuditEntry)).scalar_one(),
        )


def _collect(
    runtime: Runtime, operator: Actor, record: dict[str, Any], purposes: list[str]
) -> uuid.UUID:
    with runtime.db.transaction() as s:
        return runtime.vault.collect(s, actor=operator, purposes=purposes, values=record).id


def test_read_returns_exactly_the_fields_the_purpose_needs(
    runtime: Runtime, operator: Actor, make_record: Any
) -> None:
    record = make_record()
    customer_id = _collect(runtime, operator, record, make_record.purposes)
    manifest = manifest_of(runtime)
    for purpose in make_record.purposes:
        spec = manifest.purposes_by_key[purpose]
        if spec.pseudonymised:
            continue
        with runtime.db.transaction() as s:
            view = runtime.vault.read(s, actor=operator, purpose=purpose, customer_id=customer_id)
        expected = {k: v for k, v in record.items() if k in spec.fields}
        normalized = {k: manifest.fields_by_name[k].normalize(v) for k, v in expected.items()}
        assert view.values == normalized, purpose
        assert view.id == customer_id


def test_pseudonymised_purpose_sees_no_identity(
    runtime: Runtime, operator: Actor, make_record: Any
) -> None:
    manifest = manifest_of(runtime)
    pseudonymised = [p for p in manifest.purposes if p.pseudonymised]
    assert pseudonymised, "the example manifest declares a pseudonymised analytics purpose"
    spec = pseudonymised[0]
    record = make_record()
    customer_id = _collect(runtime, operator, record, make_record.purposes)
    with runtime.db.transaction() as s:
        first = runtime.vault.read(s, actor=operator, purpose=spec.key, customer_id=customer_id)
        again = runtime.vault.read(s, actor=operator, purpose=spec.key, customer_id=customer_id)
    assert first.id is None
    assert first.pseudonym is not None
    assert first.pseudonym == again.pseudonym
    assert str(customer_id) not in json.dumps(first.values)
    for name in ("email", "phone", "first_name", "last_name"):
        if name in first.values:
            assert first.values[name] != record[name]


def test_consent_purposes_are_refused_until_the_ledger_says_yes(
    runtime: Runtime, operator: Actor, make_record: Any
) -> None:
    customer_id = _collect(runtime, operator, make_record(), make_record.purposes)
    consent = [p for p in manifest_of(runtime).purposes if p.legal_basis is LegalBasis.CONSENT]
    assert consent
    for spec in consent:
        with pytest.raises(ConsentRequired), runtime.db.transaction() as s:
            runtime.vault.read(s, actor=operator, purpose=spec.key, customer_id=customer_id)


def test_undeclared_field_is_refused_by_name_and_leaves_no_trace(
    runtime: Runtime, operator: Actor, make_record: Any
) -> None:
    before = _counts(runtime)
    record = make_record() | {"shoe_size": 42}
    with pytest.raises(UnknownField) as info, runtime.db.transaction() as s:
        runtime.vault.collect(s, actor=operator, purposes=make_record.purposes, values=record)
    assert "shoe_size" in info.value.detail
    assert _counts(runtime) == before


def test_a_bad_record_in_a_batch_leaves_nothing_of_the_batch(
    runtime: Runtime, operator: Actor, make_record: Any
) -> None:
    before = _counts(runtime)
    records = [make_record(), make_record(), make_record() | {"email": "not an address"}]
    with pytest.raises(InvalidFieldValue) as info, runtime.db.transaction() as s:
        runtime.vault.collect_many(
            s, actor=operator, purposes=make_record.purposes, records=records
        )
    assert "not an address" not in str(info.value.to_problem())
    assert _counts(runtime) == before


def test_field_not_needed_by_the_purpose_is_refused(
    runtime: Runtime, operator: Actor, make_record: Any
) -> None:
    manifest = manifest_of(runtime)
    purpose = "order_fulfilment"
    spare = next(
        f.name for f in manifest.fields if f.name not in manifest.purposes_by_key[purpose].fields
    )
    record = make_record()
    before = _counts(runtime)
    with pytest.raises(FieldNotNeeded) as info, runtime.db.transaction() as s:
        runtime.vault.collect(
            s, actor=operator, purposes=[purpose], values={spare: record.get(spare, "x")}
        )
    assert spare in info.value.detail
    assert _counts(runtime) == before


def test_unknown_purpose_and_missing_customer(runtime: Runtime, operator: Actor) -> None:
    with pytest.raises(UnknownPurpose), runtime.db.transaction() as s:
        runtime.vault.read(s, actor=operator, purpose="mind_reading", customer_id=uuid.uuid4())
    with pytest.raises(CustomerNotFound), runtime.db.transaction() as s:
        runtime.vault.read(s, actor=operator, purpose="order_fulfilment", customer_id=uuid.uuid4())


def test_an_actor_is_held_to_its_purposes(
    runtime: Runtime, operator: Actor, make_record: Any
) -> None:
    customer_id = _collect(runtime, operator, make_record(), make_record.purposes)
    support = Actor("apikey", "k1", frozenset({"fraud_prevention"}))
    with pytest.raises(PurposeNotGranted), runtime.db.transaction() as s:
        runtime.vault.read(s, actor=support, purpose="order_fulfilment", customer_id=customer_id)
    with runtime.db.transaction() as s:
        view = runtime.vault.read(
            s, actor=support, purpose="fraud_prevention", customer_id=customer_id
        )
    assert view.values


def test_a_ciphertext_moved_to_another_customer_or_field_does_not_open(
    runtime: Runtime, operator: Actor, make_record: Any
) -> None:
    a = _collect(runtime, operator, make_record(), make_record.purposes)
    b = _collect(runtime, operator, make_record(), make_record.purposes)
    with runtime.db.transaction() as s:
        stolen = s.execute(
            select(FieldValue.ciphertext).where(
                FieldValue.customer_id == a, FieldValue.field == "email"
            )
        ).scalar_one()
        s.execute(
            update(FieldValue)
            .where(FieldValue.customer_id == b, FieldValue.field == "email")
            .values(ciphertext=stolen)
        )
    with pytest.raises(DecryptionFailed), runtime.db.transaction() as s:
        runtime.vault.read(s, actor=operator, purpose="order_fulfilment", customer_id=b)
    # Same customer, other field: the last name's ciphertext put in place of the first name's.
    with runtime.db.transaction() as s:
        last = s.execute(
            select(FieldValue.ciphertext).where(
                FieldValue.customer_id == a, FieldValue.field == "last_name"
            )
        ).scalar_one()
        s.execute(
            update(FieldValue)
            .where(FieldValue.customer_id == a, FieldValue.field == "first_name")
            .values(ciphertext=last)
        )
    with pytest.raises(DecryptionFailed), runtime.db.transaction() as s:
        runtime.vault.read(s, actor=operator, purpose="order_fulfilment", customer_id=a)


def test_rectify_replaces_the_value_and_the_blind_index(
    runtime: Runtime, operator: Actor, make_record: Any
) -> None:
    record = make_record()
    customer_id = _collect(runtime, operator, record, make_record.purposes)
    new_email = "nouvelle.adresse@exemple.example"
    with runtime.db.transaction() as s:
        runtime.vault.rectify(
            s,
            actor=operator,
            purpose="order_fulfilment",
            customer_id=customer_id,
            values={"email": new_email},
        )
    with runtime.db.transaction() as s:
        view = runtime.vault.read(
            s, actor=operator, purpose="order_fulfilment", customer_id=customer_id
        )
        old = runtime.vault.find(
            s, actor=operator, purpose="order_fulfilment", field="email", value=record["email"]
        )
        new = runtime.vault.find(
            s, actor=operator, purpose="order_fulfilment", field="email", value=new_email.upper()
        )
    assert view.values["email"] == new_email
    assert old == []
    assert new == [customer_id]


def test_find_by_email_and_phone_normalises_before_hashing(
    runtime: Runtime, operator: Actor, make_record: Any
) -> None:
    record = make_record()
    customer_id = _collect(runtime, operator, record, make_record.purposes)
    other = _collect(runtime, operator, make_record(), make_record.purposes)
    national = "0" + record["phone"][3:]
    spaced = " ".join(national[i : i + 2] for i in range(0, 10, 2))
    with runtime.db.transaction() as s:
        by_mail = runtime.vault.find(
            s,
            actor=operator,
            purpose="order_fulfilment",
            field="email",
            value="  " + record["email"].upper() + " ",
        )
        by_phone = runtime.vault.find(
            s, actor=operator, purpose="order_fulfilment", field="phone", value=spaced
        )
    assert by_mail == [customer_id]
    assert by_phone == [customer_id]
    assert other not in by_mail
    with pytest.raises(NotALookupField), runtime.db.transaction() as s:
        runtime.vault.find(
            s, actor=operator, purpose="order_fulfilment", field="last_name", value="x"
        )


def test_every_action_is_audited_with_field_names_and_never_values(
    runtime: Runtime, operator: Actor, make_record: Any
) -> None:
    record = make_record()
    customer_id = _collect(runtime, operator, record, make_record.purposes)
    with runtime.db.transaction() as s:
        runtime.vault.read(s, actor=operator, purpose="order_fulfilment", customer_id=customer_id)
        runtime.vault.find(
            s, actor=operator, purpose="order_fulfilment", field="email", value=record["email"]
        )
        runtime.vault.rectify(
            s,
            actor=operator,
            purpose="order_fulfilment",
            customer_id=customer_id,
            values={"last_name": "Nouveau-Nom"},
        )
    with runtime.db.transaction() as s:
        entries = (
            s.execute(
                select(AuditEntry)
                .where(AuditEntry.customer_pid == str(customer_id))
                .order_by(AuditEntry.seq)
            )
            .scalars()
            .all()
        )
        everything = json.dumps(
            [list(map(str, row)) for row in s.execute(text("SELECT * FROM audit_entries")).all()]
        )
    assert [e.action for e in entries] == [
        "vault.collect",
        "vault.read",
        "vault.lookup",
        "vault.rectify",
    ]
    assert entries[0].fields == ",".join(sorted(record))
    assert entries[3].fields == "last_name"
    assert all(e.actor == operator.label for e in entries)
    for value in [*(v for v in record.values() if isinstance(v, str)), "Nouveau-Nom"]:
        assert value not in everything


def test_read_fails_closed_when_the_audit_entry_cannot_be_written(
    runtime: Runtime, operator: Actor, make_record: Any
) -> None:
    customer_id = _collect(runtime, operator, make_record(), make_record.purposes)
    if runtime.db.is_sqlite:
        ddl = [
            "CREATE TRIGGER audit_down BEFORE INSERT ON audit_entries "
            "BEGIN SELECT RAISE(ABORT, 'audit storage unavailable'); END"
        ]
        undo = ["DROP TRIGGER audit_down"]
    else:
        ddl = [
            "CREATE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit storage unavailable'; END $$",
            "CREATE TRIGGER audit_down BEFORE INSERT ON audit_entries "
            "FOR EACH ROW EXECUTE FUNCTION audit_down()",
        ]
        undo = ["DROP TRIGGER audit_down ON audit_entries", "DROP FUNCTION audit_down()"]
    with runtime.db.engine.begin() as conn:
        for statement in ddl:
            conn.exec_driver_sql(statement)
    returned = None
    try:
        with pytest.raises(AuditWriteFailed), runtime.db.transaction() as s:
            returned = runtime.vault.read(
                s, actor=operator, purpose="order_fulfilment", customer_id=customer_id
            )
    finally:
        with runtime.db.engine.begin() as conn:
            for statement in undo:
                conn.exec_driver_sql(statement)
    assert returned is None


def test_refused_accesses_leave_a_trace_in_the_audit_log(
    runtime: Runtime, operator: Actor, make_record: Any
) -> None:
    customer_id = _collect(runtime, operator, make_record(), make_record.purposes)
    prober = Actor("apikey", "prober", frozenset({"fraud_prevention"}))
    unknown = uuid.uuid4()
    attempts = [
        (PurposeNotGranted, "order_fulfilment", customer_id),
        (ConsentRequired, "email_marketing", customer_id),
        (CustomerNotFound, "fraud_prevention", unknown),
    ]
    for error, purpose, target in attempts:
        actor = operator if error is ConsentRequired else prober
        with pytest.raises(error), runtime.unit(actor) as s:
            runtime.vault.read(s, actor=actor, purpose=purpose, customer_id=target)
    with runtime.db.transaction() as s:
        refused = (
            s.execute(
                select(AuditEntry)
                .where(AuditEntry.action == "access.refused")
                .order_by(AuditEntry.seq)
            )
            .scalars()
            .all()
        )
    assert [(e.outcome, e.purpose, e.customer_pid) for e in refused] == [
        ("purpose-not-granted", "order_fulfilment", str(customer_id)),
        ("consent-required", "email_marketing", str(customer_id)),
        ("customer-not-found", "fraud_prevention", str(unknown)),
    ]
    assert [e.actor for e in refused] == [prober.label, operator.label, prober.label]
    runtime.audit.verify(runtime.db)
