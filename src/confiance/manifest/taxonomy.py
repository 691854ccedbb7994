"""The fideslang taxonomy: the shared vocabulary for data categories and data uses.

Using fideslang's keys instead of our own lets a manifest be read by other privacy tools and
keeps "what is this data" and "what is it for" comparable between companies. The taxonomy is
read once from the installed package and kept: it does not change while Confiance runs.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache

__all__ = [
    "SPECIAL_CATEGORY_PREFIXES",
    "Taxonomy",
    "deprecated_replacement",
    "is_data_category",
    "is_data_use",
    "is_special_category",
    "suggest_data_category",
    "suggest_data_use",
    "taxonomy",
]

# Categories that are special categories of personal data (GDPR art. 9) or data about
# criminal convictions (art. 10). A field with one of these categories must be declared
# sensitive, so that the explicit-consent rule applies to it.
SPECIAL_CATEGORY_PREFIXES: tuple[str, ...] = (
    "user.biometric",
    "user.authorization.biometric",
    "user.health_and_medical",
    "user.criminal_history",
    "user.demographic.political_opinion",
    "user.demographic.race_ethnicity",
    "user.demographic.religious_belief",
    "user.demographic.sexual_orientation",
)


@dataclass(frozen=True)
class Taxonomy:
    data_categories: frozenset[str]
    data_uses: frozenset[str]
    # Deprecated key -> the key that replaces it ('' when fideslang names none).
    deprecated: dict[str, str]


@cache
def taxonomy() -> Taxonomy:
    # Imported here: fideslang takes about 0.2 s to import, which every CLI command and
    # worker start would otherwise pay, checks or not.
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    deprecated: dict[str, str] = {}
    for items in (DEFAULT_TAXONOMY.data_category, DEFAULT_TAXONOMY.data_use):
        for item in items:
            if item.version_deprecated:
                deprecated[item.fides_key] = item.replaced_by or ""
    return Taxonomy(
        data_categories=frozenset(item.fides_key for item in DEFAULT_TAXONOMY.data_category),
        data_uses=frozenset(item.fides_key for item in DEFAULT_TAXONOMY.data_use),
        deprecated=deprecated,
    )


def is_data_category(key: str) -> bool:
    return key in taxonomy().data_categories


def is_data_use(key: str) -> bool:
    return key in taxonomy().data_uses


def is_special_category(key: str) -> bool:
    return any(key == p or key.startswith(p + ".") for p in SPECIAL_CATEGORY_PREFIXES)


def deprecated_replacement(key: str) -> str | None:
    """The key replacing a deprecated one ('' if none is named), None if ``key`` is current."""
    return taxonomy().deprecated.get(key)


def _closest(key: str, candidates: frozenset[str]) -> str | None:
    matches = difflib.get_close_matches(key, sorted(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def suggest_data_category(key: str) -> str | None:
    """The known data category closest to a misspelt one, if any is close enough."""
    return _closest(key, taxonomy().data_categories)


def suggest_data_use(key: str) -> str | None:
    """The known data use closest to a misspelt one, if any is close enough."""
    return _closest(key, taxonomy().data_uses)
