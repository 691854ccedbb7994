"""Global Privacy Control: reading ``Sec-GPC`` as the W3C specification says.

A request carries the signal only if some ``Sec-GPC`` field value is exactly ``1``. Anything
else (absent, ``0``, ``true``, empty) is no preference at all: in particular never a consent,
so a later request without the header does not undo an opt-out.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

__all__ = ["GPC_JSON", "gpc_requested"]

#: Served at /.well-known/gpc.json (GPC specification, section "Server-side support").
GPC_JSON = {"gpc": True, "lastUpdate": date(2026, 11, 29).isoformat()}


def gpc_requested(values: Iterable[str]) -> bool:
    """``values``: every ``Sec-GPC`` field value of the request, as received."""
    return any(value == "1" for value in values)
