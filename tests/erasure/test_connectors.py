"""Connectors on a real second database: a SQLite file, and a PostgreSQL schema when
``CONFIANCE_TEST_DATABASE_URL`` is set.

The CRM table holds several rows of the customer being erased (one with the address in other
letter cases, one found by phone only, one by customer id) beside other people's rows that
look alike. Every test compares the whole table, column by column, before and after.
"""

from __future__ import annotations

import logging
import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    create_engine,
    select,
    text,
)
from sqlalchemy.pool import NullPool

from confiance.demo.generator import CustomerFactory
from confiance.erasure import connectors
from confiance.erasure.connectors import ConnectorResult
from confiance.manifest import InvalidFieldValue, Manifest, UnknownField, parse_manifest

PG_URL = os.environ.get("CONFIANCE_TEST_DATABASE_URL")

BASE_MANIFEST = """\
version: 1
controller:
  name: Boutique Test SARL
  address: 3 place du Marché, 33000 Bordeaux
  dpo:
    name: Camille Martin
    email: dpo@boutique-test.example
fields:
  - name: email
    type: email
    category: user.contact.email
    lookup: true
    reason:
      fr: Pour vous envoyer la confirmation de vos commandes.
      en: To send you the confirmation of your orders.
  - name: phone
    type: phone
    category: user.contact.phone_number
    lookup: true
    reason:
      fr: Pour que le transporteur vous prévienne de la livraison.
      en: So the carrier can tell you when your parcel arrives.
purposes:
  - key: order_fulfilment
    data_use: essential.service
    legal_basis: contract
    fields: [email, phone]
    retention:
      duration: P5Y
      after: delete
    description:
      fr: Nous utilisons vos coordonnées pour confirmer et livrer vos commandes.
      en: We use your contact details to confirm and deliver your orders.
"""

MASK_TEXT = "[effacé]"


def contacts_table(metadata: MetaData) -> Table:
    return Table(
        "crm_contacts",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("email", String(254)),
        Column("phone", String(20)),
        # A uuid column on PostgreSQL, text on SQLite, as a CRM would store the id it received.
        Column("customer_ref", Uuid(as_uuid=False).with_variant(String(36), "sqlite")),
        Column("full_name", String(200), nullable=False),
        Column("city", String(100)),
        Column("notes", Text),
    )


@dataclass
class People:
    """The customer being erased, the values to look them up by, and everyone's rows."""

    email: str
    phone: str
    customer_id: str
    rows: list[dict[str, Any]]
    by_email: set[int]
    by_phone: set[int]
    by_customer_id: set[int]
    identity: dict[str, Any] = field(default_factory=dict)


def make_people() -> People:
    factory = CustomerFactory(seed=31)
    target, other, third = factory.customer(), factory.customer(), factory.customer()
    local, domain = target["email"].split("@")
    target_id, other_id = str(uuid.uuid4()), str(uuid.uuid4())
    national = "0" + target["phone"].removeprefix("+33")

    def row(n: int, person: dict[str, Any], **values: Any) -> dict[str, Any]:
        return {
            "id": n,
            "email": None,
            "phone": None,
            "customer_ref": None,
            "full_name": f"{person['first_name']} {person['last_name']}",
            "city": person["city"],
            "notes": f"Client depuis {n + 2010}",
            **values,
        }

    rows = [
        row(1, target, email=target["email"], customer_ref=target_id),
        row(2, target, email=f"{local.upper()}@{domain.upper()}"),
        row(3, target, email=other["email"].replace("@", "+crm@"), phone=target["phone"]),
        # Other people, some of them close to the customer's values.
        row(4, other, email=f"x{local}@{domain}"),
        row(5, other, email=f"{local}@autre.example", phone=other["phone"]),
        row(6, other, customer_ref=other_id, phone=target["phone"][:-1] + "0"),
        row(7, third, email=third["email"]),
        row(8, third, email=f"{local}.{domain}"),
    ]
    if target["phone"].endswith("0"):
        rows[5]["phone"] = target["phone"][:-1] + "1"
    people = People(
        email=target["email"],
        phone=target["phone"],
        customer_id=target_id,
        rows=rows,
        by_email={1, 2},
        by_phone={3},
        by_customer_id={1},
    )
    # As a caller would give it: the domain in capitals, the phone in national form.
    people.identity = {
        "email": f"{local}@{domain.upper()}",
        "phone": national,
        "customer_id": target_id,
    }
    return people


@dataclass
class Crm:
    """The second database, and how a connector reaches it."""

    engine: Engine
    table: Table
    where: dict[str, Any]
    environ: dict[str, str]
    backend: str

    def snapshot(self) -> dict[int, dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(self.table).order_by(self.table.c.id)).mappings()
            return {row["id"]: dict(row) for row in rows}

    def insert(self, rows: list[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.table.insert(), rows)

    def connector(self, name: str, match_field: str, match_column: str, **rest: Any) -> dict:
        return {
            "name": name,
            **self.where,
            "table": "crm_contacts",
            "match": {"column": match_column, "field": match_field},
            **rest,
        }


@pytest.fixture
def people() -> People:
    return make_people()


@pytest.fixture(params=["sqlite", "postgresql"])
def crm(request: pytest.FixtureRequest, tmp_path: Path, people: People) -> Iterator[Crm]:
    if request.param == "sqlite":
        path = tmp_path / "crm.db"
        url = f"sqlite:///{path}"
        engine = create_engine(url, poolclass=NullPool)
        table = contacts_table(MetaData())
        table.metadata.create_all(engine)
        crm = Crm(engine, table, {"url": url}, {}, "sqlite")
        crm.insert(people.rows)
        yield crm
        engine.dispose()
        return
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set CONFIANCE_TEST_DATABASE_URL")
    schema = f"crm_test_{secrets.token_hex(4)}"
    engine = create_engine(PG_URL, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        table = contacts_table(MetaData(schema=schema))
        table.metadata.create_all(engine)
        crm = Crm(
            engine, table, {"url_env": "CRM_DATABASE_URL", "schema": schema},
            {"CRM_DATABASE_URL": PG_URL}, "postgresql",
        )  # fmt: skip
        crm.insert(people.rows)
        yield crm
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def manifest_with(*declared: dict[str, Any]) -> Manifest:
    """The base manifest with these connectors, through the same checks as a file."""
    block = yaml.safe_dump({"connectors": list(declared)}, sort_keys=False, allow_unicode=True)
    return parse_manifest(BASE_MANIFEST + block)


def run(crm: Crm, manifest: Manifest, identity: dict[str, Any], **kw: Any) -> list[Any]:
    return connectors.run(manifest, identity=identity, environ=crm.environ, **kw)


def without(snapshot: dict[int, dict[str, Any]], ids: set[int]) -> dict[int, dict[str, Any]]:
    return {k: v for k, v in snapshot.items() if k not in ids}


MATCHES = [("email", "email"), ("phone", "phone"), ("customer_id", "customer_ref")]


@pytest.mark.parametrize(("match_field", "match_column"), MATCHES)
def test_delete_removes_exactly_the_customers_rows(
    crm: Crm, people: People, match_field: str, match_column: str
) -> None:
    expected = {
        "email": people.by_email,
        "phone": people.by_phone,
        "customer_id": people.by_customer_id,
    }[match_field]
    before = crm.snapshot()
    manifest = manifest_with(crm.connector("crm", match_field, match_column, action="delete"))

    [result] = run(crm, manifest, people.identity)

    assert (result.status, result.rows, result.error_kind) == ("done", len(expected), None)
    assert (result.name, result.action, result.table) == ("crm", "delete", "crm_contacts")
    assert crm.snapshot() == without(before, expected)


def test_mask_sets_the_declared_columns_of_the_customers_rows_only(
    crm: Crm, people: People
) -> None:
    before = crm.snapshot()
    masks = {"full_name": MASK_TEXT, "notes": None, "email": None}
    manifest = manifest_with(crm.connector("crm", "email", "email", action="mask", columns=masks))

    [result] = run(crm, manifest, people.identity)

    assert (result.status, result.rows) == ("done", len(people.by_email))
    after = crm.snapshot()
    assert without(after, people.by_email) == without(before, people.by_email)
    for row_id in people.by_email:
        for column, value in before[row_id].items():
            assert after[row_id][column] == masks.get(column, value), column


def test_connectors_run_in_order_each_on_its_own(crm: Crm, people: People) -> None:
    before = crm.snapshot()
    manifest = manifest_with(
        crm.connector(
            "crm_mask", "phone", "phone", action="mask", columns={"full_name": MASK_TEXT}
        ),
        crm.connector("crm_delete", "customer_id", "customer_ref", action="delete"),
    )

    results = run(crm, manifest, people.identity)

    assert [(r.name, r.status, r.rows) for r in results] == [
        ("crm_mask", "done", len(people.by_phone)),
        ("crm_delete", "done", len(people.by_customer_id)),
    ]
    after = crm.snapshot()
    assert set(after) == set(before) - people.by_customer_id
    masked = {i for i, row in after.items() if row["full_name"] == MASK_TEXT}
    assert masked == people.by_phone - people.by_customer_id


def test_a_dry_run_counts_the_same_rows_and_changes_nothing(crm: Crm, people: People) -> None:
    before = crm.snapshot()
    manifest = manifest_with(
        crm.connector("by_email", "email", "email", action="mask", columns={"notes": None}),
        crm.connector("by_phone", "phone", "phone", action="delete"),
        crm.connector("by_id", "customer_id", "customer_ref", action="delete"),
    )

    dry = run(crm, manifest, people.identity, dry_run=True)

    assert crm.snapshot() == before
    assert [(r.status, r.rows, r.dry_run) for r in dry] == [
        ("done", len(people.by_email), True),
        ("done", len(people.by_phone), True),
        ("done", len(people.by_customer_id), True),
    ]
    real = run(crm, manifest, people.identity)
    assert [r.rows for r in real] == [r.rows for r in dry]
    assert crm.snapshot() != before


def test_a_connector_without_a_value_for_its_field_is_skipped(crm: Crm, people: People) -> None:
    before = crm.snapshot()
    manifest = manifest_with(
        crm.connector("by_phone", "phone", "phone", action="delete"),
        crm.connector("by_email", "email", "email", action="delete"),
    )
    identity = {**people.identity, "phone": None}

    results = run(crm, manifest, identity)

    assert [(r.status, r.rows) for r in results] == [
        ("skipped", 0),
        ("done", len(people.by_email)),
    ]
    assert crm.snapshot() == without(before, people.by_email)


def test_a_missing_environment_variable_fails_that_connector_only(crm: Crm, people: People) -> None:
    before = crm.snapshot()
    manifest = manifest_with(
        {
            "name": "newsletter",
            "url_env": "NEWSLETTER_DATABASE_URL",
            "table": "subscribers",
            "match": {"column": "email", "field": "email"},
            "action": "delete",
        },
        crm.connector("crm", "email", "email", action="delete"),
    )

    failed, done = run(crm, manifest, people.identity)

    assert (failed.status, failed.error_kind, failed.rows) == ("failed", "url-not-set", 0)
    assert failed.hint is not None and "url_env" in failed.hint
    assert (done.status, done.rows) == ("done", len(people.by_email))
    assert crm.snapshot() == without(before, people.by_email)


def test_a_refused_change_leaves_the_system_as_it_was(crm: Crm, people: People) -> None:
    before = crm.snapshot()
    # full_name is NOT NULL: the first row masked is refused, and the rows before it with it.
    manifest = manifest_with(
        crm.connector(
            "crm", "email", "email", action="mask", columns={"notes": None, "full_name": None}
        )
    )

    [result] = run(crm, manifest, people.identity)

    assert (result.status, result.error_kind, result.rows) == ("failed", "integrity-error", 0)
    assert result.error_class == "IntegrityError"
    assert crm.snapshot() == before


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        ({"table": "crm_contact"}, "table-not-found"),
        ({"match": {"column": "mail", "field": "email"}}, "column-not-found"),
        ({"action": "mask", "columns": {"notes": None, "remarks": None}}, "column-not-found"),
    ],
)
def test_a_misspelt_name_is_reported_before_anything_changes(
    crm: Crm, people: People, change: dict[str, Any], kind: str
) -> None:
    before = crm.snapshot()
    manifest = manifest_with(
        {**crm.connector("crm", "email", "email", action="delete"), **change},
        crm.connector("crm_phone", "phone", "phone", action="delete"),
    )

    failed, done = run(crm, manifest, people.identity)

    assert (failed.status, failed.error_kind) == ("failed", kind)
    assert (done.status, done.rows) == ("done", len(people.by_phone))
    assert crm.snapshot() == without(before, people.by_phone)


def test_values_that_look_like_sql_are_only_compared(crm: Crm, people: People) -> None:
    # A valid address (quotes and '=' are allowed before the '@'): spliced into a statement,
    # it would break it or match every row.
    tricky = "o'brien'or'1'='1'--@crm.example"
    crm.insert([{"id": 99, "email": tricky, "full_name": "Eoin O'Brien"}])
    before = crm.snapshot()
    manifest = manifest_with(crm.connector("crm", "email", "email", action="delete"))

    [result] = run(crm, manifest, {"email": tricky})

    assert (result.status, result.rows) == ("done", 1)
    assert crm.snapshot() == without(before, {99})


def test_identity_is_checked_whole_before_any_connector_runs(crm: Crm, people: People) -> None:
    before = crm.snapshot()
    manifest = manifest_with(
        crm.connector("crm", "email", "email", action="delete"),
        crm.connector("crm_phone", "phone", "phone", action="delete"),
        crm.connector("crm_id", "customer_id", "customer_ref", action="delete"),
    )

    with pytest.raises(InvalidFieldValue) as bad_phone:
        run(crm, manifest, {"email": people.email, "phone": "06 12 not a number"})
    with pytest.raises(InvalidFieldValue) as bad_id:
        run(crm, manifest, {"email": people.email, "customer_id": "1; DROP TABLE crm"})
    with pytest.raises(UnknownField):
        run(crm, manifest, {"email": people.email, "loyalty_number": "123"})

    assert crm.snapshot() == before
    assert "not a number" not in str(bad_phone.value)
    assert "DROP" not in str(bad_id.value)


def test_fields_no_connector_matches_on_are_ignored(crm: Crm, people: People) -> None:
    before = crm.snapshot()
    manifest = manifest_with(crm.connector("crm", "email", "email", action="delete"))

    # A caller may pass the customer's whole record; the phone is not used here.
    [result] = run(crm, manifest, {"email": people.email, "phone": "not a number"})

    assert (result.status, result.rows) == ("done", len(people.by_email))
    assert crm.snapshot() == without(before, people.by_email)


# Failures outside any database: no second system is needed to reach them.


def failing(
    tmp_path: Path, environ: dict[str, str], **location: Any
) -> tuple[ConnectorResult, str]:
    manifest = manifest_with(
        {
            "name": "crm",
            **location,
            "table": "crm_contacts",
            "match": {"column": "email", "field": "email"},
            "action": "delete",
        }
    )
    [result] = connectors.run(manifest, identity={"email": "anne@crm.example"}, environ=environ)
    return result, repr(result) + repr(result.as_dict())


def test_a_refused_connection_reports_no_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = "postgresql+psycopg://crm_user:S3cret-Pw@127.0.0.1:1/crm"
    result, shown = failing(tmp_path, {"CRM_URL": url}, url_env="CRM_URL")

    assert (result.status, result.error_kind) == ("failed", "connection-failed")
    assert result.error_class == "OperationalError"
    assert "S3cret" not in shown + caplog.text
    assert "anne@" not in shown + caplog.text


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("postgresql+psycopg://user:S3cret-Pw@[::1", "url-invalid"),
        ("not a url with S3cret", "url-invalid"),
        ("nosuchdb+nodriver://user:S3cret@host/db", "driver-missing"),
        ("sqlite://", "url-invalid"),
        ("   ", "url-not-set"),
    ],
)
def test_a_bad_url_in_the_environment_is_reported_without_its_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, url: str, kind: str
) -> None:
    caplog.set_level(logging.DEBUG)
    result, shown = failing(tmp_path, {"CRM_URL": url}, url_env="CRM_URL")

    assert (result.status, result.error_kind) == ("failed", kind)
    assert "S3cret" not in shown + caplog.text


def test_a_missing_sqlite_file_is_reported_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "absent.db"
    result, _ = failing(tmp_path, {}, url=f"sqlite:///{path}")

    assert (result.status, result.error_kind) == ("failed", "database-missing")
    assert not path.exists()


def test_a_manifest_built_in_code_cannot_hold_a_server_url(tmp_path: Path) -> None:
    manifest = manifest_with(
        {
            "name": "crm",
            "url_env": "CRM_URL",
            "table": "crm_contacts",
            "match": {"column": "email", "field": "email"},
            "action": "delete",
        }
    )
    [declared] = manifest.connectors
    forged = manifest.model_copy(
        update={
            "connectors": [declared.model_copy(update={"url": "postgresql://u:pw@127.0.0.1:1/x"})]
        }
    )

    [result] = connectors.run(forged, identity={"email": "anne@crm.example"}, environ={})

    assert (result.status, result.error_kind) == ("failed", "url-invalid")


def test_no_connectors_no_results() -> None:
    manifest = parse_manifest(BASE_MANIFEST)
    assert connectors.run(manifest, identity={"email": "anne@crm.example"}, environ={}) == []
