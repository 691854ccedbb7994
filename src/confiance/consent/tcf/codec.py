"""Read and write IAB TCF v2 TC strings (the layout of TCF 2.0 to 2.2).

A TC string is one or more segments joined by ``.``, each the base64url text (no padding) of a
bit string. The first segment is the core one and starts with the 6-bit version; every other
segment starts with a 3-bit type: 1 DisclosedVendors, 2 AllowedVendors, 3 PublisherTC.

Decoding refuses anything it cannot read without guessing, with one error class,
:class:`~confiance.consent.tcf.errors.InvalidTCString`, whose ``reason`` says what is wrong and
``position`` gives the character where it was found. Bits left after the last field of a
segment are padding and are ignored, as in the IAB libraries.

Encoding writes each vendor section in whichever of the two encodings (bit field, or ranges of
ids) is shorter, as the IAB libraries do, and pads each segment to a multiple of 24 bits so
that it is whole base64 characters *and* whole bytes: any base64url decoder reads it.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import NoReturn

from confiance.consent.tcf.errors import InvalidTCModel, InvalidTCString
from confiance.consent.tcf.model import (
    MAX_VENDOR_ID,
    PublisherRestriction,
    PublisherTC,
    RestrictionType,
    TCModel,
    deciseconds,
    from_deciseconds,
    ranges_of,
)
from confiance.consent.tcf.validate import violations

__all__ = ["SEGMENT_NAMES", "decode", "encode"]

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_TO_BITS = str.maketrans({c: format(i, "06b") for i, c in enumerate(_ALPHABET)})
_NOT_BASE64URL = re.compile(r"[^A-Za-z0-9_\-.]")

CORE, DISCLOSED_VENDORS, ALLOWED_VENDORS, PUBLISHER_TC = 0, 1, 2, 3
SEGMENT_NAMES = {
    CORE: "core",
    DISCLOSED_VENDORS: "DisclosedVendors",
    ALLOWED_VENDORS: "AllowedVendors",
    PUBLISHER_TC: "PublisherTC",
}


# -- decoding --------------------------------------------------------------------------------


class _Reader:
    """A cursor over one segment's bits; every failure names the character it happened at."""

    __slots__ = ("bits", "pos", "start")

    def __init__(self, text: str, start: int) -> None:
        self.bits = text.translate(_TO_BITS)
        self.pos = 0
        self.start = start  # index of the segment's first character in the whole string

    def position(self, bit: int | None = None) -> int:
        return self.start + (self.pos if bit is None else bit) // 6

    def fail(self, reason: str, *, bit: int | None = None) -> NoReturn:
        raise InvalidTCString(reason=reason, position=self.position(bit))

    def uint(self, width: int, what: str) -> int:
        end = self.pos + width
        if end > len(self.bits):
            left = len(self.bits) - self.pos
            self.fail(f"truncated: {what} needs {width} bits, only {left} left in the segment")
        value = int(self.bits[self.pos : end], 2) if width else 0
        self.pos = end
        return value

    def flag(self, what: str) -> bool:
        return self.uint(1, what) == 1

    def bitfield(self, width: int, what: str) -> frozenset[int]:
        at = self.pos
        self.uint(width, what)  # bounds check and advance
        chunk = self.bits[at : at + width]
        return frozenset(i for i, bit in enumerate(chunk, start=1) if bit == "1")

    def letters(self, what: str) -> str:
        at = self.pos
        codes = (self.uint(6, what), self.uint(6, what))
        if max(codes) > 25:
            self.fail(f"{what} is not two letters A to Z", bit=at)
        return "".join(chr(ord("A") + code) for code in codes)

    def time(self, what: str) -> datetime:
        return from_deciseconds(self.uint(36, what))

    def ranges(self, count: int, what: str, *, max_id: int) -> list[tuple[int, int]]:
        """``count`` range entries, each strictly after the previous one."""
        ranges: list[tuple[int, int]] = []
        for _ in range(count):
            at = self.pos
            is_range = self.flag(f"{what} IsARange")
            start = self.uint(16, f"{what} range start")
            end = self.uint(16, f"{what} range end") if is_range else start
            if start == 0:
                self.fail(f"{what}: vendor id 0 does not exist (ids start at 1)", bit=at)
            if end < start:
                self.fail(f"{what}: range {start}-{end} ends before it starts", bit=at)
            if ranges and start <= ranges[-1][1]:
                previous = ranges[-1][1]
                self.fail(
                    f"{what}: range entries out of order or overlapping "
                    f"({start} comes after {previous})",
                    bit=at,
                )
            if end > max_id:
                self.fail(f"{what}: vendor id {end} is beyond maxVendorId {max_id}", bit=at)
            ranges.append((start, end))
        return ranges

    def vendors(self, what: str) -> frozenset[int]:
        """A vendor section: ``MaxVendorId``, ``IsRangeEncoding``, then bits or ranges."""
        max_id = self.uint(16, f"{what} maxVendorId")
        if not self.flag(f"{what} IsRangeEncoding"):
            return self.bitfield(max_id, f"{what} bit field of {max_id} vendors")
        count = self.uint(12, f"{what} NumEntries")
        ids: set[int] = set()
        for start, end in self.ranges(count, what, max_id=max_id):
            ids.update(range(start, end + 1))
        return frozenset(ids)


def decode(tc_string: str, *, strict: bool = True) -> TCModel:
    """Decode a TC string; raise :class:`InvalidTCString` if it cannot be read.

    With ``strict`` (the default) a string that breaks a TCF rule (see
    :mod:`confiance.consent.tcf.validate`) is refused too. ``strict=False`` is for showing
    such a string to a person; never base a processing decision on it.
    """
    if not isinstance(tc_string, str):
        raise InvalidTCString(reason="a TC string must be text")
    if not tc_string:
        raise InvalidTCString(reason="empty string: the core segment is missing", position=0)
    bad = _NOT_BASE64URL.search(tc_string)
    if bad is not None:
        raise InvalidTCString(
            reason=f"character {bad.group()!r} is not base64url (A-Z, a-z, 0-9, '-', '_')",
            position=bad.start(),
        )
    # JSON field name -> (index of its segment's first character, bit offset in the segment),
    # to turn a broken rule into a character position.
    where: dict[str, tuple[int, int]] = {}
    core: TCModel | None = None
    vendor_segments: dict[int, frozenset[int]] = {}
    publisher_tc: PublisherTC | None = None
    start = 0
    try:
        for text in tc_string.split("."):
            if not text:
                raise InvalidTCString(reason="empty segment", position=start)
            reader = _Reader(text, start)
            if core is None:
                core = _read_core(reader, where)
            else:
                kind = reader.uint(3, "segment type")
                if kind == CORE:
                    reader.fail("a second core segment (only the first segment is the core one)")
                if kind not in SEGMENT_NAMES:
                    reader.fail(f"unknown segment type {kind} (known: 1, 2 and 3)")
                if kind in vendor_segments or (kind == PUBLISHER_TC and publisher_tc is not None):
                    reader.fail(f"two {SEGMENT_NAMES[kind]} segments")
                if kind == PUBLISHER_TC:
                    publisher_tc = _read_publisher_tc(reader, where)
                else:
                    vendor_segments[kind] = reader.vendors(SEGMENT_NAMES[kind])
            start += len(text) + 1
        assert core is not None  # the string is not empty, so it has a first segment
        model = replace(
            core,
            disclosed_vendors=vendor_segments.get(DISCLOSED_VENDORS),
            allowed_vendors=vendor_segments.get(ALLOWED_VENDORS),
            publisher_tc=publisher_tc,
        )
    except InvalidTCModel as exc:  # pragma: no cover - every value read fits the model
        raise InvalidTCString(reason=f"{exc.field}: {exc.reason}") from None
    if strict:
        problems = violations(model)
        if problems:
            first = problems[0]
            segment_start, bit = where.get(first.field, (0, 0))
            raise InvalidTCString(
                reason=first.reason, position=segment_start + (bit + first.offset) // 6
            )
    return model


def _read_core(reader: _Reader, where: dict[str, tuple[int, int]]) -> TCModel:
    version = reader.uint(6, "version")
    if version != 2:
        kind = version >> 3
        if kind in (DISCLOSED_VENDORS, ALLOWED_VENDORS, PUBLISHER_TC):
            reader.fail(
                f"the core segment is missing: the string starts with a "
                f"{SEGMENT_NAMES[kind]} segment",
                bit=0,
            )
        reader.fail(f"version {version} is not supported: only TCF v2 strings are", bit=0)
    created = reader.time("created")
    where["lastUpdated"] = (reader.start, reader.pos)
    last_updated = reader.time("lastUpdated")
    cmp_id = reader.uint(12, "cmpId")
    cmp_version = reader.uint(12, "cmpVersion")
    consent_screen = reader.uint(6, "consentScreen")
    consent_language = reader.letters("consentLanguage")
    vendor_list_version = reader.uint(12, "vendorListVersion")
    policy_version = reader.uint(6, "tcfPolicyVersion")
    is_service_specific = reader.flag("isServiceSpecific")
    use_non_standard_texts = reader.flag("useNonStandardStacks")
    special_feature_optins = reader.bitfield(12, "specialFeatureOptIns")
    purposes_consent = reader.bitfield(24, "purposesConsent")
    where["purposesLITransparency"] = (reader.start, reader.pos)
    purposes_li_transparency = reader.bitfield(24, "purposesLITransparency")
    purpose_one_treatment = reader.flag("purposeOneTreatment")
    publisher_cc = reader.letters("publisherCC")
    vendor_consents = reader.vendors("vendorConsents")
    vendor_legitimate_interests = reader.vendors("vendorLegitimateInterests")
    where["publisherRestrictions"] = (reader.start, reader.pos)
    restrictions = []
    for _ in range(reader.uint(12, "NumPubRestrictions")):
        purpose = reader.uint(6, "publisherRestrictions purposeId")
        kind = RestrictionType(reader.uint(2, "publisherRestrictions restrictionType"))
        entries = reader.uint(12, "publisherRestrictions NumEntries")
        what = f"publisher restriction for purpose {purpose}"
        ranges = reader.ranges(entries, what, max_id=MAX_VENDOR_ID)
        restrictions.append(
            PublisherRestriction(
                purpose_id=purpose, restriction_type=kind, vendor_ranges=tuple(ranges)
            )
        )
    return TCModel(
        created=created,
        last_updated=last_updated,
        cmp_id=cmp_id,
        cmp_version=cmp_version,
        consent_screen=consent_screen,
        consent_language=consent_language,
        vendor_list_version=vendor_list_version,
        policy_version=policy_version,
        is_service_specific=is_service_specific,
        use_non_standard_texts=use_non_standard_texts,
        special_feature_optins=special_feature_optins,
        purposes_consent=purposes_consent,
        purposes_li_transparency=purposes_li_transparency,
        purpose_one_treatment=purpose_one_treatment,
        publisher_cc=publisher_cc,
        vendor_consents=vendor_consents,
        vendor_legitimate_interests=vendor_legitimate_interests,
        publisher_restrictions=tuple(restrictions),
    )


def _read_publisher_tc(reader: _Reader, where: dict[str, tuple[int, int]]) -> PublisherTC:
    consent = reader.bitfield(24, "pubPurposesConsent")
    where["pubPurposesLITransparency"] = (reader.start, reader.pos)
    li = reader.bitfield(24, "pubPurposesLITransparency")
    count = reader.uint(6, "numCustomPurposes")
    return PublisherTC(
        pub_purposes_consent=consent,
        pub_purposes_li_transparency=li,
        num_custom_purposes=count,
        custom_purposes_consent=reader.bitfield(count, "customPurposesConsent"),
        custom_purposes_li_transparency=reader.bitfield(count, "customPurposesLITransparency"),
    )


# -- encoding --------------------------------------------------------------------------------


class _Writer:
    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[str] = []

    def uint(self, value: int, width: int) -> None:
        self.parts.append(format(value, f"0{width}b") if width else "")

    def flag(self, value: bool) -> None:
        self.parts.append("1" if value else "0")

    def bitfield(self, ids: frozenset[int], width: int) -> None:
        bits = bytearray(b"0" * width)
        for i in ids:
            bits[i - 1] = ord("1")
        self.parts.append(bits.decode("ascii"))

    def letters(self, text: str) -> None:
        for char in text:
            self.uint(ord(char) - ord("A"), 6)

    def ranges(self, ranges: list[tuple[int, int]] | tuple[tuple[int, int], ...]) -> None:
        for start, end in ranges:
            self.flag(start != end)
            self.uint(start, 16)
            if start != end:
                self.uint(end, 16)

    def vendors(self, ids: frozenset[int]) -> None:
        max_id = max(ids, default=0)
        ranges = ranges_of(ids)
        range_bits = 12 + sum(17 if start == end else 33 for start, end in ranges)
        self.uint(max_id, 16)
        # Same choice as the IAB encoders: ranges only when strictly shorter than the bits.
        if range_bits < max_id and len(ranges) < 1 << 12:
            self.flag(True)
            self.uint(len(ranges), 12)
            self.ranges(ranges)
        else:
            self.flag(False)
            self.bitfield(ids, max_id)

    def base64url(self) -> str:
        bits = "".join(self.parts)
        bits += "0" * (-len(bits) % 24)
        return "".join(_ALPHABET[int(bits[i : i + 6], 2)] for i in range(0, len(bits), 6))


def encode(model: TCModel) -> str:
    """The TC string of ``model``; raise :class:`InvalidTCModel` if it breaks a TCF rule.

    ``decode(encode(model)) == model`` for every model this accepts.
    """
    problems = violations(model)
    if problems:
        raise InvalidTCModel(field=problems[0].field, reason=problems[0].reason)
    segments = [_core(model)]
    for kind, ids in (
        (DISCLOSED_VENDORS, model.disclosed_vendors),
        (ALLOWED_VENDORS, model.allowed_vendors),
    ):
        if ids is not None:
            writer = _Writer()
            writer.uint(kind, 3)
            writer.vendors(ids)
            segments.append(writer)
    if model.publisher_tc is not None:
        segments.append(_publisher_tc(model.publisher_tc))
    return ".".join(writer.base64url() for writer in segments)


def _core(model: TCModel) -> _Writer:
    w = _Writer()
    w.uint(model.version, 6)
    w.uint(deciseconds(model.created, field_name="created"), 36)
    w.uint(deciseconds(model.last_updated, field_name="lastUpdated"), 36)
    w.uint(model.cmp_id, 12)
    w.uint(model.cmp_version, 12)
    w.uint(model.consent_screen, 6)
    w.letters(model.consent_language)
    w.uint(model.vendor_list_version, 12)
    w.uint(model.policy_version, 6)
    w.flag(model.is_service_specific)
    w.flag(model.use_non_standard_texts)
    w.bitfield(model.special_feature_optins, 12)
    w.bitfield(model.purposes_consent, 24)
    w.bitfield(model.purposes_li_transparency, 24)
    w.flag(model.purpose_one_treatment)
    w.letters(model.publisher_cc)
    w.vendors(model.vendor_consents)
    w.vendors(model.vendor_legitimate_interests)
    w.uint(len(model.publisher_restrictions), 12)
    for restriction in model.publisher_restrictions:
        if len(restriction.vendor_ranges) >= 1 << 12:
            raise InvalidTCModel(
                field="publisherRestrictions",
                reason=f"the restriction for purpose {restriction.purpose_id} needs "
                f"{len(restriction.vendor_ranges)} ranges of vendors; at most 4095 fit",
            )
        w.uint(restriction.purpose_id, 6)
        w.uint(restriction.restriction_type, 2)
        w.uint(len(restriction.vendor_ranges), 12)
        w.ranges(restriction.vendor_ranges)
    return w


def _publisher_tc(segment: PublisherTC) -> _Writer:
    w = _Writer()
    w.uint(PUBLISHER_TC, 3)
    w.bitfield(segment.pub_purposes_consent, 24)
    w.bitfield(segment.pub_purposes_li_transparency, 24)
    w.uint(segment.num_custom_purposes, 6)
    w.bitfield(segment.custom_purposes_consent, segment.num_custom_purposes)
    w.bitfield(segment.custom_purposes_li_transparency, segment.num_custom_purposes)
    return w
