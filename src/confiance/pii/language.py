"""Which language a text is in, French or English, by counting their stop words.

Short support messages are the common case; a dictionary of a few dozen frequent words per
language is enough for them and costs a split and a set look-up per word.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = ["Language", "detect_language"]

Language = Literal["fr", "en"]

_FR = frozenset(
    [
        "le",
        "la",
        "les",
        "un",
        "une",
        "des",
        "du",
        "de",
        "et",
        "est",
        "je",
        "tu",
        "il",
        "elle",
        "nous",
        "vous",
        "ils",
        "elles",
        "mon",
        "ma",
        "mes",
        "ton",
        "ta",
        "son",
        "sa",
        "ses",
        "notre",
        "votre",
        "leur",
        "pour",
        "par",
        "avec",
        "dans",
        "sur",
        "pas",
        "ne",
        "que",
        "qui",
        "quoi",
        "au",
        "aux",
        "ce",
        "cette",
        "ces",
        "mais",
        "ou",
        "donc",
        "être",
        "avoir",
        "suis",
        "sommes",
        "êtes",
        "sont",
        "ai",
        "avez",
        "ont",
        "été",
        "merci",
        "bonjour",
        "madame",
        "monsieur",
        "veuillez",
        "svp",
        "très",
        "aussi",
        "comme",
        "chez",
        "depuis",
    ]
)
_EN = frozenset(
    [
        "the",
        "an",
        "and",
        "is",
        "are",
        "was",
        "were",
        "i",
        "you",
        "he",
        "she",
        "we",
        "they",
        "my",
        "your",
        "his",
        "her",
        "our",
        "their",
        "to",
        "of",
        "in",
        "at",
        "for",
        "with",
        "by",
        "not",
        "that",
        "this",
        "these",
        "those",
        "but",
        "or",
        "be",
        "have",
        "has",
        "had",
        "been",
        "am",
        "do",
        "does",
        "did",
        "please",
        "thanks",
        "thank",
        "hello",
        "dear",
        "would",
        "could",
        "should",
        "can",
        "will",
        "from",
        "it",
        "its",
    ]
)
_WORDS = re.compile(r"[a-zà-ÿ']+")


def detect_language(text: str, *, default: Language = "fr") -> Language:
    """``"fr"`` or ``"en"``, whichever has more stop words in ``text``; ``default`` on a tie."""
    fr = en = 0
    for word in _WORDS.findall(text.lower()):
        if word in _FR:
            fr += 1
        if word in _EN:
            en += 1
    if fr == en:
        return default
    return "fr" if fr > en else "en"
