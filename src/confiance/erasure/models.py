"""The erasure log: which customers were erased, by pseudonymous id only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from confiance.db.base import Base, UtcDateTime

__all__ = ["ErasureRecord"]


class ErasureRecord(Base):
    """One erasure. Replayed on restore so that a backup never brings an erased customer back.

    ``held_fields``: fields kept under a legal hold (comma-separated names), which a replay
    keeps too. ``certificate``: the signed erasure certificate (compact JWS), listing names
    and counts, never values.
    """

    __tablename__ = "erasure_log"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    customer_pid: Mapped[str] = mapped_column(String(36), index=True)
    erased_at: Mapped[datetime] = mapped_column(UtcDateTime())
    request_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    held_fields: Mapped[str] = mapped_column(Text, default="")
    certificate: Mapped[str | None] = mapped_column(Text, nullable=True)
