"""Errors of the TCF codec.

::

    ConfianceError
    └── TcfError
        ├── InvalidTCString    a TC string cannot be read or breaks a TCF rule (422)
        ├── InvalidTCModel     a model (or its JSON) cannot become a valid TC string (422)
        └── InvalidTcfMapping  a TCF-to-manifest mapping is not usable (422)

A TC string is an identifier-like signal tied to a browser, so no error here quotes it: an
:class:`InvalidTCString` says *why* (``reason``) and *where* (``position``, the index of the
character in the string), which is enough to find the fault with the string at hand.
"""

from __future__ import annotations

from confiance.errors import ConfianceError

__all__ = ["InvalidTCModel", "InvalidTCString", "InvalidTcfMapping", "TcfError"]


class TcfError(ConfianceError):
    code = "tcf"
    status = 422
    title = "TCF error"


class InvalidTCString(TcfError):
    """The one error :func:`~confiance.consent.tcf.codec.decode` raises for a bad string.

    Callers catch this class only: a malformed string never escapes as ``ValueError`` or
    ``IndexError``, which the property tests check on random input.
    """

    code = "invalid-tc-string"
    status = 422
    title = "The TC string is not valid"

    def __init__(self, *, reason: str, position: int | None = None) -> None:
        where = "" if position is None else f" at character {position}"
        super().__init__(f"invalid TC string{where}: {reason}", reason=reason, position=position)
        self.reason = reason
        self.position = position


class InvalidTCModel(TcfError):
    """Raised when encoding would need a value the format cannot hold or a TCF rule forbids.

    ``field`` names the JSON key (``cmpId``, ``purposesLITransparency``...), the same name a
    user sees in ``confiance tcf decode`` output and writes in an ``encode`` input file.
    """

    code = "invalid-tc-model"
    status = 422
    title = "The TC model cannot be encoded"

    def __init__(self, *, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", field=field, reason=reason)
        self.field = field
        self.reason = reason


class InvalidTcfMapping(TcfError):
    code = "invalid-tcf-mapping"
    status = 422
    title = "The TCF mapping is not valid"

    def __init__(self, *, problems: list[str]) -> None:
        detail = "; ".join(problems) if problems else "the TCF mapping is not valid"
        super().__init__(f"invalid TCF mapping: {detail}", problems=problems)
        self.problems = problems
