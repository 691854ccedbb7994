"""PII detection in free text, French and English.

::

    from confiance.pii import Scanner, replace

    scanner = Scanner()
    findings = scanner.scan("Madame Durand, née le 3 janvier 2001", language="fr")
    replace(text, findings)

See ``docs/pii.md``.
"""

from confiance.pii.engine import LanguageChoice, Scanner, default_scanner
from confiance.pii.errors import ModelUnavailable, PiiError, UnreadableInput, UnsupportedLanguage
from confiance.pii.findings import EntityType, Finding
from confiance.pii.language import detect_language
from confiance.pii.operators import Operator, anonymize, mask, redact, replace
from confiance.pii.policy import FreeTextAction, FreeTextOutcome, FreeTextPolicy, scan_free_text

__all__ = [
    "EntityType",
    "Finding",
    "FreeTextAction",
    "FreeTextOutcome",
    "FreeTextPolicy",
    "LanguageChoice",
    "ModelUnavailable",
    "Operator",
    "PiiError",
    "Scanner",
    "UnreadableInput",
    "UnsupportedLanguage",
    "anonymize",
    "default_scanner",
    "detect_language",
    "mask",
    "redact",
    "replace",
    "scan_free_text",
]
