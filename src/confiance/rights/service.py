"""Rights requests: intake, verification by a one-time code, the workflow and its deadlines.

One verb per step; each writes the request's history and an audit entry in the caller's
transaction. Rules held here:

- **Intake never reveals whether a customer exists.** A request is received and a code is sent
  to the address given, whoever it belongs to; the customer is looked up (by the e-mail blind
  index) only once the code proves the requester controls that address.
- **Codes**: six digits from ``secrets``, stored as a keyed hash, valid a few minutes
  (``rights.code_ttl_minutes``), used once, a few attempts each (``rights.code_attempts``), a
  few per address per hour (``rights.codes_per_hour``).
- **Deadlines** come from :mod:`confiance.deadlines`: GDPR one month (three when extended,
  once, with a reason sent to the customer before the first month ends); CCPA 45 days (+45),
  acknowledgement within 10 business days; opt-outs within 15 business days.
- **Execution**: opt-outs and objections take effect as soon as the identity is verified (they
  only restrict processing); access, portability, rectification, restriction and erasure are
  approved by staff, which runs them. The requester is told at each step, by e-mail, in their
  language.
- The requester's address is sealed, and wiped when the request is closed.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from confiance import clock, deadlines
from confiance.actors import Actor
from confiance.audit.service import AuditEvent, AuditLog
from confiance.config import RightsSettings
from confiance.consent.rules import SALE_SHARING, SENSITIVE, State
from confiance.consent.service import Change, ConsentContext, ConsentLedger
from confiance.crypto import KeyringSource, SymmetricKey
from confiance.crypto.derived import derived_key, keyed_digest, same_digest, token_digest
from confiance.deadlines import Jurisdiction, Standing
from confiance.erasure.service import Eraser, ErasureReport
from confiance.mail import service as mail_service
from confiance.manifest import service as manifest_service
from confiance.manifest.errors import InvalidFieldValue
from confiance.manifest.schemas import FieldSpec, FieldType, LegalBasis, Manifest
from confiance.rights import messages
from confiance.rights.errors import (
    CodeRejected,
    InvalidRequestDetails,
    KindNotAvailable,
    NoContactField,
    RequestNotFound,
    TooManyCodes,
    WrongStatus,
)
from confiance.rights.models import RightsRequest, RightsRequestEvent, VerificationCode
from confiance.vault.models import BlindIndexEntry, Customer
from confiance.vault.service import Vault

__all__ = [
    "KINDS",
    "Intake",
    "RequestKind",
    "RequestStatus",
    "RequestView",
    "RightsDesk",
    "Verification",
    "contact_field",
]


class RequestKind(StrEnum):
    ACCESS = "access"
    PORTABILITY = "portability"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    OBJECTION = "objection"
    OPT_OUT_SALE = "opt_out_sale"
    LIMIT_SENSITIVE = "limit_sensitive"


class RequestStatus(StrEnum):
    RECEIVED = "received"
    VERIFIED = "verified"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REFUSED = "refused"


OPEN = (RequestStatus.RECEIVED, RequestStatus.VERIFIED, RequestStatus.IN_PROGRESS)

#: The rights each law gives, with the article a request rests on.
KINDS: dict[Jurisdiction, dict[RequestKind, str]] = {
    Jurisdiction.GDPR: {
        RequestKind.ACCESS: "GDPR art. 15",
        RequestKind.PORTABILITY: "GDPR art. 20",
        RequestKind.RECTIFICATION: "GDPR art. 16",
        RequestKind.ERASURE: "GDPR art. 17",
        RequestKind.RESTRICTION: "GDPR art. 18",
        RequestKind.OBJECTION: "GDPR art. 21",
        RequestKind.OPT_OUT_SALE: "GDPR art. 21 and 7(3)",
    },
    Jurisdiction.CCPA: {
        RequestKind.ACCESS: "Cal. Civ. Code 1798.110 (right to know)",
        RequestKind.PORTABILITY: "Cal. Civ. Code 1798.130(a)(2)(B)",
        RequestKind.RECTIFICATION: "Cal. Civ. Code 1798.106 (right to correct)",
        RequestKind.ERASURE: "Cal. Civ. Code 1798.105 (right to delete)",
        RequestKind.OPT_OUT_SALE: "Cal. Civ. Code 1798.120 (opt-out of sale/sharing)",
        RequestKind.LIMIT_SENSITIVE: "Cal. Civ. Code 1798.121 (limit sensitive data)",
    },
}

#: Taken care of as soon as the identity is verified: they only restrict processing.
AUTOMATIC = frozenset(
    {RequestKind.OPT_OUT_SALE, RequestKind.LIMIT_SENSITIVE, RequestKind.OBJECTION}
)
_OPT_OUTS = frozenset({RequestKind.OPT_OUT_SALE, RequestKind.LIMIT_SENSITIVE})
_CHANNELS = frozenset({"api", "cli", "privacy_center", "staff"})
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE_DIGITS = 6
#: How long after completion the requester may still download their export.
DOWNLOAD_DAYS = 30


@dataclass(frozen=True, slots=True)
class Intake:
    id: uuid.UUID
    reference: str
    status: str
    due_at: datetime
    #: ``False`` when the per-address hourly limit held the code back (the request stands).
    code_sent: bool = True


@dataclass(frozen=True, slots=True)
class Verification:
    id: uuid.UUID
    reference: str
    status: str
    #: Returned once: lets the requester follow the request and download the answer.
    access_token: str


@dataclass(frozen=True)
class RequestView:
    """A request as staff and the requester see it (no address, no values)."""

    id: uuid.UUID
    reference: str
    kind: str
    jurisdiction: str
    legal_ground: str
    status: str
    channel: str
    language: str
    customer_pid: str | None
    received_at: datetime
    verified_at: datetime | None
    acknowledged_at: datetime | None
    ack_due_at: datetime | None
    due_at: datetime
    extended: bool
    extension_reason: str | None
    closed_at: datetime | None
    refusal_reason: str | None
    assignee: str | None
    outcome: dict[str, Any] | None
    standing: str | None
    history: list[dict[str, Any]] = field(default_factory=list)


def contact_field(manifest: Manifest) -> FieldSpec:
    """The e-mail look-up field through which requesters (and privacy-center sign-ins) are
    matched to customers."""
    for spec in manifest.fields:
        if spec.type is FieldType.EMAIL and spec.lookup:
            return spec
    raise NoContactField()


def _reference() -> str:
    raw = "".join(secrets.choice(_CROCKFORD) for _ in range(8))
    return f"R-{raw[:4]}-{raw[4:]}"


def _zone(row: RightsRequest) -> ZoneInfo:
    return deadlines.zone_of(Jurisdiction(row.jurisdiction))


@dataclass
class RightsDesk:
    keys: KeyringSource
    audit: AuditLog
    vault: Vault
    consent: ConsentLedger
    eraser: Eraser
    settings: RightsSettings
    #: ``confiance.mail.service.enqueue``-shaped: queues one e-mail in the caller's transaction.
    mail: Callable[..., Any]

    # -- helpers ------------------------------------------------------------------------------
    def _key(self) -> SymmetricKey:
        return derived_key(self.keys.get(), "rights-requests")

    def _seal(self, request_id: uuid.UUID, part: str, raw: bytes) -> bytes:
        return self._key().seal(raw, ctx=f"rights/{request_id}/{part}".encode())

    def _open(self, request_id: uuid.UUID, part: str, sealed: bytes) -> bytes:
        return self._key().open(sealed, ctx=f"rights/{request_id}/{part}".encode())

    def _code_hash(self, request_id: uuid.UUID, code: str) -> bytes:
        return keyed_digest(self.keys.get(), "rights-codes", f"{request_id}:{code}".encode())

    def _digest(self, spec: FieldSpec, normalized: str) -> bytes:
        return self.vault.index_digest(spec, normalized)

    def _get(self, session: Session, request_id: uuid.UUID, *, lock: bool = False) -> RightsRequest:
        query = select(RightsRequest).where(RightsRequest.id == request_id)
        if lock:
            query = query.with_for_update()
        row = session.execute(query).scalar_one_or_none()
        if row is None:
            raise RequestNotFound()
        return row

    def resolve(self, session: Session, *, ref: str) -> uuid.UUID:
        """A request's id from its id or its reference (such as ``R-7K2M-9QXD``, any case)."""
        try:
            return uuid.UUID(ref)
        except ValueError:
            pass
        found = session.execute(
            select(RightsRequest.id).where(RightsRequest.reference == ref.strip().upper())
        ).scalar_one_or_none()
        if found is None:
            raise RequestNotFound()
        return found

    def _step(
        self,
        session: Session,
        row: RightsRequest,
        *,
        actor: Actor,
        action: str,
        note: str | None = None,
        audit_detail: str | None = None,
    ) -> None:
        now = clock.now()
        session.add(
            RightsRequestEvent(
                request_id=row.id,
                at=now,
                actor=actor.label,
                action=action,
                status=row.status,
                note=note,
            )
        )
        self.audit.record(
            session,
            AuditEvent(
                action=f"rights.{action}",
                actor=actor.label,
                customer_pid=row.customer_pid,
                purpose=f"rights.{row.kind}",
                detail=f"request {row.reference}; status {row.status}"
                + (f"; {audit_detail}" if audit_detail else ""),
            ),
        )

    def _contact(self, row: RightsRequest) -> str | None:
        if row.contact_sealed is None:
            return None
        return self._open(row.id, "contact", row.contact_sealed).decode()

    def _details(self, row: RightsRequest) -> dict[str, Any]:
        if row.details_sealed is None:
            return {}
        loaded: dict[str, Any] = json.loads(self._open(row.id, "details", row.details_sealed))
        return loaded

    def _send(self, session: Session, row: RightsRequest, step: str, **values: str) -> None:
        to = self._contact(row)
        if to is None:
            return
        message = messages.compose(
            step, row.language, kind=row.kind, reference=row.reference, **values
        )
        self.mail(
            session,
            keys=self.keys,
            to=to,
            subject=message.subject,
            text=message.text,
            kind=f"rights-{step}",
            customer_pid=row.customer_pid,
            request_id=str(row.id),
        )

    @staticmethod
    def _require(row: RightsRequest, action: str, allowed: Sequence[RequestStatus]) -> None:
        if row.status not in allowed:
            raise WrongStatus(action, row.status, [s.value for s in allowed])

    # -- intake -------------------------------------------------------------------------------
    def submit(
        self,
        session: Session,
        *,
        kind: str,
        email: str,
        actor: Actor,
        jurisdiction: str = "gdpr",
        language: str = "fr",
        channel: str = "api",
        details: Mapping[str, Any] | None = None,
        send_code: bool = True,
    ) -> Intake:
        """Receive a request and send a verification code to ``email``. The answer is the same
        whether or not a customer has that address."""
        try:
            law = Jurisdiction(jurisdiction)
        except ValueError:
            raise InvalidRequestDetails(
                "jurisdiction must be 'gdpr' or 'ccpa'", jurisdiction=jurisdiction
            ) from None
        available = KINDS[law]
        try:
            request_kind = RequestKind(kind)
        except ValueError:
            request_kind = None
        if request_kind is None or request_kind not in available:
            raise KindNotAvailable(kind, law.value, [k.value for k in available])
        if channel not in _CHANNELS:
            raise InvalidRequestDetails(
                f"channel must be one of: {', '.join(sorted(_CHANNELS))}", channel=channel
            )
        loaded = manifest_service.current(session)
        manifest = loaded.manifest
        contact_spec = contact_field(manifest)
        try:
            normalized = contact_spec.normalize(email)
        except InvalidFieldValue:
            raise InvalidRequestDetails(
                "email must be an e-mail address such as 'name@example.com'", field="email"
            ) from None
        clean = self._check_details(manifest, request_kind, details or {})
        now = clock.now()
        request_id = uuid.uuid4()
        due = (
            deadlines.opt_out_due(received=now)
            if request_kind in _OPT_OUTS and law is Jurisdiction.CCPA
            else deadlines.response_due(jurisdiction=law, received=now)
        )
        row = RightsRequest(
            id=request_id,
            reference=_reference(),
            kind=request_kind.value,
            jurisdiction=law.value,
            status=RequestStatus.RECEIVED.value,
            channel=channel,
            language=messages.language_of(language),
            contact_sealed=self._seal(request_id, "contact", normalized.encode()),
            contact_digest=self._digest(contact_spec, contact_spec.index_key(normalized)),
            details_sealed=(
                self._seal(request_id, "details", json.dumps(clean).encode()) if clean else None
            ),
            received_at=now,
            ack_due_at=deadlines.acknowledgement_due(jurisdiction=law, received=now),
            due_at=due,
        )
        session.add(row)
        session.flush()
        self._step(session, row, actor=actor, action="receive", note=available[request_kind])
        sent = self._issue_code(session, row, fresh=True) if send_code else False
        return Intake(request_id, row.reference, row.status, row.due_at, code_sent=sent)

    def submit_verified(
        self,
        session: Session,
        *,
        kind: str,
        email: str,
        customer_id: uuid.UUID,
        actor: Actor,
        language: str = "fr",
        details: Mapping[str, Any] | None = None,
    ) -> RequestView:
        """A request from a customer signed in to the privacy center, whose sign-in code
        already proved the address: received and verified in one step."""
        intake = self.submit(
            session,
            kind=kind,
            email=email,
            actor=actor,
            language=language,
            channel="privacy_center",
            details=details,
            send_code=False,
        )
        row = self._get(session, intake.id, lock=True)
        # Signed in, the customer gets their own data at once, and opt-outs take effect;
        # erasure, rectification and restriction wait for staff.
        self._mark_verified(
            session,
            row,
            customers=[customer_id],
            actor=actor,
            action="verify",
            note="signed in",
            run_as=actor,
            automatic=AUTOMATIC | {RequestKind.ACCESS, RequestKind.PORTABILITY},
        )
        return self._view(session, row)

    def _check_details(
        self, manifest: Manifest, kind: RequestKind, details: Mapping[str, Any]
    ) -> dict[str, Any]:
        allowed: set[str] = {"note"}
        clean: dict[str, Any] = {}
        if kind is RequestKind.RECTIFICATION:
            allowed.add("values")
            values = details.get("values")
            if not isinstance(values, Mapping) or not values:
                raise InvalidRequestDetails(
                    "a rectification gives the corrected values: details.values = "
                    "{field: new value}",
                    field="values",
                )
            normalized: dict[str, Any] = {}
            for name, value in values.items():
                spec = manifest.field(str(name))
                normalized[spec.name] = spec.normalize(value)
            clean["values"] = normalized
        if kind is RequestKind.OBJECTION:
            allowed.add("purposes")
            purposes = details.get("purposes")
            if not isinstance(purposes, list) or not purposes:
                raise InvalidRequestDetails(
                    "an objection names the purposes objected to: details.purposes = [key, ...]",
                    field="purposes",
                )
            for key in purposes:
                purpose = manifest.purpose(str(key))
                if purpose.legal_basis not in (
                    LegalBasis.LEGITIMATE_INTEREST,
                    LegalBasis.PUBLIC_TASK,
                    LegalBasis.CONSENT,
                ):
                    raise InvalidRequestDetails(
                        f"'{purpose.key}' rests on "
                        f"{purpose.legal_basis.value.replace('_', ' ')}, "
                        "which an objection does not stop",
                        purpose=purpose.key,
                    )
            clean["purposes"] = sorted({str(p) for p in purposes})
        note = details.get("note")
        if note is not None:
            if not isinstance(note, str) or len(note) > 2000:
                raise InvalidRequestDetails("details.note is a text of at most 2000 characters")
            clean["note"] = note
        unknown = sorted(set(details) - allowed)
        if unknown:
            raise InvalidRequestDetails(
                f"unexpected details for a {kind.value} request: {', '.join(unknown)}",
                unexpected=unknown,
            )
        return clean

    def _issue_code(self, session: Session, row: RightsRequest, *, fresh: bool = False) -> bool:
        assert row.contact_digest is not None
        now = clock.now()
        window = now - timedelta(hours=1)
        recent = session.execute(
            select(func.count(), func.min(VerificationCode.created_at)).where(
                VerificationCode.contact_digest == row.contact_digest,
                VerificationCode.created_at > window,
            )
        ).one()
        if recent[0] >= self.settings.codes_per_hour:
            self._step(session, row, actor=Actor.system("rights"), action="code-held-back")
            return False
        code = f"{secrets.randbelow(10**_CODE_DIGITS):0{_CODE_DIGITS}d}"
        if not fresh:
            # Earlier codes of this request stop working (and unsent ones are not sent): only
            # the last one counts.
            mail_service.discard_for_request(session, request_id=str(row.id), kind="rights-code")
            session.execute(
                update(VerificationCode)
                .where(VerificationCode.request_id == row.id, VerificationCode.used_at.is_(None))
                .values(used_at=now)
            )
        session.add(
            VerificationCode(
                request_id=row.id,
                contact_digest=row.contact_digest,
                code_hash=self._code_hash(row.id, code),
                created_at=now,
                expires_at=now + timedelta(minutes=self.settings.code_ttl_minutes),
                attempts=0,
            )
        )
        self._send(
            session,
            row,
            "code",
            code=code,
            minutes=str(self.settings.code_ttl_minutes),
            due=messages.local_date(row.due_at, row.language, _zone(row)),
        )
        # The message confirms receipt, with the reference and the deadline (CCPA: within 10
        # business days).
        row.acknowledged_at = row.acknowledged_at or now
        return True

    def resend_code(self, session: Session, *, request_id: uuid.UUID) -> None:
        """Send a new code (the previous one stops working), within the hourly limit."""
        row = self._get(session, request_id, lock=True)
        self._require(row, "send a code for", (RequestStatus.RECEIVED,))
        if not self._issue_code(session, row):
            oldest = session.execute(
                select(func.min(VerificationCode.created_at)).where(
                    VerificationCode.contact_digest == row.contact_digest,
                    VerificationCode.created_at > clock.now() - timedelta(hours=1),
                )
            ).scalar_one()
            wait = int(((oldest + timedelta(hours=1)) - clock.now()).total_seconds())
            raise TooManyCodes(max(wait, 60))

    # -- verification -------------------------------------------------------------------------
    def verify(
        self, session: Session, *, request_id: uuid.UUID, code: str, actor: Actor
    ) -> Verification | CodeRejected:
        """Check a code. A wrong code is *returned* as the error to raise once the attempt is
        committed (so that attempts count even though the answer is an error)."""
        row = self._get(session, request_id, lock=True)
        now = clock.now()
        pending = session.execute(
            select(VerificationCode)
            .where(
                VerificationCode.request_id == row.id,
                VerificationCode.used_at.is_(None),
                VerificationCode.expires_at > now,
            )
            .order_by(VerificationCode.id.desc())
            .limit(1)
            .with_for_update()
        ).scalar_one_or_none()
        if row.status != RequestStatus.RECEIVED or pending is None:
            return CodeRejected(0)
        candidate = (code or "").strip()
        if not same_digest(self._code_hash(row.id, candidate), pending.code_hash):
            pending.attempts += 1
            left = self.settings.code_attempts - pending.attempts
            if left <= 0:
                pending.used_at = now
            self._step(session, row, actor=actor, action="code-rejected")
            return CodeRejected(max(left, 0))
        pending.used_at = now
        token = secrets.token_urlsafe(32)
        row.access_token_hash = token_digest(token)
        self._mark_verified(
            session,
            row,
            customers=self._customers_for(session, row),
            actor=actor,
            action="verify",
            note=None,
            run_as=Actor.system("rights"),
        )
        return Verification(row.id, row.reference, row.status, token)

    def staff_verify(
        self, session: Session, *, request_id: uuid.UUID, actor: Actor, note: str
    ) -> RequestView:
        """Staff confirm the identity by other means (a signed letter, an in-store visit)."""
        actor.require("rights.manage")
        if not note.strip():
            raise InvalidRequestDetails("say how the identity was checked", field="note")
        row = self._get(session, request_id, lock=True)
        self._require(row, "verify", (RequestStatus.RECEIVED,))
        self._mark_verified(
            session,
            row,
            customers=self._customers_for(session, row),
            actor=actor,
            action="verify-by-staff",
            note=note,
            run_as=actor,
        )
        return self._view(session, row)

    def _mark_verified(
        self,
        session: Session,
        row: RightsRequest,
        *,
        customers: Sequence[uuid.UUID],
        actor: Actor,
        action: str,
        note: str | None,
        run_as: Actor,
        automatic: Collection[RequestKind] = AUTOMATIC,
    ) -> None:
        """The identity is proved: the request is verified and acknowledged, linked to its
        customer, the requester is told, and the kinds that need no staff are carried out."""
        now = clock.now()
        row.status = RequestStatus.VERIFIED.value
        row.verified_at = now
        row.acknowledged_at = row.acknowledged_at or now
        row.customer_pid = str(customers[0]) if customers else None
        if len(customers) > 1:
            shared = f"{len(customers)} customers share this address"
            note = shared if note is None else f"{note}; {shared}"
        self._step(session, row, actor=actor, action=action, note=note)
        self._send(
            session,
            row,
            "acknowledged",
            due=messages.local_date(row.due_at, row.language, _zone(row)),
        )
        if RequestKind(row.kind) in automatic:
            self._execute(session, row, actor=run_as)

    def _customers_for(self, session: Session, row: RightsRequest) -> list[uuid.UUID]:
        manifest = manifest_service.current(session).manifest
        spec = contact_field(manifest)
        return list(
            session.execute(
                select(BlindIndexEntry.customer_id)
                .join(Customer, Customer.id == BlindIndexEntry.customer_id)
                .where(
                    BlindIndexEntry.field == spec.name,
                    BlindIndexEntry.digest == row.contact_digest,
                    Customer.erased_at.is_(None),
                )
                .order_by(BlindIndexEntry.customer_id)
            ).scalars()
        )

    def authorize(self, session: Session, *, request_id: uuid.UUID, token: str) -> RequestView:
        """The request, for the requester holding its token; otherwise 'not found'."""
        row = session.execute(
            select(RightsRequest).where(RightsRequest.id == request_id)
        ).scalar_one_or_none()
        if (
            row is None
            or row.access_token_hash is None
            or not same_digest(row.access_token_hash, token_digest(token or ""))
        ):
            raise RequestNotFound()
        return self._view(session, row, history=True)

    # -- staff --------------------------------------------------------------------------------
    def queue(
        self,
        session: Session,
        *,
        actor: Actor,
        status: Sequence[str] | None = None,
        kind: str | None = None,
        standing: str | None = None,
        assignee: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[RequestView]:
        """Requests for staff, soonest deadline first; open ones by default."""
        actor.require("rights.read")
        wanted = list(status) if status else [s.value for s in OPEN]
        query = select(RightsRequest).where(RightsRequest.status.in_(wanted))
        if kind:
            query = query.where(RightsRequest.kind == kind)
        if assignee:
            query = query.where(RightsRequest.assignee == assignee)
        now = clock.now()
        soon = timedelta(days=self.settings.due_soon_days)
        if standing == Standing.OVERDUE:
            query = query.where(RightsRequest.due_at < now)
        elif standing == Standing.DUE_SOON:
            query = query.where(RightsRequest.due_at >= now, RightsRequest.due_at < now + soon)
        elif standing == Standing.ON_TIME:
            query = query.where(RightsRequest.due_at >= now + soon)
        elif standing is not None:
            raise InvalidRequestDetails(
                "standing is one of: on_time, due_soon, overdue", standing=standing
            )
        rows = session.execute(
            query.order_by(RightsRequest.due_at, RightsRequest.reference)
            .limit(min(max(limit, 1), 1000))
            .offset(max(offset, 0))
        ).scalars()
        return [self._view(session, row) for row in rows]

    def get(self, session: Session, *, request_id: uuid.UUID, actor: Actor) -> RequestView:
        actor.require("rights.read")
        return self._view(session, self._get(session, request_id), history=True)

    def assign(
        self, session: Session, *, request_id: uuid.UUID, assignee: str, actor: Actor
    ) -> RequestView:
        actor.require("rights.manage")
        row = self._get(session, request_id, lock=True)
        self._require(row, "assign", OPEN)
        if not assignee.strip() or len(assignee) > 128:
            raise InvalidRequestDetails("assignee is a name of 1 to 128 characters")
        row.assignee = assignee.strip()
        self._step(session, row, actor=actor, action="assign", note=row.assignee)
        return self._view(session, row)

    def extend(
        self, session: Session, *, request_id: uuid.UUID, reason: str, actor: Actor
    ) -> RequestView:
        """Extend the deadline once (GDPR: by two months; CCPA: by 45 days), telling the
        customer why before the first deadline passes."""
        actor.require("rights.manage")
        row = self._get(session, request_id, lock=True)
        self._require(row, "extend", OPEN)
        if not reason.strip():
            raise InvalidRequestDetails("an extension needs a reason the customer can read")
        if row.extended_at is not None:
            raise InvalidRequestDetails("the deadline was already extended once", field="reason")
        kind = RequestKind(row.kind)
        if kind in _OPT_OUTS or kind in AUTOMATIC:
            raise InvalidRequestDetails(f"a {kind.value} request cannot be extended")
        now = clock.now()
        if now > row.due_at:
            raise InvalidRequestDetails(
                "the deadline has passed: an extension must be notified within the first period"
            )
        row.due_at = deadlines.response_due(
            jurisdiction=Jurisdiction(row.jurisdiction), received=row.received_at, extended=True
        )
        row.extended_at = now
        row.extension_reason = reason.strip()
        self._step(session, row, actor=actor, action="extend", note=row.extension_reason)
        self._send(
            session,
            row,
            "extended",
            due=messages.local_date(row.due_at, row.language, _zone(row)),
            reason=row.extension_reason,
        )
        return self._view(session, row)

    def refuse(
        self, session: Session, *, request_id: uuid.UUID, reason: str, actor: Actor
    ) -> RequestView:
        """Refuse with a reason the customer can read (e.g. manifestly unfounded)."""
        actor.require("rights.manage")
        row = self._get(session, request_id, lock=True)
        self._require(row, "refuse", OPEN)
        if not reason.strip():
            raise InvalidRequestDetails("a refusal needs a reason the customer can read")
        row.status = RequestStatus.REFUSED.value
        row.refusal_reason = reason.strip()
        row.closed_at = clock.now()
        manifest = manifest_service.current(session).manifest
        self._step(session, row, actor=actor, action="refuse", note=row.refusal_reason)
        self._send(
            session, row, "refused", reason=row.refusal_reason, dpo=manifest.controller.dpo.email
        )
        self._close(session, row)
        return self._view(session, row)

    def approve(
        self,
        session: Session,
        *,
        request_id: uuid.UUID,
        actor: Actor,
        accept_failed_connectors: bool = False,
    ) -> RequestView:
        """Carry out a verified request and answer it."""
        actor.require("rights.manage")
        row = self._get(session, request_id, lock=True)
        self._require(row, "approve", (RequestStatus.VERIFIED, RequestStatus.IN_PROGRESS))
        if row.status == RequestStatus.VERIFIED:
            row.status = RequestStatus.IN_PROGRESS.value
            self._step(session, row, actor=actor, action="approve")
        self._execute(session, row, actor=actor, accept_failed_connectors=accept_failed_connectors)
        return self._view(session, row)

    def lift_restriction(
        self, session: Session, *, request_id: uuid.UUID, actor: Actor, reason: str
    ) -> RequestView:
        """End a restriction (art. 18(3): the customer is told first)."""
        actor.require("rights.manage")
        row = self._get(session, request_id, lock=True)
        if row.kind != RequestKind.RESTRICTION or row.status != RequestStatus.COMPLETED:
            raise WrongStatus("lift the restriction of", row.status, ["completed restriction"])
        if row.customer_pid:
            session.execute(
                update(Customer)
                .where(Customer.id == uuid.UUID(row.customer_pid))
                .values(restricted_at=None)
            )
        self._step(session, row, actor=actor, action="lift-restriction", note=reason)
        return self._view(session, row)

    def close_unverified(self, session: Session, *, older_than: timedelta, limit: int = 500) -> int:
        """Refuse requests whose address was never verified after ``older_than``: nothing can
        be done for a requester who did not prove who they are, and their address should not be
        kept. No message is sent (the address was never shown to be theirs)."""
        cutoff = clock.now() - older_than
        rows = session.execute(
            select(RightsRequest)
            .where(
                RightsRequest.status == RequestStatus.RECEIVED.value,
                RightsRequest.received_at < cutoff,
            )
            .order_by(RightsRequest.received_at)
            .limit(limit)
            .with_for_update()
        ).scalars()
        count = 0
        system = Actor.system("rights")
        for row in rows:
            row.status = RequestStatus.REFUSED.value
            row.refusal_reason = "identity not verified"
            row.closed_at = clock.now()
            self._step(session, row, actor=system, action="expire", note=row.refusal_reason)
            self._close(session, row)
            count += 1
        return count

    # -- execution ----------------------------------------------------------------------------
    def _execute(
        self,
        session: Session,
        row: RightsRequest,
        *,
        actor: Actor,
        accept_failed_connectors: bool = False,
    ) -> None:
        kind = RequestKind(row.kind)
        customer_id = uuid.UUID(row.customer_pid) if row.customer_pid else None
        outcome: dict[str, Any]
        lang = row.language
        if customer_id is None:
            outcome = {"result": "no_data"}
            text = messages.outcome_text("no_data", lang)
        elif kind in (RequestKind.ACCESS, RequestKind.PORTABILITY):
            outcome = {
                "result": "export_ready",
                "download_until": (clock.now() + timedelta(days=DOWNLOAD_DAYS)).isoformat(),
            }
            text = messages.outcome_text("export_ready", lang)
        elif kind is RequestKind.ERASURE:
            report = self._erase(
                session, row, customer_id, actor=actor, accept=accept_failed_connectors
            )
            outcome = {
                "result": "erased",
                "erased_fields": list(report.erased_fields),
                "held": [
                    {"field": h.field, "purpose": h.purpose, "until": h.until.date().isoformat()}
                    for h in report.held
                ],
                "connectors": [
                    {"name": c.name, "action": c.action, "rows": c.rows, "status": c.status}
                    for c in report.connectors
                ],
                "certificate": report.certificate,
            }
            if report.held:
                until = max(h.until for h in report.held)
                text = messages.outcome_text(
                    "erased_held",
                    lang,
                    fields=", ".join(report.held_fields),
                    until=messages.local_date(until, lang, _zone(row)),
                )
            else:
                text = messages.outcome_text("erased", lang)
        elif kind is RequestKind.RECTIFICATION:
            values = self._details(row).get("values", {})
            self.vault.correct(session, actor=actor, customer_id=customer_id, values=values)
            outcome = {"result": "rectified", "fields": sorted(values)}
            text = messages.outcome_text("rectified", lang)
        elif kind is RequestKind.RESTRICTION:
            session.execute(
                update(Customer).where(Customer.id == customer_id).values(restricted_at=clock.now())
            )
            outcome = {"result": "restricted"}
            text = messages.outcome_text("restricted", lang)
        else:
            targets = self._consent_targets(row, kind)
            manifest = manifest_service.current(session).manifest
            self.consent.record(
                session,
                customer_id=customer_id,
                changes=[
                    Change(
                        t,
                        State.WITHDRAWN
                        if t in manifest.purposes_by_key
                        and manifest.purposes_by_key[t].legal_basis is LegalBasis.CONSENT
                        else State.REFUSED,
                    )
                    for t in targets
                ],
                context=ConsentContext(
                    channel="rights_request",
                    method=f"rights request {row.reference}",
                    language=lang,
                ),
                actor=Actor("system", "rights", scopes=frozenset({"consent.write"})),
            )
            outcome = {"result": "recorded", "targets": targets}
            if kind is RequestKind.OBJECTION:
                text = messages.outcome_text("objection", lang, purposes=", ".join(targets))
            else:
                text = messages.outcome_text("opted_out", lang)
        row.outcome = outcome
        row.status = RequestStatus.COMPLETED.value
        row.closed_at = clock.now()
        self._step(
            session, row, actor=actor, action="complete", audit_detail=str(outcome["result"])
        )
        self._send(session, row, "completed", outcome=text)
        if kind not in (RequestKind.ACCESS, RequestKind.PORTABILITY):
            self._close(session, row)

    def _consent_targets(self, row: RightsRequest, kind: RequestKind) -> list[str]:
        if kind is RequestKind.OPT_OUT_SALE:
            return [SALE_SHARING]
        if kind is RequestKind.LIMIT_SENSITIVE:
            return [SENSITIVE]
        return [str(p) for p in self._details(row).get("purposes", [])]

    def _erase(
        self,
        session: Session,
        row: RightsRequest,
        customer_id: uuid.UUID,
        *,
        actor: Actor,
        accept: bool,
    ) -> ErasureReport:
        identity: dict[str, Any] = dict(
            self.vault.subject_values(
                session, actor=actor, customer_id=customer_id, reason="rights.erasure"
            )
        )
        identity["customer_id"] = str(customer_id)
        return self.eraser.erase(
            session,
            customer_id=customer_id,
            actor=actor,
            request_id=str(row.id),
            request_reference=row.reference,
            identity=identity,
            accept_failed_connectors=accept,
        )

    def _close(self, session: Session, row: RightsRequest) -> None:
        """Wipe what identified the requester once the last message to them is queued."""
        row.contact_sealed = None
        row.contact_digest = None
        row.details_sealed = None
        session.execute(
            update(VerificationCode)
            .where(VerificationCode.request_id == row.id, VerificationCode.used_at.is_(None))
            .values(used_at=clock.now())
        )

    def record_download(
        self, session: Session, *, request_id: uuid.UUID, actor: Actor, sha256: str
    ) -> None:
        """Note which archive was handed over (its digest), and wipe the requester's address:
        nothing more is sent to them."""
        row = self._get(session, request_id, lock=True)
        self._step(session, row, actor=actor, action="download", note=f"sha256 {sha256}")
        self._close(session, row)

    # -- views --------------------------------------------------------------------------------
    def _view(self, session: Session, row: RightsRequest, *, history: bool = False) -> RequestView:
        law = Jurisdiction(row.jurisdiction)
        is_open = row.status in OPEN
        steps: list[dict[str, Any]] = []
        if history:
            events = session.execute(
                select(RightsRequestEvent)
                .where(RightsRequestEvent.request_id == row.id)
                .order_by(RightsRequestEvent.id)
            ).scalars()
            steps = [
                {
                    "at": e.at,
                    "actor": e.actor,
                    "action": e.action,
                    "status": e.status,
                    "note": e.note,
                }
                for e in events
            ]
        return RequestView(
            id=row.id,
            reference=row.reference,
            kind=row.kind,
            jurisdiction=row.jurisdiction,
            legal_ground=KINDS[law].get(RequestKind(row.kind), ""),
            status=row.status,
            channel=row.channel,
            language=row.language,
            customer_pid=row.customer_pid,
            received_at=row.received_at,
            verified_at=row.verified_at,
            acknowledged_at=row.acknowledged_at,
            ack_due_at=row.ack_due_at,
            due_at=row.due_at,
            extended=row.extended_at is not None,
            extension_reason=row.extension_reason,
            closed_at=row.closed_at,
            refusal_reason=row.refusal_reason,
            assignee=row.assignee,
            outcome=row.outcome,
            standing=(
                deadlines.standing(
                    row.due_at, soon=timedelta(days=self.settings.due_soon_days)
                ).value
                if is_open
                else None
            ),
            history=steps,
        )

    def past_requests(self, session: Session, *, customer_pid: str) -> list[RequestView]:
        rows = session.execute(
            select(RightsRequest)
            .where(RightsRequest.customer_pid == customer_pid)
            .order_by(RightsRequest.received_at)
        ).scalars()
        return [self._view(session, row) for row in rows]
