"""Helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from confiance.manifest import service as manifest_service
from confiance.manifest.schemas import LegalBasis, Manifest
from confiance.runtime import Runtime


def manifest_of(runtime: Runtime) -> Manifest:
    with runtime.db.transaction() as session:
        return manifest_service.current(session).manifest


def non_consent_purposes(manifest: Manifest) -> list[str]:
    return [p.key for p in manifest.purposes if p.legal_basis is not LegalBasis.CONSENT]


class ManualClock:
    """The Confiance clock, starting at the real time and moved by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now
