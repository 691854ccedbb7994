"""The mail outbox: messages to customers, written in the transaction that decides to send
them and delivered by a worker."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from confiance.db.base import Base, UtcDateTime

__all__ = ["MailMessage"]


class MailMessage(Base):
    """One e-mail to one address.

    The address and the whole message are stored sealed (``recipient_sealed``,
    ``message_sealed``) under a key derived from the key ring and bound to the message id; both
    are wiped once the message is delivered, so a sent mail leaves only its kind and dates.
    ``customer_pid`` lets an erasure drop pending mail to that customer.
    """

    __tablename__ = "mail_outbox"
    __table_args__ = (
        Index("ix_mail_outbox_due", "state", "next_attempt_at"),
        CheckConstraint("state IN ('pending', 'sent', 'failed')", name="state"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    recipient_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    message_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    customer_pid: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    request_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
