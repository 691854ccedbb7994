"""Rights requests, their history and the one-time codes that verify who asks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from confiance.db.base import Base, UtcDateTime

__all__ = ["RightsRequest", "RightsRequestEvent", "VerificationCode"]


class RightsRequest(Base):
    """One request from a data subject (access, erasure, ...).

    The requester's e-mail address is stored sealed (``contact_sealed``) under a key derived
    from the key ring and bound to the request id, plus a keyed digest (``contact_digest``) to
    rate-limit codes per address; it is wiped once the request is closed and answered.
    ``customer_pid`` is the pseudonymous customer id, set once the identity is verified; it is
    not a foreign key, so the request (the proof that it was answered) outlives an erasure.
    """

    __tablename__ = "rights_requests"
    __table_args__ = (
        Index("ix_rights_requests_open_due", "status", "due_at"),
        CheckConstraint(
            "status IN ('received', 'verified', 'in_progress', 'completed', 'refused')",
            name="status",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    jurisdiction: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    contact_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    contact_digest: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True, index=True)
    details_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    customer_pid: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    access_token_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    ack_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    extended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    extension_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    refusal_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(128), nullable=True)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class RightsRequestEvent(Base):
    """One step of a request's history, as the customer and staff see it."""

    __tablename__ = "rights_request_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("rights_requests.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class VerificationCode(Base):
    """A one-time code sent to the requester's address. Only a keyed hash is stored; a code
    is used once, expires, and allows a few attempts."""

    __tablename__ = "rights_verification_codes"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("rights_requests.id", ondelete="CASCADE"), index=True
    )
    contact_digest: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
