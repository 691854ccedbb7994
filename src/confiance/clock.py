"""The one clock of Confiance: UTC, timezone-aware, settable in tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["from_micros", "now", "set_clock", "to_micros"]

_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """Current time, always timezone-aware UTC."""
    return _source()


def set_clock(source: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests); ``None`` restores the system clock."""
    global _source
    _source = source or (lambda: datetime.now(UTC))


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
