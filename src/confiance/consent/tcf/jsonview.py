"""A TC model as JSON, with the field names of the IAB reference libraries.

The names are those of iabtcf-java and iabtcf-es (``cmpId``, ``tcfPolicyVersion``,
``purposesConsent``, ``vendorConsents``, ``useNonStandardStacks``...), as in the published
test vectors, so a decode can be compared with theirs key by key and a person who knows the
TCF reads it without a glossary. Sets are sorted lists; times are ISO 8601 UTC with ``Z``
(with milliseconds only when the tenths of a second are not zero). A segment the string does
not carry is ``null``.

:func:`from_json` reads the same shape back, strictly: an unknown key is an error (a typo in
a consent signal must not pass silently) and so is a value of the wrong type.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from confiance.consent.tcf.errors import InvalidTCModel
from confiance.consent.tcf.model import (
    PublisherRestriction,
    PublisherTC,
    RestrictionType,
    TCModel,
)

__all__ = ["from_json", "to_json"]

_CORE_REQUIRED = (
    "created",
    "lastUpdated",
    "cmpId",
    "cmpVersion",
    "consentScreen",
    "consentLanguage",
    "vendorListVersion",
    "tcfPolicyVersion",
    "publisherCC",
)
_CORE_OPTIONAL = (
    "version",
    "isServiceSpecific",
    "useNonStandardStacks",
    "purposeOneTreatment",
    "specialFeatureOptIns",
    "purposesConsent",
    "purposesLITransparency",
    "vendorConsents",
    "vendorLegitimateInterests",
    "publisherRestrictions",
    "disclosedVendors",
    "allowedVendors",
    "publisherTC",
)
_PUBLISHER_TC_KEYS = (
    "pubPurposesConsent",
    "pubPurposesLITransparency",
    "numCustomPurposes",
    "customPurposesConsent",
    "customPurposesLITransparency",
)
_RESTRICTION_KEYS = ("purposeId", "restrictionType", "vendorIds")


def to_json(model: TCModel) -> dict[str, Any]:
    """``model`` as a JSON-ready dict (keys in the order the string carries the fields)."""
    publisher_tc = model.publisher_tc
    return {
        "version": model.version,
        "created": _time(model.created),
        "lastUpdated": _time(model.last_updated),
        "cmpId": model.cmp_id,
        "cmpVersion": model.cmp_version,
        "consentScreen": model.consent_screen,
        "consentLanguage": model.consent_language,
        "vendorListVersion": model.vendor_list_version,
        "tcfPolicyVersion": model.policy_version,
        "isServiceSpecific": model.is_service_specific,
        "useNonStandardStacks": model.use_non_standard_texts,
        "specialFeatureOptIns": sorted(model.special_feature_optins),
        "purposesConsent": sorted(model.purposes_consent),
        "purposesLITransparency": sorted(model.purposes_li_transparency),
        "purposeOneTreatment": model.purpose_one_treatment,
        "publisherCC": model.publisher_cc,
        "vendorConsents": sorted(model.vendor_consents),
        "vendorLegitimateInterests": sorted(model.vendor_legitimate_interests),
        "publisherRestrictions": [
            {
                "purposeId": r.purpose_id,
                "restrictionType": int(r.restriction_type),
                "vendorIds": sorted(r.vendor_ids),
            }
            for r in model.publisher_restrictions
        ],
        "disclosedVendors": _ids_or_none(model.disclosed_vendors),
        "allowedVendors": _ids_or_none(model.allowed_vendors),
        "publisherTC": None
        if publisher_tc is None
        else {
            "pubPurposesConsent": sorted(publisher_tc.pub_purposes_consent),
            "pubPurposesLITransparency": sorted(publisher_tc.pub_purposes_li_transparency),
            "numCustomPurposes": publisher_tc.num_custom_purposes,
            "customPurposesConsent": sorted(publisher_tc.custom_purposes_consent),
            "customPurposesLITransparency": sorted(publisher_tc.custom_purposes_li_transparency),
        },
    }


def from_json(data: Mapping[str, Any]) -> TCModel:
    """The model described by ``data`` (the shape :func:`to_json` writes).

    Required: the header fields (``created``, ``lastUpdated``, ``cmpId``, ``cmpVersion``,
    ``consentScreen``, ``consentLanguage``, ``vendorListVersion``, ``tcfPolicyVersion``,
    ``publisherCC``); everything else defaults to false, empty or absent. Raises
    :class:`InvalidTCModel` naming the first bad key.
    """
    if not isinstance(data, Mapping):
        raise InvalidTCModel(field="(top level)", reason="must be a JSON object")
    _check_keys("", data, required=_CORE_REQUIRED, optional=_CORE_OPTIONAL)
    publisher_tc = data.get("publisherTC")
    return TCModel(
        version=_int(data, "version", default=2),
        created=_datetime(data, "created"),
        last_updated=_datetime(data, "lastUpdated"),
        cmp_id=_int(data, "cmpId"),
        cmp_version=_int(data, "cmpVersion"),
        consent_screen=_int(data, "consentScreen"),
        consent_language=_letters(data, "consentLanguage"),
        vendor_list_version=_int(data, "vendorListVersion"),
        policy_version=_int(data, "tcfPolicyVersion"),
        publisher_cc=_letters(data, "publisherCC"),
        is_service_specific=_bool(data, "isServiceSpecific"),
        use_non_standard_texts=_bool(data, "useNonStandardStacks"),
        purpose_one_treatment=_bool(data, "purposeOneTreatment"),
        special_feature_optins=_ids(data, "specialFeatureOptIns"),
        purposes_consent=_ids(data, "purposesConsent"),
        purposes_li_transparency=_ids(data, "purposesLITransparency"),
        vendor_consents=_ids(data, "vendorConsents"),
        vendor_legitimate_interests=_ids(data, "vendorLegitimateInterests"),
        publisher_restrictions=_restrictions(data.get("publisherRestrictions", [])),
        disclosed_vendors=None
        if data.get("disclosedVendors") is None
        else _ids(data, "disclosedVendors"),
        allowed_vendors=None
        if data.get("allowedVendors") is None
        else _ids(data, "allowedVendors"),
        publisher_tc=None if publisher_tc is None else _publisher_tc(publisher_tc),
    )


def _time(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _ids_or_none(ids: frozenset[int] | None) -> list[int] | None:
    return None if ids is None else sorted(ids)


def _check_keys(
    prefix: str, data: Mapping[str, Any], *, required: tuple[str, ...], optional: tuple[str, ...]
) -> None:
    for key in data:
        if key not in required and key not in optional:
            raise InvalidTCModel(field=f"{prefix}{key}", reason="unknown key")
    for key in required:
        if key not in data:
            raise InvalidTCModel(field=f"{prefix}{key}", reason="is required")


def _int(data: Mapping[str, Any], key: str, *, default: int | None = None, prefix: str = "") -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTCModel(field=f"{prefix}{key}", reason="must be an integer")
    return value


def _bool(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise InvalidTCModel(field=key, reason="must be true or false")
    return value


def _letters(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise InvalidTCModel(field=key, reason="must be two letters")
    # Language and country codes are case-insensitive; the string can only hold upper case.
    return value.upper()


def _datetime(data: Mapping[str, Any], key: str) -> datetime:
    value = data.get(key)
    if not isinstance(value, str):
        raise InvalidTCModel(field=key, reason="must be an ISO 8601 date and time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidTCModel(field=key, reason="must be an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        raise InvalidTCModel(field=key, reason="must carry a time zone (for example 'Z')")
    return moment.astimezone(UTC)


def _ids(data: Mapping[str, Any], key: str, *, prefix: str = "") -> frozenset[int]:
    value = data.get(key, [])
    if not isinstance(value, list) or any(
        isinstance(i, bool) or not isinstance(i, int) for i in value
    ):
        raise InvalidTCModel(field=f"{prefix}{key}", reason="must be a list of integers")
    return frozenset(value)


def _restrictions(value: Any) -> tuple[PublisherRestriction, ...]:
    field = "publisherRestrictions"
    if not isinstance(value, list):
        raise InvalidTCModel(field=field, reason="must be a list")
    restrictions = []
    for entry in value:
        if not isinstance(entry, Mapping):
            raise InvalidTCModel(field=field, reason="each entry must be an object")
        _check_keys(f"{field}.", entry, required=_RESTRICTION_KEYS, optional=())
        prefix = f"{field}."
        try:
            kind = RestrictionType(_int(entry, "restrictionType", prefix=prefix))
        except ValueError:
            raise InvalidTCModel(
                field=f"{prefix}restrictionType", reason="must be 0, 1, 2 or 3"
            ) from None
        purpose = _int(entry, "purposeId", prefix=prefix)
        ids = _ids(entry, "vendorIds", prefix=prefix)
        restrictions.append(PublisherRestriction.of(purpose, kind, ids))
    return tuple(restrictions)


def _publisher_tc(value: Any) -> PublisherTC:
    if not isinstance(value, Mapping):
        raise InvalidTCModel(field="publisherTC", reason="must be an object or null")
    _check_keys("publisherTC.", value, required=(), optional=_PUBLISHER_TC_KEYS)
    prefix = "publisherTC."
    return PublisherTC(
        pub_purposes_consent=_ids(value, "pubPurposesConsent", prefix=prefix),
        pub_purposes_li_transparency=_ids(value, "pubPurposesLITransparency", prefix=prefix),
        num_custom_purposes=_int(value, "numCustomPurposes", default=0, prefix=prefix),
        custom_purposes_consent=_ids(value, "customPurposesConsent", prefix=prefix),
        custom_purposes_li_transparency=_ids(value, "customPurposesLITransparency", prefix=prefix),
    )
