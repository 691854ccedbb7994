"""Read a TC string as consent decisions on the manifest's own purposes.

TCF purposes (1 "store and/or access information on a device" to 11) are not the company's
purposes: a declared :class:`TcfMapping` says which manifest purpose each TCF purpose feeds,
and optionally the company's own vendor id on the Global Vendor List. :func:`decisions` then
turns a decoded string into one :class:`TcfDecision` per mapped manifest purpose. It is a pure
function: recording the decisions in the consent ledger is the caller's job, in its own
transaction.

The rule is deliberately conservative, since a wrong "given" is worse than a wrong "refused":
a manifest purpose is given only if *every* TCF purpose mapped to it is given in the string
and, when a vendor id is set, the vendor is given too. The signal read depends on the purpose's
basis: ``purposesConsent``/``vendorConsents`` for consent, ``purposesLITransparency``/
``vendorLegitimateInterests`` for legitimate interest, where "not given" means the person
objected or was never told.

A mapping looks like this in YAML or JSON (the manifest may carry it under ``tcf:`` later)::

    vendor_id: 1234                      # optional: the company's GVL vendor id
    purposes:                            # TCF purpose id -> manifest purpose key
      1: device_storage
      7: ad_measurement
      8: ad_measurement
    legitimate_interest: [ad_measurement]  # read on the LI signal; the rest on consent
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, model_validator

from confiance.consent.tcf.errors import InvalidTcfMapping
from confiance.consent.tcf.model import MAX_VENDOR_ID, TCModel
from confiance.consent.tcf.validate import LI_FORBIDDEN_PURPOSES

__all__ = ["TCF_PURPOSES", "Basis", "TcfDecision", "TcfMapping", "decisions", "load_mapping"]

Basis = Literal["consent", "legitimate_interest"]

#: The purposes TCF 2.2 defines.
TCF_PURPOSES = range(1, 12)
#: Purposes for which TCF 2.2 allows no legitimate interest: 1 (device storage) has never
#: allowed it, 3 to 6 lost it in TCF 2.2.
_CONSENT_ONLY = frozenset({1, *LI_FORBIDDEN_PURPOSES})

# The shape of a manifest purpose key. Spelled here rather than imported from the manifest
# package so that this package stays a leaf: the manifest may one day carry a ``tcf:`` section
# built on TcfMapping, and that import would then run in a circle. Whether the key exists in
# the manifest is the caller's check.
_PURPOSE_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")


def _purpose_key(value: str) -> str:
    if not _PURPOSE_KEY.fullmatch(value):
        raise ValueError(
            "must be a manifest purpose key: lower-case letters, digits and '_', starting with "
            "a letter, at most 64 characters"
        )
    return value


PurposeKey = Annotated[str, AfterValidator(_purpose_key)]


class TcfMapping(BaseModel):
    """Which manifest purpose each TCF purpose feeds, and the company's vendor id if it has one.

    Several TCF purposes may feed the same manifest purpose (all of them must be given); one
    TCF purpose feeds at most one manifest purpose, since a mapping is a dict keyed by it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    purposes: dict[int, PurposeKey]
    vendor_id: int | None = None
    legitimate_interest: frozenset[PurposeKey] = frozenset()

    @model_validator(mode="after")
    def _coherent(self) -> TcfMapping:
        problems = []
        if not self.purposes:
            problems.append("purposes: map at least one TCF purpose")
        for tcf_purpose in sorted(self.purposes):
            if tcf_purpose not in TCF_PURPOSES:
                problems.append(f"purposes: {tcf_purpose} is not a TCF purpose (1 to 11)")
        if self.vendor_id is not None and not 1 <= self.vendor_id <= MAX_VENDOR_ID:
            problems.append(f"vendor_id: must be 1 to {MAX_VENDOR_ID}")
        mapped = set(self.purposes.values())
        for key in sorted(self.legitimate_interest):
            if key not in mapped:
                problems.append(f"legitimate_interest: '{key}' is not mapped from a TCF purpose")
                continue
            forbidden = sorted(
                p for p, k in self.purposes.items() if k == key and p in _CONSENT_ONLY
            )
            if forbidden:
                problems.append(
                    f"legitimate_interest: '{key}' is fed by TCF purpose "
                    f"{', '.join(map(str, forbidden))}, which TCF 2.2 allows on consent only"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def basis(self, purpose_key: str) -> Basis:
        return "legitimate_interest" if purpose_key in self.legitimate_interest else "consent"


@dataclass(frozen=True, slots=True)
class TcfDecision:
    """A person's choice on one manifest purpose, as a TC string expresses it.

    ``tcf_purposes`` are the TCF purposes it was read from, kept as evidence.
    """

    purpose_key: str
    given: bool
    basis: Basis
    tcf_purposes: tuple[int, ...]


def load_mapping(data: Mapping[str, Any]) -> TcfMapping:
    """Build a mapping from parsed YAML or JSON; raise :class:`InvalidTcfMapping` listing
    every problem. JSON's string keys (``"1"``) are read as the numbers they spell."""
    if not isinstance(data, Mapping):
        raise InvalidTcfMapping(problems=["the mapping must be an object"])
    try:
        return TcfMapping.model_validate(dict(data))
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        raise InvalidTcfMapping(problems=problems) from None


def decisions(model: TCModel, mapping: TcfMapping) -> list[TcfDecision]:
    """One decision per manifest purpose in ``mapping``, sorted by purpose key."""
    sources: dict[str, list[int]] = {}
    for tcf_purpose, key in sorted(mapping.purposes.items()):
        sources.setdefault(key, []).append(tcf_purpose)
    result = []
    for key in sorted(sources):
        basis = mapping.basis(key)
        if basis == "consent":
            purposes, vendors = model.purposes_consent, model.vendor_consents
        else:
            purposes, vendors = model.purposes_li_transparency, model.vendor_legitimate_interests
        given = all(p in purposes for p in sources[key]) and (
            mapping.vendor_id is None or mapping.vendor_id in vendors
        )
        result.append(
            TcfDecision(purpose_key=key, given=given, basis=basis, tcf_purposes=tuple(sources[key]))
        )
    return result
