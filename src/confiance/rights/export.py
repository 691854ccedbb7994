"""The access and portability export: one ZIP with everything held about one customer.

GDPR art. 15 (access) and art. 20 (portability), CCPA's right to know. The archive holds the
decrypted profile with, for every field, why it is held, the purposes that use it (legal
basis, retention, recipients); the consent states, history and signed receipts; the audit
trail of who accessed the data and why; the customer's past requests. It comes as one JSON
document, CSV tables and a readable HTML page in the customer's language (see docs/export.md).

Rules held here:

- One customer, and only them: every query names that customer's id, and only columns that
  describe them are read (never another customer's row, never a request's sealed contact).
- Every value is decrypted through :meth:`Vault.subject_values`, which writes the audit entry
  (``vault.subject_read`` with the export's reason) before it decrypts anything: the export
  fails closed, in the caller's transaction.
- The archive is deterministic for given data and time: fixed member order, member dates set to
  the generation time; its SHA-256 is returned so the answer to a request can be proven later.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import jinja2
from sqlalchemy import select
from sqlalchemy.orm import Session

from confiance import clock
from confiance.actors import Actor
from confiance.audit.models import AuditEntry
from confiance.consent.rules import kind_of
from confiance.consent.service import EventView, OverviewItem
from confiance.errors import ValidationFailed
from confiance.manifest import service as manifest_service
from confiance.manifest.schemas import FieldSpec, FieldType, Manifest, PurposeSpec
from confiance.rights.export_csv import csv_bytes
from confiance.rights.export_text import LANGUAGES, Words
from confiance.rights.models import RightsRequest
from confiance.vault.models import Customer

if TYPE_CHECKING:
    from confiance.runtime import Runtime

__all__ = [
    "ALL_FORMATS",
    "DEFAULT_TIME_ZONE",
    "EXPORT_FORMAT_VERSION",
    "ExportArchive",
    "ExportFormat",
    "ExportFormatNotSupported",
    "LanguageNotSupported",
    "build_export",
]

#: Where the dates on the readable page are shown, unless the caller says otherwise: the
#: controller's time zone, the one GDPR deadlines are counted in.
DEFAULT_TIME_ZONE = "Europe/Paris"

#: Bumped when the layout of ``data.json`` changes in a way a reader would notice.
EXPORT_FORMAT_VERSION = 1


class ExportFormat(StrEnum):
    JSON = "json"  # data.json
    CSV = "csv"  # profile.csv, lists/*.csv, consent_*.csv, access_log.csv, requests.csv
    HTML = "html"  # summary.html


ALL_FORMATS: frozenset[ExportFormat] = frozenset(ExportFormat)


class LanguageNotSupported(ValidationFailed):
    code = "export-language-not-supported"
    title = "Language not supported"

    def __init__(self, language: str) -> None:
        super().__init__(
            f"The export is written in French or English; ask for 'fr' or 'en' instead of "
            f"'{language[:16]}'.",
            language=language[:16],
            supported=list(LANGUAGES),
        )


class ExportFormatNotSupported(ValidationFailed):
    code = "export-format-not-supported"
    title = "Export format not supported"

    def __init__(self, requested: Sequence[str]) -> None:
        supported = [f.value for f in ExportFormat]
        super().__init__(
            "Choose one or more export formats among " + ", ".join(supported) + ".",
            requested=[r[:16] for r in requested],
            supported=supported,
        )


@dataclass(frozen=True, slots=True)
class ExportArchive:
    """A finished archive: the ZIP's bytes, its name and digest, and what it holds."""

    filename: str
    content: bytes
    sha256: str
    #: Rows per section (``fields``, ``consent_states``, ``consent_events``, ``receipts``,
    #: ``access_log``, ``requests``, and ``items.<field>`` for each list field).
    counts: dict[str, int]
    generated_at: datetime
    members: tuple[str, ...] = field(default=())
    media_type: str = "application/zip"


def _language(language: str) -> str:
    primary = language.strip().replace("_", "-").split("-")[0].lower()
    if primary not in LANGUAGES:
        raise LanguageNotSupported(language)
    return primary


def _formats(formats: Collection[ExportFormat | str]) -> frozenset[ExportFormat]:
    known = {f.value: f for f in ExportFormat}
    requested = [str(f) for f in formats]
    if not requested or any(r not in known for r in requested):
        raise ExportFormatNotSupported(requested)
    return frozenset(known[r] for r in requested)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


# -- gathering --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _AccessRow:
    seq: int
    at: datetime
    actor: str
    action: str
    purpose: str | None
    fields: tuple[str, ...]
    outcome: str
    detail: str | None


@dataclass(frozen=True, slots=True)
class _RequestRow:
    reference: str
    kind: str
    status: str
    received_at: datetime
    due_at: datetime
    closed_at: datetime | None
    refusal_reason: str | None


@dataclass(frozen=True, slots=True)
class _Held:
    """Everything read about the customer, before it is shaped into files."""

    customer_id: uuid.UUID
    created_at: datetime
    collected_under: int
    restricted_at: datetime | None
    erased_at: datetime | None
    values: dict[str, Any]
    times: dict[str, tuple[datetime, datetime]]
    states: list[OverviewItem]
    history: list[EventView]
    receipts: list[tuple[str, datetime, str]]
    access: list[_AccessRow]
    requests: list[_RequestRow]


def _gather(
    session: Session,
    runtime: Runtime,
    actor: Actor,
    customer_id: uuid.UUID,
    reason: str,
) -> _Held:
    # Decrypting comes first: it raises CustomerNotFound for an unknown id, and it writes the
    # audit entry of this export, which the trail below then shows to the customer.
    values = runtime.vault.subject_values(
        session, actor=actor, customer_id=customer_id, reason=reason
    )
    customer = session.execute(
        select(
            Customer.created_at, Customer.manifest_seq, Customer.restricted_at, Customer.erased_at
        ).where(Customer.id == customer_id)
    ).one()
    times = runtime.vault.value_dates(session, customer_id=customer_id)
    ledger = runtime.consent
    overview = ledger.overview(session, customer_id=customer_id, actor=actor)
    history = ledger.history(session, customer_id=customer_id, actor=actor)
    receipts = [
        (
            receipt_id,
            issued_at,
            ledger.receipt(session, receipt_id=receipt_id, actor=actor, customer_id=customer_id),
        )
        for receipt_id, issued_at in ledger.receipts_of(
            session, customer_id=customer_id, actor=actor
        )
    ]
    pid = str(customer_id)
    access = [
        _AccessRow(
            seq=r.seq,
            at=clock.from_micros(r.at_us),
            actor=r.actor,
            action=r.action,
            purpose=r.purpose,
            fields=tuple(f for f in r.fields.split(",") if f),
            outcome=r.outcome,
            detail=r.detail,
        )
        for r in session.execute(
            select(
                AuditEntry.seq,
                AuditEntry.at_us,
                AuditEntry.actor,
                AuditEntry.action,
                AuditEntry.purpose,
                AuditEntry.fields,
                AuditEntry.outcome,
                AuditEntry.detail,
            )
            .where(AuditEntry.customer_pid == pid)
            .order_by(AuditEntry.seq)
        )
    ]
    # Only the columns that describe the request to its author; the sealed contact and details
    # stay sealed, and requests not (yet) tied to this customer are not theirs to see.
    requests = [
        _RequestRow(*r)
        for r in session.execute(
            select(
                RightsRequest.reference,
                RightsRequest.kind,
                RightsRequest.status,
                RightsRequest.received_at,
                RightsRequest.due_at,
                RightsRequest.closed_at,
                RightsRequest.refusal_reason,
            )
            .where(RightsRequest.customer_pid == pid)
            .order_by(RightsRequest.received_at, RightsRequest.reference)
        )
    ]
    return _Held(
        customer_id=customer_id,
        created_at=customer.created_at,
        collected_under=customer.manifest_seq,
        restricted_at=customer.restricted_at,
        erased_at=customer.erased_at,
        values=values,
        times=times,
        states=overview.items,
        history=history,
        receipts=receipts,
        access=access,
        requests=requests,
    )


# -- shaping ----------------------------------------------------------------------------------


def _ordered_fields(manifest: Manifest, values: Mapping[str, Any]) -> list[str]:
    """Held fields in manifest order, then any the manifest no longer declares."""
    declared = [f.name for f in manifest.fields if f.name in values]
    return declared + sorted(set(values) - set(declared))


def _is_object_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _list_columns(items: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every key of a list's objects, in the order first seen."""
    columns: dict[str, None] = {}
    for item in items:
        columns.update(dict.fromkeys(item))
    return list(columns)


def _purpose_brief(words: Words, spec: PurposeSpec) -> dict[str, Any]:
    return {
        "key": spec.key,
        "legal_basis": spec.legal_basis.value,
        "legal_basis_text": words(f"basis.{spec.legal_basis.value}"),
        "retention": words.retention(spec.retention),
        "recipients": [r.name for r in spec.recipients],
    }


def _purpose_full(words: Words, spec: PurposeSpec, held: Collection[str]) -> dict[str, Any]:
    retention = spec.retention
    return {
        "key": spec.key,
        "data_use": spec.data_use,
        "description": spec.description.in_language(words.language) if spec.description else None,
        "benefit": spec.benefit.in_language(words.language) if spec.benefit else None,
        "legal_basis": spec.legal_basis.value,
        "legal_basis_text": words(f"basis.{spec.legal_basis.value}"),
        "retention": None
        if retention is None
        else {
            "duration": retention.duration,
            "counted_from": retention.counted_from.value,
            "after": retention.after.value,
            "text": words.retention(retention),
        },
        "recipients": [
            {
                "name": r.name,
                "role": r.role.value,
                "country": r.country,
                "safeguard": None if r.safeguard is None else r.safeguard.value,
                "text": words.recipient(r),
            }
            for r in spec.recipients
        ],
        "pseudonymised": spec.pseudonymised,
        "fields": [f for f in spec.fields if f in held],
    }


def _document(
    held: _Held,
    *,
    manifest: Manifest,
    manifest_seq: int,
    manifest_sha256: str,
    words: Words,
    generated_at: datetime,
    reason: str,
) -> dict[str, Any]:
    names = _ordered_fields(manifest, held.values)
    profile = []
    for name in names:
        spec = manifest.fields_by_name.get(name)
        collected, updated = held.times.get(name, (None, None))
        profile.append(
            {
                "field": name,
                "category": spec.category if spec else None,
                "sensitive": spec.sensitive if spec else None,
                "value": held.values[name],
                "reason": spec.reason.in_language(words.language) if spec else None,
                "collected_at": _iso(collected),
                "updated_at": _iso(updated),
                "purposes": [
                    _purpose_brief(words, p) for p in manifest.purposes if name in p.fields
                ],
            }
        )
    held_names = set(names)
    controller = manifest.controller
    return {
        "format": "confiance-export",
        "format_version": EXPORT_FORMAT_VERSION,
        "generated_at": _iso(generated_at),
        "language": words.language,
        "reason": reason,
        "customer": {
            "id": str(held.customer_id),
            "created_at": _iso(held.created_at),
            "collected_under_manifest_version": held.collected_under,
            "restricted_at": _iso(held.restricted_at),
            "erased_at": _iso(held.erased_at),
        },
        "controller": {
            "name": controller.name,
            "address": controller.address,
            "country": controller.country,
            "dpo": {"name": controller.dpo.name, "email": controller.dpo.email},
        },
        "manifest": {"version": manifest_seq, "sha256": manifest_sha256},
        "profile": profile,
        "purposes": [
            _purpose_full(words, p, held_names)
            for p in manifest.purposes
            if held_names.intersection(p.fields)
        ],
        "consent": {
            "states": [
                {
                    "target": item.target,
                    "legal_basis": item.legal_basis,
                    "state": item.row.state if item.row else None,
                    "since": _iso(item.since),
                    "expires_at": _iso(item.row.expires_at) if item.row else None,
                    "channel": item.row.channel if item.row else None,
                    "manifest_version": item.row.manifest_seq if item.row else None,
                    "allowed": item.allowed,
                    "reason": item.reason,
                }
                for item in held.states
            ],
            "history": [
                {
                    "id": e.id,
                    "at": _iso(e.at),
                    "target": e.target,
                    "kind": e.kind,
                    "state": e.state,
                    "channel": e.channel,
                    "method": e.method,
                    "language": e.language,
                    "manifest_version": e.manifest_seq,
                    "expires_at": _iso(e.expires_at),
                    "actor": e.actor,
                    "evidence": e.evidence,
                    "receipt_id": e.receipt_id,
                }
                for e in held.history
            ],
            "receipts": [
                {"id": rid, "issued_at": _iso(at), "jws": jws, "file": f"receipts/{rid}.jws"}
                for rid, at, jws in held.receipts
            ],
        },
        "access_log": [
            {
                "seq": a.seq,
                "at": _iso(a.at),
                "actor": a.actor,
                "action": a.action,
                "purpose": a.purpose,
                "fields": list(a.fields),
                "outcome": a.outcome,
                "detail": a.detail,
            }
            for a in held.access
        ],
        "requests": [
            {
                "reference": r.reference,
                "kind": r.kind,
                "status": r.status,
                "received_at": _iso(r.received_at),
                "due_at": _iso(r.due_at),
                "closed_at": _iso(r.closed_at),
                "refusal_reason": r.refusal_reason,
            }
            for r in held.requests
        ],
    }


def _csv_members(doc: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    profile = doc["profile"]
    members = [
        (
            "profile.csv",
            csv_bytes(
                (
                    "field",
                    "category",
                    "sensitive",
                    "value",
                    "reason",
                    "purposes",
                    "collected_at",
                    "updated_at",
                ),
                (
                    (
                        p["field"],
                        p["category"],
                        p["sensitive"],
                        p["value"],
                        p["reason"],
                        ",".join(u["key"] for u in p["purposes"]),
                        p["collected_at"],
                        p["updated_at"],
                    )
                    for p in profile
                ),
            ),
        )
    ]
    for p in profile:
        value = p["value"]
        # An empty list has no columns to write: it shows as [] in profile.csv.
        if value and _is_object_list(value):
            columns = _list_columns(value)
            members.append(
                (
                    f"lists/{p['field']}.csv",
                    csv_bytes(columns, ([item.get(c) for c in columns] for item in value)),
                )
            )
    consent = doc["consent"]
    state_columns = (
        "target",
        "legal_basis",
        "state",
        "since",
        "expires_at",
        "channel",
        "manifest_version",
        "allowed",
        "reason",
    )
    history_columns = (
        "id",
        "at",
        "target",
        "kind",
        "state",
        "channel",
        "method",
        "language",
        "manifest_version",
        "expires_at",
        "actor",
        "evidence",
        "receipt_id",
    )
    access_columns = ("seq", "at", "actor", "action", "purpose", "fields", "outcome", "detail")
    request_columns = (
        "reference",
        "kind",
        "status",
        "received_at",
        "due_at",
        "closed_at",
        "refusal_reason",
    )
    members += [
        (
            "consent_state.csv",
            csv_bytes(state_columns, ([s[c] for c in state_columns] for s in consent["states"])),
        ),
        (
            "consent_history.csv",
            csv_bytes(
                history_columns, ([e[c] for c in history_columns] for e in consent["history"])
            ),
        ),
        (
            "access_log.csv",
            csv_bytes(
                access_columns,
                (
                    [",".join(a[c]) if c == "fields" else a[c] for c in access_columns]
                    for a in doc["access_log"]
                ),
            ),
        ),
        (
            "requests.csv",
            csv_bytes(request_columns, ([r[c] for c in request_columns] for r in doc["requests"])),
        ),
    ]
    return members


# -- the readable page ------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("confiance.rights", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("export_summary.html")


def _cell(words: Words, value: Any) -> str:
    """A value of a list item, as text for the page."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return words("yes" if value else "no")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _field_value(words: Words, spec: FieldSpec | None, value: Any) -> str:
    if spec is not None and spec.type is FieldType.DATE and isinstance(value, str):
        try:
            return words.day(date.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, list):
        return words("list_value", count=str(len(value)))
    return _cell(words, value)


def _target_label(words: Words, target: str) -> str:
    return words.texts.get(f"target.{target}", target)


def _choice(words: Words, manifest: Manifest, item: OverviewItem) -> str:
    """The customer's choice on a target, or why there is none to make."""
    if item.row is not None:
        return words.coded("state", item.row.state)
    kind = kind_of(manifest, item.target)
    if kind is None:
        basis = item.legal_basis or ""
        return words("state.not_decidable", basis=words.coded("basis", basis))
    return words(f"state.none.{kind.value}")


def _summary(
    doc: Mapping[str, Any],
    held: _Held,
    *,
    manifest: Manifest,
    words: Words,
    generated_at: datetime,
    members: Sequence[str],
) -> bytes:
    controller = manifest.controller
    account = [words("account_created", when=words.day(held.created_at))]
    if held.restricted_at is not None:
        account.append(words("account_restricted", when=words.day(held.restricted_at)))
    if held.erased_at is not None:
        account.append(words("account_erased", when=words.day(held.erased_at)))
    profile_rows = []
    lists = []
    for p in doc["profile"]:
        spec = manifest.fields_by_name.get(p["field"])
        profile_rows.append(
            (
                p["field"],
                _field_value(words, spec, p["value"]),
                p["reason"] or words("none"),
                ", ".join(u["key"] for u in p["purposes"]) or words("none"),
            )
        )
        if _is_object_list(p["value"]):
            columns = _list_columns(p["value"])
            lists.append(
                {
                    "heading": words("list_heading", field=p["field"], count=str(len(p["value"]))),
                    "columns": columns,
                    "rows": [[_cell(words, item.get(c)) for c in columns] for item in p["value"]],
                }
            )
    purposes = [
        {
            "key": u["key"],
            "rows": [
                (words("col_description"), u["description"] or words("none")),
                (words("col_benefit"), u["benefit"] or words("none")),
                (words("col_basis"), u["legal_basis_text"]),
                (
                    words("col_retention"),
                    u["retention"]["text"] if u["retention"] else words("retention.none"),
                ),
                (
                    words("col_recipients"),
                    words.items([r["text"] for r in u["recipients"]])
                    if u["recipients"]
                    else words("nobody"),
                ),
                (words("col_fields"), ", ".join(u["fields"])),
            ],
        }
        for u in doc["purposes"]
    ]
    states = [
        (
            _target_label(words, s.target),
            _choice(words, manifest, s),
            words.day(s.since),
            words.day(s.row.expires_at) if s.row else words("none"),
            words.coded("allowed", None if s.allowed is None else str(s.allowed).lower()),
        )
        for s in held.states
    ]
    history = [
        (
            words.moment(e.at),
            _target_label(words, e.target),
            words.coded("state", e.state),
            words.coded("channel", e.channel),
            e.receipt_id,
        )
        for e in held.history
    ]
    access = [
        (
            words.moment(a.at),
            words.actor(a.actor),
            words.coded("action", a.action),
            words.reason(a.purpose),
            ", ".join(a.fields) or words("none"),
            words.outcome(a.outcome),
        )
        for a in held.access
    ]
    requests = [
        (
            r.reference,
            words.coded("kind", r.kind),
            words.coded("status", r.status),
            words.day(r.received_at),
            words.day(r.due_at),
            words.day(r.closed_at),
            r.refusal_reason or words("none"),
        )
        for r in held.requests
    ]
    files = []
    if "data.json" in members:
        files.append(("data.json", words("file_json")))
    if "profile.csv" in members:
        files.append(("*.csv", words("file_csv")))
        if any(m.startswith("lists/") for m in members):
            files.append(("lists/*.csv", words("file_lists")))
    if any(m.startswith("receipts/") for m in members):
        files.append(("receipts/*.jws", words("file_receipts")))
    html = _template().render(
        w=words,
        lang=words.language,
        title=words("title", controller=controller.name),
        generated=words("generated", when=words.moment(generated_at)),
        intro=words("intro", controller=controller.name),
        contact=words("contact", dpo=controller.dpo.name, email=controller.dpo.email),
        account=account,
        profile=profile_rows,
        lists=lists,
        purposes=purposes,
        states=states,
        history=history,
        access=access,
        requests=requests,
        files=files,
        csv="profile.csv" in members,
    )
    return html.encode("utf-8")


# -- the archive ------------------------------------------------------------------------------


def _zip(members: Sequence[tuple[str, bytes]], when: datetime) -> bytes:
    stamp = when.astimezone(UTC).timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            zf.writestr(info, data)
    return buffer.getvalue()


def build_export(
    session: Session,
    *,
    runtime: Runtime,
    actor: Actor,
    customer_id: uuid.UUID,
    language: str,
    formats: Collection[ExportFormat | str] = ALL_FORMATS,
    reason: str = "rights.access",
    time_zone: str = DEFAULT_TIME_ZONE,
) -> ExportArchive:
    """Everything held about one customer, as a ZIP archive.

    ``reason`` is what the audit entry of the export says it was for (``rights.access`` for a
    GDPR art. 15 request, ``rights.portability`` for art. 20). Dates on the page are shown in
    ``time_zone`` (the files keep UTC). The actor must hold the
    ``consent.read`` scope, since the archive holds the consent history. Raises
    :class:`~confiance.vault.errors.CustomerNotFound` for an unknown customer,
    :class:`LanguageNotSupported` or :class:`ExportFormatNotSupported` for a bad request,
    before any value is decrypted. The caller owns the transaction and commits it, which makes
    the audit entry of the export durable; nothing else is written.
    """
    lang = _language(language)
    chosen = _formats(formats)
    actor.require("consent.read")
    words = Words(lang, time_zone=time_zone)
    loaded = manifest_service.current(session)
    held = _gather(session, runtime, actor, customer_id, reason)
    generated_at = clock.now()
    doc = _document(
        held,
        manifest=loaded.manifest,
        manifest_seq=loaded.seq,
        manifest_sha256=loaded.sha256,
        words=words,
        generated_at=generated_at,
        reason=reason,
    )

    members: list[tuple[str, bytes]] = []
    if ExportFormat.JSON in chosen:
        # Without indentation: json then runs its C encoder, several times faster on 500 orders;
        # any JSON viewer indents it again.
        members.append(("data.json", json.dumps(doc, ensure_ascii=False).encode("utf-8") + b"\n"))
    if ExportFormat.CSV in chosen:
        members += _csv_members(doc)
    # The receipts are proof in their own right, whatever the formats asked for.
    members += [(f"receipts/{rid}.jws", jws.encode("ascii")) for rid, _, jws in held.receipts]
    if ExportFormat.HTML in chosen:
        names = [name for name, _ in members]
        summary = _summary(
            doc,
            held,
            manifest=loaded.manifest,
            words=words,
            generated_at=generated_at,
            members=names,
        )
        members.insert(0, ("summary.html", summary))

    content = _zip(members, generated_at)
    counts = {
        "fields": len(doc["profile"]),
        "consent_states": len(held.states),
        "consent_events": len(held.history),
        "receipts": len(held.receipts),
        "access_log": len(held.access),
        "requests": len(held.requests),
    }
    for p in doc["profile"]:
        if isinstance(p["value"], list):
            counts[f"items.{p['field']}"] = len(p["value"])
    return ExportArchive(
        filename=f"confiance-export-{customer_id}-{generated_at:%Y%m%dT%H%M%SZ}.zip",
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        counts=counts,
        generated_at=generated_at,
        members=tuple(name for name, _ in members),
    )
