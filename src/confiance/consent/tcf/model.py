"""A decoded IAB TCF v2 TC string, as plain frozen values.

The model holds what a TC string *says*, not how it was written: vendor sections are sets of
vendor ids whatever their encoding (bit field or ranges), and the ``maxVendorId`` header of
each section is not kept, because it is only a length prefix (the IAB libraries recompute it
from the set too). Two strings that say the same thing therefore decode to equal models, and
``decode(encode(model)) == model`` holds for every model that can be built.

Building a model checks that every value fits the bits the format gives it (a ``cmpId`` of
12 bits, purposes 1 to 24, vendor ids 1 to 65535, times in deciseconds...), so an encoder
never has to truncate. The TCF *rules* (``lastUpdated`` not before ``created``, no legitimate
interest for purposes 3 to 6 under policy version 4...) are checked apart, in
:mod:`confiance.consent.tcf.validate`, so that a string breaking them can still be shown.

Field names are Python's; :mod:`confiance.consent.tcf.jsonview` gives the IAB names
(``cmpId``, ``purposesConsent``...), which are also the names used in every error.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum

from confiance.consent.tcf.errors import InvalidTCModel

__all__ = [
    "EPOCH",
    "MAX_DECISECONDS",
    "MAX_PURPOSE_ID",
    "MAX_SPECIAL_FEATURE_ID",
    "MAX_VENDOR_ID",
    "PublisherRestriction",
    "PublisherTC",
    "RestrictionType",
    "TCModel",
    "deciseconds",
    "from_deciseconds",
    "merge_ranges",
    "ranges_of",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Times are 36-bit counts of deciseconds since the epoch (until the year 2187).
MAX_DECISECONDS = (1 << 36) - 1
#: Vendor ids are 16-bit; id 0 does not exist (bit field position 1 is vendor 1).
MAX_VENDOR_ID = (1 << 16) - 1
#: Purpose bit fields are 24 bits wide; TCF 2.2 defines purposes 1 to 11.
MAX_PURPOSE_ID = 24
MAX_SPECIAL_FEATURE_ID = 12


class RestrictionType(IntEnum):
    """A publisher restriction, as the 2-bit ``RestrictionType`` field numbers it.

    ``UNDEFINED`` (3) is reserved by the specification. It exists here so that a string
    carrying it can be decoded without ``strict`` and shown; strict decoding rejects it.
    """

    NOT_ALLOWED = 0
    REQUIRE_CONSENT = 1
    REQUIRE_LEGITIMATE_INTEREST = 2
    UNDEFINED = 3


def deciseconds(moment: datetime, *, field_name: str = "time") -> int:
    """Deciseconds since the epoch, refusing what a 36-bit TCF time cannot hold exactly."""
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise InvalidTCModel(field=field_name, reason="must be a timezone-aware datetime")
    delta = moment - EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if micros % 100_000:
        raise InvalidTCModel(
            field=field_name, reason="must be a whole number of deciseconds (0.1 s)"
        )
    value = micros // 100_000
    if not 0 <= value <= MAX_DECISECONDS:
        raise InvalidTCModel(field=field_name, reason="must lie between 1970 and 2187")
    return value


def from_deciseconds(value: int) -> datetime:
    """The aware UTC datetime of a TCF time field."""
    return EPOCH + timedelta(milliseconds=value * 100)


def _check_int(field_name: str, value: object, bits: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTCModel(field=field_name, reason="must be an integer")
    if not 0 <= value < (1 << bits):
        raise InvalidTCModel(field=field_name, reason=f"must be between 0 and {(1 << bits) - 1}")


def _check_bool(field_name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidTCModel(field=field_name, reason="must be true or false")


def _check_ids(field_name: str, values: object, highest: int) -> None:
    if not isinstance(values, frozenset):
        raise InvalidTCModel(field=field_name, reason="must be a frozenset of integers")
    # ``type(...) is int`` rather than isinstance: True is an int, but not a vendor id.
    if values and not (
        all(type(value) is int for value in values) and 1 <= min(values) <= max(values) <= highest
    ):
        raise InvalidTCModel(field=field_name, reason=f"ids must be integers from 1 to {highest}")


def _check_letters(field_name: str, value: object) -> None:
    # Each letter is 6 bits holding 0 (A) to 25 (Z); lower case is not representable, and
    # upper-casing silently here would make a model differ from its own round trip.
    if not (isinstance(value, str) and len(value) == 2 and all("A" <= c <= "Z" for c in value)):
        raise InvalidTCModel(field=field_name, reason="must be two upper-case letters A to Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class PublisherRestriction:
    """The publisher overrides how some vendors may process purpose ``purpose_id``.

    The vendors are kept as sorted, merged ranges (``vendor_ranges``) rather than a set, since
    restrictions are range-encoded in the string: 33 bits can name 65,535 vendors, and a
    string of a few hundred characters could otherwise make the decoder allocate millions of
    integers. :attr:`vendor_ids` expands them when a set is wanted; :meth:`covers` does not.
    Ranges are merged on construction, so equal coverage gives equal restrictions.
    """

    purpose_id: int
    restriction_type: RestrictionType
    vendor_ranges: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        _check_int("publisherRestrictions.purposeId", self.purpose_id, 6)
        if not isinstance(self.restriction_type, RestrictionType):
            raise InvalidTCModel(
                field="publisherRestrictions.restrictionType",
                reason="must be a RestrictionType (0 to 3)",
            )
        merged = merge_ranges(self.vendor_ranges)
        if merged != self.vendor_ranges:
            object.__setattr__(self, "vendor_ranges", merged)

    @classmethod
    def of(
        cls, purpose_id: int, restriction_type: RestrictionType, vendor_ids: Iterable[int]
    ) -> PublisherRestriction:
        """Build from vendor ids, the way a caller usually has them."""
        ids = frozenset(vendor_ids)
        _check_ids("publisherRestrictions.vendorIds", ids, MAX_VENDOR_ID)
        return cls(
            purpose_id=purpose_id,
            restriction_type=restriction_type,
            vendor_ranges=tuple(ranges_of(ids)),
        )

    @property
    def vendor_ids(self) -> frozenset[int]:
        return frozenset(i for start, end in self.vendor_ranges for i in range(start, end + 1))

    def covers(self, vendor_id: int) -> bool:
        index = bisect_right(self.vendor_ranges, (vendor_id, MAX_VENDOR_ID + 1)) - 1
        return index >= 0 and self.vendor_ranges[index][1] >= vendor_id


def ranges_of(ids: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted ids as the fewest inclusive ``(start, end)`` ranges."""
    ranges: list[tuple[int, int]] = []
    for vendor_id in sorted(ids):
        if ranges and ranges[-1][1] + 1 == vendor_id:
            ranges[-1] = (ranges[-1][0], vendor_id)
        else:
            ranges.append((vendor_id, vendor_id))
    return ranges


def merge_ranges(ranges: object) -> tuple[tuple[int, int], ...]:
    """Check inclusive vendor ranges and merge those that overlap or touch."""
    field_name = "publisherRestrictions.vendorIds"
    if not isinstance(ranges, tuple):
        raise InvalidTCModel(field=field_name, reason="must be a tuple of (start, end) ranges")
    checked: list[tuple[int, int]] = []
    for item in ranges:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise InvalidTCModel(field=field_name, reason="must be a tuple of (start, end) ranges")
        start, end = item
        for value in (start, end):
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidTCModel(field=field_name, reason="ids must be integers")
        if not 1 <= start <= end <= MAX_VENDOR_ID:
            raise InvalidTCModel(
                field=field_name, reason=f"ranges must have 1 <= start <= end <= {MAX_VENDOR_ID}"
            )
        checked.append((start, end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(checked):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


@dataclass(frozen=True, slots=True, kw_only=True)
class PublisherTC:
    """The publisher TC segment: the user's choices for the publisher's own processing."""

    pub_purposes_consent: frozenset[int] = frozenset()
    pub_purposes_li_transparency: frozenset[int] = frozenset()
    num_custom_purposes: int = 0
    custom_purposes_consent: frozenset[int] = frozenset()
    custom_purposes_li_transparency: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        _check_ids("pubPurposesConsent", self.pub_purposes_consent, MAX_PURPOSE_ID)
        _check_ids("pubPurposesLITransparency", self.pub_purposes_li_transparency, MAX_PURPOSE_ID)
        _check_int("numCustomPurposes", self.num_custom_purposes, 6)
        # A custom purpose id is a position in a bit field numCustomPurposes bits long.
        _check_ids("customPurposesConsent", self.custom_purposes_consent, self.num_custom_purposes)
        _check_ids(
            "customPurposesLITransparency",
            self.custom_purposes_li_transparency,
            self.num_custom_purposes,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TCModel:
    """Everything a TCF v2 TC string carries, segment by segment.

    ``disclosed_vendors``, ``allowed_vendors`` and ``publisher_tc`` are ``None`` when the
    string has no such segment, which is not the same as an empty segment.
    ``publisher_restrictions`` is kept sorted by (purpose, type), so that equal content gives
    equal models whatever order a CMP wrote the entries in.
    """

    created: datetime
    last_updated: datetime
    cmp_id: int
    cmp_version: int
    consent_screen: int
    consent_language: str
    vendor_list_version: int
    policy_version: int
    publisher_cc: str
    is_service_specific: bool = False
    #: ``UseNonStandardTexts`` in TCF 2.2, ``UseNonStandardStacks`` before (same bit).
    use_non_standard_texts: bool = False
    purpose_one_treatment: bool = False
    special_feature_optins: frozenset[int] = frozenset()
    purposes_consent: frozenset[int] = frozenset()
    purposes_li_transparency: frozenset[int] = frozenset()
    vendor_consents: frozenset[int] = frozenset()
    vendor_legitimate_interests: frozenset[int] = frozenset()
    publisher_restrictions: tuple[PublisherRestriction, ...] = ()
    disclosed_vendors: frozenset[int] | None = None
    allowed_vendors: frozenset[int] | None = None
    publisher_tc: PublisherTC | None = None
    version: int = 2

    def __post_init__(self) -> None:
        if type(self.version) is not int or self.version != 2:
            raise InvalidTCModel(field="version", reason="must be 2, the only version supported")
        deciseconds(self.created, field_name="created")
        deciseconds(self.last_updated, field_name="lastUpdated")
        _check_int("cmpId", self.cmp_id, 12)
        _check_int("cmpVersion", self.cmp_version, 12)
        _check_int("consentScreen", self.consent_screen, 6)
        _check_letters("consentLanguage", self.consent_language)
        _check_int("vendorListVersion", self.vendor_list_version, 12)
        _check_int("tcfPolicyVersion", self.policy_version, 6)
        _check_letters("publisherCC", self.publisher_cc)
        _check_bool("isServiceSpecific", self.is_service_specific)
        _check_bool("useNonStandardStacks", self.use_non_standard_texts)
        _check_bool("purposeOneTreatment", self.purpose_one_treatment)
        _check_ids("specialFeatureOptIns", self.special_feature_optins, MAX_SPECIAL_FEATURE_ID)
        _check_ids("purposesConsent", self.purposes_consent, MAX_PURPOSE_ID)
        _check_ids("purposesLITransparency", self.purposes_li_transparency, MAX_PURPOSE_ID)
        _check_ids("vendorConsents", self.vendor_consents, MAX_VENDOR_ID)
        _check_ids("vendorLegitimateInterests", self.vendor_legitimate_interests, MAX_VENDOR_ID)
        if self.disclosed_vendors is not None:
            _check_ids("disclosedVendors", self.disclosed_vendors, MAX_VENDOR_ID)
        if self.allowed_vendors is not None:
            _check_ids("allowedVendors", self.allowed_vendors, MAX_VENDOR_ID)
        if self.publisher_tc is not None and not isinstance(self.publisher_tc, PublisherTC):
            raise InvalidTCModel(field="publisherTC", reason="must be a PublisherTC")
        restrictions = self.publisher_restrictions
        if not isinstance(restrictions, tuple) or not all(
            isinstance(r, PublisherRestriction) for r in restrictions
        ):
            raise InvalidTCModel(
                field="publisherRestrictions", reason="must be a tuple of PublisherRestriction"
            )
        if len(restrictions) >= 1 << 12:
            raise InvalidTCModel(field="publisherRestrictions", reason="at most 4095 entries")
        ordered = tuple(sorted(restrictions, key=_restriction_order))
        if ordered != restrictions:
            object.__setattr__(self, "publisher_restrictions", ordered)


def _restriction_order(
    restriction: PublisherRestriction,
) -> tuple[int, int, tuple[tuple[int, int], ...]]:
    return (restriction.purpose_id, restriction.restriction_type, restriction.vendor_ranges)
