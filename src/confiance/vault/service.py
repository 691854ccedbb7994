"""The vault: collect, read for a purpose, rectify and look up customers.

Rules held here:

- Only fields the manifest declares are collected, and only for a purpose that needs them. The
  whole request is validated before anything is written, so a refused request leaves no trace.
- Each customer has a data key (AES-256-GCM), wrapped under the primary KEK. Each value is
  sealed with the customer id and the field name bound as associated data.
- A read names an actor and a purpose and decrypts only the fields that purpose needs.
- Purposes resting on consent are refused unless the consent gate allows them.
- Every action appends an audit entry in the caller's transaction before any value is
  returned: if the entry cannot be written, the transaction fails and nothing is returned.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from confiance import clock
from confiance.actors import Actor
from confiance.audit.service import AuditEvent, AuditLog
from confiance.consent.rules import can_be_refused
from confiance.crypto import BlindIndexer, KeyringSource, SymmetricKey, context
from confiance.db.bulk import BulkInsert
from confiance.manifest import service as manifest_service
from confiance.manifest.errors import NotALookupField, UnknownField, UnknownPurpose
from confiance.manifest.schemas import FieldSpec, FieldType, LegalBasis, Manifest, PurposeSpec
from confiance.manifest.service import LoadedManifest
from confiance.pii.policy import FreeTextPolicy
from confiance.pseudonym.service import Pseudonymiser
from confiance.vault.errors import (
    ConsentRequired,
    CustomerNotFound,
    FieldNotNeeded,
    NotAContractPurpose,
    NothingToCollect,
    ProcessingRefused,
    ProcessingRestricted,
    PurposeNotGranted,
)
from confiance.vault.models import BlindIndexEntry, Customer, FieldValue

__all__ = [
    "CollectedCustomer",
    "ConsentGate",
    "CustomerView",
    "NoConsentLedger",
    "Vault",
]

# Categories that identify a person directly; a pseudonymised purpose never sees them in clear.
DIRECT_IDENTIFIERS = (
    "user.name",
    "user.contact",
    "user.unique_id",
    "user.government_id",
    "user.device",
    "user.account",
    "user.financial",
    "user.payment",
)


class ConsentGate(Protocol):
    """Decides whether a purpose may process one customer's data now (consent given, no
    objection, no opt-out). ``consent_version`` comes from the row the vault just read, so a
    gate may answer from a cache keyed by it."""

    def allows(
        self,
        session: Session,
        *,
        customer_id: uuid.UUID,
        purpose: str,
        loaded: LoadedManifest | None = None,
        consent_version: int | None = None,
    ) -> bool: ...


class NoConsentLedger:
    """Without a consent ledger no consent is on record: consent purposes are refused and
    every other purpose is allowed."""

    def allows(
        self,
        session: Session,
        *,
        customer_id: uuid.UUID,
        purpose: str,
        loaded: LoadedManifest | None = None,
        consent_version: int | None = None,
    ) -> bool:
        loaded = loaded or manifest_service.current(session)
        return loaded.manifest.purposes_by_key[purpose].legal_basis is not LegalBasis.CONSENT


@dataclass(frozen=True, slots=True)
class CollectedCustomer:
    id: uuid.UUID
    fields: tuple[str, ...]
    manifest_seq: int


@dataclass(frozen=True, slots=True)
class CustomerView:
    """What one purpose may see of one customer."""

    id: uuid.UUID | None
    pseudonym: str | None
    purpose: str
    values: dict[str, Any] = field(default_factory=dict)
    manifest_seq: int = 0


_CUSTOMERS = BulkInsert(
    Customer.__table__,
    ("id", "kek_id", "wrapped_key", "manifest_seq", "created_at", "updated_at", "last_contact_at"),
)
_VALUES = BulkInsert(
    FieldValue.__table__,
    ("customer_id", "field", "ciphertext", "version", "collected_at", "updated_at"),
)
# Built once: a read runs on every request, and building a statement costs more than running
# it. Only the fields the purpose needs are fetched; the others never leave the database.
_READ = (
    select(
        Customer.wrapped_key,
        Customer.consent_version,
        Customer.erased_at,
        Customer.restricted_at,
        FieldValue.field,
        FieldValue.ciphertext,
    )
    .select_from(Customer)
    .outerjoin(
        FieldValue,
        (FieldValue.customer_id == Customer.id)
        & FieldValue.field.in_(bindparam("fields", expanding=True)),
    )
    .where(Customer.id == bindparam("customer_id"))
)
_INDEX = BulkInsert(
    BlindIndexEntry.__table__,
    ("field", "digest", "customer_id"),
)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _is_free_text(spec: FieldSpec) -> bool:
    """Text a customer writes in their own words (a support ticket), where any personal data
    may hide: a ``text`` field, or a field of the ``user.content`` category."""
    return spec.type is FieldType.TEXT or spec.category.startswith("user.content")


def _encode(value: Any) -> bytes:
    return _ENCODER.encode(value).encode()


def _decode(raw: bytes) -> Any:
    return json.loads(raw)


class Vault:
    def __init__(
        self,
        *,
        keys: KeyringSource,
        audit: AuditLog,
        consent: ConsentGate | None = None,
        free_text: FreeTextPolicy | None = None,
    ) -> None:
        self.keys = keys
        self.audit = audit
        self.consent: ConsentGate = consent or NoConsentLedger()
        self.free_text = free_text
        self._indexer = BlindIndexer(keys.get().blind_index_key)
        self._pseudonymiser = Pseudonymiser(keys)

    # -- checks -----------------------------------------------------------------------------
    def _purpose(
        self,
        manifest: Manifest,
        actor: Actor,
        purpose: str,
        customer_id: uuid.UUID | None = None,
    ) -> PurposeSpec:
        spec = manifest.purposes_by_key.get(purpose)
        if spec is None:
            raise UnknownPurpose(purpose)
        if not actor.may_use(purpose):
            raise PurposeNotGranted(
                purpose, actor.label, customer_id=None if customer_id is None else str(customer_id)
            )
        return spec

    def _check_consent(
        self,
        session: Session,
        spec: PurposeSpec,
        customer_id: uuid.UUID,
        *,
        loaded: LoadedManifest | None = None,
        consent_version: int | None = None,
    ) -> None:
        """Refuse unless the customer's decisions allow the purpose: consent given for consent
        purposes; no objection or opt-out for the others."""
        manifest = (loaded or manifest_service.current(session)).manifest
        if not can_be_refused(manifest, spec):
            return  # a contract or a legal obligation: no decision of the customer applies
        if not self.consent.allows(
            session,
            customer_id=customer_id,
            purpose=spec.key,
            loaded=loaded,
            consent_version=consent_version,
        ):
            if spec.legal_basis is LegalBasis.CONSENT:
                raise ConsentRequired(spec.key, customer_id=str(customer_id))
            raise ProcessingRefused(spec.key, customer_id=str(customer_id))

    @staticmethod
    def _check_standing(
        spec: PurposeSpec,
        customer_id: uuid.UUID,
        *,
        erased_at: datetime | None,
        restricted_at: datetime | None,
    ) -> None:
        """An erased customer (fields kept under a legal hold) and a restricted one (GDPR art.
        18) are processed only for a legal obligation; any other purpose finds nothing, or is
        told the processing is restricted."""
        if spec.legal_basis is LegalBasis.LEGAL_OBLIGATION:
            return
        if erased_at is not None:
            raise CustomerNotFound(str(customer_id), purpose=spec.key)
        if restricted_at is not None:
            raise ProcessingRestricted(spec.key, customer_id=str(customer_id))

    def _prepare(
        self,
        manifest: Manifest,
        allowed: set[str],
        purposes: list[str],
        values: Mapping[str, Any],
        notes: list[str] | None = None,
    ) -> dict[str, Any]:
        """Validate every field of one record; raise before anything is written. Free text a
        customer wrote is scanned for personal data (``free_text`` policy): flagged in
        ``notes`` (entity types and counts, never values) or redacted."""
        if not values:
            raise NothingToCollect()
        normalized: dict[str, Any] = {}
        for name, value in values.items():
            spec = manifest.fields_by_name.get(name)
            if spec is None:
                raise UnknownField(name)
            if name not in allowed:
                raise FieldNotNeeded(name, purposes)
            normalized[name] = spec.normalize(value)
            if self.free_text is not None and _is_free_text(spec):
                outcome = self.free_text.apply(normalized[name])
                normalized[name] = outcome.value
                if outcome.found and notes is not None:
                    notes.append(f"{name}={outcome.summary()}")
        return normalized

    def _index_rows(
        self, manifest: Manifest, customer_id: uuid.UUID, values: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """Blind-index rows for already normalised values."""
        rows = []
        for name, value in values.items():
            spec = manifest.fields_by_name[name]
            if spec.lookup and value is not None:
                rows.append(
                    {
                        "field": name,
                        "digest": self._indexer.digest(name, spec.index_key(value)),
                        "customer_id": customer_id,
                    }
                )
        return rows

    # -- collect ----------------------------------------------------------------------------
    def collect(
        self,
        session: Session,
        *,
        actor: Actor,
        purposes: Sequence[str],
        values: Mapping[str, Any],
    ) -> CollectedCustomer:
        """Create a customer with the given field values, collected for ``purposes``."""
        return self.collect_many(session, actor=actor, purposes=purposes, records=[values])[0]

    def collect_many(
        self,
        session: Session,
        *,
        actor: Actor,
        purposes: Sequence[str],
        records: Sequence[Mapping[str, Any]],
    ) -> list[CollectedCustomer]:
        """Create many customers at once (imports, the demo): one audit entry per customer."""
        loaded = manifest_service.current(session)
        manifest = loaded.manifest
        purpose_list = sorted(set(purposes))
        if not purpose_list:
            raise UnknownPurpose("")
        allowed: set[str] = set()
        for key in purpose_list:
            spec = self._purpose(manifest, actor, key)
            if spec.legal_basis is LegalBasis.CONSENT:
                # A new customer cannot have consented yet; collect for a purpose they
                # entered into (e.g. the contract), consent comes with the ledger.
                raise ConsentRequired(key)
            allowed.update(spec.fields)
        notes: list[list[str]] = [[] for _ in records]
        prepared = [
            self._prepare(manifest, allowed, purpose_list, rec, notes[i])
            for i, rec in enumerate(records)
        ]

        ring = self.keys.get()
        now = clock.now()
        dialect = session.get_bind().dialect
        db_now = _CUSTOMERS.convert(dialect, "created_at", now)
        customers: list[tuple[Any, ...]] = []
        values_rows: list[tuple[Any, ...]] = []
        index_rows: list[tuple[Any, ...]] = []
        events: list[AuditEvent] = []
        results: list[CollectedCustomer] = []
        purpose_label = ",".join(purpose_list)
        lookups = {f.name: f for f in manifest.fields if f.lookup}
        for record, found in zip(prepared, notes, strict=True):
            customer_id = uuid.uuid4()
            owner = str(customer_id)
            db_id = _CUSTOMERS.convert(dialect, "id", customer_id)
            data_key = SymmetricKey.generate()
            kek_id, wrapped = ring.wrap(data_key, owner=owner)
            customers.append((db_id, kek_id, wrapped, loaded.seq, db_now, db_now, db_now))
            for name, value in record.items():
                sealed = data_key.seal(_encode(value), ctx=context(owner, name))
                values_rows.append((db_id, name, sealed, 1, db_now, db_now))
                lookup = lookups.get(name)
                if lookup is not None and value is not None:
                    digest = self._indexer.digest(name, lookup.index_key(value))
                    index_rows.append((name, digest, db_id))
            names = tuple(sorted(record))
            events.append(
                AuditEvent(
                    action="vault.collect",
                    actor=actor.label,
                    customer_pid=owner,
                    purpose=purpose_label,
                    fields=names,
                    detail=("personal data in free text: " + "; ".join(found)) if found else None,
                )
            )
            results.append(CollectedCustomer(customer_id, names, loaded.seq))

        _CUSTOMERS.run(session, customers)
        _VALUES.run(session, values_rows)
        _INDEX.run(session, index_rows)
        self.audit.record_many(session, events)
        return results

    # -- read -------------------------------------------------------------------------------
    def read(
        self,
        session: Session,
        *,
        actor: Actor,
        purpose: str,
        customer_id: uuid.UUID,
    ) -> CustomerView:
        """The fields ``purpose`` needs, decrypted; nothing else is even fetched."""
        loaded = manifest_service.current(session)
        manifest = loaded.manifest
        spec = self._purpose(manifest, actor, purpose, customer_id)
        needed = list(spec.fields)
        rows = (
            session.connection()
            .execute(_READ, {"customer_id": customer_id, "fields": needed})
            .all()
        )
        if not rows:
            raise CustomerNotFound(str(customer_id), purpose=purpose)
        self._check_standing(
            spec,
            customer_id,
            erased_at=rows[0].erased_at,
            restricted_at=rows[0].restricted_at,
        )
        self._check_consent(
            session, spec, customer_id, loaded=loaded, consent_version=rows[0].consent_version
        )
        present = sorted(r.field for r in rows if r.field is not None)
        # Written before any value is decrypted; if it fails, nothing is returned.
        self.audit.record(
            session,
            AuditEvent(
                action="vault.read",
                actor=actor.label,
                customer_pid=str(customer_id),
                purpose=purpose,
                fields=tuple(present),
            ),
        )
        owner = str(customer_id)
        data_key = self.keys.get().unwrap(rows[0].wrapped_key, owner=owner)
        values = {
            r.field: _decode(data_key.open(r.ciphertext, ctx=context(owner, r.field)))
            for r in rows
            if r.field is not None
        }
        if actor.masked:
            values = {k: self._mask(manifest, k, v) for k, v in values.items()}
        if spec.pseudonymised:
            return CustomerView(
                id=None,
                pseudonym=self.pseudonym(owner),
                purpose=purpose,
                values={k: self._pseudonymise(manifest, k, v) for k, v in values.items()},
                manifest_seq=loaded.seq,
            )
        return CustomerView(
            id=customer_id, pseudonym=None, purpose=purpose, values=values, manifest_seq=loaded.seq
        )

    def subject_values(
        self,
        session: Session,
        *,
        actor: Actor,
        customer_id: uuid.UUID,
        reason: str,
    ) -> dict[str, Any]:
        """Every value held about one customer, decrypted, for that customer's own rights
        (access, portability, erasure connectors): no purpose applies, so none is checked; the
        actor and ``reason`` (e.g. ``rights.access``) are audited before anything is decrypted.
        """
        customer = session.execute(
            select(Customer.wrapped_key).where(Customer.id == customer_id)
        ).scalar_one_or_none()
        if customer is None:
            raise CustomerNotFound(str(customer_id), purpose=reason)
        rows = session.execute(
            select(FieldValue.field, FieldValue.ciphertext)
            .where(FieldValue.customer_id == customer_id)
            .order_by(FieldValue.field)
        ).all()
        self.audit.record(
            session,
            AuditEvent(
                action="vault.subject_read",
                actor=actor.label,
                customer_pid=str(customer_id),
                purpose=reason,
                fields=tuple(r.field for r in rows),
            ),
        )
        owner = str(customer_id)
        data_key = self.keys.get().unwrap(customer, owner=owner)
        return {
            r.field: _decode(data_key.open(r.ciphertext, ctx=context(owner, r.field))) for r in rows
        }

    @staticmethod
    def value_dates(
        session: Session, *, customer_id: uuid.UUID
    ) -> dict[str, tuple[datetime, datetime]]:
        """When each held value was collected and last changed (no value is decrypted): what
        the customer's own views of their data show beside the values."""
        rows = session.execute(
            select(FieldValue.field, FieldValue.collected_at, FieldValue.updated_at).where(
                FieldValue.customer_id == customer_id
            )
        )
        return {r.field: (r.collected_at, r.updated_at) for r in rows}

    @staticmethod
    def _mask(manifest: Manifest, name: str, value: Any) -> Any:
        """A direct identifier with most of it hidden: enough to confirm who is on the phone
        (``Jea*** D***``, ``j***@exemple.example``, ``+33 6** ** ** 78``), not to copy it."""
        category = manifest.fields_by_name[name].category
        if value is None or not category.startswith(DIRECT_IDENTIFIERS):
            return value
        if not isinstance(value, str):
            return "***"
        if "@" in value:
            local, _, domain = value.partition("@")
            return f"{local[:1]}***@{domain}"
        if value.startswith("+"):
            return value[:4] + "*" * max(len(value) - 6, 0) + value[-2:]
        return " ".join(word[:1] + "***" for word in value.split()) or "***"

    def pseudonym(self, customer_id: str) -> str:
        """A stable keyed pseudonym of a customer, for purposes that must not see the id."""
        return self._pseudonymiser.customer(customer_id)

    def _pseudonymise(self, manifest: Manifest, name: str, value: Any) -> Any:
        """Direct identifiers replaced by keyed pseudonyms (the same ``confiance pseudonymise``
        writes for a column of that name), other values as they are."""
        spec = manifest.fields_by_name[name]
        if value is None or not spec.category.startswith(DIRECT_IDENTIFIERS):
            return value
        return self._pseudonymiser.of_field(spec, value)

    # -- rectify ----------------------------------------------------------------------------
    def rectify(
        self,
        session: Session,
        *,
        actor: Actor,
        purpose: str,
        customer_id: uuid.UUID,
        values: Mapping[str, Any],
    ) -> CollectedCustomer:
        """Replace (or complete) field values. The old ciphertext is overwritten in place and,
        with SQLite's secure_delete, its bytes are zeroed; no plaintext is ever stored."""
        loaded = manifest_service.current(session)
        manifest = loaded.manifest
        spec = self._purpose(manifest, actor, purpose, customer_id)
        notes: list[str] = []
        record = self._prepare(manifest, set(spec.fields), [purpose], values, notes)
        return self._rewrite(
            session,
            manifest=manifest,
            seq=loaded.seq,
            actor=actor,
            customer_id=customer_id,
            record=record,
            label=purpose,
            check=lambda: self._check_consent(session, spec, customer_id),
            notes=notes,
        )

    def correct(
        self,
        session: Session,
        *,
        actor: Actor,
        customer_id: uuid.UUID,
        values: Mapping[str, Any],
    ) -> CollectedCustomer:
        """Rectification the customer asked for (GDPR art. 16): any declared field, whatever
        purpose holds it; audited under the purpose ``rights.rectification``."""
        loaded = manifest_service.current(session)
        manifest = loaded.manifest
        notes: list[str] = []
        record = self._prepare(
            manifest, set(manifest.fields_by_name), ["rights.rectification"], values, notes
        )
        return self._rewrite(
            session,
            manifest=manifest,
            seq=loaded.seq,
            actor=actor,
            customer_id=customer_id,
            record=record,
            label="rights.rectification",
            check=None,
            notes=notes,
        )

    def _rewrite(
        self,
        session: Session,
        *,
        manifest: Manifest,
        seq: int,
        actor: Actor,
        customer_id: uuid.UUID,
        record: Mapping[str, Any],
        label: str,
        check: Callable[[], None] | None,
        notes: Sequence[str] = (),
    ) -> CollectedCustomer:
        found = session.execute(
            select(Customer.wrapped_key, Customer.erased_at, Customer.restricted_at).where(
                Customer.id == customer_id
            )
        ).one_or_none()
        if found is None or found.erased_at is not None:
            # Held fields of an erased customer are kept as they were.
            raise CustomerNotFound(str(customer_id), purpose=label)
        if check is not None:
            check()
        owner = str(customer_id)
        data_key = self.keys.get().unwrap(found.wrapped_key, owner=owner)
        now = clock.now()
        existing = set(
            session.execute(
                select(FieldValue.field).where(
                    FieldValue.customer_id == customer_id, FieldValue.field.in_(list(record))
                )
            ).scalars()
        )
        for name, value in record.items():
            sealed = data_key.seal(_encode(value), ctx=context(owner, name))
            if name in existing:
                session.execute(
                    update(FieldValue)
                    .where(FieldValue.customer_id == customer_id, FieldValue.field == name)
                    .values(ciphertext=sealed, updated_at=now, version=FieldValue.version + 1)
                )
            else:
                session.execute(
                    insert(FieldValue).values(
                        customer_id=customer_id,
                        field=name,
                        ciphertext=sealed,
                        version=1,
                        collected_at=now,
                        updated_at=now,
                    )
                )
        lookups = [n for n in record if manifest.fields_by_name[n].lookup]
        if lookups:
            session.execute(
                delete(BlindIndexEntry).where(
                    BlindIndexEntry.customer_id == customer_id, BlindIndexEntry.field.in_(lookups)
                )
            )
            rows = self._index_rows(manifest, customer_id, {n: record[n] for n in lookups})
            if rows:
                session.execute(insert(BlindIndexEntry), rows)
        session.execute(
            update(Customer)
            .where(Customer.id == customer_id)
            .values(updated_at=now, last_contact_at=now)
        )
        names = tuple(sorted(record))
        self.audit.record(
            session,
            AuditEvent(
                action="vault.rectify",
                actor=actor.label,
                customer_pid=owner,
                purpose=label,
                fields=names,
                detail=("personal data in free text: " + "; ".join(notes)) if notes else None,
            ),
        )
        return CollectedCustomer(customer_id, names, seq)

    def end_contract(
        self,
        session: Session,
        *,
        actor: Actor,
        purpose: str,
        customer_id: uuid.UUID,
        at: datetime | None = None,
    ) -> datetime:
        """Record that the customer's contract ended (an account closed, the last order's
        warranty over): retention periods counted from the end of the contract start then."""
        loaded = manifest_service.current(session)
        spec = self._purpose(loaded.manifest, actor, purpose, customer_id)
        if spec.legal_basis is not LegalBasis.CONTRACT:
            raise NotAContractPurpose(purpose)
        ended = at or clock.now()
        done = session.execute(
            update(Customer)
            .where(Customer.id == customer_id, Customer.erased_at.is_(None))
            .values(contract_ended_at=ended, updated_at=clock.now())
        )
        if not getattr(done, "rowcount", 0):
            raise CustomerNotFound(str(customer_id), purpose=purpose)
        self.audit.record(
            session,
            AuditEvent(
                action="vault.contract-end",
                actor=actor.label,
                customer_pid=str(customer_id),
                purpose=purpose,
                detail=f"contract ended {ended.date().isoformat()}",
            ),
        )
        return ended

    def index_digest(self, spec: FieldSpec, index_key: str) -> bytes:
        """The blind-index digest of a look-up field's index key (see ``FieldSpec.index_key``)."""
        return self._indexer.digest(spec.name, index_key)

    # -- look-up ----------------------------------------------------------------------------
    def find(
        self,
        session: Session,
        *,
        actor: Actor,
        purpose: str,
        field: str,
        value: Any,
    ) -> list[uuid.UUID]:
        """Customers whose ``field`` equals ``value``, through the blind index only."""
        loaded = manifest_service.current(session)
        manifest = loaded.manifest
        spec = self._purpose(manifest, actor, purpose)
        field_spec = manifest.fields_by_name.get(field)
        if field_spec is None:
            raise UnknownField(field)
        if not field_spec.lookup:
            raise NotALookupField(field=field)
        if field not in spec.fields:
            raise FieldNotNeeded(field, [purpose])
        digest = self._indexer.digest(field, field_spec.lookup_key(field_spec.normalize(value)))
        found = list(
            session.execute(
                select(BlindIndexEntry.customer_id)
                .where(BlindIndexEntry.field == field, BlindIndexEntry.digest == digest)
                .order_by(BlindIndexEntry.customer_id)
            ).scalars()
        )
        if found and spec.legal_basis is not LegalBasis.LEGAL_OBLIGATION:
            blocked = set(
                session.execute(
                    select(Customer.id).where(
                        Customer.id.in_(found),
                        (Customer.erased_at.is_not(None)) | (Customer.restricted_at.is_not(None)),
                    )
                ).scalars()
            )
            found = [c for c in found if c not in blocked]
        found = [
            c
            for c in found
            if self.consent.allows(session, customer_id=c, purpose=purpose, loaded=loaded)
        ]
        events: Iterable[AuditEvent] = [
            AuditEvent(
                action="vault.lookup",
                actor=actor.label,
                customer_pid=str(c),
                purpose=purpose,
                fields=(field,),
            )
            for c in found
        ] or [
            AuditEvent(
                action="vault.lookup",
                actor=actor.label,
                purpose=purpose,
                fields=(field,),
                outcome="no-match",
            )
        ]
        self.audit.record_many(session, list(events))
        return found
