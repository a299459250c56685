"""Tests of the interest rate table: adding, listing and splitting a range into rate periods."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from incasso.cases import rates
from incasso.cases.rates import (
    RateError,
    RateKind,
    RateMissingError,
    RatePeriod,
    add_rate,
    list_rates,
    parse_percent,
    parse_rate_kind,
    parse_valid_from,
    percent_text,
    rate_periods,
)
from incasso.store.db import make_engine, make_session_factory, transaction, upgrade_schema
from incasso.store.models import InterestRate, ReviewItem


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    """A migrated store, holding the published rates the migration seeds."""
    engine = make_engine(database_url)
    upgrade_schema(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def empty_factory(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """A migrated store without any interest rate."""
    with transaction(factory) as session:
        session.execute(delete(InterestRate))
    return factory


def seeded_id(session: Session, kind: str, valid_from: date) -> int:
    rate_id = session.scalar(
        select(InterestRate.id).where(
            InterestRate.kind == kind, InterestRate.valid_from == valid_from
        )
    )
    assert rate_id is not None
    return rate_id


def rate_count(factory: sessionmaker[Session]) -> int:
    with transaction(factory) as session:
        return session.scalar(select(func.count()).select_from(InterestRate)) or 0


def test_rate_kind_values() -> None:
    assert [kind.value for kind in RateKind] == ["b2b", "legal"]


def test_add_rate_stores_every_field(empty_factory: sessionmaker[Session]) -> None:
    with transaction(empty_factory) as session:
        add_rate(
            session, RateKind.B2B, date(2026, 7, 1), Decimal("10.50"), "  FPS notice  ", "cli:an"
        )

    with transaction(empty_factory) as session:
        (stored,) = list_rates(session)
        assert stored.kind == "b2b"
        assert stored.valid_from == date(2026, 7, 1)
        assert stored.percent == Decimal("10.50")
        assert stored.source == "FPS notice"
        assert stored.created_by == "cli:an"
        assert stored.created_at is not None


def test_list_rates_by_kind_and_date(empty_factory: sessionmaker[Session]) -> None:
    with transaction(empty_factory) as session:
        add_rate(session, "legal", date(2027, 1, 1), Decimal("4"), "gazette", "test")
        add_rate(session, "b2b", date(2026, 7, 1), Decimal("12"), "notice", "test")
        add_rate(session, "b2b", date(2026, 1, 1), Decimal("10.5"), "notice", "test")

    with transaction(empty_factory) as session:
        every = [(rate.kind, rate.valid_from) for rate in list_rates(session)]
        legal = [(rate.kind, rate.valid_from) for rate in list_rates(session, RateKind.LEGAL)]

    assert every == [
        ("b2b", date(2026, 1, 1)),
        ("b2b", date(2026, 7, 1)),
        ("legal", date(2027, 1, 1)),
    ]
    assert legal == [("legal", date(2027, 1, 1))]


@pytest.mark.parametrize(
    ("kind", "valid_from", "accepted"),
    [
        (RateKind.B2B, date(2027, 1, 1), True),
        (RateKind.B2B, date(2027, 7, 1), True),
        (RateKind.B2B, date(2027, 6, 30), False),
        (RateKind.B2B, date(2027, 7, 2), False),
        (RateKind.B2B, date(2027, 2, 1), False),
        (RateKind.B2B, date(2027, 12, 31), False),
        (RateKind.LEGAL, date(2027, 1, 1), True),
        (RateKind.LEGAL, date(2027, 7, 1), False),
        (RateKind.LEGAL, date(2027, 1, 2), False),
    ],
)
def test_start_date_of_each_kind(
    empty_factory: sessionmaker[Session], kind: RateKind, valid_from: date, accepted: bool
) -> None:
    with transaction(empty_factory) as session:
        if accepted:
            add_rate(session, kind, valid_from, Decimal("5"), "source", "test")
        else:
            with pytest.raises(RateError) as raised:
                add_rate(session, kind, valid_from, Decimal("5"), "source", "test")
            assert valid_from.isoformat() in str(raised.value)

    assert rate_count(empty_factory) == (1 if accepted else 0)


def test_start_date_error_gives_the_fix(empty_factory: sessionmaker[Session]) -> None:
    with transaction(empty_factory) as session, pytest.raises(RateError) as raised:
        add_rate(session, RateKind.B2B, date(2027, 8, 1), Decimal("5"), "source", "test")

    assert raised.value.values["example"] == "2027-07-01"
    assert "1 January or 1 July" in str(raised.value)
    assert "{date}" in raised.value.template


@pytest.mark.parametrize(
    ("percent", "accepted"),
    [
        ("0", False),
        ("-1", False),
        ("0.001", True),
        ("30", True),
        ("30.000", True),
        ("30.001", False),
        ("5.125", True),
        ("5.1250", True),
        ("4.1234", False),
        ("NaN", False),
        ("Infinity", False),
    ],
)
def test_percent_bounds(empty_factory: sessionmaker[Session], percent: str, accepted: bool) -> None:
    with transaction(empty_factory) as session:
        if accepted:
            add_rate(session, "legal", date(2027, 1, 1), Decimal(percent), "source", "test")
        else:
            with pytest.raises(RateError) as raised:
                add_rate(session, "legal", date(2027, 1, 1), Decimal(percent), "source", "test")
            assert raised.value.values["value"] == percent

    assert rate_count(empty_factory) == (1 if accepted else 0)


@pytest.mark.parametrize("source", ["", "   "])
def test_empty_source_is_rejected(empty_factory: sessionmaker[Session], source: str) -> None:
    with transaction(empty_factory) as session, pytest.raises(RateError) as raised:
        add_rate(session, "b2b", date(2027, 1, 1), Decimal("10"), source, "test")

    assert "--source" in str(raised.value)


def test_invalid_kind_names_the_choices(empty_factory: sessionmaker[Session]) -> None:
    with transaction(empty_factory) as session, pytest.raises(RateError) as raised:
        add_rate(session, "ecb", date(2027, 1, 1), Decimal("10"), "source", "test")

    assert str(raised.value) == "Rate kind ecb is invalid: use b2b, legal."


def test_duplicate_rate_names_the_stored_one(factory: sessionmaker[Session]) -> None:
    before = rate_count(factory)

    with transaction(factory) as session, pytest.raises(RateError) as raised:
        add_rate(session, "b2b", date(2026, 1, 1), Decimal("11"), "source", "test")

    message = str(raised.value)
    assert "b2b" in message
    assert "2026-01-01" in message
    assert "10.50 %" in message
    assert rate_count(factory) == before


def test_duplicate_stored_meanwhile_is_a_rate_error(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first check finds nothing, as when another session stores the same
    # rate between the check and the insert; the unique key then catches it.
    real_check = rates._check_not_stored
    calls: list[date] = []

    def check_late(session: Session, kind: RateKind, valid_from: date) -> None:
        calls.append(valid_from)
        if len(calls) > 1:
            real_check(session, kind, valid_from)

    monkeypatch.setattr(rates, "_check_not_stored", check_late)

    with transaction(factory) as session:
        with pytest.raises(RateError) as raised:
            add_rate(session, "legal", date(2026, 1, 1), Decimal("4"), "source", "test")
        # The savepoint was rolled back, so the session stays usable.
        add_rate(session, "legal", date(2027, 1, 1), Decimal("4"), "source", "test")

    assert "4.50 %" in str(raised.value)
    assert calls[:2] == [date(2026, 1, 1), date(2026, 1, 1)]
    with transaction(factory) as session:
        assert [rate.valid_from.year for rate in list_rates(session, "legal")][-1] == 2027


def test_periods_split_where_a_rate_starts(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        periods = rate_periods(session, RateKind.B2B, date(2025, 6, 15), date(2026, 3, 31))
        first_half_2025 = seeded_id(session, "b2b", date(2025, 1, 1))
        second_half_2025 = seeded_id(session, "b2b", date(2025, 7, 1))
        first_half_2026 = seeded_id(session, "b2b", date(2026, 1, 1))

    assert periods == [
        RatePeriod(first_half_2025, Decimal("11.50"), date(2025, 6, 15), date(2025, 6, 30)),
        RatePeriod(second_half_2025, Decimal("10.50"), date(2025, 7, 1), date(2025, 12, 31)),
        RatePeriod(first_half_2026, Decimal("10.50"), date(2026, 1, 1), date(2026, 3, 31)),
    ]


@pytest.mark.parametrize(
    ("day", "percent"),
    [
        (date(2025, 6, 30), Decimal("11.50")),
        (date(2025, 7, 1), Decimal("10.50")),
        (date(2023, 6, 30), Decimal("10.50")),
        (date(2023, 7, 1), Decimal("12.00")),
    ],
)
def test_single_day_on_each_side_of_a_change(
    factory: sessionmaker[Session], day: date, percent: Decimal
) -> None:
    with transaction(factory) as session:
        (period,) = rate_periods(session, "b2b", day, day)

    assert period.percent == percent
    assert (period.start, period.end) == (day, day)


def test_legal_rate_periods_per_year(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        periods = rate_periods(session, RateKind.LEGAL, date(2024, 12, 31), date(2025, 1, 1))

    assert [(p.percent, p.start, p.end) for p in periods] == [
        (Decimal("5.75"), date(2024, 12, 31), date(2024, 12, 31)),
        (Decimal("4.50"), date(2025, 1, 1), date(2025, 1, 1)),
    ]


def test_first_stored_day_has_a_rate(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        (period,) = rate_periods(session, "b2b", date(2023, 1, 1), date(2023, 1, 31))

    assert period.percent == Decimal("10.50")


def test_day_before_first_rate_is_missing(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session, pytest.raises(RateMissingError) as raised:
        rate_periods(session, "b2b", date(2022, 12, 31), date(2023, 1, 31))

    message = str(raised.value)
    assert "b2b" in message
    assert "2022-12-31" in message
    assert "incasso rate add --kind b2b --from 2022-07-01" in message
    assert isinstance(raised.value, RateError)


def test_missing_legal_rate_suggests_january(empty_factory: sessionmaker[Session]) -> None:
    with transaction(empty_factory) as session, pytest.raises(RateMissingError) as raised:
        rate_periods(session, RateKind.LEGAL, date(2026, 9, 15), date(2026, 9, 30))

    assert "--kind legal --from 2026-01-01" in str(raised.value)


def test_last_rate_runs_on_with_one_warning(
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(rates, "_reported_carry_overs", set())
    caplog.set_level(logging.WARNING, logger="incasso.cases.rates")

    with transaction(factory) as session:
        periods = rate_periods(session, "b2b", date(2026, 6, 1), date(2026, 8, 31))
        rate_periods(session, "b2b", date(2026, 6, 1), date(2026, 9, 30))

    assert [(p.start, p.end) for p in periods] == [(date(2026, 6, 1), date(2026, 8, 31))]
    (record,) = caplog.records
    assert "--kind b2b --from 2026-07-01" in record.getMessage()


def test_missing_rate_waits_for_staff_once(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    with transaction(factory) as session:
        rate_periods(session, "b2b", date(2026, 6, 1), date(2026, 8, 31))
    # A new process forgets what it reported; the open review item is still found.
    monkeypatch.setattr(rates, "_reported_carry_overs", set())
    with transaction(factory) as session:
        rate_periods(session, "b2b", date(2026, 6, 1), date(2026, 9, 30))

    with transaction(factory) as session:
        items = session.scalars(select(ReviewItem)).all()
        assert [(item.kind, item.reasons) for item in items] == [
            ("rate_missing", ["rate_missing:b2b:2026-07-01"])
        ]
        assert items[0].detail == "incasso rate add --kind b2b --from 2026-07-01"


def test_no_warning_inside_the_last_period(
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(rates, "_reported_carry_overs", set())
    caplog.set_level(logging.WARNING, logger="incasso.cases.rates")

    with transaction(factory) as session:
        rate_periods(session, "b2b", date(2026, 6, 1), date(2026, 6, 30))

    assert caplog.records == []


def test_end_before_start_is_an_error(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session, pytest.raises(ValueError, match="before start"):
        rate_periods(session, "b2b", date(2026, 2, 1), date(2026, 1, 31))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.50", Decimal("10.50")),
        ("10,50", Decimal("10.50")),
        (" 12 ", Decimal("12")),
        ("4.5 %", Decimal("4.5")),
    ],
)
def test_parse_percent_accepts(text: str, expected: Decimal) -> None:
    assert parse_percent(text) == expected


@pytest.mark.parametrize("text", ["", "ten", "10.5.0", "inf", "nan"])
def test_parse_percent_rejects(text: str) -> None:
    with pytest.raises(RateError) as raised:
        parse_percent(text)

    assert raised.value.values == {"value": text}


def test_parse_valid_from() -> None:
    assert parse_valid_from(" 2026-07-01 ") == date(2026, 7, 1)

    with pytest.raises(RateError) as raised:
        parse_valid_from("01-07-2026")
    assert "01-07-2026" in str(raised.value)
    assert "YYYY-MM-DD" in str(raised.value)


def test_parse_rate_kind_ignores_case() -> None:
    assert parse_rate_kind(" B2B ") is RateKind.B2B
    assert parse_rate_kind("legal") is RateKind.LEGAL


@pytest.mark.parametrize(
    ("percent", "text"),
    [
        (Decimal("10.500"), "10.50"),
        (Decimal("12"), "12.00"),
        (Decimal("5.125"), "5.125"),
        (Decimal("0.001"), "0.001"),
    ],
)
def test_percent_text(percent: Decimal, text: str) -> None:
    assert percent_text(percent) == text


def test_add_rate_resolves_missing_rate_item(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        rate_periods(session, "b2b", date(2026, 6, 1), date(2026, 9, 30))
        session.add(ReviewItem(kind="rate_missing", reasons=["rate_missing:b2b:2027-01-01"]))
        session.add(ReviewItem(kind="rate_missing", reasons=["rate_missing:legal:2026-01-01"]))
    added_at = datetime(2026, 7, 2, 9, 30, tzinfo=UTC)

    with transaction(factory) as session:
        add_rate(
            session, "b2b", date(2026, 7, 1), Decimal("10.50"), "BS 2026-06-30", "els", now=added_at
        )

    with transaction(factory) as session:
        items = session.scalars(select(ReviewItem).order_by(ReviewItem.id)).all()
        states = [(item.reasons[0], item.status) for item in items]
        assert states == [
            ("rate_missing:b2b:2026-07-01", "resolved"),
            ("rate_missing:b2b:2027-01-01", "open"),
            ("rate_missing:legal:2026-01-01", "open"),
        ]
        assert items[0].resolved_at == added_at
        assert items[0].detail == (
            "incasso rate add --kind b2b --from 2026-07-01\n"
            "resolved by els: b2b rate of 10.50 % added"
        )
