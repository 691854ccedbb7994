"""The error hierarchy of Confiance.

Every error a user can meet derives from :class:`ConfianceError`. Each class carries a
stable ``code`` (used in RFC 9457 ``type`` URIs and by API clients), an HTTP ``status`` and
the structured ``fields`` that explain it. Messages never contain personal data: they name
fields, purposes and identifiers, never values.

::

    ConfianceError
    ├── ConfigurationError          settings or key files are missing or unsafe
    ├── ValidationFailed            input does not match a schema (422)
    ├── NotFound                    the resource does not exist or the caller may not see it (404)
    ├── Unauthenticated             no or bad credentials (401)
    ├── PermissionDenied            credentials valid, action not allowed (403)
    ├── Conflict                    the request clashes with the current state (409)
    ├── manifest.errors.ManifestError
    ├── crypto.errors.CryptoError   (DecryptionFailed is opaque on purpose)
    ├── audit.errors.AuditError
    └── vault.errors.VaultError
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "ConfianceError",
    "ConfigurationError",
    "Conflict",
    "NotFound",
    "PermissionDenied",
    "Unauthenticated",
    "ValidationFailed",
]


class ConfianceError(Exception):
    """Base of every error raised by Confiance on purpose."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, **fields: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields: dict[str, Any] = fields

    def to_problem(self, *, instance: str | None = None) -> dict[str, Any]:
        """Render as an RFC 9457 problem details object."""
        problem: dict[str, Any] = {
            "type": f"https://confiance.example/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance is not None:
            problem["instance"] = instance
        for key, value in self.fields.items():
            problem.setdefault(key, value)
        return problem

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, detail={self.detail!r})"


class ConfigurationError(ConfianceError):
    code = "configuration"
    status = 500
    title = "Confiance is not configured correctly"


class ValidationFailed(ConfianceError):
    code = "validation-failed"
    status = 422
    title = "The request is not valid"


class NotFound(ConfianceError):
    code = "not-found"
    status = 404
    title = "Not found"


class Unauthenticated(ConfianceError):
    code = "unauthenticated"
    status = 401
    title = "Authentication required"


class PermissionDenied(ConfianceError):
    code = "permission-denied"
    status = 403
    title = "Not allowed"


class Conflict(ConfianceError):
    code = "conflict"
    status = 409
    title = "Conflict with the current state"
