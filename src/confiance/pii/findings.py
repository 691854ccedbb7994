"""What a scan reports: an entity type and where it is, never the value itself."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["EntityType", "Finding", "resolve_overlaps"]


class EntityType(StrEnum):
    """The kinds of personal data the scanner recognises."""

    EMAIL = "email"
    PHONE = "phone"
    IBAN = "iban"
    CARD = "card"
    FR_NIR = "fr_nir"
    FR_SIREN = "fr_siren"
    FR_SIRET = "fr_siret"
    FR_VAT = "fr_vat"
    DATE_OF_BIRTH = "date_of_birth"
    ADDRESS = "address"
    PERSON = "person"
    IP_ADDRESS = "ip_address"


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of personal data found in a text: ``text[start:end]`` is the value.

    A finding holds offsets, not the value, so it can be logged, returned by the API and
    stored in an audit entry without repeating the data it points at.
    """

    entity: EntityType
    start: int
    end: int
    score: float
    recognizer: str

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError("a finding covers at least one character")

    @property
    def length(self) -> int:
        return self.end - self.start


def resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    """Keep one finding per stretch of text: the longest, then the most certain.

    Overlaps are common by construction: a SIRET starts with a SIREN, a VAT number contains
    one, a phone matcher may see digits inside an IBAN, a name may sit in a street name. The
    longer match is the more specific reading of the same characters.
    """
    ranked = sorted(findings, key=lambda f: (-f.length, -f.score, f.start))
    kept: list[Finding] = []
    for finding in ranked:
        if all(finding.end <= k.start or finding.start >= k.end for k in kept):
            kept.append(finding)
    return sorted(kept, key=lambda f: f.start)
