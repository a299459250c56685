"""Belgian collection rules as pure functions: working days, payment terms, cost caps and OGMs.

Rules encoded here:

* Working days are Monday to Friday, minus the ten Belgian legal holidays: New
  Year, Easter Monday, 1 May, Ascension, Whit Monday, 21 July, 15 August,
  1 November, 11 November and Christmas. Community holidays (11 July, 27
  September, 15 November) and bank closing days do not count. A legal holiday
  on a weekend gives no substitute day for term computation.
* A consumer who receives the free first reminder has at least 14 calendar days
  to pay before damages may be claimed or further steps taken (Book XIX of the
  Code of Economic Law). The term starts the calendar day after an e-mail is
  sent, or on the third working day after a letter is posted.
* Flat damages claimed from a consumer depend on the outstanding balance S.
  They are at most EUR 20 when S is up to EUR 150, and EUR 30 plus 10 % of
  the part above EUR 150 when S is up to EUR 500. Above that, the cap is
  EUR 65 plus 5 % of the part above EUR 500, and never more than EUR 2 000.
* A business debtor owes late-payment interest and a flat EUR 40
  compensation from the day after the due date, without any reminder (law of
  2 August 2002 on late payment in commercial transactions).
* The Belgian structured communication (OGM/VCS) is a 10-digit base followed by
  two check digits, base mod 97, where a remainder of 0 becomes 97. On paper it
  reads ``+++123/4567/89012+++``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from functools import cache

import holidays
from dateutil.easter import easter
from stdnum.be import vat as stdnum_vat

logger = logging.getLogger(__name__)

CONSUMER_TERM_DAYS = 14
# A posted letter's term starts on this working day after posting.
POSTAL_DELIVERY_WORKING_DAYS = 3
LEGAL_HOLIDAYS_PER_YEAR = 10

B2B_FIXED_COMPENSATION = Decimal("40.00")

CENT = Decimal("0.01")
DAMAGES_FIRST_BAND_LIMIT = Decimal("150")
DAMAGES_SECOND_BAND_LIMIT = Decimal("500")
DAMAGES_FIRST_BAND_AMOUNT = Decimal("20")
DAMAGES_SECOND_BAND_BASE = Decimal("30")
DAMAGES_SECOND_BAND_RATE = Decimal("0.10")
DAMAGES_THIRD_BAND_BASE = Decimal("65")
DAMAGES_THIRD_BAND_RATE = Decimal("0.05")
DAMAGES_MAXIMUM = Decimal("2000")

OGM_BASE_LIMIT = 10**10
OGM_LENGTH = 12


class DebtorKind(StrEnum):
    """Legal regime of the debtor: consumer (Book XIX) or enterprise (law of 2 August 2002)."""

    CONSUMER = "consumer"
    ENTERPRISE = "enterprise"


class Channel(StrEnum):
    """Medium a notice is sent by, which decides when the consumer's payment term starts."""

    EMAIL = "email"
    POST = "post"


@dataclass(frozen=True)
class PaymentTerm:
    """Consumer payment term after a reminder, with ``start`` and ``end`` both inside it."""

    start: date
    end: date
    earliest_next_step: date


@cache
def legal_holidays(year: int) -> frozenset[date]:
    """Return the Belgian legal holidays of ``year``.

    The ``holidays`` package (0.109) also lists Easter Sunday and Whit Sunday in
    its public category. Both are Sundays and not among the ten legal holidays,
    so they are removed here.
    """
    listed = holidays.country_holidays("BE", years=year)
    easter_sunday = easter(year)
    whit_sunday = easter_sunday + timedelta(days=49)
    legal = frozenset(day for day in listed if day not in (easter_sunday, whit_sunday))

    if len(legal) != LEGAL_HOLIDAYS_PER_YEAR:
        logger.warning(
            "holidays package lists %d Belgian legal holidays for year=%d, expected %d: %s",
            len(legal),
            year,
            LEGAL_HOLIDAYS_PER_YEAR,
            sorted(legal),
        )
    return legal


def is_working_day(day: date) -> bool:
    """Return True from Monday to Friday unless ``day`` is a Belgian legal holiday."""
    return day.weekday() < 5 and day not in legal_holidays(day.year)


def next_working_day(day: date) -> date:
    """Return ``day`` when it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def nth_working_day_after(day: date, count: int) -> date:
    """Return the ``count``-th working day strictly after ``day``."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")

    found = 0
    while found < count:
        day += timedelta(days=1)
        if is_working_day(day):
            found += 1
    return day


def payment_term(sent_on: date, channel: Channel) -> PaymentTerm:
    """Compute the consumer's 14-day payment term after a reminder sent on ``sent_on``.

    An e-mail's term starts the next calendar day and a letter's term starts on
    the third working day after posting. The term ends 13 days after its start,
    so it spans 14 calendar days. An end on a weekend or legal holiday moves to
    the next working day, and the next collection step may happen the day after
    the end at the earliest.
    """
    if Channel(channel) == Channel.EMAIL:
        start = sent_on + timedelta(days=1)
    else:
        start = nth_working_day_after(sent_on, POSTAL_DELIVERY_WORKING_DAYS)

    # NOTE: whether Book XIX extends a term that ends on a weekend or holiday is
    # unconfirmed. We extend it as the cautious reading until counsel confirms.
    # Counting Saturday as a non-working day is the same cautious choice.
    end = next_working_day(start + timedelta(days=CONSUMER_TERM_DAYS - 1))

    return PaymentTerm(start=start, end=end, earliest_next_step=end + timedelta(days=1))


def consumer_damages_cap(balance: Decimal) -> Decimal:
    """Return the maximum flat damages on a consumer's outstanding ``balance``, in euros.

    The result is rounded half-up to cents. A balance of zero or less has no
    damages and raises ValueError.
    """
    if balance <= 0:
        raise ValueError(f"outstanding balance must be positive to compute damages, got {balance}")

    if balance <= DAMAGES_FIRST_BAND_LIMIT:
        cap = DAMAGES_FIRST_BAND_AMOUNT
    elif balance <= DAMAGES_SECOND_BAND_LIMIT:
        excess = balance - DAMAGES_FIRST_BAND_LIMIT
        cap = DAMAGES_SECOND_BAND_BASE + DAMAGES_SECOND_BAND_RATE * excess
    else:
        excess = balance - DAMAGES_SECOND_BAND_LIMIT
        cap = min(DAMAGES_THIRD_BAND_BASE + DAMAGES_THIRD_BAND_RATE * excess, DAMAGES_MAXIMUM)

    # NOTE: rounding half-up to the cent is our choice and still to be
    # confirmed with counsel.
    return cap.quantize(CENT, rounding=ROUND_HALF_UP)


def ogm_check_digits(base: int) -> int:
    """Return the OGM check number of a 10-digit ``base``: base mod 97, or 97 when that is 0."""
    return base % 97 or 97


def make_ogm(base: int) -> str:
    """Return the 12-digit structured communication for a 10-digit ``base``."""
    if not 0 <= base < OGM_BASE_LIMIT:
        raise ValueError(f"OGM base must have at most 10 digits and not be negative, got {base}")
    return f"{base:010d}{ogm_check_digits(base):02d}"


def is_valid_ogm(digits: str) -> bool:
    """Return True when ``digits`` is 12 ASCII digits whose last two match the check."""
    if len(digits) != OGM_LENGTH or not digits.isascii() or not digits.isdigit():
        return False
    return int(digits[10:]) == ogm_check_digits(int(digits[:10]))


def format_ogm(twelve_digits: str) -> str:
    """Format a 12-digit structured communication for print: ``+++123/4567/89012+++``.

    Raises ValueError when the digits are not a valid OGM.
    """
    if not is_valid_ogm(twelve_digits):
        raise ValueError(
            f"structured communication {twelve_digits!r} is invalid; "
            "expected 12 digits with a mod-97 check, as made by make_ogm()"
        )
    return f"+++{twelve_digits[:3]}/{twelve_digits[3:7]}/{twelve_digits[7:]}+++"


def format_enterprise_number(value: str) -> str:
    """Print a Belgian enterprise number the usual way: ``0123.456.749``."""
    digits = stdnum_vat.compact(value)
    return f"{digits[:4]}.{digits[4:7]}.{digits[7:]}"
