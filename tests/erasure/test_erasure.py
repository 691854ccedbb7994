"""Erasure leaves nothing behind: not in SQLite's file or journal, not in the logs, and on
PostgreSQL what old pages still hold can no longer be opened."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from confiance import clock
from confiance.actors import Actor
from confiance.config import Settings
from confiance.crypto import Keyring, KeyringSource, context
from confiance.db import Database
from confiance.db.models import Base
from confiance.erasure.log import ErasureEntry, ErasureLogFile, entries_in_database
from confiance.erasure.service import CertificateInvalid, verify_certificate
from confiance.errors import ConfianceError
from confiance.keys import service as keys_service
from confiance.runtime import Runtime
from confiance.vault.models import BlindIndexEntry, Customer, FieldValue
from confiance.webhooks import service as webhooks_service
from confiance.webhooks.models import OutboxMessage
from tests.support import ManualClock, install

OPERATOR = Actor.operator("test")

# Distinctive values, so that a stray copy anywhere is found by a plain byte search.
ZOE = {
    "first_name": "Zéphyrine",
    "last_name": "Quillebœuf",
    "email": "zephyrine.quilleboeuf@courriel.example",
    "phone": "+33 6 71 82 93 04",
    "street_address": "17 impasse des Myosotis",
    "postal_code": "29870",
    "city": "Landéda",
    # Long enough to spill into SQLite overflow pages.
    "orders": [{"id": f"CMD-{n:05d}", "item": "Théière en fonte émaillée " * 4} for n in range(60)],
}


def _runtime(db: Database, settings: Settings, keyring: Keyring) -> Runtime:
    return install(db, settings, keyring, actor=OPERATOR)


def _traces(rt: Runtime, customer_id: uuid.UUID) -> dict[str, bytes]:
    """What the database holds of one customer: wrapped key, ciphertexts, index digests."""
    with rt.db.transaction() as session:
        wrapped = session.execute(
            select(Customer.wrapped_key).where(Customer.id == customer_id)
        ).scalar_one()
        sealed = {
            f"value:{r.field}": r.ciphertext
            for r in session.execute(
                select(FieldValue.field, FieldValue.ciphertext).where(
                    FieldValue.customer_id == customer_id
                )
            )
        }
        digests = {
            f"digest:{r.field}": r.digest
            for r in session.execute(
                select(BlindIndexEntry.field, BlindIndexEntry.digest).where(
                    BlindIndexEntry.customer_id == customer_id
                )
            )
        }
    return {"wrapped_key": wrapped, **sealed, **digests}


def _chunks(trace: bytes, size: int = 24) -> list[bytes]:
    """Pieces of a trace: a long value spills over SQLite overflow pages, which split it."""
    return [trace[i : i + size] for i in range(0, max(len(trace) - size, 0) + 1, size)]


def _found(trace: bytes, content: bytes) -> bool:
    return any(chunk in content for chunk in _chunks(trace))


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.glob("confiance.db*") if p.is_file()}


def _plain(values: dict[str, Any]) -> list[bytes]:
    found = []
    for value in values.values():
        items = value if isinstance(value, list) else [value]
        for item in items:
            text = str(item["id"]) if isinstance(item, dict) else str(item)
            found.append(text.encode())
    return found


def test_sqlite_file_and_journal_keep_no_byte_of_an_erased_customer(
    tmp_path: Path, keyring: Keyring, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = Settings(data_dir=tmp_path / "data")
    db = Database(f"sqlite:///{tmp_path / 'confiance.db'}")
    Base.metadata.create_all(db.engine)
    rt = _runtime(db, settings, keyring)
    with rt.unit(OPERATOR) as session:
        zoe = rt.vault.collect(
            session, actor=OPERATOR, purposes=["order_fulfilment"], values=ZOE
        ).id
        other = rt.vault.collect(
            session,
            actor=OPERATOR,
            purposes=["order_fulfilment"],
            values={
                **ZOE,
                "email": "autre@courriel.example",
                "phone": "+33 6 55 44 33 22",
                "first_name": "Hortense",
            },
        ).id
    traces = _traces(rt, zoe)
    before = _files(tmp_path)
    # The search is able to find them: each trace is in the file before the erasure.
    assert all(_found(t, before["confiance.db"]) for t in traces.values())

    with rt.unit(OPERATOR) as session:
        report = rt.eraser.erase(session, customer_id=zoe, actor=OPERATOR)
    rt.eraser.after_commit(db)
    db.dispose()

    # Held under the invoicing obligation: the name and address stay, re-sealed under a new key.
    assert set(report.held_fields) == {
        "first_name",
        "last_name",
        "street_address",
        "postal_code",
        "city",
        "orders",
    }
    after = _files(tmp_path)
    assert after, "the database files were not found"
    for name, content in after.items():
        for label, trace in traces.items():
            if label.startswith("value:") and label.removeprefix("value:") in report.held_fields:
                continue  # re-sealed: its old ciphertext must be gone, checked just below
            assert not _found(trace, content), f"{label} still in {name}"
        for label in (f"value:{f}" for f in report.held_fields):
            assert not _found(traces[label], content), f"old ciphertext of {label} in {name}"
    for plain in _plain({k: v for k, v in ZOE.items() if k not in report.held_fields}):
        assert all(plain not in content for content in after.values())
    logged = caplog.text.encode()
    for plain in _plain(ZOE):
        assert plain not in logged
    assert traces["wrapped_key"] not in logged
    # The other customer, with the same orders, is untouched.
    db2 = Database(f"sqlite:///{tmp_path / 'confiance.db'}")
    rt2 = Runtime.assemble(settings, db=db2, keys=rt.keys)
    with rt2.unit(OPERATOR) as session:
        assert (
            rt2.vault.read(
                session, actor=OPERATOR, purpose="order_fulfilment", customer_id=other
            ).values["orders"]
            == ZOE["orders"]
        )
    db2.dispose()


def test_without_a_hold_the_customer_is_gone_with_every_trace(
    tmp_path: Path, keyring: Keyring
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    db = Database(f"sqlite:///{tmp_path / 'confiance.db'}")
    Base.metadata.create_all(db.engine)
    rt = _runtime(db, settings, keyring)
    contact = {"email": ZOE["email"], "phone": ZOE["phone"]}
    with rt.unit(OPERATOR) as session:
        zoe = rt.vault.collect(
            session, actor=OPERATOR, purposes=["order_fulfilment"], values=contact
        ).id
    traces = _traces(rt, zoe)
    with rt.unit(OPERATOR) as session:
        report = rt.eraser.erase(session, customer_id=zoe, actor=OPERATOR)
    rt.eraser.after_commit(db)
    db.dispose()
    assert report.held == ()
    for name, content in _files(tmp_path).items():
        for label, trace in traces.items():
            assert not _found(trace, content), f"{label} still in {name}"


def test_postgresql_old_pages_cannot_be_opened_once_the_kek_is_retired(
    db: Database, settings: Settings, keyring: Keyring
) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's old row versions; SQLite is checked byte by byte above")
    rt = _runtime(db, settings, Keyring.generate())
    with rt.unit(OPERATOR) as session:
        zoe = rt.vault.collect(
            session, actor=OPERATOR, purposes=["order_fulfilment"], values=ZOE
        ).id
    # What an attacker could read in old pages or the WAL after the erasure.
    old = _traces(rt, zoe)
    with rt.unit(OPERATOR) as session:
        rt.eraser.erase(session, customer_id=zoe, actor=OPERATOR)
    owner = str(zoe)
    # Before the KEK is retired, the old wrapped key still opens: the window docs/erasure.md
    # describes.
    data_key = rt.keys.get().unwrap(old["wrapped_key"], owner=owner)
    assert data_key.open(old["value:email"], ctx=context(owner, "email"))
    keys_service.rotate(db, keys=rt.keys, audit=rt.audit, actor=OPERATOR, grace_seconds=0)
    with pytest.raises(ConfianceError):
        rt.keys.get().unwrap(old["wrapped_key"], owner=owner)
    # Held values were re-sealed under a new key, rewrapped by the rotation: still readable.
    with rt.unit(OPERATOR) as session:
        assert (
            rt.vault.read(session, actor=OPERATOR, purpose="invoicing", customer_id=zoe).values[
                "city"
            ]
            == ZOE["city"]
        )


def test_erasure_is_logged_in_the_database_and_the_file(runtime: Runtime) -> None:
    with runtime.unit(OPERATOR) as session:
        zoe = runtime.vault.collect(
            session, actor=OPERATOR, purposes=["order_fulfilment"], values=ZOE
        ).id
    with runtime.unit(OPERATOR) as session:
        report = runtime.eraser.erase(
            session, customer_id=zoe, actor=OPERATOR, request_reference="R-TEST-0001"
        )
    [logged] = ErasureLogFile(runtime.settings.erasure_log_path).read()
    with runtime.db.transaction() as session:
        [stored] = entries_in_database(session)
    assert logged.customer_pid == stored.customer_pid == str(zoe)
    assert logged.held_fields == stored.held_fields == report.held_fields
    claims = verify_certificate(report.certificate, keys=runtime.keys)
    assert claims["request"] == "R-TEST-0001"
    assert set(claims["vault"]["fields"]) == set(ZOE) - set(report.held_fields)
    # A certificate from another installation, or altered, does not verify.
    other = KeyringSource.from_ring(Keyring.generate())
    with pytest.raises(CertificateInvalid):
        verify_certificate(report.certificate, keys=other)
    head, payload, signature = report.certificate.split(".")
    with pytest.raises(CertificateInvalid):
        verify_certificate(f"{head}.{payload[:-2]}AA.{signature}", keys=runtime.keys)


def test_erasure_sends_customer_erased_downstream(runtime: Runtime) -> None:
    with runtime.db.transaction() as session:
        webhooks_service.create_subscription(
            session,
            name="crm",
            url="http://127.0.0.1:9/hook",
            event_types=["customer.erased"],
            actor=OPERATOR,
            audit=runtime.audit,
            keys=runtime.keys,
        )
    with runtime.unit(OPERATOR) as session:
        zoe = runtime.vault.collect(
            session, actor=OPERATOR, purposes=["order_fulfilment"], values={"email": ZOE["email"]}
        ).id
    with runtime.unit(OPERATOR) as session:
        report = runtime.eraser.erase(session, customer_id=zoe, actor=OPERATOR)
    assert len(report.webhook_messages) == 1
    with runtime.db.transaction() as session:
        [message] = session.execute(select(OutboxMessage)).scalars().all()
    assert message.event_type == "customer.erased"
    assert message.payload["customer_id"] == str(zoe)
    assert ZOE["email"] not in str(message.payload)


def test_serving_is_refused_while_an_erased_customer_is_back(runtime: Runtime) -> None:
    """A database copied back by hand, without the restore's replay, is not served."""
    with runtime.unit(OPERATOR) as session:
        zoe = runtime.vault.collect(
            session, actor=OPERATOR, purposes=["order_fulfilment"], values={"email": ZOE["email"]}
        ).id
    runtime.require_erasures_applied()  # nothing erased yet
    ErasureLogFile(runtime.settings.erasure_log_path).append(
        [ErasureEntry(customer_pid=str(zoe), erased_at=clock.now())]
    )
    with pytest.raises(ConfianceError) as info:
        runtime.require_erasures_applied()
    assert info.value.code == "erasures-not-applied"
    with runtime.unit(OPERATOR) as session:
        runtime.eraser.erase(session, customer_id=zoe, actor=OPERATOR)
    runtime.require_erasures_applied()


def test_postgresql_rotates_by_itself_once_an_erasure_has_waited(
    db: Database, settings: Settings, manual_clock: ManualClock
) -> None:
    from datetime import timedelta

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite overwrites erased bytes at once: nothing to rotate for")
    rt = _runtime(db, settings, Keyring.generate())
    with rt.unit(OPERATOR) as session:
        zoe = rt.vault.collect(
            session, actor=OPERATOR, purposes=["order_fulfilment"], values={"email": ZOE["email"]}
        ).id
    old = _traces(rt, zoe)
    manual_clock.advance(seconds=1)
    with rt.unit(OPERATOR) as session:
        rt.eraser.erase(session, customer_id=zoe, actor=OPERATOR)
    wait = timedelta(hours=24)
    kwargs = {"keys": rt.keys, "audit": rt.audit, "after": wait, "grace_seconds": 0}
    assert keys_service.rotate_if_erasures_wait(db, **kwargs) is None  # too recent
    manual_clock.advance(hours=24, seconds=1)
    assert keys_service.rotate_if_erasures_wait(db, **kwargs) is not None
    with pytest.raises(ConfianceError):
        rt.keys.get().unwrap(old["wrapped_key"], owner=str(zoe))
    # Covered by that rotation: nothing waits any more.
    manual_clock.advance(hours=48)
    assert keys_service.rotate_if_erasures_wait(db, **kwargs) is None
