"""What anonymisation by the retention sweep leaves: counts, never a person."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from confiance.db.base import Base

__all__ = ["AnonymisedCount"]


class AnonymisedCount(Base):
    """How many values of a field (per value, for small closed sets such as a loyalty tier or
    a postcode; ``*`` for the items of a list) were anonymised in a month: the totals that
    analytics keeps once the detail must go."""

    __tablename__ = "retention_anonymised_counts"

    field: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(128), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
