"""Erasure of one customer: crypto-shredding, legal holds, downstream events, certificate.

What an erasure does, in one transaction:

1. Fields under a **legal hold** are worked out from the manifest: a field that a purpose on
   the ``legal_obligation`` basis needs (invoices kept ten years) and whose retention is still
   running. Only values actually held are kept.
2. The customer's **data key is destroyed**. Without a hold, the customer row goes, and with it
   (foreign keys, ``ON DELETE CASCADE``) every value, blind-index entry, consent event, state
   and receipt. With a hold, held values are re-sealed under a *new* data key, every other value,
   every blind-index entry and all consent rows are deleted, and the customer is marked erased:
   only the legal-obligation purposes may still read the held fields.
3. Pending mail to the customer is dropped, a ``customer.erased`` event is queued for
   downstream systems (webhooks), the erasure is written to the erasure log (database and the
   file outside it, *before* the transaction commits: a crash after the write over-reports an
   erasure, never forgets one), and a signed **certificate** lists what was erased where.

On SQLite, ``secure_delete`` zeroes the freed bytes and the rollback journal is truncated at
commit (a WAL is checkpointed and truncated after the erasure), so no byte of the customer's
values or wrapped key remains in the files. On PostgreSQL, old row versions stay in pages until
vacuumed; they hold ciphertext and a data key wrapped under the KEK, which become unopenable
once the KEK is retired by ``confiance keys rotate`` (see ``docs/erasure.md``).

External systems declared in the manifest (connectors) are run *before* the vault is erased,
with the identity values they need: if one fails, the vault is left as it is so the erasure can
be retried, unless the caller accepts the failure (``accept_failed_connectors``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from confiance import clock
from confiance.actors import Actor
from confiance.audit.service import AuditEvent, AuditLog
from confiance.consent.models import ConsentEvent, ConsentReceipt, ConsentState
from confiance.crypto import KeyringSource, SymmetricKey, context
from confiance.crypto.errors import SignatureInvalid
from confiance.crypto.jws import sign_jws, verify_jws
from confiance.db import Database
from confiance.erasure.log import ErasureEntry, ErasureLogFile
from confiance.erasure.models import ErasureRecord
from confiance.errors import ConfianceError
from confiance.mail import service as mail_service
from confiance.manifest import service as manifest_service
from confiance.manifest.schemas import LegalBasis, Manifest, RetentionStart
from confiance.portal.models import Complaint, PortalSession, SurveyAnswer
from confiance.receipts.service import ReceiptKey
from confiance.vault.errors import CustomerNotFound
from confiance.vault.models import BlindIndexEntry, Customer, FieldValue

__all__ = [
    "CERTIFICATE_TYP",
    "CertificateInvalid",
    "ConnectorOutcome",
    "ConnectorsFailed",
    "Eraser",
    "ErasureReport",
    "Hold",
    "holds_for",
    "verify_certificate",
]

CERTIFICATE_TYP = "confiance-erasure+jwt"


class ConnectorsFailed(ConfianceError):
    code = "connectors-failed"
    status = 502
    title = "An external system could not be erased"

    def __init__(self, failed: list[str]) -> None:
        super().__init__(
            "The erasure did not run in: "
            + ", ".join(failed)
            + ". Nothing was erased in Confiance, so it can be retried once those systems are "
            "reachable; or accept the failure explicitly to erase the rest now.",
            failed=failed,
        )


class CertificateInvalid(ConfianceError):
    code = "certificate-invalid"
    status = 400
    title = "This is not a valid erasure certificate"

    def __init__(self) -> None:
        super().__init__(
            "The certificate's signature does not verify with this installation's key, or the "
            "document is not an erasure certificate."
        )


@dataclass(frozen=True, slots=True)
class Hold:
    """A field kept despite the erasure, and why."""

    field: str
    purpose: str
    legal_basis: str
    until: datetime


@dataclass(frozen=True, slots=True)
class ConnectorOutcome:
    name: str
    action: str
    rows: int
    status: str
    error_kind: str | None = None


@dataclass(frozen=True)
class ErasureReport:
    customer_pid: str
    erased_at: datetime
    erased_fields: tuple[str, ...]
    held: tuple[Hold, ...]
    counts: Mapping[str, int]
    connectors: tuple[ConnectorOutcome, ...] = ()
    webhook_messages: tuple[str, ...] = ()
    certificate: str = ""
    backend: str = "sqlite"

    @property
    def held_fields(self) -> tuple[str, ...]:
        return tuple(sorted({h.field for h in self.held}))


ConnectorRunner = Callable[[Manifest, Mapping[str, Any]], Sequence[ConnectorOutcome]]
Enqueue = Callable[..., Any]


def holds_for(
    manifest: Manifest,
    *,
    present: Sequence[str],
    created_at: datetime,
    now: datetime,
    contract_ended_at: datetime | None = None,
) -> list[Hold]:
    """The legal holds on a customer's present fields at ``now``.

    A retention counted from the end of the contract starts when it ended
    (``contract_ended_at``), or now when it was running (the erasure ends it); one counted from
    the last contact starts now (asking for erasure is a contact); one counted from collection
    started when the customer was created.
    """
    holds: dict[str, Hold] = {}
    for purpose in manifest.purposes:
        if purpose.legal_basis is not LegalBasis.LEGAL_OBLIGATION or purpose.retention is None:
            continue
        counted = purpose.retention.counted_from
        if counted is RetentionStart.COLLECTION:
            start = created_at
        elif counted is RetentionStart.END_OF_CONTRACT and contract_ended_at is not None:
            start = contract_ended_at
        else:
            start = now
        until = purpose.retention.ends(start)
        if until <= now:
            continue
        for name in purpose.fields:
            if name not in present:
                continue
            previous = holds.get(name)
            if previous is None or previous.until < until:
                holds[name] = Hold(name, purpose.key, purpose.legal_basis.value, until)
    return [holds[name] for name in sorted(holds)]


@dataclass
class Eraser:
    """Erases customers. ``connectors`` runs the manifest's external systems (``None``: none);
    ``outbox`` queues the downstream event (webhooks' ``enqueue``)."""

    keys: KeyringSource
    audit: AuditLog
    log_file: ErasureLogFile
    outbox: Enqueue | None = None
    connectors: ConnectorRunner | None = None

    def erase(
        self,
        session: Session,
        *,
        customer_id: uuid.UUID,
        actor: Actor,
        request_id: str | None = None,
        request_reference: str | None = None,
        identity: Mapping[str, Any] | None = None,
        accept_failed_connectors: bool = False,
    ) -> ErasureReport:
        """Erase one customer in the caller's transaction (see the module's description).

        ``identity``: the decrypted values the connectors match on (e-mail, phone), read by the
        caller before the erasure; connectors are skipped when it is ``None`` and the manifest
        declares none.
        """
        now = clock.now()
        owner = str(customer_id)
        customer = session.execute(
            select(Customer).where(Customer.id == customer_id).with_for_update()
        ).scalar_one_or_none()
        if customer is None:
            raise CustomerNotFound(owner, purpose="erasure")
        loaded = manifest_service.current(session)
        manifest = loaded.manifest

        outcomes: tuple[ConnectorOutcome, ...] = ()
        if self.connectors is not None and identity is not None:
            outcomes = tuple(self.connectors(manifest, identity))
            failed = [o.name for o in outcomes if o.status == "failed"]
            if failed and not accept_failed_connectors:
                raise ConnectorsFailed(failed)

        rows = session.execute(
            select(FieldValue.field, FieldValue.ciphertext).where(
                FieldValue.customer_id == customer_id
            )
        ).all()
        present = sorted(r.field for r in rows)
        holds = holds_for(
            manifest,
            present=present,
            created_at=customer.created_at,
            now=now,
            contract_ended_at=customer.contract_ended_at,
        )
        held_names = {h.field for h in holds}
        erased = tuple(name for name in present if name not in held_names)

        counts = {
            "values": len(erased),
            "blind_index_entries": _count(session, BlindIndexEntry, customer_id),
            "consent_events": _count(session, ConsentEvent, customer_id),
            "consent_receipts": _count(session, ConsentReceipt, customer_id),
        }
        counts["pending_mail"] = mail_service.discard_for_customer(session, customer_pid=owner)
        # Signed out of the privacy center everywhere; what they typed to us goes too.
        session.execute(delete(PortalSession).where(PortalSession.customer_pid == owner))
        counts["complaints"] = _count_pid(session, Complaint, owner)
        session.execute(delete(Complaint).where(Complaint.customer_pid == owner))
        session.execute(
            update(SurveyAnswer)
            .where(SurveyAnswer.customer_pid == owner)
            .values(customer_pid=None, comment_sealed=None)
        )

        if holds:
            ring = self.keys.get()
            old_key = ring.unwrap(customer.wrapped_key, owner=owner)
            new_key = SymmetricKey.generate()
            kek_id, wrapped = ring.wrap(new_key, owner=owner)
            for row in rows:
                if row.field not in held_names:
                    continue
                plain = old_key.open(row.ciphertext, ctx=context(owner, row.field))
                session.execute(
                    update(FieldValue)
                    .where(FieldValue.customer_id == customer_id, FieldValue.field == row.field)
                    .values(ciphertext=new_key.seal(plain, ctx=context(owner, row.field)))
                )
            if erased:
                session.execute(
                    delete(FieldValue).where(
                        FieldValue.customer_id == customer_id, FieldValue.field.in_(erased)
                    )
                )
            for table in (BlindIndexEntry, ConsentReceipt, ConsentState, ConsentEvent):
                session.execute(delete(table).where(table.customer_id == customer_id))
            session.execute(
                update(Customer)
                .where(Customer.id == customer_id)
                .values(
                    kek_id=kek_id,
                    wrapped_key=wrapped,
                    erased_at=now,
                    updated_at=now,
                    consent_version=Customer.consent_version + 1,
                )
            )
        else:
            session.execute(delete(Customer).where(Customer.id == customer_id))

        messages: tuple[str, ...] = ()
        if self.outbox is not None:
            payload: dict[str, Any] = {
                "customer_id": owner,
                "erased_at": now.isoformat(),
                "held_fields": sorted(held_names),
            }
            if request_reference:
                payload["request"] = request_reference
            messages = tuple(self.outbox(session, event_type="customer.erased", payload=payload))

        backend = session.get_bind().dialect.name
        report = ErasureReport(
            customer_pid=owner,
            erased_at=now,
            erased_fields=erased,
            held=tuple(holds),
            counts=counts,
            connectors=outcomes,
            webhook_messages=messages,
            backend=backend,
        )
        certificate = self._certificate(report, manifest, request_reference)
        session.add(
            ErasureRecord(
                customer_pid=owner,
                erased_at=now,
                request_id=request_id,
                held_fields=",".join(sorted(held_names)),
                certificate=certificate,
            )
        )
        self.audit.record(
            session,
            AuditEvent(
                action="erasure.erase",
                actor=actor.label,
                customer_pid=owner,
                purpose="erasure",
                fields=erased or ("*",),
                detail=(
                    f"held {','.join(sorted(held_names)) or 'nothing'}; "
                    + "; ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                    + (f"; request {request_reference}" if request_reference else "")
                )[:1000],
            ),
        )
        session.flush()
        # Written ahead of the commit: see the module's description.
        self.log_file.append(
            [
                ErasureEntry(
                    customer_pid=owner,
                    erased_at=now,
                    held_fields=tuple(sorted(held_names)),
                    request_id=request_id,
                )
            ]
        )
        return replace(report, certificate=certificate)

    def _certificate(
        self, report: ErasureReport, manifest: Manifest, request_reference: str | None
    ) -> str:
        key = ReceiptKey.from_ring(self.keys.get())
        claims: dict[str, Any] = {
            "iss": manifest.controller.name,
            "iat": int(report.erased_at.timestamp()),
            "jti": str(uuid.uuid4()),
            "sub": report.customer_pid,
            "request": request_reference,
            "erased_at": report.erased_at.isoformat(),
            "vault": {
                "data_key": "destroyed",
                "fields": list(report.erased_fields),
                **{k: v for k, v in sorted(report.counts.items())},
                "storage": (
                    "sqlite: rows deleted with secure_delete, journal truncated"
                    if report.backend == "sqlite"
                    else f"{report.backend}: rows deleted; old row versions unopenable once "
                    "the key-encryption key is retired (automatic rotation within a day)"
                ),
            },
            "held": [
                {
                    "field": h.field,
                    "purpose": h.purpose,
                    "legal_basis": h.legal_basis,
                    "until": h.until.date().isoformat(),
                }
                for h in report.held
            ],
            "connectors": [
                {
                    "name": o.name,
                    "action": o.action,
                    "rows": o.rows,
                    "status": o.status,
                    **({"error": o.error_kind} if o.error_kind else {}),
                }
                for o in report.connectors
            ],
            "downstream_events": len(report.webhook_messages),
        }
        return sign_jws(claims, seed=key.seed, kid=key.kid, typ=CERTIFICATE_TYP)

    def after_commit(self, db: Database) -> None:
        """Make sure no byte of an erased customer stays in SQLite's write-ahead log."""
        if db.engine.dialect.name != "sqlite":
            return
        with db.engine.connect() as connection:
            mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
            if str(mode).lower() == "wal":
                connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))


def _count_pid(session: Session, model: Any, customer_pid: str) -> int:
    return int(
        session.execute(
            select(func.count()).select_from(model).where(model.customer_pid == customer_pid)
        ).scalar_one()
    )


def _count(session: Session, model: Any, customer_id: uuid.UUID) -> int:
    return int(
        session.execute(
            select(func.count()).select_from(model).where(model.customer_id == customer_id)
        ).scalar_one()
    )


def verify_certificate(token: str, *, keys: KeyringSource) -> dict[str, Any]:
    """The claims of an erasure certificate signed by this installation, or
    :class:`CertificateInvalid`."""
    key = ReceiptKey.from_ring(keys.get())
    try:
        return verify_jws(token.strip(), public_key=key.public_key, typ=CERTIFICATE_TYP)
    except SignatureInvalid:
        raise CertificateInvalid() from None
