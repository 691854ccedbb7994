"""The privacy center's rules: sign-in by an e-mailed code, sessions, complaints and survey.

- **Sign-in** never reveals whether an address is known: a code is sent to any well-formed
  address (within the hourly limit per address), and only once the code comes back is the
  customer looked up through the e-mail blind index. An address nobody has (or a customer
  erased since) is told, after the code, that nothing is held about it; no session opens.
- **Codes**: six digits, a keyed hash stored, valid ``rights.code_ttl_minutes``, single-use,
  ``rights.code_attempts`` tries; at most ``rights.codes_per_hour`` per address and hour.
- **Sessions** are server-side (the cookie holds a random token, the database its SHA-256):
  they end at sign-out, after ``staff.idle_minutes`` without use or ``staff.absolute_hours``.
  The customer's address is kept sealed in the session (to send them answers), wiped at the end.
- **Complaints and survey answers** are sealed (typed by customers, they may contain anything)
  and only staff with ``complaints.read`` open them.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from confiance import clock
from confiance.actors import Actor
from confiance.audit.service import AuditEvent, AuditLog
from confiance.config import RightsSettings, StaffSettings
from confiance.crypto import KeyringSource, SymmetricKey
from confiance.crypto.derived import derived_key, keyed_digest, same_digest
from confiance.mail import service as mail_service
from confiance.manifest import service as manifest_service
from confiance.manifest.errors import InvalidFieldValue
from confiance.manifest.schemas import FieldSpec
from confiance.portal.errors import FeedbackInvalid, NothingHeld, NotSignedIn
from confiance.portal.models import Complaint, PortalSession, SignInCode, SurveyAnswer
from confiance.rights import messages
from confiance.rights.errors import (
    CodeRejected,
    InvalidRequestDetails,
    TooManyCodes,
)
from confiance.rights.service import contact_field
from confiance.vault.models import BlindIndexEntry, Customer
from confiance.vault.service import Vault

__all__ = ["TOPICS", "ComplaintView", "Portal", "PortalSignedIn"]

TOPICS = ("data_use", "consent", "rights_request", "security", "other")
_CODE_DIGITS = 6

_CODE_MAIL = {
    "fr": (
        "Votre code de connexion : {code}",
        "Bonjour,\n\nPour ouvrir votre espace confidentialité, saisissez ce code : {code}\n"
        "Il est valable {minutes} minutes et ne sert qu'une fois.\n\n"
        "Si vous n'avez rien demandé, ignorez ce message.\n",
    ),
    "en": (
        "Your sign-in code: {code}",
        "Hello,\n\nTo open your privacy center, enter this code: {code}\n"
        "It is valid for {minutes} minutes and works once.\n\n"
        "If you did not ask for it, ignore this message.\n",
    ),
}


@dataclass(frozen=True)
class PortalSignedIn:
    token: str
    customer_id: uuid.UUID
    csrf_token: str
    language: str
    expires_at: datetime

    @property
    def actor(self) -> Actor:
        """The customer acting on their own data (their consents, their requests)."""
        return Actor(
            "system",
            f"customer:{self.customer_id}",
            scopes=frozenset({"consent.write", "consent.read"}),
        )


@dataclass(frozen=True)
class ComplaintView:
    id: int
    customer_pid: str | None
    topic: str
    text: str
    language: str
    created_at: datetime
    status: str


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass
class Portal:
    keys: KeyringSource
    audit: AuditLog
    vault: Vault
    rights_settings: RightsSettings
    session_settings: StaffSettings

    def _key(self, purpose: str) -> SymmetricKey:
        return derived_key(self.keys.get(), purpose)

    def _code_hash(self, code_id: uuid.UUID, code: str) -> bytes:
        return keyed_digest(self.keys.get(), "portal-codes", f"{code_id}:{code}".encode())

    def _normalized(self, session: Session, email: str) -> tuple[FieldSpec, str, bytes]:
        spec = contact_field(manifest_service.current(session).manifest)
        try:
            normalized = spec.normalize(email)
        except InvalidFieldValue:
            raise InvalidRequestDetails(
                "email must be an e-mail address such as 'name@example.com'", field="email"
            ) from None
        return spec, normalized, self.vault.index_digest(spec, spec.index_key(normalized))

    # -- sign-in ------------------------------------------------------------------------------
    def request_code(self, session: Session, *, email: str, language: str) -> None:
        """E-mail a sign-in code to ``email``, whoever it belongs to."""
        _, normalized, digest = self._normalized(session, email)
        now = clock.now()
        recent, oldest = session.execute(
            select(func.count(), func.min(SignInCode.created_at)).where(
                SignInCode.contact_digest == digest,
                SignInCode.created_at > now - timedelta(hours=1),
            )
        ).one()
        if recent >= self.rights_settings.codes_per_hour:
            wait = int(((oldest + timedelta(hours=1)) - now).total_seconds())
            raise TooManyCodes(max(wait, 60))
        # Earlier codes for this address stop working: only the last one counts.
        session.execute(
            update(SignInCode)
            .where(SignInCode.contact_digest == digest, SignInCode.used_at.is_(None))
            .values(used_at=now)
        )
        code_id = uuid.uuid4()
        code = f"{secrets.randbelow(10**_CODE_DIGITS):0{_CODE_DIGITS}d}"
        session.add(
            SignInCode(
                id=code_id,
                contact_digest=digest,
                code_hash=self._code_hash(code_id, code),
                created_at=now,
                expires_at=now + timedelta(minutes=self.rights_settings.code_ttl_minutes),
                attempts=0,
            )
        )
        lang = messages.language_of(language)
        subject, text = _CODE_MAIL[lang]
        minutes = str(self.rights_settings.code_ttl_minutes)
        mail_service.enqueue(
            session,
            keys=self.keys,
            to=normalized,
            subject=subject.format(code=code),
            text=text.format(code=code, minutes=minutes),
            kind="portal-code",
        )

    def sign_in(
        self, session: Session, *, email: str, code: str, language: str
    ) -> PortalSignedIn | CodeRejected | NothingHeld:
        """Check the code; open a session for the customer with that address. A wrong code or
        an address nobody has is *returned*, to raise once the attempt is committed."""
        spec, normalized, digest = self._normalized(session, email)
        now = clock.now()
        pending = session.execute(
            select(SignInCode)
            .where(
                SignInCode.contact_digest == digest,
                SignInCode.used_at.is_(None),
                SignInCode.expires_at > now,
            )
            .order_by(SignInCode.created_at.desc())
            .limit(1)
            .with_for_update()
        ).scalar_one_or_none()
        if pending is None:
            return CodeRejected(0)
        if not same_digest(self._code_hash(pending.id, (code or "").strip()), pending.code_hash):
            pending.attempts += 1
            left = self.rights_settings.code_attempts - pending.attempts
            if left <= 0:
                pending.used_at = now
            return CodeRejected(max(left, 0))
        pending.used_at = now
        customer = session.execute(
            select(BlindIndexEntry.customer_id)
            .join(Customer, Customer.id == BlindIndexEntry.customer_id)
            .where(
                BlindIndexEntry.field == spec.name,
                BlindIndexEntry.digest == digest,
                Customer.erased_at.is_(None),
            )
            .order_by(BlindIndexEntry.customer_id)
            .limit(1)
        ).scalar_one_or_none()
        if customer is None:
            return NothingHeld()
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        lang = messages.language_of(language)
        expires = now + timedelta(hours=self.session_settings.absolute_hours)
        session.add(
            PortalSession(
                token_hash=_hash(token),
                customer_pid=str(customer),
                contact_sealed=self._key("portal-sessions").seal(
                    normalized.encode(), ctx=b"portal/session/" + _hash(token)
                ),
                csrf_token=csrf,
                language=lang,
                created_at=now,
                last_seen_at=now,
                expires_at=expires,
            )
        )
        self.audit.record(
            session,
            AuditEvent(
                action="portal.sign-in",
                actor=f"customer:{customer}",
                customer_pid=str(customer),
                purpose="privacy_center",
            ),
        )
        return PortalSignedIn(token, customer, csrf, lang, expires)

    def _row(self, session: Session, token: str) -> PortalSession | None:
        if not token:
            return None
        row = session.get(PortalSession, _hash(token))
        now = clock.now()
        idle = timedelta(minutes=self.session_settings.idle_minutes)
        if (
            row is None
            or row.revoked_at is not None
            or row.expires_at <= now
            or row.last_seen_at + idle <= now
            or row.customer_pid is None
        ):
            return None
        return row

    def current(self, session: Session, *, token: str) -> PortalSignedIn:
        """The signed-in customer, or :class:`NotSignedIn` (expired, signed out, or the
        customer erased since)."""
        row = self._row(session, token)
        if row is None or row.customer_pid is None:
            raise NotSignedIn()
        customer_id = uuid.UUID(row.customer_pid)
        alive = session.execute(
            select(Customer.id).where(Customer.id == customer_id, Customer.erased_at.is_(None))
        ).scalar_one_or_none()
        if alive is None:
            raise NotSignedIn()
        now = clock.now()
        if now - row.last_seen_at > timedelta(seconds=60):
            row.last_seen_at = now
        return PortalSignedIn(token, customer_id, row.csrf_token, row.language, row.expires_at)

    def contact(self, session: Session, *, token: str) -> str:
        """The signed-in customer's address (to answer a request made from the center)."""
        row = self._row(session, token)
        if row is None or row.contact_sealed is None:
            raise NotSignedIn()
        return (
            self._key("portal-sessions")
            .open(row.contact_sealed, ctx=b"portal/session/" + _hash(token))
            .decode()
        )

    def set_language(self, session: Session, *, token: str, language: str) -> None:
        row = self._row(session, token)
        if row is not None:
            row.language = messages.language_of(language)

    def sign_out(self, session: Session, *, token: str) -> None:
        row = session.get(PortalSession, _hash(token)) if token else None
        if row is not None and row.revoked_at is None:
            row.revoked_at = clock.now()
            row.contact_sealed = None

    def end_sessions_of(self, session: Session, *, customer_pid: str) -> int:
        """Sign the customer out everywhere (after an erasure)."""
        result = session.execute(
            update(PortalSession)
            .where(PortalSession.customer_pid == customer_pid, PortalSession.revoked_at.is_(None))
            .values(revoked_at=clock.now(), contact_sealed=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # -- complaints and survey ----------------------------------------------------------------
    def complain(
        self,
        session: Session,
        *,
        signed: PortalSignedIn | None,
        topic: str,
        text: str,
        language: str,
    ) -> int:
        if topic not in TOPICS:
            raise FeedbackInvalid(f"topic must be one of: {', '.join(TOPICS)}", field="topic")
        text = text.strip()
        if not text or len(text) > 5000:
            raise FeedbackInvalid("write your complaint in 1 to 5,000 characters", field="text")
        row = Complaint(
            customer_pid=str(signed.customer_id) if signed else None,
            topic=topic,
            text_sealed=b"",
            language=messages.language_of(language),
            created_at=clock.now(),
            status="open",
        )
        session.add(row)
        session.flush()
        row.text_sealed = self._key("portal-feedback").seal(
            text.encode(), ctx=f"complaint/{row.id}".encode()
        )
        self.audit.record(
            session,
            AuditEvent(
                action="portal.complaint",
                actor=f"customer:{signed.customer_id}" if signed else "anonymous",
                customer_pid=row.customer_pid,
                purpose="privacy_center",
                detail=f"complaint {row.id}; topic {topic}",
            ),
        )
        return row.id

    def complaints(
        self, session: Session, *, actor: Actor, limit: int = 200
    ) -> list[ComplaintView]:
        actor.require("complaints.read")
        rows = session.execute(
            select(Complaint).order_by(Complaint.created_at.desc()).limit(limit)
        ).scalars()
        key = self._key("portal-feedback")
        return [
            ComplaintView(
                id=r.id,
                customer_pid=r.customer_pid,
                topic=r.topic,
                text=key.open(r.text_sealed, ctx=f"complaint/{r.id}".encode()).decode(),
                language=r.language,
                created_at=r.created_at,
                status=r.status,
            )
            for r in rows
        ]

    def close_complaint(
        self, session: Session, *, complaint_id: int, actor: Actor, note: str = ""
    ) -> ComplaintView:
        """Mark a complaint as handled (audited, with who closed it)."""
        actor.require("complaints.manage")
        row = session.get(Complaint, complaint_id)
        if row is None:
            raise FeedbackInvalid("no such complaint", field="complaint")
        row.status = "handled"
        self.audit.record(
            session,
            AuditEvent(
                action="portal.complaint-handled",
                actor=actor.label,
                customer_pid=row.customer_pid,
                purpose="privacy_center",
                detail=f"complaint {row.id}" + (f"; {note[:200]}" if note.strip() else ""),
            ),
        )
        key = self._key("portal-feedback")
        return ComplaintView(
            id=row.id,
            customer_pid=row.customer_pid,
            topic=row.topic,
            text=key.open(row.text_sealed, ctx=f"complaint/{row.id}".encode()).decode(),
            language=row.language,
            created_at=row.created_at,
            status=row.status,
        )

    def answer_survey(
        self,
        session: Session,
        *,
        signed: PortalSignedIn | None,
        trust: int,
        clarity: int,
        control: int,
        comment: str | None,
        language: str,
    ) -> int:
        for name, score in (("trust", trust), ("clarity", clarity), ("control", control)):
            if not 1 <= score <= 5:
                raise FeedbackInvalid(f"{name} is a score from 1 to 5", field=name)
        comment = (comment or "").strip() or None
        if comment is not None and len(comment) > 2000:
            raise FeedbackInvalid("the comment is at most 2,000 characters", field="comment")
        row = SurveyAnswer(
            customer_pid=str(signed.customer_id) if signed else None,
            trust=trust,
            clarity=clarity,
            control=control,
            comment_sealed=None,
            language=messages.language_of(language),
            created_at=clock.now(),
        )
        session.add(row)
        session.flush()
        if comment is not None:
            row.comment_sealed = self._key("portal-feedback").seal(
                comment.encode(), ctx=f"survey/{row.id}".encode()
            )
        return row.id

    def survey_summary(self, session: Session, *, actor: Actor) -> dict[str, float | int]:
        """Average scores and the number of answers (for the trust indicators)."""
        if not actor.may("complaints.read"):
            actor.require("analytics")
        count, trust, clarity, control = session.execute(
            select(
                func.count(),
                func.avg(SurveyAnswer.trust),
                func.avg(SurveyAnswer.clarity),
                func.avg(SurveyAnswer.control),
            )
        ).one()
        return {
            "answers": int(count),
            "trust": float(trust or 0),
            "clarity": float(clarity or 0),
            "control": float(control or 0),
        }
