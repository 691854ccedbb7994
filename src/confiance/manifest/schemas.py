"""The shape of a privacy manifest, and the rules for values of its fields.

The models are strict (a YAML ``yes`` is not a string, ``"1"`` is not a number), refuse unknown
keys (a misspelt ``retension:`` must not silently drop a retention period) and are frozen
(a loaded manifest is shared between requests through a cache).

What the models check is the *shape*: one key, one value. Rules that relate several parts of
the manifest (a purpose naming an undeclared field, sensitive data without explicit consent,
a missing retention...) live in :mod:`confiance.manifest.checks`, so that they are reported
together, each with its line, instead of stopping at the first.
"""

from __future__ import annotations

import calendar
import contextlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, ClassVar, Self, TypeVar

import phonenumbers
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, StringConstraints
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from confiance.consent.tcf.mapping import TcfMapping
from confiance.manifest.errors import (
    InvalidFieldValue,
    NotALookupField,
    UnknownField,
    UnknownPurpose,
)

__all__ = [
    "CUSTOMER_ID",
    "FORMAT_VERSION",
    "ISO_COUNTRIES",
    "LOOKUP_TYPES",
    "Connector",
    "ConnectorAction",
    "ConnectorMatch",
    "Controller",
    "Dpo",
    "Duration",
    "FieldSpec",
    "FieldType",
    "LegalBasis",
    "Localized",
    "Manifest",
    "PurposeSpec",
    "Recipient",
    "RecipientRole",
    "Retention",
    "RetentionAction",
    "RetentionStart",
    "Safeguard",
    "is_sqlite_file_url",
]

# ISO 3166-1 alpha-2, officially assigned codes. Kept here rather than taken from a package so
# that the set a manifest is checked against does not move with a dependency upgrade.
_ISO_COUNTRY_CODES = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
"""
ISO_COUNTRIES: frozenset[str] = frozenset(_ISO_COUNTRY_CODES.split())

# Codes people write by habit that ISO 3166 does not use for the country they mean.
_COUNTRY_HINTS = {"UK": "GB", "EL": "GR"}

_When = TypeVar("_When", date, datetime)

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
_IDENTIFIER_MAX = 64


class FieldType(StrEnum):
    STRING = "string"
    TEXT = "text"
    EMAIL = "email"
    PHONE = "phone"
    DATE = "date"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    ENUM = "enum"
    TOKEN = "token"  # noqa: S105 (a type name, not a secret)
    LIST = "list"


LOOKUP_TYPES: frozenset[FieldType] = frozenset({FieldType.EMAIL, FieldType.PHONE})


class LegalBasis(StrEnum):
    """GDPR art. 6(1)(a) to (f), in the article's order."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTEREST = "vital_interest"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTEREST = "legitimate_interest"


class RetentionAction(StrEnum):
    DELETE = "delete"
    ANONYMISE = "anonymise"


class RetentionStart(StrEnum):
    """The event from which a retention period is counted."""

    COLLECTION = "collection"
    LAST_CONTACT = "last_contact"
    END_OF_CONTRACT = "end_of_contract"


class RecipientRole(StrEnum):
    PROCESSOR = "processor"
    THIRD_PARTY = "third_party"


class Safeguard(StrEnum):
    """The legal ground for a transfer outside the EU/EEA (GDPR chapter V)."""

    ADEQUACY = "adequacy"
    SCC = "scc"
    BCR = "bcr"
    DEROGATION = "derogation"


def _identifier(value: str) -> str:
    if len(value) > _IDENTIFIER_MAX or not _IDENTIFIER.fullmatch(value):
        raise ValueError(
            "must be a snake_case identifier: lower-case letters, digits and '_', starting "
            f"with a letter, at most {_IDENTIFIER_MAX} characters"
        )
    return value


def _country(value: str) -> str:
    if value in ISO_COUNTRIES:
        return value
    hint = _COUNTRY_HINTS.get(value.upper())
    if hint is None and value.upper() in ISO_COUNTRIES:
        hint = value.upper()
    suffix = f" (did you mean '{hint}'?)" if hint else ""
    raise ValueError(f"must be an ISO 3166-1 alpha-2 country code such as 'FR'{suffix}")


def _contact_email(value: str) -> str:
    normalized = _normalize_email(value)
    if normalized is None:
        raise ValueError("must be an e-mail address such as 'dpo@company.example'")
    return normalized


# Enums are validated in lax mode: strict mode would demand enum instances, which YAML cannot
# produce. Lax mode still only accepts one of the listed values.
_Lax = Strict(False)

Identifier = Annotated[str, AfterValidator(_identifier)]
Country = Annotated[str, AfterValidator(_country)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Localized(_Model):
    """A text shown to customers, who read French or English."""

    fr: Text
    en: Text

    def in_language(self, language: str) -> str:
        """The text in ``language`` ('fr' or 'en'), French for anything else (the default)."""
        return self.en if language.lower().startswith("en") else self.fr


class Dpo(_Model):
    name: Text
    email: Annotated[str, AfterValidator(_contact_email)]


class Controller(_Model):
    name: Text
    address: Text
    dpo: Dpo
    country: Country = "FR"


@dataclass(frozen=True)
class Duration:
    """A calendar period (years, months, weeks, days), as retention rules are written.

    Only date parts are accepted: a retention counted in hours would be a cache setting, not a
    retention period, and months cannot be turned into a fixed number of days.
    """

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0

    _PATTERN = re.compile(r"P(?:(\d{1,4})Y)?(?:(\d{1,5})M)?(?:(\d{1,5})W)?(?:(\d{1,6})D)?")

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = cls._PATTERN.fullmatch(text)
        if match is None or text == "P":
            raise ValueError(
                "must be an ISO 8601 duration of years, months, weeks or days, such as "
                "'P10Y', 'P13M', 'P6W' or 'P30D'"
            )
        years, months, weeks, days = (int(part) if part else 0 for part in match.groups())
        duration = cls(years=years, months=months, weeks=weeks, days=days)
        if duration.is_zero():
            raise ValueError("must be longer than zero; delete data you do not need to keep")
        return duration

    def is_zero(self) -> bool:
        return not (self.years or self.months or self.weeks or self.days)

    def describe(self) -> str:
        """In words, for people: '10 years', '1 year and 6 months'."""
        parts = [
            f"{n} {unit}{'' if n == 1 else 's'}"
            for n, unit in (
                (self.years, "year"),
                (self.months, "month"),
                (self.weeks, "week"),
                (self.days, "day"),
            )
            if n
        ]
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]

    def after(self, start: _When) -> _When:
        """The moment this duration after ``start``; a month end stays in its month.

        31 January plus one month is 28 (or 29) February, as a person counting months would
        say, rather than an overflow into March.
        """
        months = start.month - 1 + self.years * 12 + self.months
        year, month0 = divmod(months, 12)
        year += start.year
        day = min(start.day, calendar.monthrange(year, month0 + 1)[1])
        moved = start.replace(year=year, month=month0 + 1, day=day)
        return moved + timedelta(weeks=self.weeks, days=self.days)

    def __str__(self) -> str:
        parts = [(self.years, "Y"), (self.months, "M"), (self.weeks, "W"), (self.days, "D")]
        return "P" + "".join(f"{n}{unit}" for n, unit in parts if n)


def _duration(value: str) -> str:
    return str(Duration.parse(value))


class Retention(_Model):
    duration: Annotated[str, AfterValidator(_duration)]
    after: Annotated[RetentionAction, _Lax]
    counted_from: Annotated[RetentionStart, _Lax] = RetentionStart.COLLECTION

    @property
    def period(self) -> Duration:
        return Duration.parse(self.duration)

    def ends(self, start: _When) -> _When:
        """When data whose clock started at ``start`` must be deleted or anonymised."""
        return self.period.after(start)


class Recipient(_Model):
    name: Text
    role: Annotated[RecipientRole, _Lax]
    country: Country
    safeguard: Annotated[Safeguard | None, _Lax] = None


class FieldSpec(_Model):
    """One piece of customer data the company may hold, and how a value of it must look."""

    name: Identifier
    type: Annotated[FieldType, _Lax]
    category: Text
    reason: Localized
    sensitive: bool = False
    lookup: bool = False
    values: list[Text] | None = None
    max_length: Annotated[int, Field(ge=1)] | None = None

    def normalize(self, value: Any) -> Any:
        """The canonical, JSON-able form of ``value``, or :class:`InvalidFieldValue`.

        Canonical forms make equal values equal (a phone number written three ways is one
        number) so that blind indexes and comparisons work. The error never carries the value
        and is raised outside of any ``except`` block, so no chained exception carries it
        either.
        """
        result = _NORMALIZERS[self.type](self, value)
        if isinstance(result, _Reject):
            raise InvalidFieldValue(field=self.name, expected=self.expected(), hint=result.hint)
        return result

    def lookup_key(self, value: Any) -> str:
        """The form of ``value`` that a blind index is computed over.

        Addresses are compared case-insensitively as a whole: mail systems in practice treat
        ``Anne@`` and ``anne@`` as the same mailbox, and a customer who typed either must be
        found.
        """
        return self.index_key(self.normalize(value))

    def index_key(self, normalized: Any) -> str:
        """:meth:`lookup_key` of a value that :meth:`normalize` already returned."""
        if not self.lookup or self.type not in LOOKUP_TYPES:
            raise NotALookupField(field=self.name)
        assert isinstance(normalized, str)
        return normalized.lower() if self.type is FieldType.EMAIL else normalized

    def expected(self) -> str:
        if self.type is FieldType.ENUM:
            return "one of: " + ", ".join(self.values or ())
        return _EXPECTED[self.type]


class PurposeSpec(_Model):
    """Why some fields are used, on which legal basis, for how long and shared with whom."""

    key: Identifier
    data_use: Text
    legal_basis: Annotated[LegalBasis, _Lax]
    fields: list[str]
    retention: Retention | None = None
    recipients: list[Recipient] = []
    ccpa_sale_or_share: bool = False
    pseudonymised: bool = False
    explicit_consent: bool = False
    description: Localized | None = None
    benefit: Localized | None = None
    #: How long a consent to this purpose counts before the customer is asked again (CNIL
    #: recommends 13 months for consent collected online): an ISO 8601 duration.
    consent_validity: Annotated[str, AfterValidator(_duration)] | None = None

    @property
    def consent_period(self) -> Duration | None:
        return None if self.consent_validity is None else Duration.parse(self.consent_validity)


class ConnectorAction(StrEnum):
    """What a connector does to the rows that match the customer."""

    DELETE = "delete"
    MASK = "mask"


#: The ``match.field`` of a connector that matches on Confiance's own customer id (the UUID
#: that webhooks and the API give to other systems) rather than on a manifest field.
CUSTOMER_ID = "customer_id"

# Table, schema and column names of another system. Only plain identifiers: SQLAlchemy quotes
# them when they need it (upper case, reserved words), and nothing else can reach a statement.
# 63 is PostgreSQL's limit.
_SQL_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def _sql_identifier(value: str) -> str:
    if not _SQL_IDENTIFIER.fullmatch(value):
        raise ValueError(
            "must be a plain SQL name: letters, digits and '_', starting with a letter or '_', "
            "at most 63 characters"
        )
    return value


def _env_name(value: str) -> str:
    if not _ENV_NAME.fullmatch(value):
        raise ValueError(
            "must be the name of an environment variable, such as 'CRM_DATABASE_URL' "
            "(letters, digits and '_'), not the URL itself"
        )
    return value


def _mask_columns(value: dict[str, str | None]) -> dict[str, str | None]:
    # Checked here rather than on each key, so that the message names the column: an error
    # on a key is located by pydantic as '[key]'.
    for name in value:
        if not _SQL_IDENTIFIER.fullmatch(name):
            raise ValueError(
                f"names the column '{name}', which is not a plain SQL name: letters, digits "
                "and '_', starting with a letter or '_', at most 63 characters"
            )
    return value


SqlIdentifier = Annotated[str, AfterValidator(_sql_identifier)]


def is_sqlite_file_url(url: str) -> bool:
    """Whether ``url`` is a SQLAlchemy URL of a SQLite *file*, the only URL a manifest may hold.

    Any other database needs credentials, which belong in the environment, not in a file kept
    under version control; an in-memory database would be a new, empty one.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return False
    return parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")


class ConnectorMatch(_Model):
    """Which rows belong to the customer: those whose ``column`` holds the customer's value of
    ``field`` (a lookup field, or ``customer_id``)."""

    column: SqlIdentifier
    field: Identifier


class Connector(_Model):
    """A table in another of the company's databases (a CRM, a shop, a newsletter tool) where
    an erasure must reach: its rows for the customer are deleted or masked."""

    name: Identifier
    description: Text | None = None
    #: The environment variable that holds the SQLAlchemy URL: credentials stay out of the
    #: manifest.
    url_env: Annotated[str, AfterValidator(_env_name)] | None = None
    #: A SQLite file's URL, written in the manifest itself (``sqlite:///path``); checked.
    url: Text | None = None
    #: ``schema`` in the file; renamed because pydantic models already have a ``schema``.
    db_schema: SqlIdentifier | None = Field(default=None, alias="schema")
    table: SqlIdentifier
    match: ConnectorMatch
    action: Annotated[ConnectorAction, _Lax]
    #: For ``mask``: each column set to a fixed text, or to NULL for ``null``.
    columns: Annotated[dict[str, str | None], AfterValidator(_mask_columns)] | None = None


FORMAT_VERSION = 1


def _format_version(value: int) -> int:
    # An int field checked by hand rather than Literal[1]: Literal accepts True, which equals 1.
    if value != FORMAT_VERSION:
        raise ValueError(f"must be {FORMAT_VERSION}, the only manifest format so far")
    return value


class Manifest(_Model):
    version: Annotated[int, AfterValidator(_format_version)]
    controller: Controller
    fields: list[FieldSpec]
    purposes: list[PurposeSpec]
    #: How IAB TCF purposes in a TC string map to this manifest's purposes, for importing the
    #: decisions a consent management platform collected.
    tcf: TcfMapping | None = None
    #: The company's other databases where an erasure must reach (see docs/connectors.md).
    connectors: list[Connector] = []

    # cached_property writes to the instance __dict__ directly, which a frozen model allows; a
    # manifest is built once and then read on every request.
    _CACHED: ClassVar[tuple[str, ...]] = ("fields_by_name", "purposes_by_key")

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy whose look-up tables are rebuilt: pydantic copies ``__dict__`` wholesale,
        cached tables included, which would describe the original after an ``update``."""
        copied = super().model_copy(update=update, deep=deep)
        for name in self._CACHED:
            copied.__dict__.pop(name, None)
        return copied

    @cached_property
    def fields_by_name(self) -> dict[str, FieldSpec]:
        by_name: dict[str, FieldSpec] = {}
        for spec in self.fields:
            by_name.setdefault(spec.name, spec)
        return by_name

    @cached_property
    def purposes_by_key(self) -> dict[str, PurposeSpec]:
        by_key: dict[str, PurposeSpec] = {}
        for purpose in self.purposes:
            by_key.setdefault(purpose.key, purpose)
        return by_key

    def field(self, name: str) -> FieldSpec:
        try:
            return self.fields_by_name[name]
        except KeyError:
            raise UnknownField(field=name) from None

    def purpose(self, key: str) -> PurposeSpec:
        try:
            return self.purposes_by_key[key]
        except KeyError:
            raise UnknownPurpose(purpose=key) from None

    def fields_for(self, purpose_key: str) -> tuple[str, ...]:
        """The fields a purpose may see, in manifest order: the whole of its access."""
        return tuple(self.purpose(purpose_key).fields)

    def purposes_using(self, field_name: str) -> tuple[str, ...]:
        """The purposes that need a field: the answer to a customer's "why do you hold this?"."""
        self.field(field_name)
        return tuple(p.key for p in self.purposes if field_name in p.fields)


# Normalisers per type. Each returns the canonical value or a _Reject with a hint that
# describes the rule broken, never the value.


@dataclass(frozen=True)
class _Reject:
    hint: str | None = None


_MAX_LIST_DEPTH = 32
_DECIMAL_MAX_EXPONENT = 100

_EXPECTED = {
    FieldType.STRING: "a single line of text",
    FieldType.TEXT: "text",
    FieldType.EMAIL: "an e-mail address",
    FieldType.PHONE: "a phone number, international (+33...) or French national (06...)",
    FieldType.DATE: "a date written YYYY-MM-DD",
    FieldType.INTEGER: "a whole number",
    FieldType.DECIMAL: "a decimal number",
    FieldType.BOOLEAN: "true or false",
    FieldType.TOKEN: "an opaque token without spaces",
    FieldType.LIST: "a list of JSON objects",
}


def _check_text(spec: FieldSpec, value: Any) -> str | _Reject:
    if not isinstance(value, str):
        return _Reject()
    if not value.strip():
        return _Reject("it is empty")
    if "\x00" in value:
        return _Reject("it contains a NUL character")
    if spec.max_length is not None and len(value) > spec.max_length:
        return _Reject(f"it is longer than {spec.max_length} characters")
    return value


def _normalize_string(spec: FieldSpec, value: Any) -> Any:
    if isinstance(value, str):
        # Surrounding blanks in a one-line entry are typing noise; they would make equal
        # names differ.
        value = value.strip()
        if "\n" in value or "\r" in value:
            return _Reject("it spans several lines; use the type 'text' for that")
    return _check_text(spec, value)


def _normalize_text(spec: FieldSpec, value: Any) -> Any:
    return _check_text(spec, value)


def _normalize_token(spec: FieldSpec, value: Any) -> Any:
    if isinstance(value, str) and any(c.isspace() for c in value):
        return _Reject("it contains spaces")
    return _check_text(spec, value)


_EMAIL_LOCAL = re.compile(r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*")
_DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def _normalize_email(value: str) -> str | None:
    """An address with its domain lower-cased, or None when it is not an address.

    Deliberately a syntax check only (no DNS look-up): collection must not depend on the
    network, and whether a mailbox exists is proven by sending to it.
    """
    value = value.strip()
    if len(value) > 254 or value.count("@") != 1:
        return None
    local, domain = value.split("@")
    if len(local) > 64 or not _EMAIL_LOCAL.fullmatch(local):
        return None
    domain = domain.lower()
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_DNS_LABEL.fullmatch(label) for label in labels):
        return None
    if labels[-1].isdigit():
        return None
    return f"{local}@{domain}"


def _normalize_email_value(spec: FieldSpec, value: Any) -> Any:
    if not isinstance(value, str):
        return _Reject()
    normalized = _normalize_email(value)
    return _Reject() if normalized is None else normalized


def _normalize_phone(spec: FieldSpec, value: Any) -> Any:
    if not isinstance(value, str) or not value.strip():
        return _Reject()
    number = None
    with contextlib.suppress(phonenumbers.NumberParseException):
        number = phonenumbers.parse(value, "FR")
    if number is None or not phonenumbers.is_valid_number(number):
        return _Reject()
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _normalize_date(spec: FieldSpec, value: Any) -> Any:
    if isinstance(value, datetime):
        return _Reject("a date and time was given where only the date is held")
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        return _Reject()
    parsed = None
    with contextlib.suppress(ValueError):
        parsed = date.fromisoformat(value)
    return _Reject("no such day in the calendar") if parsed is None else parsed.isoformat()


def _normalize_integer(spec: FieldSpec, value: Any) -> Any:
    # bool is an int subclass; a checkbox must not become the number 1.
    if isinstance(value, bool) or not isinstance(value, int):
        return _Reject()
    return int(value)


def _normalize_decimal(spec: FieldSpec, value: Any) -> Any:
    if isinstance(value, bool):
        return _Reject()
    number = None
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        # Through repr, so that 0.1 stays 0.1 instead of its binary expansion.
        number = Decimal(repr(value)) if math.isfinite(value) else None
    elif isinstance(value, str):
        with contextlib.suppress(InvalidOperation):
            number = Decimal(value)
    if number is None or not number.is_finite():
        return _Reject()
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    if number.adjusted() > _DECIMAL_MAX_EXPONENT or exponent < -_DECIMAL_MAX_EXPONENT:
        return _Reject("it is out of range")
    if number.is_zero():
        number = abs(number)
    return format(number, "f")


def _normalize_boolean(spec: FieldSpec, value: Any) -> Any:
    return value if isinstance(value, bool) else _Reject()


def _normalize_enum(spec: FieldSpec, value: Any) -> Any:
    if isinstance(value, str) and value in (spec.values or ()):
        return value
    return _Reject()


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


_LIST_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)


def _nesting(text: str) -> int:
    """How deeply the JSON document ``text`` nests its arrays and objects."""
    depth = deepest = 0
    for char in _NOT_BRACKET.sub("", _JSON_STRING.sub("", text)):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _normalize_list(spec: FieldSpec, value: Any) -> Any:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        return _Reject()
    if spec.max_length is not None and len(value) > spec.max_length:
        return _Reject(f"it has more than {spec.max_length} items")
    # A JSON round trip, done in C, both copies the value and proves it is made of JSON types
    # only: anything json would silently change (a tuple, a non-string key) compares unequal.
    try:
        text = _LIST_ENCODER.encode(value)
    except ValueError:
        return _Reject("it holds a number that is not finite")
    except (TypeError, RecursionError):
        return _Reject("it holds something that is not a JSON value")
    if _nesting(text) > _MAX_LIST_DEPTH:
        return _Reject(f"it is nested more than {_MAX_LIST_DEPTH} levels deep")
    copy = json.loads(text)
    if copy != value:
        return _Reject("it holds something that is not a JSON value (e.g. a non-string key)")
    return copy


_NORMALIZERS = {
    FieldType.STRING: _normalize_string,
    FieldType.TEXT: _normalize_text,
    FieldType.EMAIL: _normalize_email_value,
    FieldType.PHONE: _normalize_phone,
    FieldType.DATE: _normalize_date,
    FieldType.INTEGER: _normalize_integer,
    FieldType.DECIMAL: _normalize_decimal,
    FieldType.BOOLEAN: _normalize_boolean,
    FieldType.ENUM: _normalize_enum,
    FieldType.TOKEN: _normalize_token,
    FieldType.LIST: _normalize_list,
}
