"""Encoding and decoding: round trips, both vendor encodings, and every rejection reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from confiance.consent.tcf import (
    InvalidTCModel,
    InvalidTCString,
    PublisherRestriction,
    PublisherTC,
    RestrictionType,
    TCModel,
    decode,
    encode,
)
from confiance.consent.tcf.model import deciseconds
from tests.consent.tcf.support import (
    ALPHABET,
    POLICY_VERSION_BIT,
    PURPOSES_LI_BIT,
    VENDOR_CONSENTS_BIT,
    decodes_or_rejects,
    from_bits,
    minimal,
    models,
    read_bits,
    sparse_vendors,
    to_bits,
    with_bits,
)

IS_RANGE_BIT = VENDOR_CONSENTS_BIT + 16
# No two ids adjacent and at least 20 of them below 301: a bit field (<= 300 bits) is always
# shorter than 20 single-id range entries (12 + 20 * 17 bits).
bitfield_vendors = st.frozensets(st.integers(1, 150).map(lambda i: 2 * i), min_size=20)


@given(models())
def test_decode_inverts_encode(model: TCModel) -> None:
    assert decode(encode(model)) == model


@given(models(vendors=sparse_vendors))
def test_sparse_vendors_are_range_encoded_and_round_trip(model: TCModel) -> None:
    tc_string = encode(model)
    assert read_bits(tc_string, IS_RANGE_BIT, 1) == 1
    assert decode(tc_string) == model


@given(models(vendors=bitfield_vendors))
def test_dense_vendors_are_bitfield_encoded_and_round_trip(model: TCModel) -> None:
    tc_string = encode(model)
    assert read_bits(tc_string, IS_RANGE_BIT, 1) == 0
    assert read_bits(tc_string, VENDOR_CONSENTS_BIT, 16) == max(model.vendor_consents)
    assert decode(tc_string) == model


@given(models())
def test_encoding_is_base64url_without_padding_in_whole_bytes(model: TCModel) -> None:
    tc_string = encode(model)
    assert set(tc_string) <= set(ALPHABET) | {"."}
    # Each segment is a multiple of 24 bits: whole characters and whole bytes.
    assert all(len(segment) % 4 == 0 for segment in tc_string.split("."))


def test_segments_carry_their_type_and_come_in_a_stable_order() -> None:
    model = minimal(
        disclosed_vendors=frozenset({1, 2}),
        allowed_vendors=frozenset(),
        publisher_tc=PublisherTC(pub_purposes_consent=frozenset({1})),
    )
    segments = encode(model).split(".")
    assert [read_bits(".".join(segments), 0, 3, segment=i) for i in (1, 2, 3)] == [1, 2, 3]
    assert read_bits(segments[0], 0, 6) == 2  # the core segment starts with the version


def test_an_absent_segment_differs_from_an_empty_one() -> None:
    absent, empty = minimal(), minimal(disclosed_vendors=frozenset())
    assert decode(encode(absent)).disclosed_vendors is None
    assert decode(encode(empty)).disclosed_vendors == frozenset()
    assert encode(absent) != encode(empty)


def test_deciseconds_survive_and_restrictions_are_kept_in_canonical_order() -> None:
    model = minimal(
        publisher_restrictions=(
            PublisherRestriction.of(7, RestrictionType.REQUIRE_CONSENT, [5, 6, 7, 9]),
            PublisherRestriction.of(2, RestrictionType.NOT_ALLOWED, [40]),
        )
    )
    decoded = decode(encode(model))
    assert decoded.created.microsecond == 100_000
    assert [r.purpose_id for r in decoded.publisher_restrictions] == [2, 7]
    assert decoded.publisher_restrictions[1].vendor_ranges == ((5, 7), (9, 9))
    assert decoded.publisher_restrictions[1].vendor_ids == frozenset({5, 6, 7, 9})
    assert decoded.publisher_restrictions[1].covers(6)
    assert not decoded.publisher_restrictions[1].covers(8)


# -- what decode must reject, and why ------------------------------------------------------


def reason_of(tc_string: str, *, strict: bool = True) -> InvalidTCString:
    with pytest.raises(InvalidTCString) as caught:
        decode(tc_string, strict=strict)
    return caught.value


VALID = encode(minimal(vendor_consents=frozenset({3, 70})))


@pytest.mark.parametrize(
    ("tc_string", "reason", "position"),
    [
        ("", "core segment is missing", 0),
        (VALID[:10] + "+" + VALID[11:], "'+' is not base64url", 10),
        (VALID[:10] + "=", "'=' is not base64url", 10),
        (VALID + ".", "empty segment", len(VALID) + 1),
        (VALID[:20], "truncated", None),
        ("BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA", "version 1 is not supported", 0),
        ("D" + VALID[1:], "version 3 is not supported", 0),
        ("IAAAAAAA", "the core segment is missing: the string starts with a DisclosedVendors", 0),
        (VALID + ".AAAA", "a second core segment", len(VALID) + 1),
        (VALID + ".gAAA", "unknown segment type 4", len(VALID) + 1),
        (VALID + ".IAAA.IAAA", "two DisclosedVendors segments", len(VALID) + 6),
    ],
)
def test_unreadable_strings_are_rejected_with_reason_and_position(
    tc_string: str, reason: str, position: int | None
) -> None:
    error = reason_of(tc_string)
    assert reason in error.reason
    if position is not None:
        assert error.position == position
    assert error.code == "invalid-tc-string"
    assert error.status == 422
    assert error.to_problem()["reason"] == error.reason
    # The string itself is never echoed back: it is a per-browser identifier.
    if len(tc_string) > 8:
        assert tc_string not in str(error)


def vendor_range_section(entries: list[tuple[int, int]], max_id: int) -> str:
    """A DisclosedVendors segment, range-encoded, with entries written as given."""
    bits = "001" + format(max_id, "016b") + "1" + format(len(entries), "012b")
    for start, end in entries:
        bits += (
            ("1" + format(start, "016b") + format(end, "016b"))
            if start != end
            else ("0" + format(start, "016b"))
        )
    return from_bits(bits)


@pytest.mark.parametrize(
    ("entries", "max_id", "reason"),
    [
        ([(5, 9), (7, 12)], 20, "out of order or overlapping"),
        ([(10, 12), (3, 3)], 20, "out of order or overlapping"),
        ([(4, 4), (4, 4)], 20, "out of order or overlapping"),
        ([(9, 3)], 20, "ends before it starts"),
        ([(0, 0)], 20, "vendor id 0 does not exist"),
        ([(5, 30)], 20, "vendor id 30 is beyond maxVendorId 20"),
        ([(21, 21)], 20, "vendor id 21 is beyond maxVendorId 20"),
    ],
)
def test_bad_range_entries_are_rejected(
    entries: list[tuple[int, int]], max_id: int, reason: str
) -> None:
    error = reason_of(f"{VALID}.{vendor_range_section(entries, max_id)}")
    assert reason in error.reason
    assert error.position is not None and error.position > len(VALID)


def test_well_ordered_ranges_decode() -> None:
    tc_string = f"{VALID}.{vendor_range_section([(1, 3), (4, 4), (10, 20)], 20)}"
    assert decode(tc_string).disclosed_vendors == frozenset({1, 2, 3, 4, *range(10, 21)})


def test_letters_beyond_z_are_rejected() -> None:
    error = reason_of(with_bits(VALID, 108, 26, 6))  # consentLanguage, first letter
    assert "consentLanguage is not two letters" in error.reason
    assert error.position == 108 // 6


def test_last_updated_before_created_is_rejected_unless_lenient() -> None:
    model = minimal()
    earlier = model.created - timedelta(seconds=1)
    # Write the string by hand: the encoder itself refuses such a model.
    bad = with_bits(encode(model), 42, deciseconds(earlier), 36)
    error = reason_of(bad)
    assert error.reason == "lastUpdated is before created"
    assert error.position == 42 // 6
    assert decode(bad, strict=False).last_updated == earlier
    with pytest.raises(InvalidTCModel, match="lastUpdated is before created"):
        encode(replace(model, last_updated=earlier))


@pytest.mark.parametrize("purpose", [3, 4, 5, 6])
@pytest.mark.parametrize("policy_version", [4, 5, 63])
def test_tcf_22_rejects_legitimate_interest_for_purposes_3_to_6(
    purpose: int, policy_version: int
) -> None:
    tc_string = with_bits(VALID, POLICY_VERSION_BIT, policy_version, 6)
    assert decode(tc_string).policy_version == policy_version
    bad = with_bits(tc_string, PURPOSES_LI_BIT + purpose - 1, 1, 1)
    error = reason_of(bad)
    assert f"legitimate interest is not allowed for purpose {purpose}" in error.reason
    assert f"policy version {policy_version}" in error.reason
    assert error.position == (PURPOSES_LI_BIT + purpose - 1) // 6
    assert purpose in decode(bad, strict=False).purposes_li_transparency


@pytest.mark.parametrize("purpose", [3, 4, 5, 6])
def test_older_policies_keep_legitimate_interest_for_purposes_3_to_6(purpose: int) -> None:
    tc_string = with_bits(VALID, POLICY_VERSION_BIT, 2, 6)
    tc_string = with_bits(tc_string, PURPOSES_LI_BIT + purpose - 1, 1, 1)
    assert decode(tc_string).purposes_li_transparency == frozenset({purpose})


@pytest.mark.parametrize("purpose", [2, 7, 8, 9, 10, 11])
def test_tcf_22_keeps_legitimate_interest_for_other_purposes(purpose: int) -> None:
    model = minimal(purposes_li_transparency=frozenset({purpose}))
    assert decode(encode(model)) == model


def test_tcf_22_rule_covers_the_publisher_segment_and_restrictions() -> None:
    with pytest.raises(InvalidTCModel, match="purpose 4") as caught:
        encode(minimal(publisher_tc=PublisherTC(pub_purposes_li_transparency=frozenset({4}))))
    assert caught.value.field == "pubPurposesLITransparency"
    lenient = minimal(
        policy_version=2, publisher_tc=PublisherTC(pub_purposes_li_transparency=frozenset({4}))
    )
    bad = with_bits(encode(lenient), POLICY_VERSION_BIT, 4, 6)
    error = reason_of(bad)
    assert "purpose 4" in error.reason
    assert error.position is not None and error.position > len(bad.split(".")[0])

    restriction = PublisherRestriction.of(5, RestrictionType.REQUIRE_LEGITIMATE_INTEREST, [8])
    with pytest.raises(InvalidTCModel, match="requires legitimate interest"):
        encode(minimal(publisher_restrictions=(restriction,)))
    assert decode(encode(minimal(policy_version=2, publisher_restrictions=(restriction,))))


@pytest.mark.parametrize(
    ("restrictions", "reason"),
    [
        (
            [PublisherRestriction.of(2, RestrictionType.UNDEFINED, [1])],
            "restriction type 3 is reserved",
        ),
        ([PublisherRestriction.of(0, RestrictionType.NOT_ALLOWED, [1])], "purpose ids are 1 to 24"),
        (
            [PublisherRestriction.of(25, RestrictionType.NOT_ALLOWED, [1])],
            "purpose ids are 1 to 24",
        ),
        (
            [
                PublisherRestriction.of(2, RestrictionType.NOT_ALLOWED, [1]),
                PublisherRestriction.of(2, RestrictionType.NOT_ALLOWED, [9]),
            ],
            "restriction type 0 appears in two entries",
        ),
    ],
)
def test_bad_publisher_restrictions_are_rejected_both_ways(
    restrictions: list[PublisherRestriction], reason: str
) -> None:
    model = minimal(publisher_restrictions=tuple(restrictions))
    with pytest.raises(InvalidTCModel, match=reason):
        encode(model)
    # The same content written bit by bit (type and purpose patched into a valid entry).
    first = restrictions[0]
    valid = replace(
        model,
        publisher_restrictions=tuple(
            PublisherRestriction.of(10 + i, RestrictionType.NOT_ALLOWED, r.vendor_ids)
            for i, r in enumerate(restrictions)
        ),
    )
    tc_string = encode(valid)
    entry_bit = VENDOR_CONSENTS_BIT + 2 * (16 + 1) + 12  # two empty vendor sections, count
    patched = with_bits(tc_string, entry_bit, first.purpose_id, 6)
    patched = with_bits(patched, entry_bit + 6, first.restriction_type, 2)
    if len(restrictions) == 2:
        second_bit = entry_bit + 6 + 2 + 12 + 17
        patched = with_bits(patched, second_bit, restrictions[1].purpose_id, 6)
    error = reason_of(patched)
    assert reason in error.reason
    assert error.position == (entry_bit - 12) // 6  # the NumPubRestrictions field
    assert decode(patched, strict=False).publisher_restrictions


@pytest.mark.parametrize("extra", ["0" * 24, "1" * 6, "101"])
def test_bits_after_the_last_field_are_ignored_like_the_iab_libraries_do(extra: str) -> None:
    assert decode(from_bits(to_bits(VALID) + extra)) == decode(VALID)


# -- robustness: only InvalidTCString, whatever the input ------------------------------------


@given(st.text(max_size=80))
def test_any_text_decodes_or_is_rejected(text: str) -> None:
    decodes_or_rejects(text)


@given(st.text(alphabet=ALPHABET + ".", max_size=400))
def test_any_base64url_text_decodes_or_is_rejected(text: str) -> None:
    # A leading "C" is version 2, so most of these reach the deeper fields.
    decodes_or_rejects("C" + text)


@given(models(), st.lists(st.integers(min_value=0), min_size=1, max_size=4))
def test_bit_flips_of_valid_strings_decode_or_are_rejected(
    model: TCModel, flips: list[int]
) -> None:
    segments = encode(model).split(".")
    bits = [list(to_bits(s)) for s in segments]
    total = sum(len(b) for b in bits)
    for flip in flips:
        index = flip % total
        for segment in bits:
            if index < len(segment):
                segment[index] = "1" if segment[index] == "0" else "0"
                break
            index -= len(segment)
    decodes_or_rejects(".".join(from_bits("".join(b)) for b in bits))


def test_models_refuse_what_the_format_cannot_hold() -> None:
    with pytest.raises(InvalidTCModel, match="cmpId"):
        minimal(cmp_id=4096)
    with pytest.raises(InvalidTCModel, match="consentLanguage"):
        minimal(consent_language="fr")
    with pytest.raises(InvalidTCModel, match="whole number of deciseconds"):
        minimal(created=minimal().created + timedelta(milliseconds=50))
    with pytest.raises(InvalidTCModel, match="timezone-aware"):
        minimal(created=minimal().created.replace(tzinfo=None))
    with pytest.raises(InvalidTCModel, match="vendorConsents"):
        minimal(vendor_consents=frozenset({0}))
    with pytest.raises(InvalidTCModel, match="purposesConsent"):
        minimal(purposes_consent=frozenset({25}))
    with pytest.raises(InvalidTCModel, match="customPurposesConsent"):
        PublisherTC(num_custom_purposes=2, custom_purposes_consent=frozenset({3}))
    with pytest.raises(InvalidTCModel, match="version"):
        minimal(version=1)
