"""The JSON view: IAB names out, the same shape back in, strictly."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given

from confiance.consent.tcf import (
    InvalidTCModel,
    PublisherRestriction,
    PublisherTC,
    RestrictionType,
    TCModel,
    from_json,
    to_json,
)
from tests.consent.tcf.support import minimal, models


@given(models())
def test_from_json_inverts_to_json_through_text(model: TCModel) -> None:
    assert from_json(json.loads(json.dumps(to_json(model)))) == model


def test_view_uses_the_iab_names_and_null_for_absent_segments() -> None:
    view = to_json(
        minimal(
            purposes_consent=frozenset({10, 2}),
            publisher_restrictions=(
                PublisherRestriction.of(2, RestrictionType.REQUIRE_CONSENT, [9, 3, 4]),
            ),
            publisher_tc=PublisherTC(num_custom_purposes=3, custom_purposes_consent=frozenset({2})),
        )
    )
    assert view["created"] == "2024-05-06T07:08:09.100Z"
    assert view["lastUpdated"] == "2024-05-06T07:09:00Z"
    assert view["tcfPolicyVersion"] == 4
    assert view["purposesConsent"] == [2, 10]
    assert view["publisherRestrictions"] == [
        {"purposeId": 2, "restrictionType": 1, "vendorIds": [3, 4, 9]}
    ]
    assert view["disclosedVendors"] is None
    assert view["allowedVendors"] is None
    assert view["publisherTC"] == {
        "pubPurposesConsent": [],
        "pubPurposesLITransparency": [],
        "numCustomPurposes": 3,
        "customPurposesConsent": [2],
        "customPurposesLITransparency": [],
    }


def test_from_json_fills_defaults_and_accepts_lower_case_codes() -> None:
    model = from_json(
        {
            "created": "2024-05-06T07:08:09.1Z",
            "lastUpdated": "2024-05-06T09:08:09+02:00",
            "cmpId": 300,
            "cmpVersion": 7,
            "consentScreen": 1,
            "consentLanguage": "fr",
            "vendorListVersion": 120,
            "tcfPolicyVersion": 4,
            "publisherCC": "fr",
        }
    )
    assert model == minimal(last_updated=minimal().created.replace(microsecond=0, second=9))
    assert model.consent_language == "FR"
    assert model.publisher_tc is None


BASE: dict[str, Any] = to_json(minimal())


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"cmpID": 3}, "cmpID", "unknown key"),
        ({"cmpId": None}, "cmpId", "must be an integer"),
        ({"cmpId": True}, "cmpId", "must be an integer"),
        ({"cmpId": 5000}, "cmpId", "between 0 and 4095"),
        ({"isServiceSpecific": 1}, "isServiceSpecific", "true or false"),
        ({"created": "2024-05-06T07:08:09"}, "created", "time zone"),
        ({"created": "yesterday"}, "created", "ISO 8601"),
        ({"created": "2024-05-06T07:08:09.05Z"}, "created", "deciseconds"),
        ({"purposesConsent": [1, "2"]}, "purposesConsent", "list of integers"),
        ({"vendorConsents": [0]}, "vendorConsents", "from 1 to 65535"),
        ({"publisherCC": "FRA"}, "publisherCC", "two upper-case letters"),
        ({"publisherRestrictions": [{"purposeId": 1}]}, "publisherRestrictions.", "required"),
        (
            {"publisherRestrictions": [{"purposeId": 1, "restrictionType": 4, "vendorIds": []}]},
            "publisherRestrictions.restrictionType",
            "0, 1, 2 or 3",
        ),
        ({"publisherTC": {"numCustom": 1}}, "publisherTC.numCustom", "unknown key"),
        ({"publisherTC": []}, "publisherTC", "object or null"),
    ],
)
def test_from_json_names_the_bad_key(change: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(InvalidTCModel) as caught:
        from_json({**BASE, **change})
    assert caught.value.field.startswith(field)
    assert reason in caught.value.reason
    assert caught.value.code == "invalid-tc-model"


def test_from_json_requires_the_header() -> None:
    data = dict(BASE)
    del data["cmpVersion"]
    with pytest.raises(InvalidTCModel, match="cmpVersion: is required"):
        from_json(data)
    with pytest.raises(InvalidTCModel, match="JSON object"):
        from_json([])  # type: ignore[arg-type]
