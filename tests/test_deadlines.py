"""Legal deadlines, table-driven: month ends, leap years, weekends, public holidays, business
days and time zones. Every expected date below was worked out by hand from the rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from confiance import clock
from confiance.deadlines import (
    Jurisdiction,
    Standing,
    acknowledgement_due,
    add_months,
    opt_out_due,
    response_due,
    standing,
)

GDPR, CCPA = Jurisdiction.GDPR, Jurisdiction.CCPA


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("received", "extended", "due", "why"),
    [
        ("2026-03-15T09:00", False, "2026-04-15T21:59:59.999999", "same date next month (CEST)"),
        ("2026-01-31T09:00", False, "2026-03-02T22:59:59.999999", "Feb 28 is a Saturday"),
        ("2026-01-31T23:30", False, "2026-03-02T22:59:59.999999", "already Feb 1 in Paris"),
        ("2026-04-14T08:00", False, "2026-05-15T21:59:59.999999", "May 14 is Ascension Day"),
        ("2026-11-25T09:00", False, "2026-12-28T22:59:59.999999", "Christmas, then a weekend"),
        ("2026-12-10T09:00", False, "2027-01-11T22:59:59.999999", "Jan 10 is a Sunday"),
        ("2028-01-31T09:00", False, "2028-02-29T22:59:59.999999", "leap year: Feb 29"),
        ("2026-01-31T09:00", True, "2026-04-30T21:59:59.999999", "extended: three months"),
    ],
)
def test_gdpr_one_month_per_regulation_1182_71(
    received: str, extended: bool, due: str, why: str
) -> None:
    got = response_due(jurisdiction=GDPR, received=utc(received), extended=extended)
    assert got == utc(due), why
    assert acknowledgement_due(jurisdiction=GDPR, received=utc(received)) is None


@pytest.mark.parametrize(
    ("received", "extended", "due", "why"),
    [
        ("2026-11-20T18:00", False, "2027-01-05T07:59:59.999999", "45 days: Jan 4 in California"),
        ("2026-11-21T07:30", False, "2027-01-05T07:59:59.999999", "still Nov 20 in California"),
        ("2026-11-20T18:00", True, "2027-02-19T07:59:59.999999", "extended: 90 days, Feb 18"),
    ],
)
def test_ccpa_45_days(received: str, extended: bool, due: str, why: str) -> None:
    assert response_due(jurisdiction=CCPA, received=utc(received), extended=extended) == utc(due), (
        why
    )


@pytest.mark.parametrize(
    ("received", "acknowledge_by", "opt_out_by", "why"),
    [
        (
            "2026-11-25T18:00",
            "2026-12-12T07:59:59.999999",
            "2026-12-19T07:59:59.999999",
            "Thanksgiving and the day after are California holidays",
        ),
        (
            "2026-12-17T18:00",
            "2027-01-05T07:59:59.999999",
            "2027-01-12T07:59:59.999999",
            "Christmas and New Year's Day",
        ),
    ],
)
def test_ccpa_business_days(received: str, acknowledge_by: str, opt_out_by: str, why: str) -> None:
    assert acknowledgement_due(jurisdiction=CCPA, received=utc(received)) == utc(acknowledge_by), (
        why
    )
    assert opt_out_due(received=utc(received)) == utc(opt_out_by), why


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        ("2026-01-31", 1, "2026-02-28"),
        ("2028-01-31", 1, "2028-02-29"),
        ("2026-03-31", 1, "2026-04-30"),
        ("2026-12-15", 1, "2027-01-15"),
        ("2026-11-30", 3, "2027-02-28"),
    ],
)
def test_months_end_on_the_same_date_or_the_last_day(start: str, months: int, end: str) -> None:
    from datetime import date

    assert add_months(date.fromisoformat(start), months) == date.fromisoformat(end)


def test_standing_with_a_set_clock() -> None:
    due = utc("2026-03-02T22:59:59.999999")
    clock.set_clock(lambda: utc("2026-02-10T12:00"))
    try:
        assert standing(due) is Standing.ON_TIME
        clock.set_clock(lambda: due - timedelta(days=6))
        assert standing(due) is Standing.DUE_SOON
        clock.set_clock(lambda: due + timedelta(microseconds=1))
        assert standing(due) is Standing.OVERDUE
    finally:
        clock.set_clock(None)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        response_due(jurisdiction=GDPR, received=datetime(2026, 1, 1, 9))
