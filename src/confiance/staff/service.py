"""Staff accounts: sign-in with a password and a TOTP code, both mandatory.

Rules held here:

- **Passwords** are hashed with argon2id (RFC 9106), tuned for this machine (t=3, 64 MiB,
  2 lanes: about 90 ms on the 2-core reference machine; ``staff.argon2_*`` settings). At least
  12 characters, not containing the address; a hash made with older parameters is upgraded at
  the next sign-in.
- **TOTP** (RFC 6238, 30 s, 6 digits, one step of drift) is mandatory: a first sign-in
  enrols (a QR code to scan, a code to confirm) before anything else. Each code is single-use:
  the step it matched is stored, and a code of that step or an earlier one is refused.
- **Brute force**: every wrong password or code counts; after ``max_failures`` the account is
  locked for ``lock_minutes`` (doubling each time), stored in the database so a restart does
  not reset it. An unknown address gets the same answer, after the same hashing work: nothing
  says whether an account exists.
- **Sessions** are server-side: the browser holds a random token, the database its SHA-256,
  the stage (password given, or signed in), a CSRF token, the last use and an absolute end.
  They end at logout, after ``idle_minutes`` without use, at ``absolute_hours``, and when the
  password or the TOTP secret changes or the account is disabled.
- Every sign-in, failure, lock, enrolment and account change is audited (pseudonymous staff
  id, never the address or the password).
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from confiance import clock
from confiance.actors import Actor
from confiance.audit.service import AuditEvent, AuditLog
from confiance.config import StaffSettings
from confiance.crypto import KeyringSource, SymmetricKey
from confiance.crypto.derived import derived_key
from confiance.staff.errors import (
    AccountExists,
    AccountLocked,
    InvalidAccount,
    InvalidPassword,
    SessionExpired,
    SignInFailed,
    StaffNotFound,
    WeakPassword,
)
from confiance.staff.models import StaffSession, StaffUser
from confiance.staff.roles import Role, actor_for

__all__ = ["SignedIn", "StaffAccounts", "StaffView", "new_password"]

TOTP_PERIOD = 30
MIN_PASSWORD = 12


@dataclass(frozen=True, slots=True)
class StaffView:
    id: uuid.UUID
    email: str
    display_name: str
    role: str
    enrolled: bool
    locked_until: datetime | None
    disabled: bool
    created_at: datetime


@dataclass(frozen=True)
class SignedIn:
    """A session as a request sees it."""

    token: str
    user: StaffView
    stage: str
    csrf_token: str
    actor: Actor = field(repr=False)

    @property
    def complete(self) -> bool:
        return self.stage == "full"


def new_password() -> str:
    """A random password people can type (20 characters from a 57-letter alphabet)."""
    alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(20))


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _view(user: StaffUser) -> StaffView:
    return StaffView(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=user.role,
        enrolled=user.totp_enrolled_at is not None,
        locked_until=user.locked_until,
        disabled=user.disabled_at is not None,
        created_at=user.created_at,
    )


@dataclass
class StaffAccounts:
    keys: KeyringSource
    audit: AuditLog
    settings: StaffSettings
    _hasher: PasswordHasher | None = field(default=None, repr=False)
    _dummy: str | None = field(default=None, repr=False)

    # -- helpers ------------------------------------------------------------------------------
    @property
    def hasher(self) -> PasswordHasher:
        if self._hasher is None:
            self._hasher = PasswordHasher(
                time_cost=self.settings.argon2_time_cost,
                memory_cost=self.settings.argon2_memory_kib,
                parallelism=self.settings.argon2_parallelism,
            )
        return self._hasher

    def _totp_key(self) -> SymmetricKey:
        return derived_key(self.keys.get(), "staff-totp")

    def _seal_totp(self, user_id: uuid.UUID, secret: str) -> bytes:
        return self._totp_key().seal(secret.encode(), ctx=f"staff/{user_id}/totp".encode())

    def _open_totp(self, user: StaffUser) -> str:
        assert user.totp_sealed is not None
        return (
            self._totp_key().open(user.totp_sealed, ctx=f"staff/{user.id}/totp".encode()).decode()
        )

    def _audit(
        self,
        session: Session,
        action: str,
        actor: str,
        user: StaffUser | None,
        outcome: str = "ok",
        detail: str | None = None,
    ) -> None:
        self.audit.record(
            session,
            AuditEvent(
                action=f"staff.{action}",
                actor=actor,
                outcome=outcome,
                detail=(
                    (f"account {user.id}" if user else "unknown account")
                    + (f"; {detail}" if detail else "")
                ),
            ),
        )

    def _check_password(self, password: str, email: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise WeakPassword(f"at least {MIN_PASSWORD} characters")
        local = email.split("@", 1)[0].lower()
        if len(local) >= 4 and local in password.lower():
            raise WeakPassword("not containing your address")
        if len(set(password)) < 6:
            raise WeakPassword("with more different characters")

    @staticmethod
    def _normalize(email: str) -> str:
        return email.strip().lower()

    def _revoke_all(self, session: Session, user_id: uuid.UUID) -> None:
        session.execute(
            update(StaffSession)
            .where(StaffSession.user_id == user_id, StaffSession.revoked_at.is_(None))
            .values(revoked_at=clock.now())
        )

    def _find(self, session: Session, email: str, *, lock: bool = False) -> StaffUser | None:
        query = select(StaffUser).where(StaffUser.email == self._normalize(email))
        if lock:
            query = query.with_for_update()
        return session.execute(query).scalar_one_or_none()

    def _get(self, session: Session, user_id: uuid.UUID) -> StaffUser:
        user = session.get(StaffUser, user_id)
        if user is None:
            raise StaffNotFound()
        return user

    # -- accounts -----------------------------------------------------------------------------
    def count(self, session: Session) -> int:
        return int(session.execute(select(func.count()).select_from(StaffUser)).scalar_one())

    def create(
        self,
        session: Session,
        *,
        email: str,
        display_name: str,
        role: str,
        password: str,
        actor: Actor,
    ) -> StaffView:
        """A new account; it must enrol TOTP at its first sign-in."""
        actor.require("staff.manage")
        address = self._normalize(email)
        if "@" not in address or len(address) > 320:
            raise InvalidAccount("an account needs an e-mail address", field="email")
        try:
            chosen = Role(role)
        except ValueError:
            raise InvalidAccount(
                f"unknown role '{role}'; use one of: {', '.join(r.value for r in Role)}",
                field="role",
            ) from None
        if self._find(session, address) is not None:
            raise AccountExists()
        self._check_password(password, address)
        now = clock.now()
        user = StaffUser(
            id=uuid.uuid4(),
            email=address,
            display_name=display_name.strip() or address,
            role=chosen.value,
            password_hash=self.hasher.hash(password),
            last_totp_step=0,
            failed_attempts=0,
            created_at=now,
            password_changed_at=now,
        )
        session.add(user)
        session.flush()
        self._audit(session, "create", actor.label, user, detail=f"role {chosen.value}")
        return _view(user)

    def list(self, session: Session, *, actor: Actor) -> list[StaffView]:
        actor.require("staff.manage")
        users = session.execute(select(StaffUser).order_by(StaffUser.email)).scalars()
        return [_view(u) for u in users]

    def disable(self, session: Session, *, user_id: uuid.UUID, actor: Actor) -> StaffView:
        actor.require("staff.manage")
        user = self._get(session, user_id)
        user.disabled_at = clock.now()
        self._revoke_all(session, user.id)
        self._audit(session, "disable", actor.label, user)
        return _view(user)

    def set_role(
        self, session: Session, *, user_id: uuid.UUID, role: str, actor: Actor
    ) -> StaffView:
        actor.require("staff.manage")
        user = self._get(session, user_id)
        try:
            user.role = Role(role).value
        except ValueError:
            raise InvalidAccount(
                f"unknown role '{role}'; use one of: {', '.join(r.value for r in Role)}",
                field="role",
            ) from None
        self._revoke_all(session, user.id)
        self._audit(session, "role", actor.label, user, detail=f"role {user.role}")
        return _view(user)

    def change_password(
        self, session: Session, *, user_id: uuid.UUID, current: str, new: str
    ) -> None:
        user = self._get(session, user_id)
        try:
            self.hasher.verify(user.password_hash, current)
        except (VerificationError, InvalidHashError):
            raise InvalidPassword("the current password is wrong") from None
        self._check_password(new, user.email)
        user.password_hash = self.hasher.hash(new)
        user.password_changed_at = clock.now()
        self._revoke_all(session, user.id)
        self._audit(session, "password", f"staff:{user.id}", user)

    def reset_mfa(self, session: Session, *, user_id: uuid.UUID, actor: Actor) -> StaffView:
        """Forget the TOTP secret: the account enrols again at its next sign-in."""
        actor.require("staff.manage")
        user = self._get(session, user_id)
        user.totp_sealed = None
        user.totp_enrolled_at = None
        user.last_totp_step = 0
        self._revoke_all(session, user.id)
        self._audit(session, "mfa-reset", actor.label, user)
        return _view(user)

    def enrol_now(self, session: Session, *, user_id: uuid.UUID, actor: Actor) -> str:
        """Give an account a TOTP secret already enrolled, and return it (shown once): for
        the demo's account, whose secret is printed with its password."""
        actor.require("staff.manage")
        user = self._get(session, user_id)
        secret = pyotp.random_base32()
        user.totp_sealed = self._seal_totp(user.id, secret)
        user.totp_enrolled_at = clock.now()
        user.last_totp_step = 0
        self._revoke_all(session, user.id)
        self._audit(session, "mfa-enrol", actor.label, user)
        return secret

    # -- sign-in ------------------------------------------------------------------------------
    def _fail(self, session: Session, user: StaffUser, what: str) -> None:
        now = clock.now()
        user.failed_attempts += 1
        if user.failed_attempts >= self.settings.max_failures:
            # Each failure past the limit locks again, twice as long (at most 64 times).
            beyond = user.failed_attempts - self.settings.max_failures
            user.locked_until = now + timedelta(
                minutes=self.settings.lock_minutes * 2 ** min(beyond, 6)
            )
            self._audit(
                session,
                "locked",
                f"staff:{user.id}",
                user,
                outcome="locked",
                detail=f"after {user.failed_attempts} failures",
            )
        self._audit(session, "sign-in", f"staff:{user.id}", user, outcome=f"wrong-{what}")

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy

    def sign_in(
        self, session: Session, *, email: str, password: str
    ) -> SignedIn | SignInFailed | AccountLocked:
        """Check the password. Returns a session at the ``password`` stage (TOTP still to
        give), or the error to raise once the failure is committed."""
        user = self._find(session, email, lock=True)
        now = clock.now()
        if user is None or user.disabled_at is not None:
            # The same work as a real check, so that timing says nothing either.
            with contextlib.suppress(VerificationError):
                self.hasher.verify(self._dummy_hash(), password)
            self._audit(session, "sign-in", "anonymous", None, outcome="unknown-account")
            return SignInFailed()
        if user.locked_until is not None and user.locked_until > now:
            self._audit(session, "sign-in", f"staff:{user.id}", user, outcome="locked")
            return AccountLocked(int((user.locked_until - now).total_seconds()))
        try:
            self.hasher.verify(user.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            self._fail(session, user, "password")
            return SignInFailed()
        if self.hasher.check_needs_rehash(user.password_hash):
            user.password_hash = self.hasher.hash(password)
        return self._open_session(session, user, stage="password")

    def _open_session(self, session: Session, user: StaffUser, *, stage: str) -> SignedIn:
        now = clock.now()
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        session.add(
            StaffSession(
                token_hash=_hash(token),
                user_id=user.id,
                csrf_token=csrf,
                stage=stage,
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(hours=self.settings.absolute_hours),
            )
        )
        return SignedIn(token, _view(user), stage, csrf, actor_for(user.role, str(user.id)))

    def enrolment(self, session: Session, *, signed: SignedIn) -> tuple[str, str]:
        """A TOTP secret for an account not enrolled yet (new, or the one shown before and
        not confirmed yet), kept sealed until confirmed:
        returns the secret (to type by hand) and a QR code (SVG) of its otpauth URI."""
        user = self._get(session, signed.user.id)
        if user.totp_enrolled_at is not None:
            raise SignInFailed()
        if user.totp_sealed is not None:
            # A secret shown but not confirmed yet is shown again: reloading the page or
            # mistyping a code must not void the QR code already scanned.
            secret = self._open_totp(user)
        else:
            secret = pyotp.random_base32()
            user.totp_sealed = self._seal_totp(user.id, secret)
        uri = pyotp.TOTP(secret, interval=TOTP_PERIOD).provisioning_uri(
            name=user.email, issuer_name=self.settings.issuer
        )
        qr = segno.make(uri, error="m").svg_inline(scale=4, title="QR code")
        return secret, qr

    def verify_totp(
        self, session: Session, *, token: str, code: str
    ) -> SignedIn | SignInFailed | AccountLocked:
        """The second factor: a session at the ``password`` stage becomes ``full``. Enrols the
        secret on first use."""
        row = self._session_row(session, token)
        if row is None or row.stage != "password":
            return SignInFailed()
        user = self._get(session, row.user_id)
        now = clock.now()
        if user.locked_until is not None and user.locked_until > now:
            return AccountLocked(int((user.locked_until - now).total_seconds()))
        if user.totp_sealed is None:
            return SignInFailed()
        totp = pyotp.TOTP(self._open_totp(user), interval=TOTP_PERIOD)
        step = self._matching_step(totp, code.strip(), now)
        if step is None or step <= user.last_totp_step:
            self._fail(session, user, "code")
            return SignInFailed()
        user.last_totp_step = step
        user.failed_attempts = 0
        user.locked_until = None
        enrolling = user.totp_enrolled_at is None
        if enrolling:
            user.totp_enrolled_at = now
            self._audit(session, "mfa-enrol", f"staff:{user.id}", user)
        # A fresh token for the signed-in session: the one the password gave is dropped.
        row.revoked_at = now
        self._audit(session, "sign-in", f"staff:{user.id}", user)
        return self._open_session(session, user, stage="full")

    @staticmethod
    def _matching_step(totp: pyotp.TOTP, code: str, now: datetime) -> int | None:
        if not (code.isdigit() and len(code) == 6):
            return None
        current = int(now.timestamp()) // TOTP_PERIOD
        for step in (current - 1, current, current + 1):
            if secrets.compare_digest(totp.at(step * TOTP_PERIOD), code):
                return step
        return None

    # -- sessions -----------------------------------------------------------------------------
    def _session_row(self, session: Session, token: str) -> StaffSession | None:
        if not token:
            return None
        row = session.get(StaffSession, _hash(token))
        now = clock.now()
        if (
            row is None
            or row.revoked_at is not None
            or row.expires_at <= now
            or row.last_seen_at + timedelta(minutes=self.settings.idle_minutes) <= now
        ):
            return None
        return row

    def current(self, session: Session, *, token: str, touch: bool = True) -> SignedIn:
        """The session a cookie's token opens, or :class:`SessionExpired`."""
        row = self._session_row(session, token)
        if row is None:
            raise SessionExpired()
        user = self._get(session, row.user_id)
        if user.disabled_at is not None:
            raise SessionExpired()
        now = clock.now()
        # Written at most once a minute: a page view need not be a write.
        if touch and now - row.last_seen_at > timedelta(seconds=60):
            row.last_seen_at = now
        return SignedIn(
            token, _view(user), row.stage, row.csrf_token, actor_for(user.role, str(user.id))
        )

    def sign_out(self, session: Session, *, token: str) -> None:
        row = session.get(StaffSession, _hash(token)) if token else None
        if row is not None and row.revoked_at is None:
            row.revoked_at = clock.now()
            user = session.get(StaffUser, row.user_id)
            self._audit(session, "sign-out", f"staff:{row.user_id}", user)


def timing_ms(accounts: StaffAccounts, rounds: int = 5) -> float:
    """How long one password check takes with the configured parameters (for tuning)."""
    digest = accounts.hasher.hash("a sample password to time")
    started = time.perf_counter()
    for _ in range(rounds):
        accounts.hasher.verify(digest, "a sample password to time")
    return (time.perf_counter() - started) / rounds * 1000
