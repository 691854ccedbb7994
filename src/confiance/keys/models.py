"""Registry of key-encryption key ids (never their material, which stays in the key file)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from confiance.db.base import Base, UtcDateTime


class KekRecord(Base):
    """A KEK that data keys may reference. A data key row points here by foreign key, so a KEK
    whose row is deleted (retired) can no longer be referenced by anything, and a late writer
    still using it fails instead of leaving an unreadable key behind."""

    __tablename__ = "crypto_keks"

    kek_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
