"""Errors of pseudonymisation. They name files' columns and formats, never a value."""

from __future__ import annotations

from collections.abc import Sequence

from confiance.errors import Conflict, PermissionDenied, ValidationFailed

__all__ = [
    "InputNotFound",
    "InvalidDomain",
    "InvalidValue",
    "OutputExists",
    "OutputIsInput",
    "ReversalNotConfirmed",
    "TokenNotReversible",
    "UnknownColumns",
    "UnsupportedFormat",
]


class UnknownColumns(ValidationFailed):
    code = "unknown-columns"
    title = "Columns not found in the file"

    def __init__(self, columns: Sequence[str], available: Sequence[str]) -> None:
        shown = ", ".join(available[:20]) + (", ..." if len(available) > 20 else "")
        super().__init__(
            f"the file has no column {', '.join(repr(c) for c in columns)}; its columns are: "
            f"{shown}. Fix --columns.",
            columns=list(columns),
            available=list(available),
        )


class UnsupportedFormat(ValidationFailed):
    code = "unsupported-format"
    title = "File format not supported"

    def __init__(self, suffix: str) -> None:
        super().__init__(
            f"files ending in '{suffix}' are not supported; use .csv or .parquet.",
            suffix=suffix,
        )


class OutputIsInput(ValidationFailed):
    code = "output-is-input"
    title = "The output would overwrite the input"

    def __init__(self) -> None:
        super().__init__("the output file is the input file; choose another output path.")


class OutputExists(Conflict):
    code = "output-exists"
    title = "The output file exists"

    def __init__(self) -> None:
        super().__init__(
            "the output file exists already; remove it, choose another path, or pass --overwrite."
        )


class InvalidDomain(ValidationFailed):
    code = "invalid-pseudonym-domain"
    title = "Pseudonym domain not valid"

    def __init__(self, domain: str) -> None:
        super().__init__(
            "a pseudonym domain is 1 to 64 characters: letters, digits, '_', '-' and '.'; "
            f"got {len(domain)} characters. Fix --domain.",
            length=len(domain),
        )


class InvalidValue(ValidationFailed):
    code = "invalid-value-to-pseudonymise"
    title = "A value does not match its field"

    def __init__(self, *, column: str, expected: str) -> None:
        super().__init__(
            f"a value in column '{column}' is not {expected}; correct the file, or pass "
            "--invalid raw (pseudonymise it as written) or --invalid empty (leave it empty).",
            column=column,
            expected=expected,
        )


class TokenNotReversible(ValidationFailed):
    """Opaque on purpose, like every decryption failure: a token from another key ring, from
    another column's domain, altered or not a token at all look the same."""

    code = "token-not-reversible"
    title = "A pseudonym cannot be reversed"

    def __init__(self, *, column: str) -> None:
        super().__init__(
            f"a value in column '{column}' is not a reversible pseudonym of this installation "
            "and domain (made with --reversible, under this key file).",
            column=column,
        )


class ReversalNotConfirmed(PermissionDenied):
    code = "reversal-not-confirmed"
    title = "Reversal needs an explicit confirmation"

    def __init__(self) -> None:
        super().__init__(
            "reversing pseudonyms reveals personal data; confirm with --confirm-reveal "
            "(the reversal is recorded in the audit log)."
        )


class InputNotFound(ValidationFailed):
    code = "input-not-found"
    title = "The input file does not exist"

    def __init__(self) -> None:
        super().__init__("the input file does not exist or is not a file; check the path.")
