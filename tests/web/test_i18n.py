"""Every text the pages mark for translation has its French translation, and the language
follows the switch, the cookie and the browser, in that order."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from confiance.runtime import Runtime
from confiance.web import i18n
from confiance.web.app import create_app

TEMPLATES = Path(i18n.__file__).with_name("templates")
SOURCES = Path(i18n.__file__).resolve().parents[1]


def _marked() -> set[str]:
    found: set[str] = set()
    for _, _, message, _, _ in extract_from_dir(
        str(TEMPLATES),
        method_map=[("**.html", "jinja2")],
        options_map={"**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}},
    ):
        found.update([message] if isinstance(message, str) else [m for m in message if m])
    for _, _, message, _, _ in extract_from_dir(
        str(SOURCES), method_map=[("portal/pages.py", "python"), ("staff/pages.py", "python")]
    ):
        found.update([message] if isinstance(message, str) else [m for m in message if m])
    return found


def _french() -> dict[str, str]:
    translated: dict[str, str] = {}
    for path in i18n.catalog_path("fr").parent.glob("*.po"):
        with path.open("rb") as po:
            for entry in read_po(po, locale="fr"):
                if entry.id and entry.string:
                    ids = [entry.id] if isinstance(entry.id, str) else list(entry.id)
                    for key in ids:
                        translated[key] = str(entry.string)
    return translated


def test_every_marked_text_has_a_french_translation() -> None:
    marked = _marked()
    assert "Skip to content" in marked  # the extraction reads the templates
    missing = sorted(marked - set(_french()))
    assert missing == [], f"{len(missing)} texts without French: {missing[:20]}"


def test_the_language_follows_switch_cookie_then_browser(runtime: Runtime) -> None:
    with TestClient(create_app(runtime)) as client:
        english = client.get("/privacy", headers={"Accept-Language": "en-GB,en;q=0.9"})
        assert '<html lang="en">' in english.text
        french = client.get("/privacy", headers={"Accept-Language": "de, fr;q=0.5"})
        assert '<html lang="fr">' in french.text
        switched = client.get("/privacy?lang=en", headers={"Accept-Language": "fr"})
        assert '<html lang="en">' in switched.text
        # The switch sticks: a cookie now says English, whatever the browser prefers.
        after = client.get("/privacy", headers={"Accept-Language": "fr"})
        assert '<html lang="en">' in after.text
