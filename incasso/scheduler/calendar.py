"""When the agency may contact a debtor: daytime on any day but Sundays and legal holidays.

Belgian rules on collection practices forbid phone calls and home visits
between 22:00 and 08:00. As a cautious choice these hours are meant for every
medium the ladder uses (e-mail, SMS and letters too), and Sundays and the ten
Belgian legal holidays are kept free of contact as well. Saturday is an
ordinary contact day, although it is not a working day for legal terms.

The hours are Brussels wall-clock time, so they follow the change to and from
summer time: 08:00 is 07:00 UTC in winter and 06:00 UTC in summer. The
functions take aware datetimes in any time zone and raise ValueError on a
naive one.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from incasso.cases.law import legal_holidays

logger = logging.getLogger(__name__)

CONTACT_ZONE = ZoneInfo("Europe/Brussels")
# Contact is allowed from CONTACT_START up to, not including, CONTACT_END.
CONTACT_START = time(8, 0)
CONTACT_END = time(22, 0)
SUNDAY = 6


def is_contact_day(day: date) -> bool:
    """Return True unless ``day`` is a Sunday or a Belgian legal holiday."""
    return day.weekday() != SUNDAY and day not in legal_holidays(day.year)


def is_contact_time(moment: datetime) -> bool:
    """Return True when ``moment`` falls on a contact day, from 08:00 to before 22:00 Brussels."""
    local = _to_brussels(moment)
    return is_contact_day(local.date()) and CONTACT_START <= local.time() < CONTACT_END


def next_contact_time(moment: datetime) -> datetime:
    """Return the earliest moment from ``moment`` on at which contact is allowed.

    That is ``moment`` itself when contact is allowed then, else 08:00
    Brussels time on the first contact day. The result is in the time zone of
    ``moment``.
    """
    if is_contact_time(moment):
        return moment

    local = _to_brussels(moment)
    day = local.date()
    if not (is_contact_day(day) and local.time() < CONTACT_START):
        day = _next_contact_day(day + timedelta(days=1))

    # 08:00 exists once on every day, because summer time starts and ends at night.
    opening = datetime.combine(day, CONTACT_START, tzinfo=CONTACT_ZONE)
    return opening.astimezone(moment.tzinfo)


def _next_contact_day(day: date) -> date:
    while not is_contact_day(day):
        day += timedelta(days=1)
    return day


def _to_brussels(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"naive datetime {moment.isoformat()}: pass an aware datetime, e.g. in UTC"
        )
    return moment.astimezone(CONTACT_ZONE)
