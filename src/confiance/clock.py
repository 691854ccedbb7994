"""The one clock of Confiance: UTC, timezone-aware, settable in tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["from_micros", "now", "set_clock", "timestamp", "to_micros"]

_override: Callable[[], datetime] | None = None


def now() -> datetime:
    """Current time, always timezone-aware UTC."""
    return datetime.now(UTC) if _override is None else _override()


def timestamp() -> float:
    """Current time as seconds since the epoch: the cheap form, for hot paths (cached
    decisions) that only compare instants."""
    return time.time() if _override is None else _override().timestamp()


def set_clock(source: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests); ``None`` restores the system clock."""
    global _override
    _override = source


def to_micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch, exact on every database."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not accepted; use an aware UTC datetime")
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    return datetime.fromtimestamp(micros / 1_000_000, tz=UTC).replace(
        microsecond=micros % 1_000_000
    )
