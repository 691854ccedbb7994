"""Stored manifest versions: each change of content gets a sequence number and a hash.

The same hash may appear at two sequence numbers: going back to an earlier manifest is a new
version (in force from then on) whose content equals the earlier one's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from confiance.db.base import Base, UtcDateTime


class ManifestVersion(Base):
    __tablename__ = "manifest_versions"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content: Mapped[str] = mapped_column(Text)
    source_name: Mapped[str] = mapped_column(String(255))
    loaded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    loaded_by: Mapped[str] = mapped_column(String(128))
