"""Languages of the pages: French and English, from Babel catalogs.

Texts are written in English in the templates (``{% trans %}`` and ``_()``) and translated
through the catalogs in ``src/confiance/locale/<lang>/LC_MESSAGES/``: ``messages.po`` for what
all pages share, ``portal.po`` for the privacy center, ``console.po`` for the staff console.
They are compiled in memory when first used (no build step, nothing generated in the tree):
Babel reads each ``.po`` and writes its ``.mo`` into a buffer that
:class:`babel.support.Translations` loads; the catalogs of a language are merged.

The language of a request: ``?lang=`` (which also sets the ``lang`` cookie, so the switch
sticks), else the cookie, else the browser's ``Accept-Language``, else French.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from starlette.requests import Request

from confiance.web.security import cookie_name

__all__ = ["DEFAULT", "LANGUAGES", "catalog_path", "language_of", "translations"]

LANGUAGES = ("fr", "en")
DEFAULT = "fr"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"


def catalog_path(language: str, domain: str = "messages") -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"


def _compiled(path: Path, language: str) -> Translations:
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


@cache
def translations(language: str) -> Translations:
    """The compiled catalogs of ``language`` (one of :data:`LANGUAGES`), merged."""
    if language not in LANGUAGES:
        language = DEFAULT
    merged = _compiled(catalog_path(language), language)
    for path in sorted(catalog_path(language).parent.glob("*.po")):
        if path.name != "messages.po":
            merged.merge(_compiled(path, language))
    return merged


def _accepted(header: str) -> str | None:
    """The best of :data:`LANGUAGES` for an ``Accept-Language`` header, by its q-values."""
    weighted = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            weighted.append((-quality, index, tag.strip()))
    for _, _, tag in sorted(weighted):
        try:
            language = Locale.parse(tag.replace("-", "_")).language
        except (ValueError, UnknownLocaleError):
            continue
        if language in LANGUAGES:
            return language
    return None


def language_of(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    cookie = request.cookies.get(cookie_name(request, "lang"))
    if cookie in LANGUAGES:
        return cookie
    return _accepted(request.headers.get("accept-language", "")) or DEFAULT
