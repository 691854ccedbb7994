"""The scanner: pattern recognizers, civilities and spaCy names over batches of texts.

Texts are scanned in batches so that spaCy reads them through ``nlp.pipe``. The pattern
recognizers run first; their findings tell the name recognizer which characters are already
explained (an e-mail address, a street name), so it reads only what is left.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Literal

from confiance.pii.errors import UnsupportedLanguage
from confiance.pii.findings import EntityType, Finding, resolve_overlaps
from confiance.pii.language import Language, detect_language
from confiance.pii.names import NameRecognizer, civility_names
from confiance.pii.patterns import find_patterns

__all__ = ["LanguageChoice", "Scanner", "default_scanner"]

LanguageChoice = Literal["fr", "en", "auto"]
_LANGUAGES: frozenset[str] = frozenset({"fr", "en", "auto"})


class Scanner:
    """Finds personal data in French and English texts.

    ``entities`` limits what is looked for (all types by default); findings scoring below
    ``min_score`` are dropped. Building a scanner loads nothing: each language's spaCy
    pipeline is loaded the first time a text in that language is scanned for names.
    """

    def __init__(
        self,
        *,
        entities: Iterable[EntityType] | None = None,
        min_score: float = 0.5,
        models: dict[str, str] | None = None,
        batch_size: int = 256,
    ) -> None:
        self.entities: frozenset[EntityType] | None = (
            None if entities is None else frozenset(EntityType(e) for e in entities)
        )
        self.min_score = min_score
        self.names = NameRecognizer(models, batch_size=batch_size)

    def _wants(self, entity: EntityType) -> bool:
        return self.entities is None or entity in self.entities

    def languages_of(self, texts: Sequence[str], language: str) -> list[Language]:
        """The language each text is read in: the one given, or detected."""
        if language not in _LANGUAGES:
            raise UnsupportedLanguage(language=language)
        if language == "auto":
            return [detect_language(text) for text in texts]
        fixed: Language = "fr" if language == "fr" else "en"
        return [fixed] * len(texts)

    def scan(self, text: str, *, language: str = "auto") -> list[Finding]:
        """Findings in one text, in order, without overlaps."""
        return self.scan_many([text], language=language)[0]

    def scan_many(self, texts: Sequence[str], *, language: str = "auto") -> list[list[Finding]]:
        """Findings in each text; much faster per text than :meth:`scan` one at a time."""
        languages = self.languages_of(texts, language)
        found: list[list[Finding]] = []
        for text, lang in zip(texts, languages, strict=True):
            items = find_patterns(text, lang, entities=self.entities)
            if self._wants(EntityType.PERSON):
                items.extend(civility_names(text))
            found.append(items)
        if self._wants(EntityType.PERSON):
            for lang in ("fr", "en"):
                indices = [i for i, x in enumerate(languages) if x == lang]
                if not indices:
                    continue
                names = self.names.find_many(
                    [texts[i] for i in indices], lang, [found[i] for i in indices]
                )
                for i, extra in zip(indices, names, strict=True):
                    found[i].extend(extra)
        return [
            resolve_overlaps([f for f in items if f.score >= self.min_score]) for items in found
        ]


@functools.cache
def default_scanner() -> Scanner:
    """The process-wide scanner with default settings, so its models load once."""
    return Scanner()
