"""The privacy center's sign-in codes and sessions, complaints and survey answers."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, SmallInteger, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from confiance.db.base import Base, UtcDateTime

__all__ = ["Complaint", "PortalSession", "SignInCode", "SurveyAnswer"]


class SignInCode(Base):
    """A one-time code e-mailed to sign in. The address is kept only as its keyed digest (the
    e-mail blind index), the code as a keyed hash."""

    __tablename__ = "portal_signin_codes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    contact_digest: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class PortalSession(Base):
    """A customer signed in to the privacy center. ``customer_pid`` is ``None`` for an address
    nobody has (the session shows that nothing is held). Only a SHA-256 of the token is kept."""

    __tablename__ = "portal_sessions"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    customer_pid: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    contact_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class Complaint(Base):
    """A complaint typed by a customer: sealed, shown escaped to staff."""

    __tablename__ = "portal_complaints"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    customer_pid: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    topic: Mapped[str] = mapped_column(String(32))
    text_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")


class SurveyAnswer(Base):
    """A short satisfaction survey: scores 1 to 5, for the trust indicators to come."""

    __tablename__ = "portal_survey_answers"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    customer_pid: Mapped[str | None] = mapped_column(String(36), nullable=True)
    trust: Mapped[int] = mapped_column(SmallInteger)
    clarity: Mapped[int] = mapped_column(SmallInteger)
    control: Mapped[int] = mapped_column(SmallInteger)
    comment_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
