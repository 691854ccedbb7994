"""Errors of PII detection. None of them carries a scanned value: only names of things."""

from __future__ import annotations

from confiance.errors import ConfigurationError, ValidationFailed

__all__ = ["ModelUnavailable", "PiiError", "UnreadableInput", "UnsupportedLanguage"]


class PiiError(ValidationFailed):
    """Base of the PII scanner's input errors."""

    code = "pii-error"


class UnsupportedLanguage(PiiError):
    code = "pii-unsupported-language"

    def __init__(self, *, language: str) -> None:
        super().__init__(
            f"The PII scanner reads French and English: use language 'fr', 'en' or 'auto', "
            f"not {language!r}.",
            language=language,
        )


class UnreadableInput(PiiError):
    code = "pii-unreadable-input"

    def __init__(self, *, source: str, reason: str) -> None:
        super().__init__(f"{source} cannot be scanned: {reason}.", source=source, reason=reason)


class ModelUnavailable(ConfigurationError):
    code = "pii-model-unavailable"

    def __init__(self, *, language: str, model: str) -> None:
        hint = model.replace("_", "-") if model else "a spaCy pipeline"
        super().__init__(
            f"The spaCy pipeline for language {language!r} ({model or 'none configured'}) is "
            f"not installed: install it with `pip install {hint}`, or scan without names.",
            language=language,
            model=model,
        )
