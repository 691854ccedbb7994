"""Recognizers built from a compiled pattern and a validator.

Each recognizer first runs a cheap pre-filter (a character or a short regex that every match
must contain), then its pattern, then the check that decides: a checksum from python-stdnum,
phonenumbers' own validity rules, :mod:`ipaddress`, a real calendar date. Numbers that fail
their checksum are not reported, which is what keeps these recognizers precise on texts full
of order numbers and references.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

import phonenumbers
from stdnum import iban, luhn
from stdnum.fr import nir, siren, siret, tva

from confiance.pii.findings import EntityType, Finding

__all__ = ["PATTERN_RECOGNIZERS", "PatternRecognizer", "find_patterns"]

Finder = Callable[[str, str], Iterator[Finding]]


@dataclass(frozen=True, slots=True)
class PatternRecognizer:
    """A named finder with the pre-filter that lets it skip most texts at once."""

    name: str
    entities: tuple[EntityType, ...]
    prefilter: re.Pattern[str]
    find: Finder

    def __call__(self, text: str, language: str) -> Iterator[Finding]:
        if self.prefilter.search(text) is None:
            return iter(())
        return self.find(text, language)


def _near(pattern: re.Pattern[str], text: str, start: int, window: int = 60) -> bool:
    """Whether a context word occurs in the ``window`` characters before ``start``."""
    return pattern.search(text, max(0, start - window), start) is not None


# --- E-mail ------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)


def _emails(text: str, language: str) -> Iterator[Finding]:
    for m in _EMAIL.finditer(text):
        if ".." not in m.group():
            yield Finding(EntityType.EMAIL, m.start(), m.end(), 1.0, "email")


# --- Phone numbers -----------------------------------------------------------------------

_PHONE_REGIONS = {"fr": ("FR",), "en": ("GB", "US")}
# Stretches that could hold a phone number: phonenumbers' matcher then reads only those,
# not the whole text (it is the most expensive recognizer on texts full of digits).
_PHONE_CANDIDATE = re.compile(r"(?<![\w+])(?:\+|\(\d|\d)[\d ().\u00a0-]{6,20}\d(?!\w)")


def _phones(text: str, language: str) -> Iterator[Finding]:
    seen: set[tuple[int, int]] = set()
    for candidate in _PHONE_CANDIDATE.finditer(text):
        offset = candidate.start()
        for region in _PHONE_REGIONS.get(language, ("FR",)):
            matcher = phonenumbers.PhoneNumberMatcher(
                candidate.group(), region, phonenumbers.Leniency.VALID
            )
            for m in matcher:
                where = (offset + m.start, offset + m.end)
                if where not in seen:
                    seen.add(where)
                    yield Finding(EntityType.PHONE, *where, 0.9, "phone")


# --- Numbers with a checksum -------------------------------------------------------------

_SEP = r"[ .\u00a0-]?"
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ \u00a0]?[A-Z0-9]{4}){2,7}(?:[ \u00a0]?[A-Z0-9]{1,3})?\b")


def _ibans(text: str, language: str) -> Iterator[Finding]:
    for m in _IBAN.finditer(text):
        # The pattern may run into the next word; shorten by groups until it checks out.
        candidate = m.group()
        while len(candidate.replace(" ", "")) >= 15:
            if iban.is_valid(candidate):
                yield Finding(EntityType.IBAN, m.start(), m.start() + len(candidate), 1.0, "iban")
                break
            cut = max(candidate.rfind(" "), candidate.rfind("\u00a0"))
            if cut <= 4:
                break
            candidate = candidate[:cut]


_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
# Issuer prefixes and lengths: Visa, Mastercard, American Express, Discover/UnionPay/Maestro.
_CARD_ISSUERS = re.compile(
    r"4(?:\d{12}|\d{15}|\d{18})|(?:5[1-5]\d{2}|2(?:2[2-9]\d|[3-6]\d{2}|7[01]\d|720))\d{12}"
    r"|3[47]\d{13}|6\d{15,18}"
)


def _cards(text: str, language: str) -> Iterator[Finding]:
    for m in _CARD.finditer(text):
        digits = re.sub(r"[ -]", "", m.group())
        if _CARD_ISSUERS.fullmatch(digits) and luhn.is_valid(digits):
            yield Finding(EntityType.CARD, m.start(), m.end(), 1.0, "card")


_NIR = re.compile(
    rf"(?<![\w-])[12]{_SEP}\d{{2}}{_SEP}(?:0[1-9]|1[0-2]|[2-9]\d){_SEP}(?:\d{{2}}|2[ABab])"
    rf"{_SEP}\d{{3}}{_SEP}\d{{3}}{_SEP}\d{{2}}(?![\w-])"
)


def _nirs(text: str, language: str) -> Iterator[Finding]:
    for m in _NIR.finditer(text):
        if nir.is_valid(m.group().replace("-", "")):
            yield Finding(EntityType.FR_NIR, m.start(), m.end(), 1.0, "fr_nir")


_SIRET = re.compile(rf"(?<![\w-])\d{{3}}{_SEP}\d{{3}}{_SEP}\d{{3}}{_SEP}\d{{5}}(?![\w-])")
_SIREN = re.compile(rf"(?<![\w-])\d{{3}}{_SEP}\d{{3}}{_SEP}\d{{3}}(?![\w-]|[ .]\d)")
_VAT = re.compile(r"\bFR[ \u00a0]?[0-9A-HJ-NP-Z]{2}[ \u00a0]?\d{3}[ \u00a0]?\d{3}[ \u00a0]?\d{3}\b")
_COMPANY_CONTEXT = re.compile(
    r"(?i)\b(?:siren|siret|rcs|soci[ée]t[ée]|entreprise|company|business|registration|"
    r"immatricul\w*)\b"
)


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _sirets(text: str, language: str) -> Iterator[Finding]:
    for m in _SIRET.finditer(text):
        if siret.is_valid(_digits(m.group())):
            yield Finding(EntityType.FR_SIRET, m.start(), m.end(), 1.0, "fr_siret")


def _sirens(text: str, language: str) -> Iterator[Finding]:
    for m in _SIREN.finditer(text):
        if siren.is_valid(_digits(m.group())):
            # Nine digits pass the Luhn check one time in ten: without a word saying it is a
            # company number, the finding scores below the default threshold of 0.5.
            score = 1.0 if _near(_COMPANY_CONTEXT, text, m.start()) else 0.4
            yield Finding(EntityType.FR_SIREN, m.start(), m.end(), score, "fr_siren")


def _vats(text: str, language: str) -> Iterator[Finding]:
    for m in _VAT.finditer(text):
        if tva.is_valid(m.group().replace("\u00a0", " ")):
            yield Finding(EntityType.FR_VAT, m.start(), m.end(), 1.0, "fr_vat")


# --- IP addresses ------------------------------------------------------------------------

_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%\w+)?(?![\w:])")


def _ips(text: str, language: str) -> Iterator[Finding]:
    for pattern, version in ((_IPV4, 4), (_IPV6, 6)):
        for m in pattern.finditer(text):
            value = m.group()
            try:
                address = ipaddress.ip_address(value.split("%", 1)[0])
            except ValueError:
                continue
            if address.version == version and not (version == 6 and value.count(":") < 2):
                yield Finding(EntityType.IP_ADDRESS, m.start(), m.end(), 0.95, "ip_address")


# --- Dates of birth ----------------------------------------------------------------------

_FR_MONTHS = {
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6,
    "juillet": 7, "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "décembre": 12, "decembre": 12,
}  # fmt: skip
_EN_MONTHS = {
    name: i
    for i, names in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip
_FR_MONTH = "|".join(sorted(_FR_MONTHS, key=len, reverse=True))
_EN_MONTH = "|".join(sorted(_EN_MONTHS, key=len, reverse=True))
_DATES = (
    # 03/01/2001, 03-01-2001, 03.01.2001: day first (French, British); month first tried too.
    re.compile(r"(?<![\d/.-])(?P<a>\d{1,2})([/.-])(?P<b>\d{1,2})\2(?P<y>(?:19|20)\d{2})(?!\d)"),
    re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})-(?P<m>\d{2})-(?P<d>\d{2})(?!\d)"),
    re.compile(
        rf"(?i)\b(?P<d>1er|\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mn>{_FR_MONTH}|{_EN_MONTH})"
        rf"\.?,?\s+(?P<y>(?:19|20)\d{{2}})(?!\d)"
    ),
    re.compile(
        rf"(?i)\b(?P<mn>{_EN_MONTH})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+"
        rf"(?P<y>(?:19|20)\d{{2}})(?!\d)"
    ),
)
_BIRTH_CONTEXT = re.compile(
    r"(?i)(?:\bn[ée]e?(?:\s*\(e\))?\s+(?:le|en|au)\b|\bnaissance\b|\bddn\b|\bn[ée]e?\s*:|"
    r"\bborn\b|\bbirth|\bdob\b|\bd\.o\.b\b|\bbirthday\b)"
)
_DATE_PREFILTER = re.compile(r"\d{4}")


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return year <= date.today().year


def _date_value(m: re.Match[str]) -> bool:
    groups = m.groupdict()
    year = int(groups["y"])
    if groups.get("mn"):
        month = _FR_MONTHS.get(groups["mn"].lower()) or _EN_MONTHS[groups["mn"].lower()]
        day = 1 if groups["d"].lower() == "1er" else int(groups["d"])
        return _real_date(year, month, day)
    if groups.get("m"):
        return _real_date(year, int(groups["m"]), int(groups["d"]))
    a, b = int(groups["a"]), int(groups["b"])
    return _real_date(year, b, a) or _real_date(year, a, b)


def _dates_of_birth(text: str, language: str) -> Iterator[Finding]:
    matches = sorted(
        (m for pattern in _DATES for m in pattern.finditer(text)), key=lambda m: m.start()
    )
    previous_end = 0
    for m in matches:
        # The birth word must stand between the previous date and this one, close by.
        window_start = max(previous_end, m.start() - 60)
        if m.start() >= previous_end and _date_value(m):
            if _BIRTH_CONTEXT.search(text, window_start, m.start()):
                yield Finding(EntityType.DATE_OF_BIRTH, m.start(), m.end(), 0.9, "date_of_birth")
            previous_end = m.end()


# --- Postal addresses --------------------------------------------------------------------

_CAP = r"[A-ZÀ-ÖØ-Þ][\w'’]*"
_FR_PARTICLE = r"(?:de|du|des|la|le|les|l['’]|d['’]|sur|sous|aux|au|lès)"
_FR_STREET_TYPE = (
    r"(?:rue|avenue|av\.|boulevard|bd|bld|place|pl\.|chemin|ch\.|allée|allee|impasse|quai|"
    r"route|rte|cours|square|passage|rond-point|résidence|lotissement|hameau|lieu-dit|sentier|"
    r"voie|parvis|esplanade|promenade|villa|cité|faubourg|fg|montée|traverse|clos)"
)
_FR_NUMBER = r"\b\d{1,4}(?:\s?(?:bis|ter|quater|[A-D]))?,?\s+"
_FR_STREET_NAME = (
    rf"(?i:{_FR_STREET_TYPE})\s+"
    rf"(?:(?:{_FR_PARTICLE})[ ]?|{_CAP}(?:-[\w'’]+)*[ ]|\d+[ ])*{_CAP}(?:-[\w'’]+)*"
)
_FR_STREET = _FR_NUMBER + _FR_STREET_NAME
_EN_STREET_TYPE = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Place|Pl|Way|"
    r"Close|Crescent|Terrace|Square|Gardens|Parkway|Pkwy|Hill|Row|Mews|Walk|Grove|Park)"
)
_EN_STREET = rf"\b\d{{1,5}}[A-Za-z]?\s+(?:{_CAP}\s+){{1,4}}{_EN_STREET_TYPE}\b\.?"
_FR_CITY = (
    rf"(?:(?:Le|La|Les|L['’]|Saint|Sainte|St|Ste)[ ]?)?{_CAP}(?:-[\w'’]+)*"
    rf"(?:\s+(?i:cedex)(?:\s+\d{{1,2}})?)?"
)
_FR_POSTCODE_CITY = rf"\b(?:(?:0[1-9]|[1-8]\d|9[0-5])\d{{3}}|97[1-6]\d{{2}})\s+{_FR_CITY}"
_UK_POSTCODE = r"\b[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}\b"
_EN_TOWN = rf"{_CAP}(?:\s{_CAP}){{0,2}}"
_EN_TAIL = rf"(?:{_EN_TOWN},?\s+)?{_UK_POSTCODE}|{_EN_TOWN},\s[A-Z]{{2}}\s\d{{5}}(?:-\d{{4}})?"
_ADDRESS = re.compile(
    rf"(?:{_FR_STREET}|{_EN_STREET})(?:[,\s]{{1,3}}(?:{_FR_POSTCODE_CITY}|{_EN_TAIL}))?"
    # A street without its number counts when a postcode and a city follow.
    rf"|\b{_FR_STREET_NAME},?\s{{1,2}}{_FR_POSTCODE_CITY}"
    rf"|(?P<alone>{_FR_POSTCODE_CITY}|{_UK_POSTCODE})"
)
_ADDRESS_PREFILTER = re.compile(r"\d")


def _addresses(text: str, language: str) -> Iterator[Finding]:
    for m in _ADDRESS.finditer(text):
        # A postcode alone is a weaker sign than a street with its number.
        score = 0.6 if m.group("alone") else 0.85
        yield Finding(EntityType.ADDRESS, m.start(), m.end(), score, "address")


PATTERN_RECOGNIZERS: tuple[PatternRecognizer, ...] = (
    PatternRecognizer("email", (EntityType.EMAIL,), re.compile("@"), _emails),
    PatternRecognizer("iban", (EntityType.IBAN,), re.compile(r"[A-Z]{2}\d{2}"), _ibans),
    PatternRecognizer("card", (EntityType.CARD,), re.compile(r"\d{4}"), _cards),
    PatternRecognizer("fr_nir", (EntityType.FR_NIR,), re.compile(r"\b[12]"), _nirs),
    PatternRecognizer("fr_siret", (EntityType.FR_SIRET,), re.compile(r"\d{3}"), _sirets),
    PatternRecognizer("fr_siren", (EntityType.FR_SIREN,), re.compile(r"\d{3}"), _sirens),
    PatternRecognizer("fr_vat", (EntityType.FR_VAT,), re.compile("FR"), _vats),
    PatternRecognizer("phone", (EntityType.PHONE,), re.compile(r"\d\D?\d\D?\d\D?\d"), _phones),
    PatternRecognizer("ip_address", (EntityType.IP_ADDRESS,), re.compile(r"\d\.\d|:"), _ips),
    PatternRecognizer(
        "date_of_birth", (EntityType.DATE_OF_BIRTH,), _DATE_PREFILTER, _dates_of_birth
    ),
    PatternRecognizer("address", (EntityType.ADDRESS,), _ADDRESS_PREFILTER, _addresses),
)


def find_patterns(
    text: str, language: str, *, entities: frozenset[EntityType] | None = None
) -> list[Finding]:
    """Every pattern finding in ``text``, overlaps not yet resolved."""
    found: list[Finding] = []
    for recognizer in PATTERN_RECOGNIZERS:
        if entities is None or not entities.isdisjoint(recognizer.entities):
            found.extend(recognizer(text, language))
    return found
