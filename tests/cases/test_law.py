"""Tests of the Belgian rules in incasso.cases.law: working days, terms, caps and OGMs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from stdnum.be import ogm_vcs

from incasso.cases.law import (
    B2B_FIXED_COMPENSATION,
    Channel,
    DebtorKind,
    PaymentTerm,
    consumer_damages_cap,
    format_ogm,
    is_valid_ogm,
    is_working_day,
    legal_holidays,
    make_ogm,
    next_working_day,
    nth_working_day_after,
    payment_term,
)

LEGAL_HOLIDAYS_2026 = {
    date(2026, 1, 1),
    date(2026, 4, 6),
    date(2026, 5, 1),
    date(2026, 5, 14),
    date(2026, 5, 25),
    date(2026, 7, 21),
    date(2026, 8, 15),
    date(2026, 11, 1),
    date(2026, 11, 11),
    date(2026, 12, 25),
}

LEGAL_HOLIDAYS_2027 = {
    date(2027, 1, 1),
    date(2027, 3, 29),
    date(2027, 5, 1),
    date(2027, 5, 6),
    date(2027, 5, 17),
    date(2027, 7, 21),
    date(2027, 8, 15),
    date(2027, 11, 1),
    date(2027, 11, 11),
    date(2027, 12, 25),
}


def test_enums_have_stored_values() -> None:
    assert [kind.value for kind in DebtorKind] == ["consumer", "enterprise"]
    assert [channel.value for channel in Channel] == ["email", "post"]
    assert Channel("post") is Channel.POST


@pytest.mark.parametrize(
    ("year", "expected"), [(2026, LEGAL_HOLIDAYS_2026), (2027, LEGAL_HOLIDAYS_2027)]
)
def test_legal_holidays_are_the_ten(year: int, expected: set[date]) -> None:
    assert legal_holidays(year) == expected


def test_legal_holidays_exclude_easter_and_whit_sunday() -> None:
    assert date(2026, 4, 5) not in legal_holidays(2026)
    assert date(2026, 5, 24) not in legal_holidays(2026)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 5, 4), True),  # Monday
        (date(2026, 5, 8), True),  # Friday
        (date(2026, 5, 9), False),  # Saturday
        (date(2026, 5, 10), False),  # Sunday
        (date(2026, 5, 14), False),  # Ascension, a Thursday
        (date(2026, 5, 15), True),  # bank closing day, not a legal holiday
        (date(2026, 12, 25), False),  # Christmas, a Friday
        (date(2026, 12, 28), True),  # no substitute for 26 December
    ],
)
def test_is_working_day(day: date, expected: bool) -> None:
    assert is_working_day(day) is expected


@pytest.mark.parametrize(
    "day",
    [
        date(2025, 7, 11),  # Flemish Community, a Friday
        date(2027, 9, 27),  # French Community, a Monday
        date(2027, 11, 15),  # German-speaking Community, a Monday
    ],
)
def test_community_holiday_is_working_day(day: date) -> None:
    assert day.weekday() < 5
    assert is_working_day(day)


def test_next_working_day_skips_weekend_and_holiday() -> None:
    assert next_working_day(date(2026, 5, 4)) == date(2026, 5, 4)
    assert next_working_day(date(2026, 5, 23)) == date(2026, 5, 26)  # Sat, Sun, Whit Monday


def test_nth_working_day_after() -> None:
    assert nth_working_day_after(date(2026, 5, 12), 1) == date(2026, 5, 13)
    assert nth_working_day_after(date(2026, 5, 12), 2) == date(2026, 5, 15)
    assert nth_working_day_after(date(2026, 5, 12), 3) == date(2026, 5, 18)


def test_nth_working_day_after_rejects_zero() -> None:
    with pytest.raises(ValueError, match="count must be at least 1"):
        nth_working_day_after(date(2026, 5, 12), 0)


@pytest.mark.parametrize(
    ("sent_on", "channel", "start", "end", "earliest_next_step"),
    [
        (date(2026, 5, 4), Channel.EMAIL, date(2026, 5, 5), date(2026, 5, 18), date(2026, 5, 19)),
        (date(2026, 5, 4), Channel.POST, date(2026, 5, 7), date(2026, 5, 20), date(2026, 5, 21)),
        # Ascension on 14 May delays the start; the end falls on a Sunday and moves.
        (date(2026, 5, 12), Channel.POST, date(2026, 5, 18), date(2026, 6, 1), date(2026, 6, 2)),
        (date(2026, 4, 24), Channel.POST, date(2026, 4, 29), date(2026, 5, 12), date(2026, 5, 13)),
        # Christmas delays the start of a letter posted on 23 December.
        (
            date(2026, 12, 23),
            Channel.POST,
            date(2026, 12, 29),
            date(2027, 1, 11),
            date(2027, 1, 12),
        ),
        (date(2026, 12, 23), Channel.EMAIL, date(2026, 12, 24), date(2027, 1, 6), date(2027, 1, 7)),
    ],
)
def test_payment_term(
    sent_on: date, channel: Channel, start: date, end: date, earliest_next_step: date
) -> None:
    term = payment_term(sent_on, channel)

    assert term == PaymentTerm(start=start, end=end, earliest_next_step=earliest_next_step)


def test_payment_term_email_on_saturday_starts_sunday() -> None:
    term = payment_term(date(2026, 5, 9), Channel.EMAIL)

    assert term.start == date(2026, 5, 10)
    assert term.end == date(2026, 5, 26)  # Saturday 23 May, moved past Whit Monday


def test_payment_term_is_at_least_fourteen_days() -> None:
    day = date(2026, 1, 1)
    while day.year == 2026:
        for channel in Channel:
            term = payment_term(day, channel)
            assert (term.end - term.start).days >= 13, (day, channel)
            assert is_working_day(term.end), (day, channel)
        day = date.fromordinal(day.toordinal() + 1)


def test_payment_term_accepts_string_channel() -> None:
    assert payment_term(date(2026, 5, 4), "post") == payment_term(  # type: ignore[arg-type]
        date(2026, 5, 4), Channel.POST
    )


@pytest.mark.parametrize(
    ("balance", "cap"),
    [
        ("80", "20.00"),
        ("150", "20.00"),
        ("150.01", "30.00"),
        ("300", "45.00"),
        ("500", "65.00"),
        ("1000", "90.00"),
        ("10000", "540.00"),
        ("39200", "2000.00"),
        ("50000", "2000.00"),
        ("0.01", "20.00"),
        ("150.05", "30.01"),  # 30.005 rounds half up
        ("500.10", "65.01"),  # 65.005 rounds half up
    ],
)
def test_consumer_damages_cap(balance: str, cap: str) -> None:
    result = consumer_damages_cap(Decimal(balance))

    assert result == Decimal(cap)
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize("balance", ["0", "-10"])
def test_consumer_damages_cap_rejects_non_positive(balance: str) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        consumer_damages_cap(Decimal(balance))


def test_b2b_fixed_compensation() -> None:
    assert Decimal("40.00") == B2B_FIXED_COMPENSATION


@pytest.mark.parametrize(
    ("base", "ogm"),
    [
        (1234567890, "123456789002"),
        (0, "000000000097"),
        (2026000042, "202600004236"),
        (108068171, "010806817183"),
        (97, "000000009797"),
        (9999999999, "999999999948"),
    ],
)
def test_make_ogm(base: int, ogm: str) -> None:
    result = make_ogm(base)

    assert result == ogm
    assert ogm_vcs.validate(result) == result


def test_make_ogm_agrees_with_stdnum() -> None:
    for base in range(0, 10**10, 7_654_321):
        assert ogm_vcs.is_valid(make_ogm(base)), base


@pytest.mark.parametrize("base", [-1, 10**10])
def test_make_ogm_rejects_out_of_range(base: int) -> None:
    with pytest.raises(ValueError, match="at most 10 digits"):
        make_ogm(base)


def test_format_ogm() -> None:
    assert format_ogm("123456789002") == "+++123/4567/89002+++"
    assert format_ogm("000000000097") == "+++000/0000/00097+++"
    assert ogm_vcs.validate(format_ogm("202600004236")) == "202600004236"


@pytest.mark.parametrize(
    "value", ["123456789003", "12345678900", "1234567890021", "12345678900a", "１23456789002"]
)
def test_format_ogm_rejects_invalid(value: str) -> None:
    assert not is_valid_ogm(value)
    with pytest.raises(ValueError, match="structured communication"):
        format_ogm(value)
