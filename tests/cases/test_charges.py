"""Tests of compute_charges: a business debt's compensation and interest, a consumer's damages."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from decimal import Decimal
from functools import partial

import pytest
from sqlalchemy.orm import Session, sessionmaker

from incasso.cases.charges import (
    ChargeKind,
    ChargeLine,
    OpenInvoice,
    compute_charges,
    interest_amount,
    total_charges,
)
from incasso.cases.law import DebtorKind
from incasso.cases.rates import RateKind, RateMissingError, RatePeriod, add_rate, rate_periods
from incasso.store.db import make_engine, make_session_factory, transaction, upgrade_schema

# Two invented b2b rates that change on 1 July 2026.
FIRST_HALF = (1, Decimal("10.50"), date(2026, 1, 1))
SECOND_HALF = (2, Decimal("12.00"), date(2026, 7, 1))


def lookup(*rates: tuple[int, Decimal, date]) -> partial[list[RatePeriod]]:
    """Return a rate lookup over ``rates`` (id, percent, first day), as rate_periods splits."""
    return partial(split, sorted(rates, key=lambda rate: rate[2]))


def split(rates: Sequence[tuple[int, Decimal, date]], start: date, end: date) -> list[RatePeriod]:
    if start < rates[0][2]:
        template = "No {kind} interest rate is stored for {date}."
        raise RateMissingError(template, kind="b2b", date=start.isoformat())
    periods = []
    for index, (rate_id, percent, valid_from) in enumerate(rates):
        following = rates[index + 1][2] if index + 1 < len(rates) else None
        last = end if following is None else min(end, following - timedelta(days=1))
        first = max(start, valid_from)
        if first <= last:
            periods.append(RatePeriod(rate_id, percent, first, last))
    return periods


def no_rates(start: date, end: date) -> list[RatePeriod]:
    raise AssertionError(f"no rate should be looked up, got {start}..{end}")


B2B_RATES = lookup(FIRST_HALF, SECOND_HALF)


def invoice(amount: str, due: date = date(2026, 3, 31), number: str = "F-2026-001") -> OpenInvoice:
    return OpenInvoice(number=number, due_date=due, open_amount=Decimal(amount))


def kinds(lines: list[ChargeLine]) -> list[ChargeKind]:
    return [line.kind for line in lines]


def test_interest_worked_example() -> None:
    assert interest_amount(Decimal("1000"), Decimal("10.50"), 30) == Decimal("8.63")


@pytest.mark.parametrize(
    ("basis", "days", "expected"),
    [
        ("1000", 1, "0.29"),  # 0.2877 rounds up
        ("1000", 365, "105.00"),
        ("1000", 366, "105.29"),  # a leap year still counts 365 days a year
        ("0.10", 1, "0.00"),
        ("1.00", 365, "0.11"),  # exactly 0.105: half-up gives 0.11, half-even 0.10
        ("4.76", 365, "0.50"),  # 0.4998
        ("47.62", 365, "5.00"),  # 5.0001
    ],
)
def test_interest_rounds_half_up(basis: str, days: int, expected: str) -> None:
    assert interest_amount(Decimal(basis), Decimal("10.50"), days) == Decimal(expected)


@pytest.mark.parametrize(
    ("balance", "damages"),
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
    ],
)
def test_consumer_damages_figures(balance: str, damages: str) -> None:
    lines = compute_charges(
        DebtorKind.CONSUMER,
        [invoice(balance)],
        date(2026, 5, 1),
        rates=no_rates,
        costs_from=date(2026, 5, 1),
    )

    assert lines == [
        ChargeLine(kind=ChargeKind.DAMAGES, amount=Decimal(damages), basis=Decimal(balance))
    ]


def test_enterprise_compensation_and_interest() -> None:
    # Due 31 March: interest runs from 1 to 30 April, 30 days.
    lines = compute_charges(
        DebtorKind.ENTERPRISE, [invoice("1000")], date(2026, 4, 30), rates=B2B_RATES
    )

    assert lines == [
        ChargeLine(
            kind=ChargeKind.FIXED_COMPENSATION,
            amount=Decimal("40.00"),
            invoice_number="F-2026-001",
            basis=Decimal("1000"),
        ),
        ChargeLine(
            kind=ChargeKind.INTEREST,
            amount=Decimal("8.63"),
            invoice_number="F-2026-001",
            basis=Decimal("1000"),
            percent=Decimal("10.50"),
            rate_id=1,
            period_start=date(2026, 4, 1),
            period_end=date(2026, 4, 30),
        ),
    ]
    assert total_charges(lines) == Decimal("48.63")


def test_enterprise_nothing_on_due_date() -> None:
    lines = compute_charges(
        DebtorKind.ENTERPRISE, [invoice("1000")], date(2026, 3, 31), rates=no_rates
    )

    assert lines == []


def test_enterprise_day_after_due_date() -> None:
    lines = compute_charges("enterprise", [invoice("1000")], date(2026, 4, 1), rates=B2B_RATES)

    assert kinds(lines) == [ChargeKind.FIXED_COMPENSATION, ChargeKind.INTEREST]
    assert lines[1].amount == Decimal("0.29")
    assert (lines[1].period_start, lines[1].period_end) == (date(2026, 4, 1), date(2026, 4, 1))


def test_enterprise_compensation_once_per_invoice() -> None:
    invoices = [invoice("100", number="A"), invoice("200", number="B")]

    lines = compute_charges(DebtorKind.ENTERPRISE, invoices, date(2026, 12, 31), rates=B2B_RATES)

    compensations = [line for line in lines if line.kind == ChargeKind.FIXED_COMPENSATION]
    assert [line.invoice_number for line in compensations] == ["A", "B"]
    assert [line.invoice_number for line in lines] == ["A", "A", "A", "B", "B", "B"]


def test_interest_split_on_1_july() -> None:
    # Due 15 June: 16-30 June (15 days) at 10.50 %, 1-10 July (10 days) at 12.00 %.
    lines = compute_charges(
        DebtorKind.ENTERPRISE,
        [invoice("1000", due=date(2026, 6, 15))],
        date(2026, 7, 10),
        rates=B2B_RATES,
    )

    interest = [line for line in lines if line.kind == ChargeKind.INTEREST]
    assert [(line.period_start, line.period_end) for line in interest] == [
        (date(2026, 6, 16), date(2026, 6, 30)),
        (date(2026, 7, 1), date(2026, 7, 10)),
    ]
    assert [line.amount for line in interest] == [Decimal("4.32"), Decimal("3.29")]
    assert [line.percent for line in interest] == [Decimal("10.50"), Decimal("12.00")]
    assert [line.rate_id for line in interest] == [1, 2]


def test_interest_ending_on_30_june_has_one_period() -> None:
    lines = compute_charges(
        DebtorKind.ENTERPRISE,
        [invoice("1000", due=date(2026, 6, 15))],
        date(2026, 6, 30),
        rates=B2B_RATES,
    )

    assert [line.rate_id for line in lines if line.kind == ChargeKind.INTEREST] == [1]


@pytest.mark.parametrize("amount", ["0", "0.00", "-25.00"])
def test_nothing_on_settled_or_credit_invoice(amount: str) -> None:
    lines = compute_charges(
        DebtorKind.ENTERPRISE, [invoice(amount)], date(2026, 12, 31), rates=no_rates
    )

    assert lines == []


def test_interest_below_a_cent_gives_no_line() -> None:
    lines = compute_charges(
        DebtorKind.ENTERPRISE, [invoice("1.00")], date(2026, 4, 1), rates=B2B_RATES
    )

    assert kinds(lines) == [ChargeKind.FIXED_COMPENSATION]


def test_enterprise_ignores_consumer_term() -> None:
    lines = compute_charges(
        DebtorKind.ENTERPRISE,
        [invoice("1000")],
        date(2026, 4, 30),
        rates=B2B_RATES,
        costs_from=date(2026, 12, 1),
        claim_damages=False,
    )

    assert kinds(lines) == [ChargeKind.FIXED_COMPENSATION, ChargeKind.INTEREST]


def test_missing_rate_is_raised() -> None:
    with pytest.raises(RateMissingError):
        compute_charges(
            DebtorKind.ENTERPRISE,
            [invoice("1000", due=date(2025, 12, 15))],
            date(2026, 1, 31),
            rates=B2B_RATES,
        )


def test_consumer_nothing_without_first_reminder() -> None:
    lines = compute_charges(
        DebtorKind.CONSUMER,
        [invoice("1000")],
        date(2026, 12, 31),
        rates=B2B_RATES,
        costs_from=None,
        consumer_interest=True,
    )

    assert lines == []


def test_consumer_nothing_the_day_before_costs_start() -> None:
    lines = compute_charges(
        DebtorKind.CONSUMER,
        [invoice("1000")],
        date(2026, 5, 19),
        rates=B2B_RATES,
        costs_from=date(2026, 5, 20),
        consumer_interest=True,
    )

    assert lines == []


def test_consumer_charges_on_the_day_costs_start() -> None:
    lines = compute_charges(
        DebtorKind.CONSUMER,
        [invoice("1000")],
        date(2026, 5, 20),
        rates=B2B_RATES,
        costs_from=date(2026, 5, 20),
        consumer_interest=True,
    )

    assert lines == [
        ChargeLine(
            kind=ChargeKind.INTEREST,
            amount=Decimal("0.29"),
            invoice_number="F-2026-001",
            basis=Decimal("1000"),
            percent=Decimal("10.50"),
            rate_id=1,
            period_start=date(2026, 5, 20),
            period_end=date(2026, 5, 20),
        ),
        ChargeLine(kind=ChargeKind.DAMAGES, amount=Decimal("90.00"), basis=Decimal("1000")),
    ]


def test_consumer_interest_only_when_stipulated() -> None:
    lines = compute_charges(
        DebtorKind.CONSUMER,
        [invoice("1000")],
        date(2026, 12, 31),
        rates=no_rates,
        costs_from=date(2026, 5, 20),
    )

    assert kinds(lines) == [ChargeKind.DAMAGES]


def test_consumer_without_damages_or_interest() -> None:
    lines = compute_charges(
        DebtorKind.CONSUMER,
        [invoice("1000")],
        date(2026, 12, 31),
        rates=no_rates,
        costs_from=date(2026, 5, 20),
        claim_damages=False,
    )

    assert lines == []


def test_consumer_interest_starts_after_a_later_due_date() -> None:
    # The first invoice was due long before the term ended, the second after it.
    invoices = [invoice("500", number="A"), invoice("300", due=date(2026, 6, 10), number="B")]

    lines = compute_charges(
        DebtorKind.CONSUMER,
        invoices,
        date(2026, 6, 20),
        rates=B2B_RATES,
        costs_from=date(2026, 5, 20),
        claim_damages=False,
        consumer_interest=True,
    )

    assert [(line.invoice_number, line.period_start) for line in lines] == [
        ("A", date(2026, 5, 20)),
        ("B", date(2026, 6, 11)),
    ]
    assert [line.period_end for line in lines] == [date(2026, 6, 20), date(2026, 6, 20)]


def test_consumer_credit_lowers_damages_basis() -> None:
    invoices = [invoice("600", number="A"), invoice("-100", number="CN-1")]

    lines = compute_charges(
        DebtorKind.CONSUMER,
        invoices,
        date(2026, 6, 1),
        rates=B2B_RATES,
        costs_from=date(2026, 5, 20),
        consumer_interest=True,
    )

    damages = lines[-1]
    assert damages.basis == Decimal("500")
    assert damages.amount == Decimal("65.00")
    assert {line.invoice_number for line in lines[:-1]} == {"A"}


def test_consumer_credit_above_debt_gives_no_damages() -> None:
    invoices = [invoice("100", number="A"), invoice("-100", number="CN-1")]

    lines = compute_charges(
        DebtorKind.CONSUMER,
        invoices,
        date(2026, 6, 1),
        rates=no_rates,
        costs_from=date(2026, 5, 20),
    )

    assert lines == []


def test_total_of_no_lines() -> None:
    assert total_charges([]) == Decimal("0.00")


def test_total_adds_every_line() -> None:
    lines = [
        ChargeLine(kind=ChargeKind.DAMAGES, amount=Decimal("65.00")),
        ChargeLine(kind=ChargeKind.INTEREST, amount=Decimal("0.29")),
        ChargeLine(kind=ChargeKind.INTEREST, amount=Decimal("3.29")),
    ]

    assert total_charges(lines) == Decimal("68.58")


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    upgrade_schema(engine)
    yield make_session_factory(engine)
    engine.dispose()


def test_stored_rates_split_on_1_july(factory: sessionmaker[Session]) -> None:
    # The migration stores 10.50 % from 1 January 2026, and the test adds 12.00 % from 1 July.
    with transaction(factory) as session:
        second_half = add_rate(
            session, RateKind.B2B, date(2026, 7, 1), Decimal("12.00"), "test rate", "test"
        )

    with transaction(factory) as session:
        lines = compute_charges(
            DebtorKind.ENTERPRISE,
            [invoice("1000", due=date(2026, 6, 15))],
            date(2026, 7, 10),
            rates=partial(rate_periods, session, RateKind.B2B),
        )

    interest = [line for line in lines if line.kind == ChargeKind.INTEREST]
    assert [line.amount for line in interest] == [Decimal("4.32"), Decimal("3.29")]
    assert [line.period_end for line in interest] == [date(2026, 6, 30), date(2026, 7, 10)]
    assert interest[1].rate_id == second_half.id
    assert interest[0].rate_id != second_half.id
    assert total_charges(lines) == Decimal("47.61")
