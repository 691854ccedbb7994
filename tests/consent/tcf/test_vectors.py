"""Published TC strings decode to the values other decoders' test suites assert.

``vectors.json`` carries strings from the IAB's own libraries (iabtcf-java, iabtcf-es) with
only the values their tests assert; ``seeds-v2/`` carries four strings with a full decode by
gguridi/iab-tcf. Both live in the shared reference data, beside the repository; without it
these tests are skipped, with the path they looked for.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from confiance.consent.tcf import InvalidTCString, decode, encode, to_json
from tests.consent.tcf.support import decodes_or_rejects

TCF_DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "tcf"
MISSING = f"TCF reference data not found at {TCF_DATA}"


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _vectors(kind: str) -> list[Any]:
    path = TCF_DATA / "vectors.json"
    if not path.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason=MISSING))]
    return [
        pytest.param(case, id=f"{case['source']['test']}-{i}")
        for i, case in enumerate(_load(path)[kind])
    ]


def _seed_files() -> list[Path]:
    return sorted((TCF_DATA / "seeds-v2").glob("*.json"))


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@pytest.mark.parametrize("case", _vectors("tcf_v2_valid"))
def test_valid_vectors_decode_to_the_asserted_values(case: dict[str, Any]) -> None:
    model = decode(case["tc_string"])
    view = to_json(model)
    assert case["expected"], "a vector without expectations tests nothing"
    for key, expected in case["expected"].items():
        if key.endswith("_containsAll"):
            name = key.removesuffix("_containsAll")
            assert set(expected) <= set(view[name]), name
        elif key in ("created", "lastUpdated"):
            assert _instant(view[key]) == _instant(expected), key
        else:
            assert key in view, f"unknown key {key} in the vector"
            assert view[key] == expected, key
    assert decode(encode(model)) == model


@pytest.mark.parametrize("case", _vectors("tcf_v2_invalid"))
def test_invalid_vectors_are_rejected(case: dict[str, Any]) -> None:
    with pytest.raises(InvalidTCString) as caught:
        decode(case["tc_string"])
    assert caught.value.position is not None
    with pytest.raises(InvalidTCString):
        decode(case["tc_string"], strict=False)


# -- seeds-v2: a full decode in another library's vocabulary ---------------------------------

# Seed name -> our JSON name, for values that compare as they are.
SAME = {
    "version": "version",
    "cmpId": "cmpId",
    "cmpVersion": "cmpVersion",
    "consentScreen": "consentScreen",
    "consentLanguage": "consentLanguage",
    "vendorListVersion": "vendorListVersion",
    "policyVersion": "tcfPolicyVersion",
    "isServiceSpecified": "isServiceSpecific",
    "useNonStandardStacks": "useNonStandardStacks",
    "purposeOneTreatment": "purposeOneTreatment",
    "publisherCountryCode": "publisherCC",
}
# Seed name -> our JSON name, for {"id": true} maps that are our sorted id lists.
ID_MAPS = {
    "specialFeatureOptins": "specialFeatureOptIns",
    "purposeConsents": "purposesConsent",
    "purposeLegitimateInterests": "purposesLITransparency",
    "vendorConsents": "vendorConsents",
    "vendorLegitimateInterests": "vendorLegitimateInterests",
}
PUBLISHER_TC = {
    "purposeConsents": "pubPurposesConsent",
    "purposeLegitimateInterests": "pubPurposesLITransparency",
    "customPurposeConsents": "customPurposesConsent",
    "customPurposeLegitimateInterests": "customPurposesLITransparency",
}
# The sections' MaxVendorId headers are length prefixes that the model does not keep (see
# confiance.consent.tcf.model); they are checked only for consistency with the seed's sets.
MAX_IDS = {
    "maxVendorId": "vendorConsents",
    "maxVendorLegitimateInterestsId": "vendorLegitimateInterests",
}


def _ids(flags: dict[str, bool]) -> list[int]:
    return sorted(int(k) for k, v in flags.items() if v)


def _seed_is_self_consistent(seed: dict[str, Any]) -> bool:
    """False when the seed's own decode lists impossible vendors (id 0, or an id above the
    section's MaxVendorId): the mark of a reader that ran past the end of its data."""
    core = seed["core"]
    for max_key, ids_key in MAX_IDS.items():
        ids = _ids(core[ids_key])
        if ids and (ids[0] < 1 or ids[-1] > core[max_key]):
            return False
    return True


def _restrictions_as_seed(view: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    by_vendor: dict[str, list[dict[str, Any]]] = {}
    for entry in view["publisherRestrictions"]:
        kind = entry["restrictionType"]
        for vendor in entry["vendorIds"]:
            by_vendor.setdefault(str(vendor), []).append(
                {
                    "purpose": entry["purposeId"],
                    "isAllowed": kind != 0,
                    "isConsentRequired": kind == 1,
                    "isLegitimateInterestRequired": kind == 2,
                }
            )
    return by_vendor


def _key(entry: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted(entry.items()))


def _seeds(*, consistent: bool) -> list[Any]:
    files = _seed_files()
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=MISSING))]
    return [
        pytest.param(seed, id=path.stem)
        for path in files
        if _seed_is_self_consistent(seed := _load(path)) == consistent
    ]


@pytest.mark.parametrize("seed", _seeds(consistent=True))
def test_seeds_decode_to_their_full_expected_values(seed: dict[str, Any]) -> None:
    model = decode(seed["consent"])
    view = to_json(model)
    core = seed["core"]
    compared: set[str] = set()
    for name, ours in SAME.items():
        assert view[ours] == core[name], name
        compared.add(name)
    for name, ours in ID_MAPS.items():
        assert view[ours] == _ids(core[name]), name
        compared.add(name)
    for name in ("created", "lastUpdated"):
        # The seeds truncate to whole seconds; the strings carry deciseconds.
        decoded = datetime.fromisoformat(view[name]).replace(microsecond=0)
        assert decoded == _instant(core[name]), name
        compared.add(name)
    for name, ids_key in MAX_IDS.items():
        assert max(_ids(core[ids_key]), default=0) <= core[name]
        compared.add(name)
    expected_restrictions = {
        vendor: sorted(entries, key=_key)
        for vendor, entries in core["publisherRestrictions"].items()
    }
    actual = {v: sorted(e, key=_key) for v, e in _restrictions_as_seed(view).items()}
    assert actual == expected_restrictions
    compared.add("publisherRestrictions")
    assert compared == set(core), f"seed keys not compared: {set(core) - compared}"

    assert view["disclosedVendors"] == (
        _ids(seed["disclosedVendors"]) if "disclosedVendors" in seed else None
    )
    if "publisherTC" in seed:
        segment, ours_tc = seed["publisherTC"], view["publisherTC"]
        assert ours_tc is not None
        assert segment["undefined"] == 3  # the seed's name for the segment type field
        assert ours_tc["numCustomPurposes"] == segment["numCustomPurposes"]
        for name, ours in PUBLISHER_TC.items():
            assert ours_tc[ours] == _ids(segment[name]), name
    else:
        assert view["publisherTC"] is None
    assert set(seed) <= {"consent", "core", "disclosedVendors", "publisherTC"}
    assert decode(encode(model)) == model


@pytest.mark.parametrize("seed", _seeds(consistent=False))
def test_seeds_with_impossible_expectations_are_rejected(seed: dict[str, Any]) -> None:
    """consent_d's expected vendorLegitimateInterests hold vendor 0 and ids above the
    section's own MaxVendorId (57378): its range entries run past the end of the segment,
    which the reader that produced the seed did not notice. Ours must refuse the string."""
    core = seed["core"]
    with pytest.raises(InvalidTCString) as caught:
        decode(seed["consent"], strict=False)
    assert "vendorLegitimateInterests" in caught.value.reason
    # Everything up to the end of the vendor consent section was read without complaint: the
    # fault lies after it (213 header bits, then 17 + MaxVendorId bits of bit field).
    consents_end = 213 + 17 + core["maxVendorId"]
    assert caught.value.position is not None
    assert caught.value.position >= consents_end // 6


def test_policy_version_2_seeds_keep_legitimate_interest_for_purposes_3_to_6() -> None:
    seeds = [_load(path) for path in _seed_files()]
    if not seeds:
        pytest.skip(MISSING)
    with_li = [
        decode(s["consent"])
        for s in seeds
        if _seed_is_self_consistent(s)
        and {3, 4, 5, 6} <= set(_ids(s["core"]["purposeLegitimateInterests"]))
    ]
    assert with_li, "expected a seed with legitimate interest for purposes 3 to 6"
    assert all(m.policy_version == 2 for m in with_li)
    assert all({3, 4, 5, 6} <= m.purposes_li_transparency for m in with_li)


def _published_strings() -> list[str]:
    strings = []
    if (TCF_DATA / "vectors.json").is_file():
        strings += [c["tc_string"] for c in _load(TCF_DATA / "vectors.json")["tcf_v2_valid"]]
    strings += [seed["consent"] for seed in map(_load, _seed_files())]
    return strings


PUBLISHED = _published_strings()


@pytest.mark.skipif(not PUBLISHED, reason=MISSING)
@given(
    st.sampled_from(PUBLISHED or [""]), st.lists(st.integers(min_value=0), min_size=1, max_size=4)
)
def test_bit_flips_of_published_strings_decode_or_are_rejected(
    tc_string: str, flips: list[int]
) -> None:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    chars = list(tc_string)
    positions = [i for i, c in enumerate(chars) if c != "."]
    for flip in flips:
        index = positions[flip % len(positions)]
        value = alphabet.index(chars[index]) ^ (1 << (flip // len(positions) % 6))
        chars[index] = alphabet[value]
    decodes_or_rejects("".join(chars))
