"""Backup and restore on SQLite and PostgreSQL, and the erasure replay: a customer erased
after a backup stays erased when that backup is restored."""

from __future__ import annotations

import gzip
import hashlib
import json
import stat
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from alembic import command
from sqlalchemy import delete, select, text, update
from typer.testing import CliRunner

from confiance import clock
from confiance.actors import Actor
from confiance.audit.models import AuditEntry
from confiance.backup import service
from confiance.backup.cli import register
from confiance.backup.errors import (
    BackupInvalid,
    BackupKeysMissing,
    BackupTooNew,
    RestoreRefused,
)
from confiance.backup.format import column_kind
from confiance.backup.replay import check_erasures_applied, customer_references
from confiance.config import Settings
from confiance.consent.models import ConsentEvent, ConsentReceipt, ConsentState
from confiance.consent.rules import State
from confiance.consent.service import Change, ConsentContext
from confiance.crypto import Keyring, KeyringSource, write_keyring
from confiance.db import Database, migrate
from confiance.db.models import Base
from confiance.erasure.log import ErasureEntry, ErasureLogFile, entries_in_database
from confiance.erasure.models import ErasureRecord
from confiance.keys import service as keys_service
from confiance.manifest import service as manifest_service
from confiance.runtime import Runtime
from confiance.vault.errors import CustomerNotFound
from confiance.vault.models import BlindIndexEntry, Customer, FieldValue
from tests.conftest import PG_URL
from tests.support import EXAMPLE_MANIFEST
from tests.support import install as installed

OPERATOR = Actor.operator("backup-test")
SHOPPER = Actor("apikey", "shop-frontend", frozenset(), frozenset({"consent.write"}))
CTX = ConsentContext(channel="privacy_center", method="switch", language="fr", evidence="ab" * 32)
INVOICING = ("first_name", "last_name", "street_address", "postal_code", "city", "orders")
CONSENT_MODELS = (ConsentEvent, ConsentState, ConsentReceipt)


# -- helpers ----------------------------------------------------------------------------------
def stamp_head(db: Database) -> None:
    """The test databases are made with create_all; a real installation carries its revision."""
    config = migrate.alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.stamp(config, "head")


def drop_alembic_version(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def install(db: Database, settings: Settings, keyring: Keyring) -> Runtime:
    """What 'confiance init' and 'manifest load' leave behind, on ``db``."""
    rt = installed(db, settings, keyring, actor=OPERATOR)
    stamp_head(db)
    return rt


def _sort_key(row: tuple[Any, ...]) -> tuple[tuple[int, Any], ...]:
    return tuple(
        (0, v) if isinstance(v, int) and not isinstance(v, bool) else (1, repr(v)) for v in row
    )


def dump(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in an order that does not depend on the backend."""
    with db.read() as session:
        return {
            t.name: sorted((tuple(r) for r in session.execute(select(t))), key=_sort_key)
            for t in Base.metadata.sorted_tables
        }


def collect(rt: Runtime, make_record: Any, count: int) -> list[tuple[uuid.UUID, dict[str, Any]]]:
    records = [make_record() for _ in range(count)]
    with rt.db.transaction() as s:
        made = rt.vault.collect_many(
            s, actor=OPERATOR, purposes=make_record.purposes, records=records
        )
    return [(c.id, r) for c, r in zip(made, records, strict=True)]


def give_consent(rt: Runtime, customer: uuid.UUID) -> None:
    with rt.db.transaction() as s:
        rt.consent.record(
            s,
            customer_id=customer,
            changes=[Change("email_marketing", State.GIVEN)],
            context=CTX,
            actor=SHOPPER,
        )


def erase_by_hand(
    rt: Runtime,
    customer: uuid.UUID,
    *,
    held: tuple[str, ...] = (),
    to_file: bool = True,
    to_database: bool = True,
) -> ErasureEntry:
    """Erase as the erasure service does, with the hold and the logs chosen by the test, so
    that each case (no hold, a hold, a hold released later, only one log knowing) is set
    directly; ``test_an_erasure_by_the_service_survives_a_restore`` runs the service itself."""
    at = clock.now()
    with rt.db.transaction() as s:
        if held:
            s.execute(
                delete(FieldValue).where(
                    FieldValue.customer_id == customer, FieldValue.field.not_in(held)
                )
            )
            s.execute(delete(BlindIndexEntry).where(BlindIndexEntry.customer_id == customer))
            for model in CONSENT_MODELS:
                s.execute(delete(model).where(model.customer_id == customer))
            s.execute(update(Customer).where(Customer.id == customer).values(erased_at=at))
        else:
            s.execute(delete(Customer).where(Customer.id == customer))
        if to_database:
            s.add(
                ErasureRecord(customer_pid=str(customer), erased_at=at, held_fields=",".join(held))
            )
    entry = ErasureEntry(customer_pid=str(customer), erased_at=at, held_fields=held)
    if to_file:
        ErasureLogFile(rt.settings.erasure_log_path).append([entry])
    return entry


def restore(rt: Runtime, source: Path, **kwargs: Any) -> service.RestoreReport:
    return service.restore(
        source=source, db=rt.db, keys=rt.keys, settings=rt.settings, actor=OPERATOR, **kwargs
    )


def rows_of(rt: Runtime, customer: uuid.UUID) -> dict[str, int]:
    with rt.db.read() as s:
        counts = {
            m.__tablename__: len(s.execute(select(m).where(m.customer_id == customer)).all())
            for m in (FieldValue, BlindIndexEntry, *CONSENT_MODELS)
        }
        counts["vault_customers"] = len(
            s.execute(select(Customer).where(Customer.id == customer)).all()
        )
    return counts


def rewrite(path: Path, change: Callable[[list[bytes]], list[bytes]], *, reseal: bool) -> None:
    """Edit a backup's lines; ``reseal`` recomputes the trailer, as a forger would."""
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    body = change(lines[:-1])
    if reseal:
        digest = hashlib.sha256(b"".join(body)).hexdigest()
        trailer = json.loads(lines[-1])
        trailer["sha256"] = digest
        lines = [*body, json.dumps(trailer).encode() + b"\n"]
    else:
        lines = [*body, lines[-1]]
    path.write_bytes(gzip.compress(b"".join(lines)))


def last_audit_entry(db: Database) -> Any:
    with db.read() as s:
        return s.execute(
            select(AuditEntry.action, AuditEntry.detail).order_by(AuditEntry.seq.desc()).limit(1)
        ).one()


@pytest.fixture
def rt(runtime: Runtime) -> Iterator[Runtime]:
    stamp_head(runtime.db)
    yield runtime
    drop_alembic_version(runtime.db)


def staging_leftovers(rt: Runtime) -> list[Path]:
    if not rt.db.is_sqlite:
        return []
    return [p for p in Path(str(rt.db.url.database)).parent.iterdir() if ".restore-" in p.name]


# -- the file ---------------------------------------------------------------------------------
def test_every_column_has_a_kind_and_customer_rows_refer_to_the_customer_directly() -> None:
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            column_kind(column)
    refs = customer_references()
    assert set(refs) == {
        "vault_values",
        "vault_blind_index",
        "consent_events",
        "consent_state",
        "consent_receipts",
    }
    # The replay drops rows that refer to an erased customer; rows referring to those rows in
    # turn would need a second pass it does not make.
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            assert fk.column.table.name not in refs, (table.name, fk.target_fullname)


def test_backup_is_private_complete_and_written_whole(
    rt: Runtime, make_record: Any, tmp_path: Path
) -> None:
    collect(rt, make_record, 5)
    out = tmp_path / "b" / "confiance.jsonl.gz"
    report = service.backup(rt.db, out=out, audit=rt.audit, actor=OPERATOR)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in out.parent.iterdir()] == [out.name]
    lines = gzip.decompress(out.read_bytes()).splitlines()
    header = json.loads(lines[0])
    assert header["revision"] == migrate.head_revision()
    counts = {t["name"]: t["rows"] for t in header["tables"]}
    assert counts["vault_customers"] == 5
    assert len(lines) - 2 == sum(counts.values()) == report.header.total_rows
    assert (
        json.loads(lines[-1])["sha256"]
        == hashlib.sha256(b"".join(line + b"\n" for line in lines[:-1])).hexdigest()
    )
    last = last_audit_entry(rt.db)
    assert last.action == "backup.create" and report.sha256 in (last.detail or "")
    with pytest.raises(service.BackupExists):
        service.backup(rt.db, out=out)


# -- round trip -------------------------------------------------------------------------------
def test_round_trip_restores_every_row_and_the_audit_chain_verifies(
    rt: Runtime, make_record: Any, tmp_path: Path
) -> None:
    people = collect(rt, make_record, 8)
    give_consent(rt, people[0][0])
    before = dump(rt.db)
    out = tmp_path / "b.jsonl.gz"
    service.backup(rt.db, out=out, audit=rt.audit, actor=OPERATOR)

    later = collect(rt, make_record, 2)
    with rt.db.transaction() as s:
        rt.audit.checkpoint(s)  # the checkpoint file now names entries the backup lacks
    report = restore(rt, out, force=True)

    after = dump(rt.db)
    audit_tables = {"audit_entries", "audit_head", "audit_checkpoints"}
    for name, rows in before.items():
        if name not in audit_tables:
            assert after[name] == rows, name
    entries = after["audit_entries"]
    assert entries[: len(before["audit_entries"])] == before["audit_entries"]
    assert [e[3] for e in entries[len(before["audit_entries"]) :]] == ["backup.restore"]
    assert report.rows["vault_customers"] == 8 and not report.rows_left_out
    assert report.checkpoint_file_archived is not None
    rt.audit.verify(rt.db)

    with rt.db.transaction() as s:
        view = rt.vault.read(
            s, actor=OPERATOR, purpose="order_fulfilment", customer_id=people[3][0]
        )
    assert view.values["email"] == people[3][1]["email"]
    with pytest.raises(CustomerNotFound), rt.db.transaction() as s:
        rt.vault.read(s, actor=OPERATOR, purpose="order_fulfilment", customer_id=later[0][0])
    # Ids keep counting after the restored rows (PostgreSQL sequences were moved on).
    give_consent(rt, people[1][0])


@pytest.mark.parametrize("damage", ["truncated", "altered", "no-trailer", "forged-header"])
def test_a_damaged_backup_is_refused_and_nothing_changes(
    rt: Runtime, make_record: Any, tmp_path: Path, damage: str
) -> None:
    collect(rt, make_record, 4)
    out = tmp_path / "b.jsonl.gz"
    service.backup(rt.db, out=out)
    collect(rt, make_record, 1)
    before = dump(rt.db)

    if damage == "truncated":
        data = out.read_bytes()
        out.write_bytes(data[: len(data) * 2 // 3])
    elif damage == "altered":

        def flip(lines: list[bytes]) -> list[bytes]:
            i = next(n for n, ln in enumerate(lines) if b'"t":"vault_values"' in ln)
            row = json.loads(lines[i])
            blob = row["v"][2]
            row["v"][2] = ("B" if blob[0] == "A" else "A") + blob[1:]
            lines[i] = json.dumps(row, separators=(",", ":")).encode() + b"\n"
            return lines

        rewrite(out, flip, reseal=False)
    elif damage == "no-trailer":
        out.write_bytes(
            gzip.compress(b"".join(gzip.decompress(out.read_bytes()).splitlines(True)[:-1]))
        )
    else:
        # A forger who recomputes the checksum still cannot make the counts agree.
        rewrite(out, lambda lines: lines[:-1], reseal=True)

    with pytest.raises(BackupInvalid):
        restore(rt, out, force=True)
    assert dump(rt.db) == before
    assert staging_leftovers(rt) == []
    with pytest.raises(BackupInvalid):
        service.read_backup(out)


def test_a_backup_from_a_newer_schema_is_refused(rt: Runtime, tmp_path: Path) -> None:
    out = tmp_path / "b.jsonl.gz"
    service.backup(rt.db, out=out)

    def newer(lines: list[bytes]) -> list[bytes]:
        header = json.loads(lines[0])
        header["revision"] = "9999_from_the_future"
        return [json.dumps(header).encode() + b"\n", *lines[1:]]

    rewrite(out, newer, reseal=True)
    before = dump(rt.db)
    with pytest.raises(BackupTooNew):
        restore(rt, out, force=True)
    assert dump(rt.db) == before


def test_restore_refuses_a_database_with_customers_unless_forced(
    rt: Runtime, make_record: Any, tmp_path: Path
) -> None:
    out = tmp_path / "b.jsonl.gz"
    service.backup(rt.db, out=out)
    collect(rt, make_record, 2)
    before = dump(rt.db)
    with pytest.raises(RestoreRefused) as refused:
        restore(rt, out)
    assert refused.value.fields["customers"] == 2
    assert dump(rt.db) == before
    restore(rt, out, force=True)
    assert dump(rt.db)["vault_customers"] == []


def test_a_backup_older_than_a_key_rotation_needs_the_old_key_file(
    rt: Runtime, make_record: Any, tmp_path: Path
) -> None:
    people = collect(rt, make_record, 3)
    old_ring = rt.keys.get()
    out = tmp_path / "b.jsonl.gz"
    service.backup(rt.db, out=out)
    keys_service.rotate(rt.db, keys=rt.keys, audit=rt.audit, actor=OPERATOR, grace_seconds=0)
    before = dump(rt.db)
    with pytest.raises(BackupKeysMissing) as missing:
        restore(rt, out, force=True)
    assert missing.value.fields["missing_kek_ids"] == old_ring.kek_ids
    assert dump(rt.db) == before

    # With the key file saved alongside the backup, the restore works and values open.
    rt.keys.save(old_ring)
    restore(rt, out, force=True)
    with rt.db.transaction() as s:
        view = rt.vault.read(
            s, actor=OPERATOR, purpose="order_fulfilment", customer_id=people[0][0]
        )
    assert view.values["email"] == people[0][1]["email"]


# -- the erasure replay -----------------------------------------------------------------------
def _assert_erased(rt: Runtime, customer: uuid.UUID, email: str) -> None:
    with pytest.raises(CustomerNotFound), rt.db.transaction() as s:
        rt.vault.read(s, actor=OPERATOR, purpose="order_fulfilment", customer_id=customer)
    with rt.db.transaction() as s:
        found = rt.vault.find(
            s, actor=OPERATOR, purpose="customer_support", field="email", value=email
        )
    assert customer not in found
    counts = rows_of(rt, customer)
    assert counts["vault_blind_index"] == 0
    assert counts["consent_events"] == counts["consent_state"] == counts["consent_receipts"] == 0


@pytest.mark.parametrize("logged_in", ["file", "database"])
def test_a_customer_erased_after_the_backup_stays_erased(
    rt: Runtime, make_record: Any, tmp_path: Path, logged_in: str
) -> None:
    (erased, erased_record), (kept, kept_record) = collect(rt, make_record, 2)
    give_consent(rt, erased)
    give_consent(rt, kept)
    entry = ErasureEntry(customer_pid=str(erased), erased_at=clock.now())
    with rt.db.read() as s:
        # The guard that serve runs sees the customer's data as long as it is there.
        assert check_erasures_applied(s, [entry]) == [str(erased)]
    out = tmp_path / "b.jsonl.gz"
    service.backup(rt.db, out=out)

    erase_by_hand(rt, erased, to_file=logged_in == "file", to_database=logged_in == "database")
    if logged_in == "file":
        # The database being replaced is gone: only the file outside it remembers.
        Base.metadata.drop_all(rt.db.engine)
        drop_alembic_version(rt.db)
        if rt.db.is_sqlite:
            rt.db.dispose()
            Path(str(rt.db.url.database)).unlink()
    report = restore(rt, out, force=True)
    last = last_audit_entry(rt.db)
    assert last.action == "backup.restore" and "1 erasures replayed" in (last.detail or "")

    assert report.customers_kept_erased == 1 and report.erasures_known == 1
    assert report.rows_left_out["vault_customers"] == 1
    assert report.previous_database_readable is (logged_in == "database")
    assert rows_of(rt, erased) == dict.fromkeys(rows_of(rt, erased), 0)
    _assert_erased(rt, erased, erased_record["email"])
    with rt.db.transaction() as s:
        view = rt.vault.read(s, actor=OPERATOR, purpose="order_fulfilment", customer_id=kept)
        assert view.values["email"] == kept_record["email"]
        assert [e.customer_pid for e in entries_in_database(s)] == [str(erased)]
        assert check_erasures_applied(s, entries_in_database(s)) == []
    # Whichever log knew it, both know it now: the next restore needs only one of them.
    file_entries = ErasureLogFile(rt.settings.erasure_log_path).read()
    assert [e.customer_pid for e in file_entries] == [str(erased)]
    rt.audit.verify(rt.db)


def test_a_customer_erased_under_a_legal_hold_keeps_only_the_held_fields(
    rt: Runtime, make_record: Any, tmp_path: Path
) -> None:
    [(erased, record)] = collect(rt, make_record, 1)
    give_consent(rt, erased)
    out = tmp_path / "b.jsonl.gz"
    service.backup(rt.db, out=out)
    with rt.db.read() as s:
        fields_before = set(
            s.execute(select(FieldValue.field).where(FieldValue.customer_id == erased)).scalars()
        )
    assert fields_before - set(INVOICING), "the test needs fields outside the hold"
    erase_by_hand(rt, erased, held=INVOICING)

    report = restore(rt, out, force=True)

    assert report.customers_kept_erased == 1
    with rt.db.read() as s:
        fields = set(
            s.execute(select(FieldValue.field).where(FieldValue.customer_id == erased)).scalars()
        )
        erased_at = s.execute(select(Customer.erased_at).where(Customer.id == erased)).scalar_one()
    assert fields == fields_before & set(INVOICING)
    assert erased_at is not None
    _assert_erased(rt, erased, record["email"])
    with rt.db.transaction() as s:
        invoice = rt.vault.read(s, actor=OPERATOR, purpose="invoicing", customer_id=erased)
    assert {k: v for k, v in invoice.values.items() if v is not None} == {
        k: record[k] for k in INVOICING if k in record
    }
    with rt.db.read() as s:
        assert check_erasures_applied(s, entries_in_database(s)) == []


def test_a_second_erasure_releasing_the_hold_wins(
    rt: Runtime, make_record: Any, tmp_path: Path
) -> None:
    [(erased, _)] = collect(rt, make_record, 1)
    out = tmp_path / "b.jsonl.gz"
    service.backup(rt.db, out=out)
    erase_by_hand(rt, erased, held=INVOICING)
    erase_by_hand(rt, erased)  # the hold ran out
    restore(rt, out, force=True)
    assert sum(rows_of(rt, erased).values()) == 0


def test_an_erasure_by_the_service_survives_a_restore(
    rt: Runtime, make_record: Any, tmp_path: Path
) -> None:
    (erased, record), (kept, _) = collect(rt, make_record, 2)
    give_consent(rt, erased)
    out = tmp_path / "b.jsonl.gz"
    service.backup(rt.db, out=out)
    with rt.db.transaction() as s:
        report = rt.eraser.erase(s, customer_id=erased, actor=OPERATOR)
    with rt.db.read() as s:
        left = set(
            s.execute(select(FieldValue.field).where(FieldValue.customer_id == erased)).scalars()
        )
    assert left == set(report.held_fields)

    restore(rt, out, force=True)

    with rt.db.read() as s:
        after = set(
            s.execute(select(FieldValue.field).where(FieldValue.customer_id == erased)).scalars()
        )
        assert check_erasures_applied(s, entries_in_database(s)) == []
    assert after == left
    _assert_erased(rt, erased, record["email"])
    with rt.db.transaction() as s:
        rt.vault.read(s, actor=OPERATOR, purpose="order_fulfilment", customer_id=kept)


# -- across backends --------------------------------------------------------------------------
def records_for(rt: Runtime, count: int) -> Any:
    """Like the make_record fixture, for installations made inside a test."""
    from confiance.demo.generator import CustomerFactory
    from tests.support import manifest_of, non_consent_purposes

    manifest = manifest_of(rt)
    purposes = non_consent_purposes(manifest)
    allowed = {f for p in manifest.purposes if p.key in purposes for f in p.fields}
    factory = CustomerFactory(seed=11)

    def make() -> dict[str, Any]:
        return {k: v for k, v in factory.customer().items() if k in allowed}

    make.purposes = purposes  # type: ignore[attr-defined]
    return collect(rt, make, count)


def test_a_sqlite_backup_restores_into_postgresql(
    sqlite_db: Database, pg_schema: str, tmp_path: Path, keyring: Keyring
) -> None:
    assert PG_URL is not None
    source_rt = install(sqlite_db, Settings(data_dir=tmp_path / "sqlite-data"), keyring)
    people = records_for(source_rt, 6)
    give_consent(source_rt, people[0][0])
    erased = people[5][0]
    out = tmp_path / "b.jsonl.gz"
    service.backup(sqlite_db, out=out)
    expected = dump(sqlite_db)
    # Erased after the backup; the PostgreSQL installation's erasure log file says so.
    entry = ErasureEntry(customer_pid=str(erased), erased_at=clock.now())

    pg = Database(PG_URL, schema=pg_schema)
    pg_settings = Settings(data_dir=tmp_path / "pg-data")
    Base.metadata.drop_all(pg.engine)
    Base.metadata.create_all(pg.engine)
    try:
        target = Runtime.assemble(pg_settings, db=pg, keys=KeyringSource.from_ring(keyring))
        ErasureLogFile(pg_settings.erasure_log_path).append([entry])
        report = service.restore(
            source=out, db=pg, keys=target.keys, settings=pg_settings, actor=OPERATOR
        )
        got = dump(pg)
        assert report.customers_kept_erased == 1
        skipped = {"audit_entries", "audit_head", "audit_checkpoints", "erasure_log"}
        for name, rows in expected.items():
            if name in skipped:
                continue
            if name in customer_references() or name == "vault_customers":
                rows = [r for r in rows if erased not in r]
            assert got[name] == rows, name
        assert got["audit_entries"][: len(expected["audit_entries"])] == expected["audit_entries"]
        with pg.transaction() as s:
            view = target.vault.read(
                s, actor=OPERATOR, purpose="order_fulfilment", customer_id=people[1][0]
            )
        assert view.values["email"] == people[1][1]["email"]
        target.audit.verify(pg)
    finally:
        drop_alembic_version(pg)
        pg.dispose()


# -- the commands -----------------------------------------------------------------------------
def test_backup_and_restore_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keyring: Keyring
) -> None:
    from confiance.cli import _operator, _runtime, _settings
    from confiance.runtime import initialize

    data = tmp_path / "data"
    monkeypatch.setenv("CONFIANCE__DATA_DIR", str(data))
    monkeypatch.delenv("CONFIANCE__DATABASE__URL", raising=False)
    settings = Settings(data_dir=data)
    write_keyring(settings.keyring_path, keyring)
    initialize(settings)
    app = typer.Typer()
    register(app, open_runtime=_runtime, make_settings=_settings, operator=_operator)
    runner = CliRunner()
    rt = Runtime.open(settings)
    try:
        with rt.db.transaction() as s:
            manifest_service.load(
                s,
                text=EXAMPLE_MANIFEST.read_text(encoding="utf-8"),
                source_name=EXAMPLE_MANIFEST.name,
                actor="cli:test",
            )
        records_for(rt, 3)
    finally:
        rt.close()
    out = tmp_path / "nightly.jsonl.gz"

    made = runner.invoke(app, ["backup", str(out)])
    assert made.exit_code == 0, made.output
    assert "key file" in made.output
    checked = runner.invoke(app, ["restore", str(out), "--verify-only"])
    assert checked.exit_code == 0 and "intact" in checked.output, checked.output
    refused = runner.invoke(app, ["restore", str(out)])
    assert refused.exit_code == 1 and "--yes" in refused.output
    done = runner.invoke(app, ["restore", str(out), "--yes"])
    assert done.exit_code == 0, done.output
    assert "Erasure log replayed" in done.output
