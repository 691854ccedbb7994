"""Errors of staff sign-in and accounts. None says whether an address has an account."""

from __future__ import annotations

from confiance.errors import ConfianceError

__all__ = [
    "AccountExists",
    "AccountLocked",
    "InvalidAccount",
    "InvalidPassword",
    "SessionExpired",
    "SignInFailed",
    "StaffError",
    "StaffNotFound",
    "WeakPassword",
]


class StaffError(ConfianceError):
    code = "staff"
    status = 400


class SignInFailed(StaffError):
    code = "sign-in-failed"
    status = 401
    title = "Sign-in failed"

    def __init__(self) -> None:
        super().__init__("The address, the password or the code is wrong.")


class AccountLocked(StaffError):
    code = "account-locked"
    status = 429
    title = "Too many failed attempts"

    def __init__(self, retry_after_seconds: int) -> None:
        minutes = max(1, (retry_after_seconds + 59) // 60)
        super().__init__(
            f"Too many failed attempts: try again in {minutes} minutes, or ask an administrator.",
            retry_after_seconds=retry_after_seconds,
        )


class SessionExpired(StaffError):
    code = "session-expired"
    status = 401
    title = "Please sign in again"

    def __init__(self) -> None:
        super().__init__("Your session has ended; sign in again.")


class WeakPassword(StaffError):
    code = "weak-password"
    status = 422
    title = "This password is too weak"

    def __init__(self, rule: str) -> None:
        super().__init__(f"Choose a password {rule}.", rule=rule)


class InvalidPassword(StaffError):
    code = "invalid-password"
    status = 400
    title = "Wrong password"

    def __init__(self, problem: str) -> None:
        super().__init__(problem[:1].upper() + problem[1:] + ".")


class InvalidAccount(StaffError):
    code = "invalid-account"
    status = 422
    title = "This account cannot be created"

    def __init__(self, problem: str, **fields: object) -> None:
        super().__init__(problem[:1].upper() + problem[1:] + ".", **fields)


class AccountExists(StaffError):
    code = "account-exists"
    status = 409
    title = "This address already has an account"

    def __init__(self) -> None:
        super().__init__("An account with this address exists already.")


class StaffNotFound(StaffError):
    code = "staff-not-found"
    status = 404
    title = "No such account"

    def __init__(self) -> None:
        super().__init__("No staff account matches.")
