"""Hypothesis strategies for TC models, bit-level helpers to edit TC strings, and the
robustness check shared by the fuzz tests.

Models drawn here are exactly the valid ones: the TCF 2.2 rules (no legitimate interest for
purposes 3 to 6 from policy version 4, lastUpdated not before created, one entry per
restriction purpose and type) are respected by construction, so every draw must encode.
"""

from __future__ import annotations

from datetime import datetime

from hypothesis import strategies as st

from confiance.consent.tcf import (
    InvalidTCString,
    PublisherRestriction,
    PublisherTC,
    RestrictionType,
    TCModel,
    decode,
    encode,
)
from confiance.consent.tcf.model import MAX_DECISECONDS, from_deciseconds

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
LI_FORBIDDEN = frozenset({3, 4, 5, 6})

# Bit offsets in the core segment, from the TCF v2 layout.
POLICY_VERSION_BIT = 132
PURPOSES_LI_BIT = 176
VENDOR_CONSENTS_BIT = 213  # MaxVendorId (16 bits), then IsRangeEncoding


def to_bits(segment: str) -> str:
    return "".join(format(ALPHABET.index(c), "06b") for c in segment)


def from_bits(bits: str) -> str:
    bits += "0" * (-len(bits) % 6)
    return "".join(ALPHABET[int(bits[i : i + 6], 2)] for i in range(0, len(bits), 6))


def with_bits(tc_string: str, offset: int, value: int, width: int) -> str:
    """``tc_string`` with ``width`` bits of its core segment at ``offset`` set to ``value``."""
    core, *rest = tc_string.split(".")
    bits = to_bits(core)
    bits = bits[:offset] + format(value, f"0{width}b") + bits[offset + width :]
    return ".".join([from_bits(bits), *rest])


def read_bits(tc_string: str, offset: int, width: int, *, segment: int = 0) -> int:
    return int(to_bits(tc_string.split(".")[segment])[offset : offset + width], 2)


times = st.integers(0, MAX_DECISECONDS).map(from_deciseconds)
letters = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2)


def ids(highest: int, *, max_size: int = 24) -> st.SearchStrategy[frozenset[int]]:
    return st.frozensets(st.integers(1, highest), max_size=max_size)


# Sparse ids spread over the whole 16-bit space: few long gaps, so ranges are shorter.
sparse_vendors = st.frozensets(st.integers(1, 65_535), min_size=1, max_size=12).filter(
    lambda s: max(s) > 40 * len(s)
)
# Runs of consecutive ids: ranges again, but with multi-id entries (IsARange = 1).
runs_of_vendors = st.lists(
    st.tuples(st.integers(1, 60_000), st.integers(0, 400)), min_size=1, max_size=6
).map(lambda runs: frozenset(i for start, length in runs for i in range(start, start + length + 1)))
# Many small ids: a bit field is shorter.
dense_vendors = st.frozensets(st.integers(1, 300), min_size=40, max_size=200)
vendor_sets = st.one_of(st.just(frozenset[int]()), sparse_vendors, runs_of_vendors, dense_vendors)


@st.composite
def restrictions(draw: st.DrawFn, *, policy_version: int) -> tuple[PublisherRestriction, ...]:
    allowed = [
        (purpose, kind)
        for purpose in range(1, 25)
        for kind in (0, 1, 2)
        if not (policy_version >= 4 and kind == 2 and purpose in LI_FORBIDDEN)
    ]
    pairs = draw(st.lists(st.sampled_from(allowed), max_size=4, unique=True))
    return tuple(
        PublisherRestriction.of(purpose, RestrictionType(kind), draw(vendor_sets))
        for purpose, kind in pairs
    )


@st.composite
def publisher_tcs(draw: st.DrawFn, *, policy_version: int) -> PublisherTC:
    count = draw(st.integers(0, 63))
    li = draw(ids(24))
    if policy_version >= 4:
        li -= LI_FORBIDDEN
    return PublisherTC(
        pub_purposes_consent=draw(ids(24)),
        pub_purposes_li_transparency=li,
        num_custom_purposes=count,
        custom_purposes_consent=draw(ids(count)) if count else frozenset(),
        custom_purposes_li_transparency=draw(ids(count)) if count else frozenset(),
    )


@st.composite
def models(draw: st.DrawFn, *, vendors: st.SearchStrategy[frozenset[int]] = vendor_sets) -> TCModel:
    first, second = sorted(draw(st.lists(times, min_size=2, max_size=2)))
    policy_version = draw(st.integers(0, 63))
    li = draw(ids(24))
    if policy_version >= 4:
        li -= LI_FORBIDDEN
    return TCModel(
        created=first,
        last_updated=second,
        cmp_id=draw(st.integers(0, 4095)),
        cmp_version=draw(st.integers(0, 4095)),
        consent_screen=draw(st.integers(0, 63)),
        consent_language=draw(letters),
        vendor_list_version=draw(st.integers(0, 4095)),
        policy_version=policy_version,
        publisher_cc=draw(letters),
        is_service_specific=draw(st.booleans()),
        use_non_standard_texts=draw(st.booleans()),
        purpose_one_treatment=draw(st.booleans()),
        special_feature_optins=draw(ids(12)),
        purposes_consent=draw(ids(24)),
        purposes_li_transparency=li,
        vendor_consents=draw(vendors),
        vendor_legitimate_interests=draw(vendors),
        publisher_restrictions=draw(restrictions(policy_version=policy_version)),
        disclosed_vendors=draw(st.none() | vendors),
        allowed_vendors=draw(st.none() | vendors),
        publisher_tc=draw(st.none() | publisher_tcs(policy_version=policy_version)),
    )


def minimal(**changes: object) -> TCModel:
    """A small valid TCF 2.2 model, with ``changes`` applied."""
    fields: dict[str, object] = {
        "created": datetime.fromisoformat("2024-05-06T07:08:09.100+00:00"),
        "last_updated": datetime.fromisoformat("2024-05-06T07:09:00+00:00"),
        "cmp_id": 300,
        "cmp_version": 7,
        "consent_screen": 1,
        "consent_language": "FR",
        "vendor_list_version": 120,
        "policy_version": 4,
        "publisher_cc": "FR",
    }
    fields.update(changes)
    return TCModel(**fields)  # type: ignore[arg-type]


def decodes_or_rejects(tc_string: str) -> None:
    """Decoding either fails with InvalidTCString or gives a model that round-trips."""
    try:
        model = decode(tc_string)
    except InvalidTCString as error:
        assert error.reason
        assert error.position is None or 0 <= error.position <= len(tc_string)
    else:
        assert decode(encode(model)) == model
