"""The rules of consent, as pure functions of the manifest, the customer's states and the time.

Kept apart from storage so that the Hypothesis state machine can compare the ledger with a
model of these rules, and so that a cached decision is a pure function of its inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from confiance.manifest.schemas import LegalBasis, Manifest, PurposeSpec

__all__ = [
    "CUSTOMER_STATES",
    "SALE_SHARING",
    "SENSITIVE",
    "Kind",
    "State",
    "StateRow",
    "Verdict",
    "baselines",
    "can_be_refused",
    "decide",
    "kind_of",
    "sale_or_targeting",
    "uses_sensitive_data",
    "widened",
]

#: Opt-out scopes, next to purpose keys as targets of decisions.
SALE_SHARING = "@sale_sharing"
SENSITIVE = "@sensitive"


class State(StrEnum):
    """W3C DPV consent statuses."""

    GIVEN = "given"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    REVOKED = "revoked"  # by the controller
    INVALIDATED = "invalidated"  # by the controller (e.g. obtained improperly)


#: What a customer may say; revoked and invalidated are the controller's.
CUSTOMER_STATES = frozenset({State.GIVEN, State.REFUSED, State.WITHDRAWN})


class Kind(StrEnum):
    CONSENT = "consent"  # a purpose resting on consent: nothing until given
    OBJECTION = "objection"  # art. 21: legitimate interest or public task, allowed until refused
    OPT_OUT_SALE_SHARING = "opt_out_sale_sharing"  # CCPA, GPC
    LIMIT_SENSITIVE = "limit_sensitive"  # CCPA/CPRA


_NECESSARY = frozenset(
    {LegalBasis.CONTRACT, LegalBasis.LEGAL_OBLIGATION, LegalBasis.VITAL_INTEREST}
)
_TARGETED = (
    "marketing.advertising.third_party",
    "marketing.advertising.first_party.targeted",
    "marketing.advertising.profiling",
)


@dataclass(frozen=True, slots=True)
class StateRow:
    state: str
    manifest_seq: int
    expires_at: datetime | None
    channel: str = "api"
    #: Since when this state holds.
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    reason: str
    #: Until when this verdict holds without any new event (a consent that expires).
    valid_until: datetime | None = None


def kind_of(manifest: Manifest, target: str) -> Kind | None:
    """What kind of decision a target takes; ``None`` when a customer cannot decide on it
    (a purpose resting on a contract or a legal obligation)."""
    if target == SALE_SHARING:
        return Kind.OPT_OUT_SALE_SHARING
    if target == SENSITIVE:
        return Kind.LIMIT_SENSITIVE
    spec = manifest.purposes_by_key.get(target)
    if spec is None:
        return None
    if spec.legal_basis is LegalBasis.CONSENT:
        return Kind.CONSENT
    if spec.legal_basis in (LegalBasis.LEGITIMATE_INTEREST, LegalBasis.PUBLIC_TASK):
        return Kind.OBJECTION
    return None


def sale_or_targeting(spec: PurposeSpec) -> bool:
    """Covered by an opt-out of sale/sharing (CCPA) and by Global Privacy Control."""
    return spec.ccpa_sale_or_share or spec.data_use.startswith(_TARGETED)


def uses_sensitive_data(manifest: Manifest, spec: PurposeSpec) -> bool:
    return any(
        manifest.fields_by_name[f].sensitive for f in spec.fields if f in manifest.fields_by_name
    )


def decide(
    manifest: Manifest,
    baseline: Mapping[str, int],
    states: Mapping[str, StateRow],
    purpose: str,
    now: datetime,
) -> Verdict:
    """May ``purpose`` process this customer's data now?"""
    spec = manifest.purposes_by_key[purpose]
    valid_until: datetime | None = None
    if spec.legal_basis is LegalBasis.CONSENT:
        row = states.get(purpose)
        if row is None:
            return Verdict(False, "no-consent")
        if row.state != State.GIVEN:
            return Verdict(False, f"consent-{row.state}")
        if row.expires_at is not None:
            if now >= row.expires_at:
                return Verdict(False, "consent-expired")
            valid_until = row.expires_at
        if row.manifest_seq < baseline.get(purpose, 0):
            return Verdict(False, "consent-outdated")
    elif spec.legal_basis in (LegalBasis.LEGITIMATE_INTEREST, LegalBasis.PUBLIC_TASK):
        row = states.get(purpose)
        if row is not None and row.state in (State.REFUSED, State.WITHDRAWN):
            return Verdict(False, "objection")
    if sale_or_targeting(spec):
        row = states.get(SALE_SHARING)
        if row is not None and row.state == State.REFUSED:
            return Verdict(False, "opted-out-of-sale-sharing")
    if spec.legal_basis not in _NECESSARY and uses_sensitive_data(manifest, spec):
        row = states.get(SENSITIVE)
        if row is not None and row.state == State.REFUSED:
            return Verdict(False, "limited-sensitive-use")
    return Verdict(True, "allowed", valid_until)


def can_be_refused(manifest: Manifest, spec: PurposeSpec) -> bool:
    """Whether any decision of a customer could stop this purpose (if not, no need to ask)."""
    # The limit on sensitive data applies only outside the necessary bases, so it adds nothing.
    return spec.legal_basis not in _NECESSARY or sale_or_targeting(spec)


def widened(before: PurposeSpec | None, after: PurposeSpec) -> bool:
    """Does ``after`` ask more of the customer than ``before``? More fields, a new recipient,
    another use, or becoming a sale/sharing all do; fewer of them does not."""
    if before is None:
        return True
    recipients = {(r.name, r.country) for r in after.recipients} - {
        (r.name, r.country) for r in before.recipients
    }
    return bool(
        set(after.fields) - set(before.fields)
        or recipients
        or after.data_use != before.data_use
        or (after.ccpa_sale_or_share and not before.ccpa_sale_or_share)
        or (
            after.legal_basis is LegalBasis.CONSENT and before.legal_basis is not LegalBasis.CONSENT
        )
    )


def baselines(versions: Sequence[tuple[int, Manifest]]) -> dict[str, int]:
    """For each purpose of the last version, the earliest manifest version a consent must have
    been given under to still count: the last version that widened the purpose."""
    result: dict[str, int] = {}
    previous: Manifest | None = None
    for seq, manifest in versions:
        for spec in manifest.purposes:
            before = None if previous is None else previous.purposes_by_key.get(spec.key)
            if widened(before, spec):
                result[spec.key] = seq
        previous = manifest
    if previous is None:
        return {}
    return {k: v for k, v in result.items() if k in previous.purposes_by_key}
