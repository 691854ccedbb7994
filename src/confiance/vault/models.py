"""Customers, their sealed field values and the blind index."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from confiance.db.base import Base, UtcDateTime


class Customer(Base):
    """A customer and their data key, wrapped under a KEK. Destroying ``wrapped_key`` makes
    every value of this customer unreadable (crypto-shredding)."""

    __tablename__ = "vault_customers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kek_id: Mapped[str] = mapped_column(ForeignKey("crypto_keks.kek_id"), index=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    manifest_seq: Mapped[int] = mapped_column(ForeignKey("manifest_versions.seq"))
    #: Bumped by every consent change of this customer, in the same transaction: a decision
    #: cached for (customer, consent_version) can never be stale, on any worker.
    consent_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    #: Processing restricted (GDPR art. 18): the data is only stored, and read only for a
    #: legal obligation, until the restriction is lifted.
    restricted_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: Erased except for fields under a legal hold, which only their legal-obligation purpose
    #: may still read.
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: The customer's last contact (a collection, a correction, a decision of theirs, a sign-in
    #: to the privacy center): where retention "counted from the last contact" starts.
    last_contact_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: When the contract ended (``None``: it runs): where retention "counted from the end of
    #: the contract" starts.
    contract_ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class FieldValue(Base):
    """One field of one customer, sealed under the customer's data key with the customer id
    and field name bound as associated data."""

    __tablename__ = "vault_values"

    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vault_customers.id", ondelete="CASCADE"), primary_key=True
    )
    field: Mapped[str] = mapped_column(String(64), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(Integer, default=1)
    collected_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BlindIndexEntry(Base):
    """Keyed digest of a normalised value, to find customers without decrypting."""

    __tablename__ = "vault_blind_index"

    field: Mapped[str] = mapped_column(String(64), primary_key=True)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vault_customers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
