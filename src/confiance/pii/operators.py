"""What to do with what was found: redact (remove), mask (hide the characters) or replace
(with the entity type as a placeholder)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from confiance.pii.findings import Finding

__all__ = ["Operator", "anonymize", "mask", "redact", "replace"]


class Operator(StrEnum):
    REDACT = "redact"
    MASK = "mask"
    REPLACE = "replace"


def anonymize(
    text: str,
    findings: Sequence[Finding],
    operator: Operator | str,
    *,
    mask_char: str = "*",
    keep_last: int = 0,
) -> str:
    """``text`` with every finding rewritten by ``operator``.

    ``mask`` hides letters and digits with ``mask_char`` and keeps separators, so the shape
    of the value (an e-mail, a phone number) stays readable; ``keep_last`` leaves that many of
    its last letters or digits visible (4 for a card number). Findings must not overlap, as
    :meth:`Scanner.scan` returns them.
    """
    op = Operator(operator)
    if len(mask_char) != 1:
        raise ValueError("mask_char is one character")
    parts: list[str] = []
    position = 0
    for finding in sorted(findings, key=lambda f: f.start):
        if finding.start < position:
            raise ValueError("findings overlap")
        parts.append(text[position : finding.start])
        value = text[finding.start : finding.end]
        if op is Operator.REPLACE:
            parts.append(f"<{finding.entity.value}>")
        elif op is Operator.MASK:
            parts.append(_mask(value, mask_char, keep_last))
        position = finding.end
    parts.append(text[position:])
    return "".join(parts)


def _mask(value: str, mask_char: str, keep_last: int) -> str:
    visible = 0
    out: list[str] = []
    for char in reversed(value):
        if char.isalnum():
            if visible < keep_last:
                visible += 1
                out.append(char)
            else:
                out.append(mask_char)
        else:
            out.append(char)
    return "".join(reversed(out))


def redact(text: str, findings: Sequence[Finding]) -> str:
    """``text`` with the findings removed."""
    return anonymize(text, findings, Operator.REDACT)


def mask(
    text: str, findings: Sequence[Finding], *, mask_char: str = "*", keep_last: int = 0
) -> str:
    """``text`` with the findings' letters and digits hidden."""
    return anonymize(text, findings, Operator.MASK, mask_char=mask_char, keep_last=keep_last)


def replace(text: str, findings: Sequence[Finding]) -> str:
    """``text`` with each finding replaced by its type: ``<email>``, ``<person>``..."""
    return anonymize(text, findings, Operator.REPLACE)
