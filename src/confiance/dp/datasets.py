"""The data sets differentially private queries run over: one row per customer.

:class:`CustomersDataSet` reads the vault for a pseudonymised purpose (``analytics`` in the
example manifest) in the analyst's name, so every customer read is in the audit log and
customers who objected to the purpose, were erased or restricted are left out, exactly as for
any other read. The analyst never sees those rows: only the noisy aggregate leaves the service.
Its columns come from the purpose's fields:

- an ``enum`` field is a category column (its declared values are the categories);
- ``integer``, ``decimal`` and ``boolean`` fields are numeric or yes/no columns;
- a ``list`` field (orders, page views) gives ``<field>_count``, the number of its items;
- each purpose resting on consent gives ``consent_<purpose>``: whether that purpose may
  process the customer's data now (consent given and not expired).

Identifiers and free text (names, e-mail addresses, postcodes) are not offered.

:class:`FrameDataSet` serves a Polars frame built by the caller, for data kept elsewhere.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Protocol

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from confiance.actors import Actor
from confiance.dp.mechanisms import Column
from confiance.manifest import service as manifest_service
from confiance.manifest.errors import UnknownPurpose
from confiance.manifest.schemas import FieldType, LegalBasis, Manifest
from confiance.vault.errors import (
    ConsentRequired,
    CustomerNotFound,
    ProcessingRefused,
    ProcessingRestricted,
)
from confiance.vault.models import Customer
from confiance.vault.service import Vault

__all__ = ["CustomersDataSet", "DataSet", "FrameDataSet"]


class DataSet(Protocol):
    """A table of one row per person, with a public schema."""

    @property
    def name(self) -> str: ...

    @property
    def purpose(self) -> str | None:
        """The manifest purpose the data is read for (audited), if any."""
        ...

    def columns(self, session: Session) -> dict[str, Column]: ...

    def load(self, session: Session, *, analyst: Actor) -> pl.DataFrame: ...


class FrameDataSet:
    """A frame the caller built (one row per person), with its columns declared."""

    def __init__(self, name: str, frame: pl.DataFrame, columns: Mapping[str, Column]) -> None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"the frame has no column {', '.join(missing)}")
        self.name = name
        self.purpose: str | None = None
        self._frame = frame
        self._columns = dict(columns)

    def columns(self, session: Session) -> dict[str, Column]:
        return dict(self._columns)

    def load(self, session: Session, *, analyst: Actor) -> pl.DataFrame:
        return self._frame


_REFUSED = (ConsentRequired, ProcessingRefused, ProcessingRestricted, CustomerNotFound)


class CustomersDataSet:
    """The vault's customers, as the pseudonymised purpose ``purpose`` sees them."""

    def __init__(self, vault: Vault, *, name: str = "customers", purpose: str = "analytics"):
        self.name = name
        self.purpose: str | None = purpose
        self._vault = vault
        self._purpose = purpose

    def _manifest(self, session: Session) -> Manifest:
        manifest = manifest_service.current(session).manifest
        if self._purpose not in manifest.purposes_by_key:
            raise UnknownPurpose(self._purpose)
        return manifest

    def columns(self, session: Session) -> dict[str, Column]:
        return _columns(self._manifest(session), self._purpose)

    def load(self, session: Session, *, analyst: Actor) -> pl.DataFrame:
        """One row per customer the purpose may process now, read through the vault in the
        analyst's name (one audited read per customer)."""
        manifest = self._manifest(session)
        columns = _columns(manifest, self._purpose)
        consent = [p.key for p in manifest.purposes if p.legal_basis is LegalBasis.CONSENT]
        reader = Actor(analyst.kind, analyst.id, purposes=frozenset({self._purpose}))
        ids = session.execute(
            select(Customer.id)
            .where(Customer.erased_at.is_(None), Customer.restricted_at.is_(None))
            .order_by(Customer.id)
        ).scalars()
        rows: list[dict[str, Any]] = []
        for customer_id in list(ids):
            try:
                view = self._vault.read(
                    session, actor=reader, purpose=self._purpose, customer_id=customer_id
                )
            except _REFUSED:
                continue  # objected, restricted or gone: not in the data set
            rows.append(_row(manifest, columns, view.values))
            for key in consent:
                rows[-1][f"consent_{key}"] = self._allows(session, customer_id, key)
        schema = {name: _DTYPES[c.type] for name, c in columns.items()}
        return pl.DataFrame(rows, schema=schema)

    def _allows(self, session: Session, customer_id: uuid.UUID, purpose: str) -> bool:
        return self._vault.consent.allows(session, customer_id=customer_id, purpose=purpose)


_DTYPES: dict[str, Any] = {
    "int": pl.Int64,
    "float": pl.Float64,
    "bool": pl.Boolean,
    "category": pl.String,
}


def _columns(manifest: Manifest, purpose: str) -> dict[str, Column]:
    spec = manifest.purposes_by_key[purpose]
    columns: dict[str, Column] = {}
    for name in spec.fields:
        field = manifest.fields_by_name[name]
        if field.type is FieldType.ENUM:
            columns[name] = Column(name, "category", tuple(field.values or ()))
        elif field.type is FieldType.INTEGER:
            columns[name] = Column(name, "int")
        elif field.type is FieldType.DECIMAL:
            columns[name] = Column(name, "float")
        elif field.type is FieldType.BOOLEAN:
            columns[name] = Column(name, "bool")
        elif field.type is FieldType.LIST:
            columns[f"{name}_count"] = Column(
                f"{name}_count", "int", description=f"number of items in {name}"
            )
    for other in manifest.purposes:
        if other.legal_basis is LegalBasis.CONSENT:
            columns[f"consent_{other.key}"] = Column(
                f"consent_{other.key}",
                "bool",
                description=f"whether {other.key} may process the customer's data now",
            )
    return columns


def _row(
    manifest: Manifest, columns: Mapping[str, Column], values: Mapping[str, Any]
) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, column in columns.items():
        if name.startswith("consent_") and name not in values:
            row[name] = None  # filled by the caller
            continue
        if name in values or name in manifest.fields_by_name:
            value = values.get(name)
            if value is None:
                row[name] = None
            elif column.type == "float":
                row[name] = float(value)
            elif column.type == "int":
                row[name] = int(value)
            elif column.type == "bool":
                row[name] = bool(value)
            else:
                row[name] = str(value)
        else:
            source = name.removesuffix("_count")
            items = values.get(source)
            row[name] = len(items) if isinstance(items, list) else 0
    return row
