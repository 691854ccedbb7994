"""Errors of table anonymisation.

Messages name columns, files and counts, never a value from the table: a quasi-identifier's
values are personal data, and an error message ends up in logs.
"""

from __future__ import annotations

from confiance.errors import ConfianceError

__all__ = [
    "AnonymizeError",
    "HierarchyInvalid",
    "InvalidParameter",
    "LatticeTooLarge",
    "NoRelease",
    "UnknownColumn",
    "ValueNotInHierarchy",
]


class AnonymizeError(ConfianceError):
    """Base of the anonymisation errors: the input or the parameters cannot give a release."""

    code = "anonymize"
    status = 422
    title = "The table cannot be anonymised as asked"


class UnknownColumn(AnonymizeError):
    code = "anonymize-unknown-column"
    title = "Unknown column"

    def __init__(self, *, column: str, role: str) -> None:
        super().__init__(
            f"column {column!r} (given as {role}) is not in the table; check the header",
            column=column,
            role=role,
        )


class HierarchyInvalid(AnonymizeError):
    code = "anonymize-hierarchy-invalid"
    title = "Invalid generalisation hierarchy"

    def __init__(self, *, column: str, reason: str) -> None:
        super().__init__(f"hierarchy of column {column!r}: {reason}", column=column, reason=reason)


class ValueNotInHierarchy(AnonymizeError):
    code = "anonymize-value-not-in-hierarchy"
    title = "A value is missing from its hierarchy"

    def __init__(self, *, column: str, rows: int, first_row: int) -> None:
        super().__init__(
            f"{rows} row(s) of column {column!r} hold a value (or nothing) that its hierarchy "
            f"does not list, the first at row {first_row} (0-based, header excluded); "
            "add the value as a leaf of the hierarchy",
            column=column,
            rows=rows,
            first_row=first_row,
        )


class InvalidParameter(AnonymizeError):
    code = "anonymize-invalid-parameter"
    title = "Invalid anonymisation parameter"

    def __init__(self, *, parameter: str, reason: str) -> None:
        super().__init__(f"parameter {parameter!r}: {reason}", parameter=parameter, reason=reason)


class LatticeTooLarge(AnonymizeError):
    code = "anonymize-lattice-too-large"
    title = "Too many generalisation levels for the optimal search"

    def __init__(self, *, nodes: int, limit: int) -> None:
        super().__init__(
            f"the generalisation lattice has {nodes} transformations, more than the {limit} "
            "the optimal search accepts; use fewer quasi-identifiers or levels, or mode 'local'",
            nodes=nodes,
            limit=limit,
        )


class NoRelease(AnonymizeError):
    code = "anonymize-no-release"
    title = "No release satisfies the privacy models"

    def __init__(self, *, mode: str, reason: str) -> None:
        super().__init__(
            f"no {mode} release satisfies the privacy models: {reason}; "
            "raise the suppression limit or relax k, l or t",
            mode=mode,
            reason=reason,
        )
