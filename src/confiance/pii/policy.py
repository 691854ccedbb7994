"""Free text on its way into the vault: scanned, then flagged or redacted.

A manifest declares fields, but a ``text`` field (a note, a support ticket) or a ``list`` of
objects holding text can carry anything a person typed: an IBAN, a social security number,
somebody else's name. :class:`FreeTextPolicy` is what the vault applies to such a value
before sealing it:

- ``flag`` keeps the value as typed and reports what was found (for the audit entry and the
  caller);
- ``redact`` rewrites the value with an operator (``replace`` by default: ``<iban>``) so the
  personal data never reaches the database.

The report (:class:`FreeTextOutcome.counts`) names entity types and how many of each, never a
value, so it may go into an audit entry.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from confiance.pii.engine import Scanner, default_scanner
from confiance.pii.findings import EntityType, Finding
from confiance.pii.operators import Operator, anonymize

__all__ = ["FreeTextAction", "FreeTextOutcome", "FreeTextPolicy", "scan_free_text"]


def scan_free_text(
    value: str, *, language: str = "auto", scanner: Scanner | None = None
) -> list[Finding]:
    """Personal data in one free-text value (the process-wide scanner by default)."""
    return (scanner or default_scanner()).scan(value, language=language)


class FreeTextAction(StrEnum):
    FLAG = "flag"
    REDACT = "redact"


@dataclass(frozen=True, slots=True)
class FreeTextOutcome:
    """What the policy did to one value: the value to store and what was found in it."""

    value: Any
    findings: tuple[tuple[str, Finding], ...]
    action: FreeTextAction

    @property
    def found(self) -> bool:
        return bool(self.findings)

    @property
    def changed(self) -> bool:
        return self.action is FreeTextAction.REDACT and self.found

    def counts(self) -> dict[str, int]:
        """Entity type → how many, sorted: safe for an audit entry."""
        return dict(sorted(Counter(f.entity.value for _, f in self.findings).items()))

    def summary(self) -> str:
        """``"email:1,person:2"``: the counts in one short string ('' when nothing)."""
        return ",".join(f"{k}:{v}" for k, v in self.counts().items())


@dataclass(frozen=True)
class FreeTextPolicy:
    """How free text is treated on collection; the default flags and changes nothing."""

    action: FreeTextAction = FreeTextAction.FLAG
    operator: Operator = Operator.REPLACE
    entities: frozenset[EntityType] | None = None
    language: str = "auto"
    scanner: Scanner | None = field(default=None, compare=False, repr=False)

    def apply(self, value: Any) -> FreeTextOutcome:
        """Scan every string in ``value`` (a string, or lists and objects holding strings)
        and return the value to store, redacted if the policy says so.

        Strings are found by walking the value; each is located by a path such as
        ``[0].body`` so a report can say where, without saying what. All strings of one value
        are scanned in one batch.
        """
        paths: list[str] = []
        texts: list[str] = []
        _collect_strings(value, "", paths, texts)
        scanner = self.scanner or default_scanner()
        results = scanner.scan_many(texts, language=self.language) if texts else []
        kept: list[list[Finding]] = [
            [f for f in found if self.entities is None or f.entity in self.entities]
            for found in results
        ]
        findings = tuple((p, f) for p, found in zip(paths, kept, strict=True) for f in found)
        if self.action is FreeTextAction.FLAG or not findings:
            return FreeTextOutcome(value, findings, self.action)
        rewritten = {
            p: anonymize(t, found, self.operator)
            for p, t, found in zip(paths, texts, kept, strict=True)
            if found
        }
        return FreeTextOutcome(_rebuild(value, "", rewritten), findings, self.action)


def _collect_strings(value: Any, path: str, paths: list[str], texts: list[str]) -> None:
    if isinstance(value, str):
        paths.append(path)
        texts.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _collect_strings(item, f"{path}.{key}", paths, texts)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _collect_strings(item, f"{path}[{i}]", paths, texts)


def _rebuild(value: Any, path: str, rewritten: dict[str, str]) -> Any:
    if isinstance(value, str):
        return rewritten.get(path, value)
    if isinstance(value, dict):
        return {k: _rebuild(v, f"{path}.{k}", rewritten) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rebuild(v, f"{path}[{i}]", rewritten) for i, v in enumerate(value)]
    return value
