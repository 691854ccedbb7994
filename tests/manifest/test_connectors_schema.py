"""The ``connectors:`` section of a manifest: its shape and its checks, on the lines a user
would fix.

Each case is a manifest fragment whose offending lines carry ``# expect: code``, as the files
in ``data/`` do: a test fails when a problem is missing, lands on another line, or appears
where none is expected.
"""

from __future__ import annotations

import re

import pytest

from confiance.manifest import check_text, format_problems, parse_manifest
from confiance.manifest.schemas import CUSTOMER_ID, ConnectorAction, is_sqlite_file_url

MARKER = re.compile(r"#\s*expect:\s*(.+)$")

BASE = """\
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

VALID = """\
connectors:
  - name: crm
    description: Les fiches contacts du CRM
    url_env: CRM_DATABASE_URL
    schema: ventes
    table: CrmContacts
    match:
      column: email_address
      field: email
    action: mask
    columns:
      full_name: "[effacé]"
      email_address: null
  - name: boutique
    url: sqlite:///var/lib/boutique/boutique.db
    table: clients
    match:
      column: confiance_id
      field: customer_id
    action: delete
"""


def expected(text: str) -> set[tuple[str, int]]:
    found: set[tuple[str, int]] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        match = MARKER.search(line)
        if match:
            found |= {(code.strip(), number) for code in match.group(1).split(",")}
    return found


def test_a_valid_section_is_read_as_written() -> None:
    manifest = parse_manifest(BASE + VALID)

    crm, boutique = manifest.connectors
    assert (crm.name, crm.url_env, crm.url, crm.db_schema) == (
        "crm",
        "CRM_DATABASE_URL",
        None,
        "ventes",
    )
    assert (crm.table, crm.match.column, crm.match.field) == (
        "CrmContacts",
        "email_address",
        "email",
    )
    assert crm.action is ConnectorAction.MASK
    assert crm.columns == {"full_name": "[effacé]", "email_address": None}
    assert (boutique.url, boutique.db_schema, boutique.columns) == (
        "sqlite:///var/lib/boutique/boutique.db",
        None,
        None,
    )
    assert boutique.match.field == CUSTOMER_ID
    assert boutique.action is ConnectorAction.DELETE


def test_a_manifest_without_connectors_has_none() -> None:
    assert parse_manifest(BASE).connectors == []


CASES = {
    "duplicate-connector": """\
connectors:
  - name: crm
    url_env: CRM_URL
    table: contacts
    match: {column: email, field: email}
    action: delete
  - name: crm  # expect: duplicate-connector
    url_env: CRM_URL
    table: leads
    match: {column: email, field: email}
    action: delete
""",
    "connector-unknown-field": """\
connectors:
  - name: crm
    url_env: CRM_URL
    table: contacts
    match:
      column: email
      field: emial  # expect: connector-unknown-field
    action: delete
""",
    "connector-not-lookup-field": """\
connectors:
  - name: crm
    url_env: CRM_URL
    table: contacts
    match:
      column: phone
      field: phone  # expect: connector-not-lookup-field
    action: delete
""",
    "connector-mask-without-columns": """\
connectors:
  - name: crm
    url_env: CRM_URL
    table: contacts
    match: {column: email, field: email}
    action: mask  # expect: connector-mask-without-columns
  - name: shop
    url_env: SHOP_URL
    table: contacts
    match: {column: email, field: email}
    action: mask
    columns: {}  # expect: connector-mask-without-columns
""",
    "connector-delete-with-columns": """\
connectors:
  - name: crm
    url_env: CRM_URL
    table: contacts
    match: {column: email, field: email}
    action: delete
    columns:  # expect: connector-delete-with-columns
      notes: null
""",
    "connector-url-not-sqlite": """\
connectors:
  - name: crm
    url: postgresql+psycopg://crm:S3cret-Pw@db.crm.example/crm  # expect: connector-url-not-sqlite
    table: contacts
    match: {column: email, field: email}
    action: delete
  - name: scratch
    url: "sqlite:///:memory:"  # expect: connector-url-not-sqlite
    table: contacts
    match: {column: email, field: email}
    action: delete
""",
    "connector-without-url": """\
connectors:
  - name: crm  # expect: connector-without-url
    table: contacts
    match: {column: email, field: email}
    action: delete
""",
    "connector-url-and-url-env": """\
connectors:
  - name: crm
    url_env: CRM_URL
    url: sqlite:///crm.db  # expect: connector-url-and-url-env
    table: contacts
    match: {column: email, field: email}
    action: delete
""",
    "shape": """\
connectors:
  - name: Crm Principal  # expect: invalid-value
    url_env: postgresql://crm@db/crm  # expect: invalid-value
    schema: "ventes;"  # expect: invalid-value
    table: contacts; DROP TABLE contacts  # expect: invalid-value
    match:
      column: e-mail  # expect: invalid-value
      field: email
    action: erase  # expect: invalid-value
  - name: shop
    url_env: SHOP_URL
    table: contacts
    match: {column: email, field: email}
    action: mask
    columns:  # expect: invalid-value
      "full name": x
      notes: null
    shema: ventes  # expect: unknown-key
  - name: loyalty
    url_env: LOYALTY_URL
    table: members
    match: {column: email, field: email}
    action: mask
    columns:
      notes: 0  # expect: invalid-value
  - name: newsletter  # expect: missing-key
    url_env: NEWSLETTER_URL
    match: {column: email, field: email}
    action: delete
""",
}


@pytest.mark.parametrize("fragment", CASES.values(), ids=CASES.keys())
def test_each_problem_is_reported_on_its_line(fragment: str) -> None:
    text = BASE + fragment
    wanted = expected(text)
    result = check_text(text)
    assert {(p.code, p.line) for p in result.problems} == wanted
    assert not result.ok


def test_messages_say_what_to_do_and_never_quote_a_url() -> None:
    result = check_text(BASE + CASES["connector-url-not-sqlite"])
    lines = format_problems(result, "manifest.yaml")

    assert all("url_env" in line for line in lines)
    assert not any("S3cret" in line or "db.crm.example" in line for line in lines)


def test_an_unknown_field_gets_a_suggestion() -> None:
    [problem] = check_text(BASE + CASES["connector-unknown-field"]).problems
    assert "did you mean 'email'?" in problem.message


def test_a_column_with_an_unsafe_name_is_named() -> None:
    [problem] = [
        p for p in check_text(BASE + CASES["shape"]).problems if p.path.endswith("columns")
    ]
    assert "'full name'" in problem.message


def test_a_misspelt_key_gets_the_name_written_in_files() -> None:
    result = check_text(BASE + CASES["shape"])
    [unknown] = [p for p in result.problems if p.code == "unknown-key"]
    assert "did you mean 'schema'?" in unknown.message


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("sqlite:///crm.db", True),
        ("sqlite:////var/lib/crm/crm.db", True),
        ("sqlite+pysqlite:///crm.db", True),
        ("sqlite://", False),
        ("sqlite:///:memory:", False),
        ("postgresql+psycopg://crm@localhost/crm", False),
        ("mysql://crm:pw@localhost/crm", False),
        ("crm.db", False),
        ("postgresql://u:p@[::1", False),
    ],
)
def test_only_sqlite_files_may_be_written_in_the_manifest(url: str, allowed: bool) -> None:
    assert is_sqlite_file_url(url) is allowed
