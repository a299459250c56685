"""Tests of the contact hours: 08:00-22:00 Brussels time, never on Sundays or legal holidays."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from incasso.scheduler.calendar import (
    CONTACT_END,
    CONTACT_START,
    is_contact_day,
    is_contact_time,
    next_contact_time,
)

BRUSSELS = ZoneInfo("Europe/Brussels")


def brussels(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BRUSSELS)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_contact_window_constants() -> None:
    window = (CONTACT_START, CONTACT_END)

    assert window == (time(8, 0), time(22, 0))


@pytest.mark.parametrize(
    ("moment", "allowed"),
    [
        (brussels(2026, 11, 16, 8, 0), True),  # Monday, opening minute
        (brussels(2026, 11, 16, 7, 59), False),
        (datetime(2026, 11, 16, 7, 59, 59, 999999, tzinfo=BRUSSELS), False),
        (brussels(2026, 11, 14, 21, 59), True),  # Saturday is a contact day
        (brussels(2026, 11, 14, 22, 0), False),  # the end is exclusive
        (brussels(2026, 11, 14, 8, 0), True),
        (brussels(2026, 11, 15, 12, 0), False),  # Sunday
        (brussels(2026, 4, 6, 12, 0), False),  # Easter Monday
        (brussels(2026, 12, 24, 12, 0), True),
        (brussels(2026, 12, 25, 12, 0), False),  # Christmas
        (brussels(2026, 12, 26, 12, 0), True),  # 26 December is no legal holiday
        (brussels(2026, 7, 11, 12, 0), True),  # nor is the Flemish holiday, a Saturday
        (brussels(2027, 1, 1, 12, 0), False),  # New Year
        (brussels(2027, 1, 2, 8, 0), True),  # Saturday 2 January
    ],
)
def test_is_contact_time(moment: datetime, allowed: bool) -> None:
    assert is_contact_time(moment) is allowed


@pytest.mark.parametrize(
    ("moment", "allowed"),
    [
        # Monday 30 March 2026, the day after summer time starts: 08:00 is 06:00 UTC.
        (utc(2026, 3, 30, 6, 0), True),
        (utc(2026, 3, 30, 5, 59), False),
        (utc(2026, 3, 30, 19, 59), True),
        (utc(2026, 3, 30, 20, 0), False),
        # Saturday 28 March 2026, still winter time: 22:00 is 21:00 UTC.
        (utc(2026, 3, 28, 20, 59), True),
        (utc(2026, 3, 28, 21, 0), False),
        # Sunday 29 March 2026, the change itself: no contact all day.
        (utc(2026, 3, 29, 10, 0), False),
        # Saturday 24 October 2026, last day of summer time: 22:00 is 20:00 UTC.
        (utc(2026, 10, 24, 19, 59), True),
        (utc(2026, 10, 24, 20, 0), False),
        # Monday 26 October 2026, winter time: 08:00 is 07:00 UTC.
        (utc(2026, 10, 26, 6, 59), False),
        (utc(2026, 10, 26, 7, 0), True),
        (utc(2026, 10, 26, 20, 59), True),
        (utc(2026, 10, 26, 21, 0), False),
    ],
)
def test_is_contact_time_across_summer_time(moment: datetime, allowed: bool) -> None:
    assert is_contact_time(moment) is allowed


def test_is_contact_day() -> None:
    assert is_contact_day(datetime(2026, 11, 14).date())  # Saturday
    assert not is_contact_day(datetime(2026, 11, 15).date())  # Sunday
    assert not is_contact_day(datetime(2026, 5, 14).date())  # Ascension, a Thursday


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # Allowed already: the moment itself.
        (brussels(2026, 11, 14, 21, 59), brussels(2026, 11, 14, 21, 59)),
        (brussels(2026, 11, 16, 8, 0), brussels(2026, 11, 16, 8, 0)),
        # Early morning on a contact day: 08:00 the same day.
        (brussels(2026, 11, 16, 7, 0), brussels(2026, 11, 16, 8, 0)),
        (brussels(2026, 11, 16, 0, 0), brussels(2026, 11, 16, 8, 0)),
        # Saturday from 22:00 and all Sunday: Monday 08:00.
        (brussels(2026, 11, 14, 22, 0), brussels(2026, 11, 16, 8, 0)),
        (brussels(2026, 11, 15, 7, 0), brussels(2026, 11, 16, 8, 0)),
        (brussels(2026, 11, 15, 10, 0), brussels(2026, 11, 16, 8, 0)),
        # Weekday evening: next morning.
        (brussels(2026, 11, 17, 23, 30), brussels(2026, 11, 18, 8, 0)),
        # Easter weekend: Sunday and Easter Monday skipped.
        (brussels(2026, 4, 4, 22, 30), brussels(2026, 4, 7, 8, 0)),
        (brussels(2026, 4, 6, 9, 0), brussels(2026, 4, 7, 8, 0)),
        # Labour Day on a Friday: Saturday 2 May.
        (brussels(2026, 4, 30, 22, 0), brussels(2026, 5, 2, 8, 0)),
        # Christmas on a Friday: Saturday 26 December.
        (brussels(2026, 12, 24, 22, 0), brussels(2026, 12, 26, 8, 0)),
        (brussels(2026, 12, 25, 7, 0), brussels(2026, 12, 26, 8, 0)),
        # New Year on a Friday: Saturday 2 January 2027.
        (brussels(2026, 12, 31, 23, 0), brussels(2027, 1, 2, 8, 0)),
    ],
)
def test_next_contact_time(moment: datetime, expected: datetime) -> None:
    assert next_contact_time(moment) == expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # Saturday 22:00 CET, then summer time starts: Monday 08:00 CEST.
        (utc(2026, 3, 28, 21, 0), utc(2026, 3, 30, 6, 0)),
        # Sunday 29 March at 01:30 UTC, just before the change.
        (utc(2026, 3, 29, 0, 30), utc(2026, 3, 30, 6, 0)),
        # Saturday 22:00 CEST, then summer time ends: Monday 08:00 CET.
        (utc(2026, 10, 24, 20, 0), utc(2026, 10, 26, 7, 0)),
        # During the repeated hour, 02:30 CET on Sunday 25 October.
        (utc(2026, 10, 25, 1, 30), utc(2026, 10, 26, 7, 0)),
    ],
)
def test_next_contact_time_across_summer_time(moment: datetime, expected: datetime) -> None:
    result = next_contact_time(moment)

    assert result == expected
    assert result.astimezone(BRUSSELS).time() == CONTACT_START


@pytest.mark.parametrize(
    "zone", [UTC, BRUSSELS, timezone(timedelta(hours=5, minutes=30)), ZoneInfo("America/New_York")]
)
def test_result_keeps_the_time_zone(zone: timezone | ZoneInfo) -> None:
    moment = brussels(2026, 11, 15, 10, 0).astimezone(zone)

    result = next_contact_time(moment)

    assert result.tzinfo is zone
    assert result == brussels(2026, 11, 16, 8, 0)


def test_naive_datetime_is_rejected() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        is_contact_time(datetime(2026, 11, 16, 9, 0))
    with pytest.raises(ValueError, match="naive datetime"):
        next_contact_time(datetime(2026, 11, 16, 9, 0))


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (utc(2026, 3, 25, 0), utc(2026, 4, 9, 0)),  # summer time and Easter
        (utc(2026, 10, 21, 0), utc(2026, 10, 29, 0)),  # winter time
        (utc(2026, 12, 22, 0), utc(2027, 1, 5, 0)),  # Christmas and New Year
    ],
)
def test_next_contact_time_is_earliest(first: datetime, last: datetime) -> None:
    moment = first
    while moment < last:
        result = next_contact_time(moment)

        assert result >= moment
        assert is_contact_time(result)
        if result != moment:
            # Nothing allowed between the moment and the result.
            assert not is_contact_time(result - timedelta(minutes=1))
            assert result.astimezone(BRUSSELS).time() == CONTACT_START
        moment += timedelta(minutes=17)
