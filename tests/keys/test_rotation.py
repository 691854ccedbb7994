"""KEK rotation while the API keeps serving."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from confiance.actors import Actor
from confiance.crypto import KeyringSource
from confiance.keys import service as keys_service
from confiance.keys.models import KekRecord
from confiance.runtime import Runtime
from confiance.vault.models import Customer
from confiance.vault.service import Vault


def test_rotation_under_load_loses_nothing(runtime: Runtime, make_record: Any) -> None:
    operator = Actor.operator("rotator")
    records = [make_record() for _ in range(120)]
    with runtime.db.transaction() as s:
        ids = [
            c.id
            for c in runtime.vault.collect_many(
                s, actor=operator, purposes=make_record.purposes, records=records
            )
        ]
    expected = {i: r["email"] for i, r in zip(ids, records, strict=True)}
    old_primary = runtime.keys.get().primary_id

    # A second "server" process: its own key-ring source on the same key file, its own vault.
    server_keys = KeyringSource(path=runtime.settings.keyring_path)
    server = Vault(keys=server_keys, audit=runtime.audit)
    stop = threading.Event()
    errors: list[BaseException] = []
    reads = 0
    created: list[uuid.UUID] = []

    def serve() -> None:
        nonlocal reads
        i = 0
        while not stop.is_set():
            try:
                with runtime.db.transaction() as s:
                    view = server.read(
                        s, actor=operator, purpose="order_fulfilment", customer_id=ids[i % len(ids)]
                    )
                assert view.values["email"] == expected[ids[i % len(ids)]]
                reads += 1
                if i % 10 == 0:
                    with runtime.db.transaction() as s:
                        created.append(
                            server.collect(
                                s,
                                actor=operator,
                                purposes=make_record.purposes,
                                values=make_record(),
                            ).id
                        )
            except BaseException as exc:
                errors.append(exc)
                return
            i += 1

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        report = keys_service.rotate(
            runtime.db,
            keys=runtime.keys,
            audit=runtime.audit,
            actor=operator,
            grace_seconds=0.3,
            batch_size=25,
        )
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not errors, errors
    assert reads > 0
    assert report.rewrapped >= len(ids)
    assert report.retired_kek_ids == [old_primary]

    ring = runtime.keys.get()
    assert ring.kek_ids == [report.new_kek_id]
    with runtime.db.transaction() as s:
        assert list(s.execute(select(KekRecord.kek_id)).scalars()) == [report.new_kek_id]
        assert (
            s.execute(
                select(func.count())
                .select_from(Customer)
                .where(Customer.kek_id != report.new_kek_id)
            ).scalar_one()
            == 0
        )
        for customer_id in [*ids, *created]:
            view = runtime.vault.read(
                s, actor=operator, purpose="order_fulfilment", customer_id=customer_id
            )
            assert view.values["email"]
        for customer_id in ids:
            view = runtime.vault.read(
                s, actor=operator, purpose="order_fulfilment", customer_id=customer_id
            )
            assert view.values["email"] == expected[customer_id]


def test_a_late_writer_with_a_retired_kek_fails_instead_of_losing_data(
    runtime: Runtime, make_record: Any
) -> None:
    operator = Actor.operator("rotator")
    stale_ring = runtime.keys.get()
    keys_service.rotate(
        runtime.db, keys=runtime.keys, audit=runtime.audit, actor=operator, grace_seconds=0
    )
    stale = Vault(keys=KeyringSource.from_ring(stale_ring), audit=runtime.audit)
    with pytest.raises(IntegrityError), runtime.db.transaction() as s:
        stale.collect(s, actor=operator, purposes=make_record.purposes, values=make_record())
    with runtime.db.transaction() as s:
        assert s.execute(select(func.count()).select_from(Customer)).scalar_one() == 0


def test_rotation_is_audited(runtime: Runtime) -> None:
    from confiance.audit.models import AuditEntry

    keys_service.rotate(
        runtime.db,
        keys=runtime.keys,
        audit=runtime.audit,
        actor=Actor.operator("o"),
        grace_seconds=0,
    )
    with runtime.db.transaction() as s:
        actions = list(s.execute(select(AuditEntry.action).order_by(AuditEntry.seq)).scalars())
    assert actions[-2:] == ["keys.rotate.begin", "keys.rotate.retire"]


def test_a_second_rotation_is_refused_while_one_runs(runtime: Runtime) -> None:
    ring_before = runtime.keys.get().kek_ids
    with keys_service._rotation_lock(runtime.keys), pytest.raises(keys_service.RotationInProgress):
        keys_service.rotate(
            runtime.db,
            keys=runtime.keys,
            audit=runtime.audit,
            actor=Actor.operator("o"),
            grace_seconds=0,
        )
    assert runtime.keys.get().kek_ids == ring_before
    report = keys_service.rotate(
        runtime.db,
        keys=runtime.keys,
        audit=runtime.audit,
        actor=Actor.operator("o"),
        grace_seconds=0,
    )
    assert runtime.keys.get().kek_ids == [report.new_kek_id]


def test_rotation_with_the_ring_in_the_environment_is_refused(runtime: Runtime) -> None:
    from confiance.crypto import KeyringError

    inline = KeyringSource.from_ring(runtime.keys.get())
    with pytest.raises(KeyringError, match="environment"):
        keys_service.rotate(
            runtime.db, keys=inline, audit=runtime.audit, actor=Actor.operator("o"), grace_seconds=0
        )
