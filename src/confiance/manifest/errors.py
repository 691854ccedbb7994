"""Errors of the privacy manifest domain.

::

    ConfianceError
    └── ManifestError
        ├── ManifestInvalid          the manifest has errors; ``problems`` lists every one (422)
        ├── InvalidFieldValue        a value does not fit its declared field (422)
        ├── NotALookupField          a customer cannot be found through this field (422)
        ├── UnknownField             the manifest does not declare this field (422)
        ├── UnknownPurpose           the manifest does not declare this purpose (422)
        ├── ManifestVersionNotFound  no stored version has this sequence number (404)
        └── NoManifestLoaded         nothing can be collected before a manifest is loaded (409)

Values given for a field are personal data, so no error here ever carries one: they name the
field and what it expects, which is all a caller needs to fix the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from confiance.errors import ConfianceError

__all__ = [
    "InvalidFieldValue",
    "ManifestError",
    "ManifestInvalid",
    "ManifestVersionNotFound",
    "NoManifestLoaded",
    "NotALookupField",
    "UnknownField",
    "UnknownPurpose",
]


class ManifestError(ConfianceError):
    code = "manifest"
    status = 422
    title = "Privacy manifest error"


class ManifestInvalid(ManifestError):
    """Raised with every problem at once, so one round of fixes is usually enough."""

    code = "manifest-invalid"
    status = 422
    title = "The privacy manifest is not valid"

    def __init__(self, detail: str | None = None, *, problems: Sequence[Any]) -> None:
        # Problems are accepted as objects with ``as_dict`` (checks.Problem) or as dicts, so
        # that this module does not import the checks and the checks can import it.
        as_dicts = [p.as_dict() if hasattr(p, "as_dict") else dict(p) for p in problems]
        errors = [p for p in as_dicts if p.get("severity", "error") == "error"]
        if detail is None:
            if errors:
                first = errors[0]
                detail = (
                    f"the privacy manifest has {len(errors)} error(s); first, at line "
                    f"{first['line']}: {first['message']}"
                )
            else:
                detail = "the privacy manifest is not valid"
        super().__init__(detail, problems=as_dicts)

    @property
    def problems(self) -> list[dict[str, Any]]:
        problems: list[dict[str, Any]] = self.fields["problems"]
        return problems


class InvalidFieldValue(ManifestError):
    code = "invalid-field-value"
    status = 422
    title = "A value does not match its field"

    def __init__(self, *, field: str, expected: str, hint: str | None = None) -> None:
        detail = f"the field '{field}' expects {expected}"
        if hint:
            detail = f"{detail}: {hint}"
        super().__init__(detail, field=field, expected=expected)


class NotALookupField(ManifestError):
    code = "not-a-lookup-field"
    status = 422
    title = "This field cannot be used to find a customer"

    def __init__(self, *, field: str) -> None:
        super().__init__(
            f"the field '{field}' cannot be used to find a customer; only email and phone "
            "fields declared with 'lookup: true' can",
            field=field,
        )


class UnknownField(ManifestError):
    code = "unknown-field"
    status = 422
    title = "Field not declared in the privacy manifest"

    def __init__(self, field: str) -> None:
        super().__init__(f"the manifest does not declare the field '{field}'", field=field)


class UnknownPurpose(ManifestError):
    code = "unknown-purpose"
    status = 422
    title = "Purpose not declared in the privacy manifest"

    def __init__(self, purpose: str) -> None:
        super().__init__(f"the manifest does not declare the purpose '{purpose}'", purpose=purpose)


class ManifestVersionNotFound(ManifestError):
    code = "manifest-version-not-found"
    status = 404
    title = "No such manifest version"

    def __init__(self, *, seq: int) -> None:
        super().__init__(f"no manifest version has the number {seq}", seq=seq)


class NoManifestLoaded(ManifestError):
    code = "no-manifest-loaded"
    status = 409
    title = "No privacy manifest loaded"

    def __init__(self) -> None:
        super().__init__(
            "no privacy manifest is loaded yet, so nothing may be collected; "
            "run 'confiance manifest load FILE'"
        )
