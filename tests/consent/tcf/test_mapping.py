"""A TC string read as decisions on manifest purposes, through a declared mapping."""

from __future__ import annotations

from typing import Any

import pytest

from confiance.consent.tcf import (
    InvalidTcfMapping,
    TcfDecision,
    TcfMapping,
    decisions,
    load_mapping,
)
from tests.consent.tcf.support import minimal

MAPPING = load_mapping(
    {
        "purposes": {1: "device_storage", 7: "ad_measurement", 9: "ad_measurement", 10: "product"},
        "legitimate_interest": ["product"],
    }
)


def test_a_purpose_is_given_only_when_every_mapped_tcf_purpose_is() -> None:
    model = minimal(purposes_consent=frozenset({1, 7}), purposes_li_transparency=frozenset({10}))
    assert decisions(model, MAPPING) == [
        TcfDecision("ad_measurement", given=False, basis="consent", tcf_purposes=(7, 9)),
        TcfDecision("device_storage", given=True, basis="consent", tcf_purposes=(1,)),
        TcfDecision("product", given=True, basis="legitimate_interest", tcf_purposes=(10,)),
    ]
    everything = minimal(purposes_consent=frozenset(range(1, 12)))
    by_key = {d.purpose_key: d.given for d in decisions(everything, MAPPING)}
    # Consent to purpose 10 is not the legitimate-interest signal the mapping asks for.
    assert by_key == {"ad_measurement": True, "device_storage": True, "product": False}


def test_the_companys_vendor_must_be_given_too() -> None:
    mapping = load_mapping(
        {
            "purposes": {1: "device_storage", 10: "product"},
            "vendor_id": 755,
            "legitimate_interest": ["product"],
        }
    )
    purposes = {"purposes_consent": frozenset({1}), "purposes_li_transparency": frozenset({10})}
    without = decisions(minimal(**purposes), mapping)
    assert [d.given for d in without] == [False, False]
    consent_only = decisions(minimal(**purposes, vendor_consents=frozenset({755})), mapping)
    assert [(d.purpose_key, d.given) for d in consent_only] == [
        ("device_storage", True),
        ("product", False),
    ]
    both = minimal(
        **purposes,
        vendor_consents=frozenset({755}),
        vendor_legitimate_interests=frozenset({755}),
    )
    assert [d.given for d in decisions(both, mapping)] == [True, True]


def test_mapping_loads_json_keys_and_is_frozen() -> None:
    mapping = load_mapping({"purposes": {"1": "device_storage"}, "vendor_id": 12})
    assert mapping == TcfMapping(purposes={1: "device_storage"}, vendor_id=12)
    with pytest.raises(Exception, match="frozen"):
        mapping.vendor_id = 13  # type: ignore[misc]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"purposes": {}}, "map at least one TCF purpose"),
        ({"purposes": {12: "x"}}, "12 is not a TCF purpose"),
        ({"purposes": {0: "x"}}, "0 is not a TCF purpose"),
        ({"purposes": {1: "Not A Key"}}, "purposes.1: must be a manifest purpose key"),
        ({"purposes": {1: "x"}, "vendor_id": 0}, "vendor_id: must be 1 to 65535"),
        ({"purposes": {1: "x"}, "vendorid": 3}, "vendorid: Extra inputs are not permitted"),
        ({"purposes": {2: "x"}, "legitimate_interest": ["y"]}, "'y' is not mapped"),
        (
            {"purposes": {2: "x", 4: "x"}, "legitimate_interest": ["x"]},
            "'x' is fed by TCF purpose 4, which TCF 2.2 allows on consent only",
        ),
        (
            {"purposes": {1: "x"}, "legitimate_interest": ["x"]},
            "'x' is fed by TCF purpose 1",
        ),
        ([], "the mapping must be an object"),
    ],
)
def test_bad_mappings_are_refused_with_every_problem(data: Any, problem: str) -> None:
    with pytest.raises(InvalidTcfMapping) as caught:
        load_mapping(data)
    assert any(problem in p for p in caught.value.problems), caught.value.problems
    assert caught.value.code == "invalid-tcf-mapping"
