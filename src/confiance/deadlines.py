"""Legal deadlines of rights requests, computed in one place.

- **GDPR** (art. 12(3)): answer within one month of receipt, extendable by two further months
  when necessary. Periods follow Regulation (EEC, Euratom) No 1182/71, as the EDPB's guidelines
  on the right of access do: a period of months ends on the same date of the last month, or on
  that month's last day when it has no such date (art. 3(2)(c)); a period ending on a Saturday,
  a Sunday or a public holiday ends on the next working day (art. 3(4)). Days are counted in the
  controller's time zone (Europe/Paris by default) and public holidays are France's.
- **CCPA/CPRA** (Cal. Civ. Code 1798.130(a)(2); CCPA Regulations 7021, 7026): answer within 45
  calendar days, extendable once by 45 more; confirm receipt within 10 business days; act on an
  opt-out of sale/sharing (or a limit on sensitive data) within 15 business days. Days are
  counted in California (America/Los_Angeles) and business days skip weekends and California's
  state holidays.

Every deadline is the end of its last day, in that time zone, returned as an aware UTC datetime.
Holidays come from the well-kept ``holidays`` package rather than a hand-written list.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from confiance import clock

__all__ = [
    "DUE_SOON",
    "Jurisdiction",
    "Standing",
    "acknowledgement_due",
    "add_business_days",
    "add_months",
    "opt_out_due",
    "response_due",
    "standing",
    "zone_of",
]

#: A request is "due soon" when less than this remains.
DUE_SOON = timedelta(days=7)


class Jurisdiction(StrEnum):
    GDPR = "gdpr"
    CCPA = "ccpa"


@dataclass(frozen=True)
class _Calendar:
    zone: ZoneInfo
    country: str
    subdivision: str | None


_CALENDARS = {
    Jurisdiction.GDPR: _Calendar(ZoneInfo("Europe/Paris"), "FR", None),
    Jurisdiction.CCPA: _Calendar(ZoneInfo("America/Los_Angeles"), "US", "CA"),
}


class Standing(StrEnum):
    ON_TIME = "on_time"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


def zone_of(jurisdiction: Jurisdiction) -> ZoneInfo:
    """The time zone a jurisdiction's deadlines are counted in."""
    return _CALENDARS[jurisdiction].zone


@lru_cache(maxsize=64)
def _holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


def _working(day: date, jurisdiction: Jurisdiction) -> bool:
    cal = _CALENDARS[jurisdiction]
    return day.weekday() < 5 and day not in _holidays(cal.country, cal.subdivision, day.year)


def add_months(start: date, months: int) -> date:
    """The same date ``months`` later, or that month's last day (Reg. 1182/71 art. 3(2)(c))."""
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def add_business_days(start: date, days: int, *, jurisdiction: Jurisdiction) -> date:
    """The ``days``-th working day after ``start`` (the day of receipt does not count)."""
    current = start
    counted = 0
    while counted < days:
        current += timedelta(days=1)
        if _working(current, jurisdiction):
            counted += 1
    return current


def _next_working_day(day: date, jurisdiction: Jurisdiction) -> date:
    while not _working(day, jurisdiction):
        day += timedelta(days=1)
    return day


def _local_day(moment: datetime, jurisdiction: Jurisdiction) -> date:
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not accepted; use an aware UTC datetime")
    return moment.astimezone(_CALENDARS[jurisdiction].zone).date()


def _end_of(day: date, jurisdiction: Jurisdiction) -> datetime:
    """The last instant of ``day`` in the jurisdiction's time zone, in UTC."""
    zone = _CALENDARS[jurisdiction].zone
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return (next_midnight - timedelta(microseconds=1)).astimezone(UTC)


def response_due(
    *, jurisdiction: Jurisdiction, received: datetime, extended: bool = False
) -> datetime:
    """When the answer to a request received at ``received`` is due (extended or not)."""
    day = _local_day(received, jurisdiction)
    if jurisdiction is Jurisdiction.GDPR:
        last = add_months(day, 3 if extended else 1)
        return _end_of(_next_working_day(last, jurisdiction), jurisdiction)
    return _end_of(day + timedelta(days=90 if extended else 45), jurisdiction)


def acknowledgement_due(*, jurisdiction: Jurisdiction, received: datetime) -> datetime | None:
    """When receipt must be confirmed: 10 business days under the CCPA; the GDPR sets no
    separate delay (the answer itself is due "without undue delay")."""
    if jurisdiction is not Jurisdiction.CCPA:
        return None
    day = _local_day(received, jurisdiction)
    return _end_of(add_business_days(day, 10, jurisdiction=jurisdiction), jurisdiction)


def opt_out_due(*, received: datetime) -> datetime:
    """When an opt-out of sale/sharing or a limit on sensitive data must take effect."""
    day = _local_day(received, Jurisdiction.CCPA)
    return _end_of(add_business_days(day, 15, jurisdiction=Jurisdiction.CCPA), Jurisdiction.CCPA)


def standing(due: datetime, *, now: datetime | None = None, soon: timedelta = DUE_SOON) -> Standing:
    """Overdue, due within ``soon`` (:data:`DUE_SOON` by default), or on time, at ``now``
    (default: the clock)."""
    now = now or clock.now()
    if now > due:
        return Standing.OVERDUE
    if due - now < soon:
        return Standing.DUE_SOON
    return Standing.ON_TIME
