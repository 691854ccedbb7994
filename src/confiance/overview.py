"""A summary of an installation, for the home page and `confiance status`-like views."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from confiance.audit.models import AuditEntry
from confiance.manifest import service as manifest_service
from confiance.manifest.errors import NoManifestLoaded
from confiance.manifest.schemas import Manifest
from confiance.vault.models import Customer

__all__ = ["Overview", "summary"]


@dataclass(frozen=True)
class Overview:
    customers: int
    audit_entries: int
    manifest_seq: int | None
    manifest_sha256: str | None
    controller: str | None
    manifest: Manifest | None = None


def summary(session: Session) -> Overview:
    customers = session.execute(select(func.count()).select_from(Customer)).scalar_one()
    entries = session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    try:
        loaded = manifest_service.current(session)
    except NoManifestLoaded:
        return Overview(customers, entries, None, None, None)
    manifest = loaded.manifest
    return Overview(
        customers, entries, loaded.seq, loaded.sha256, manifest.controller.name, manifest
    )
