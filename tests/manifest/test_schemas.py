"""Field values at collection time, and the parts of the manifest model other domains use."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from faker import Faker
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from confiance.manifest import (
    Duration,
    FieldSpec,
    InvalidFieldValue,
    Manifest,
    NotALookupField,
    Retention,
    UnknownField,
    UnknownPurpose,
    parse_manifest,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "maison-exemple.yaml"
fake = Faker("fr_FR")
Faker.seed(20240611)


def spec(type_: str, **extra: Any) -> FieldSpec:
    return FieldSpec.model_validate(
        {
            "name": f"some_{type_}",
            "type": type_,
            "category": "user",
            "reason": {"fr": "Parce que.", "en": "Because."},
            **extra,
        }
    )


def rejected(field: FieldSpec, value: Any) -> InvalidFieldValue:
    with pytest.raises(InvalidFieldValue) as caught:
        field.normalize(value)
    return caught.value


VALID = [
    ("string", "  Camille ", "Camille"),
    ("string", "Élodie-Anne", "Élodie-Anne"),
    ("text", "Première ligne\nseconde ligne", "Première ligne\nseconde ligne"),
    ("token", "tok_8f3a9c1d", "tok_8f3a9c1d"),
    ("email", " Camille.Martin@Boutique-Test.EXAMPLE ", "Camille.Martin@boutique-test.example"),
    ("email", "c+promo@mail.boutique-test.example", "c+promo@mail.boutique-test.example"),
    ("phone", "01 99 00 12 34", "+33199001234"),
    ("phone", "+33 1 99 00 12 34", "+33199001234"),
    ("phone", "0033199001234", "+33199001234"),
    ("phone", "+1 202-555-0142", "+12025550142"),
    ("date", "1990-02-28", "1990-02-28"),
    ("date", date(2000, 2, 29), "2000-02-29"),
    ("integer", 42, 42),
    ("integer", -3, -3),
    ("decimal", "12.50", "12.50"),
    ("decimal", 0.1, "0.1"),
    ("decimal", 7, "7"),
    ("decimal", "1e3", "1000"),
    ("decimal", Decimal("-0.00"), "0.00"),
    ("boolean", True, True),
    ("boolean", False, False),
    ("list", [], []),
    ("list", [{"sku": "A-12", "qty": 2, "price": 9.5, "gift": None, "tags": ["x"]}], None),
]


@pytest.mark.parametrize(("type_", "value", "expected"), VALID)
def test_valid_values_take_their_canonical_form(type_: str, value: Any, expected: Any) -> None:
    result = spec(type_).normalize(value)
    assert result == (value if expected is None else expected)
    # Canonical forms are JSON and stable.
    assert json.loads(json.dumps(result)) == result
    assert spec(type_).normalize(result) == result


def test_enum_values() -> None:
    tier = spec("enum", values=["essentiel", "privilege", "prestige"])
    assert tier.normalize("privilege") == "privilege"
    error = rejected(tier, "platine")
    assert error.fields == {
        "field": "some_enum",
        "expected": "one of: essentiel, privilege, prestige",
    }


INVALID = [
    ("string", 12),
    ("string", None),
    ("string", "   "),
    ("string", "Ligne un\nLigne deux"),
    ("string", "nul\x00byte"),
    ("text", b"octets"),
    ("text", ""),
    ("token", "has space"),
    ("email", "camille.martin"),
    ("email", "camille@@boutique-test.example"),
    ("email", "camille@localhost"),
    ("email", "camille martin@boutique-test.example"),
    ("email", ".camille@boutique-test.example"),
    ("email", "camille..martin@boutique-test.example"),
    ("email", "camille@-boutique.example"),
    ("email", "camille@boutique-test.123"),
    ("email", "c" * 65 + "@boutique-test.example"),
    ("email", 42),
    ("phone", "01 99 00 12"),
    ("phone", "not a number"),
    ("phone", "+33 1 99 00 12 34 5"),
    ("phone", 199001234),
    ("date", "28/02/1990"),
    ("date", "1990-02-30"),
    ("date", "19900228"),
    ("date", datetime(1990, 2, 28, tzinfo=UTC)),
    ("integer", True),
    ("integer", 4.0),
    ("integer", "1234567"),
    ("decimal", "douze"),
    ("decimal", "NaN"),
    ("decimal", float("inf")),
    ("decimal", True),
    ("decimal", "1e999"),
    ("boolean", "vrai"),
    ("boolean", 1),
    ("list", {"sku": "A-12"}),
    ("list", ["A-12"]),
    ("list", [{"sku": {1, 2}}]),
    ("list", [{"price": float("nan")}]),
    ("list", [{1: "non-string key"}]),
]


@pytest.mark.parametrize(("type_", "value"), INVALID)
def test_invalid_values_are_rejected_without_revealing_them(type_: str, value: Any) -> None:
    field = spec(type_)
    error = rejected(field, value)
    assert error.code == "invalid-field-value"
    assert error.status == 422
    assert error.fields == {"field": field.name, "expected": field.expected()}
    assert field.name in error.detail
    # Neither the message, the problem document nor an exception chained behind the error
    # may carry the value: errors end up in logs.
    if isinstance(value, str) and value.strip():
        rendered = [str(error), repr(error), json.dumps(error.to_problem(), ensure_ascii=False)]
        for fragment in {value, value.strip()}:
            assert all(fragment not in text for text in rendered)
    assert error.__cause__ is None
    assert error.__context__ is None


def test_real_looking_values_never_appear_in_errors() -> None:
    cases = [
        (spec("email"), fake.name()),
        (spec("phone"), fake.street_address()),
        (spec("date"), fake.city()),
        (spec("integer"), fake.postcode()),
        (spec("string", max_length=5), fake.name()),
        (spec("enum", values=["a"]), fake.last_name()),
    ]
    for field, value in cases:
        error = rejected(field, value)
        assert value not in str(error)
        assert value not in json.dumps(error.to_problem(), ensure_ascii=False)


def test_max_length() -> None:
    short = spec("string", max_length=5)
    assert short.normalize("Marie") == "Marie"
    error = rejected(short, "Camille")
    assert "longer than 5 characters" in error.detail
    events = spec("list", max_length=2)
    assert events.normalize([{}, {}]) == [{}, {}]
    rejected(events, [{}, {}, {}])


def test_deeply_nested_lists_are_refused() -> None:
    value: Any = {}
    for _ in range(40):
        value = {"inner": value}
    error = rejected(spec("list"), [value])
    assert "nested" in error.detail


def test_lookup_keys() -> None:
    email = spec("email", lookup=True)
    assert email.lookup_key(" Camille.Martin@Boutique-Test.example") == (
        "camille.martin@boutique-test.example"
    )
    assert email.lookup_key("camille.martin@boutique-test.example") == email.lookup_key(
        "CAMILLE.MARTIN@BOUTIQUE-TEST.EXAMPLE"
    )
    phone = spec("phone", lookup=True)
    assert phone.lookup_key("01 99 00 12 34") == phone.lookup_key("+33199001234")
    assert phone.lookup_key("01.99.00.12.34") == "+33199001234"
    with pytest.raises(InvalidFieldValue):
        phone.lookup_key("01 99")


@pytest.mark.parametrize(
    "field",
    [spec("email"), spec("string", lookup=True)],
    ids=["email-without-lookup", "string-with-lookup"],
)
def test_only_lookup_fields_give_lookup_keys(field: FieldSpec) -> None:
    with pytest.raises(NotALookupField) as caught:
        field.lookup_key("camille@boutique-test.example")
    assert "camille" not in str(caught.value)


@given(st.emails())
def test_generated_addresses_are_accepted_and_stable(address: str) -> None:
    if len(address) > 254:
        return
    email = spec("email", lookup=True)
    normalized = email.normalize(address)
    assert email.normalize(normalized) == normalized
    assert email.lookup_key(address) == address.lower()


@given(st.decimals(allow_nan=False, allow_infinity=False, places=4, max_value=10**12))
def test_decimals_keep_their_value(number: Decimal) -> None:
    text = spec("decimal").normalize(str(number))
    assert Decimal(text) == number
    assert "E" not in text


@pytest.mark.parametrize(
    ("duration", "start", "end"),
    [
        ("P10Y", date(2024, 2, 29), date(2034, 2, 28)),
        ("P13M", date(2024, 1, 31), date(2025, 2, 28)),
        ("P1M", date(2024, 1, 31), date(2024, 2, 29)),
        ("P30D", date(2024, 12, 15), date(2025, 1, 14)),
        ("P2W", date(2024, 12, 25), date(2025, 1, 8)),
        ("P1Y6M", date(2023, 8, 31), date(2025, 2, 28)),
        (
            "P3Y",
            datetime(2024, 3, 1, 12, 30, tzinfo=UTC),
            datetime(2027, 3, 1, 12, 30, tzinfo=UTC),
        ),
    ],
)
def test_retention_end(duration: str, start: date, end: date) -> None:
    retention = Retention.model_validate({"duration": duration, "after": "delete"})
    assert retention.ends(start) == end


@pytest.mark.parametrize(
    "duration", ["", "P", "P0D", "P0Y0M", "10Y", "p3y", "P3Y2", "PT12H", "P1.5Y", "P-1Y", "3 ans"]
)
def test_garbage_durations_are_refused(duration: str) -> None:
    with pytest.raises(ValidationError):
        Retention.model_validate({"duration": duration, "after": "delete"})


def test_duration_text_round_trips() -> None:
    assert str(Duration.parse("P1Y2M3W4D")) == "P1Y2M3W4D"
    assert str(Duration.parse("P13M")) == "P13M"


def test_manifest_lookups() -> None:
    manifest = parse_manifest(EXAMPLE.read_text(encoding="utf-8"))
    assert manifest.field("email").lookup
    assert manifest.purpose("analytics").pseudonymised
    assert manifest.fields_for("email_marketing") == ("first_name", "email")
    assert set(manifest.fields_by_name) == {f.name for f in manifest.fields}
    assert list(manifest.purposes_by_key) == [p.key for p in manifest.purposes]
    assert "invoicing" in manifest.purposes_using("street_address")
    with pytest.raises(UnknownField) as field_error:
        manifest.field("shoe_size")
    assert field_error.value.detail == "the manifest does not declare the field 'shoe_size'"
    with pytest.raises(UnknownPurpose):
        manifest.fields_for("telemarketing")


def test_a_copy_with_changes_has_matching_lookups() -> None:
    manifest = parse_manifest(EXAMPLE.read_text(encoding="utf-8"))
    assert len(manifest.purposes_by_key) == len(manifest.purposes) > 1
    assert "email" in manifest.fields_by_name
    copy = manifest.model_copy(update={"purposes": manifest.purposes[:1], "fields": []})
    assert list(copy.purposes_by_key) == [manifest.purposes[0].key]
    assert copy.fields_by_name == {}
    with pytest.raises(UnknownPurpose):
        copy.purpose("analytics")


def test_a_manifest_is_frozen() -> None:
    manifest = parse_manifest(EXAMPLE.read_text(encoding="utf-8"))
    with pytest.raises(ValidationError):
        manifest.controller.name = "Autre"  # type: ignore[misc]


def test_the_schema_is_strict() -> None:
    base = {"name": "x", "type": "string", "category": "user", "reason": {"fr": "a", "en": "b"}}
    FieldSpec.model_validate(base)
    for bad in (
        {"sensitive": "true"},
        {"max_length": "10"},
        {"max_length": 0},
        {"name": "Prénom"},
        {"name": "x" * 65},
        {"type": "varchar"},
        {"reason": {"fr": "a"}},
        {"reason": {"fr": " ", "en": "b"}},
        {"colour": "blue"},
    ):
        with pytest.raises(ValidationError):
            FieldSpec.model_validate(base | bad)


def test_the_format_version_must_be_the_integer_one() -> None:
    data = parse_manifest(EXAMPLE.read_text(encoding="utf-8")).model_dump()
    assert Manifest.model_validate(data).version == 1
    # True equals 1 in Python, which is why the field is not a Literal[1].
    for version in (True, "1", 1.0, 2):
        with pytest.raises(ValidationError, match="version"):
            Manifest.model_validate({**data, "version": version})


def test_text_is_not_a_boolean() -> None:
    rejected(spec("boolean"), "true")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("P10Y", "10 years"),
        ("P1Y", "1 year"),
        ("P13M", "13 months"),
        ("P1Y6M", "1 year and 6 months"),
        ("P1Y2M3W4D", "1 year, 2 months, 3 weeks and 4 days"),
        ("P30D", "30 days"),
    ],
)
def test_durations_read_as_words(text: str, words: str) -> None:
    assert Duration.parse(text).describe() == words
