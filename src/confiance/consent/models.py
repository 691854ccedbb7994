"""The consent ledger's tables: every event, and each customer's current state per target."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from confiance.db.base import Base, UtcDateTime


class ConsentEvent(Base):
    """One decision, as it was made. Never updated; deleted only with the customer (erasure).

    ``target`` is a manifest purpose key, or one of the opt-out scopes ``@sale_sharing`` (CCPA
    sale/sharing and targeted advertising, also what GPC sets) and ``@sensitive`` (limit the use
    of sensitive data). ``state`` is a W3C DPV consent status: given, refused, withdrawn,
    expired, revoked (by the controller), invalidated.
    """

    __tablename__ = "consent_events"
    __table_args__ = (Index("ix_consent_events_customer_target", "customer_id", "target"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vault_customers.id", ondelete="CASCADE")
    )
    target: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24))
    state: Mapped[str] = mapped_column(String(16))
    manifest_seq: Mapped[int] = mapped_column(ForeignKey("manifest_versions.seq"))
    language: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(24))
    method: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    actor: Mapped[str] = mapped_column(String(128))
    evidence: Mapped[str] = mapped_column(String(64))
    receipt_id: Mapped[str] = mapped_column(String(36), index=True)


class ConsentState(Base):
    """The latest event per (customer, target), kept in the same transaction as the event,
    so decisions and audiences read one indexed row instead of the history."""

    __tablename__ = "consent_state"
    # Audiences walk this index in customer order, one range per (target, state).
    __table_args__ = (Index("ix_consent_state_target_state", "target", "state", "customer_id"),)

    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vault_customers.id", ondelete="CASCADE"), primary_key=True
    )
    target: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(24))
    manifest_seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    event_id: Mapped[int] = mapped_column(BigInteger)


class ConsentReceipt(Base):
    """The signed receipt of one consent change (one call may change several targets)."""

    __tablename__ = "consent_receipts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vault_customers.id", ondelete="CASCADE"), index=True
    )
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    jws: Mapped[str] = mapped_column(Text)
