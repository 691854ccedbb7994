"""The TCF rules a well-formed TC string can still break.

A string can be read bit for bit and yet say something the TCF forbids: an update before the
creation, or legitimate interest for a purpose that TCF 2.2 reserves to consent. These rules
live here, apart from the bit layout, for two reasons: the decoder and the encoder must apply
exactly the same ones (a model the encoder accepts must decode back without error), and a
caller may decode with ``strict=False`` to *show* a string that breaks them.

Each rule reports a :class:`Violation` naming the field in the IAB spelling and, for bit
fields, the offset of the offending bit, from which the decoder computes a character position.
"""

from __future__ import annotations

from dataclasses import dataclass

from confiance.consent.tcf.model import MAX_PURPOSE_ID, RestrictionType, TCModel

__all__ = [
    "LI_FORBIDDEN_FROM_POLICY",
    "LI_FORBIDDEN_PURPOSES",
    "Violation",
    "violations",
]

#: TCF 2.2 (policy version 4) removed legitimate interest as a legal basis for purposes 3 to 6
#: (personalised advertising and content profiles and their selection).
LI_FORBIDDEN_PURPOSES = (3, 4, 5, 6)
LI_FORBIDDEN_FROM_POLICY = 4


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: the JSON field it concerns, why, and the bit offset inside the field."""

    field: str
    reason: str
    offset: int = 0


def violations(model: TCModel) -> list[Violation]:
    """Every TCF rule ``model`` breaks, in the order its fields appear in a string."""
    found: list[Violation] = []
    if model.last_updated < model.created:
        found.append(Violation("lastUpdated", "lastUpdated is before created"))
    tcf_22 = model.policy_version >= LI_FORBIDDEN_FROM_POLICY
    if tcf_22:
        found.extend(_forbidden_li("purposesLITransparency", model.purposes_li_transparency, model))
    seen: set[tuple[int, int]] = set()
    for restriction in model.publisher_restrictions:
        purpose, kind = restriction.purpose_id, restriction.restriction_type
        where = f"publisher restriction for purpose {purpose}"
        if not 1 <= purpose <= MAX_PURPOSE_ID:
            found.append(
                Violation(
                    "publisherRestrictions",
                    f"{where}: purpose ids are 1 to {MAX_PURPOSE_ID}",
                )
            )
        if kind is RestrictionType.UNDEFINED:
            found.append(
                Violation(
                    "publisherRestrictions",
                    f"{where}: restriction type 3 is reserved (0 not allowed, 1 require "
                    "consent, 2 require legitimate interest)",
                )
            )
        if (
            tcf_22
            and kind is RestrictionType.REQUIRE_LEGITIMATE_INTEREST
            and purpose in LI_FORBIDDEN_PURPOSES
        ):
            found.append(
                Violation(
                    "publisherRestrictions",
                    f"{where}: requires legitimate interest, which is not allowed for purposes "
                    f"3, 4, 5 and 6 from TCF policy version {LI_FORBIDDEN_FROM_POLICY} (TCF 2.2)",
                )
            )
        if (purpose, kind) in seen:
            found.append(
                Violation(
                    "publisherRestrictions",
                    f"{where}: restriction type {int(kind)} appears in two entries",
                )
            )
        seen.add((purpose, kind))
    if tcf_22 and model.publisher_tc is not None:
        found.extend(
            _forbidden_li(
                "pubPurposesLITransparency", model.publisher_tc.pub_purposes_li_transparency, model
            )
        )
    return found


def _forbidden_li(field: str, purposes: frozenset[int], model: TCModel) -> list[Violation]:
    return [
        Violation(
            field,
            f"legitimate interest is not allowed for purpose {purpose} from TCF policy version "
            f"{LI_FORBIDDEN_FROM_POLICY} (TCF 2.2); this string has policy version "
            f"{model.policy_version}",
            offset=purpose - 1,
        )
        for purpose in sorted(purposes)
        if purpose in LI_FORBIDDEN_PURPOSES
    ]
