"""Amounts a ladder step may add to a claim, each with what it was computed from.

A ``ChargeLine`` is one line of the breakdown a notice prints and the store
keeps in ``case_charge``: late-payment interest on one invoice over one period
at one rate, the flat compensation of a business debt, or a consumer's capped
damages. ``compute_charges`` makes the lines; templates only print them.

Rules for a business debtor (law of 2 August 2002 on late payment in
commercial transactions). They apply without any reminder:

* each overdue invoice carries a flat compensation of EUR 40, once;
* each overdue invoice bears interest at the late-payment rate (``b2b`` rate
  kind) from the day after its due date.

Rules for a consumer debtor (Book XIX of the Code of Economic Law):

* nothing may be charged until the 14-day term of the free first reminder
  has run out, so no line exists before the first day after that term;
* from that day the creditor may claim flat damages on the outstanding
  balance, within the cap of ``consumer_damages_cap``;
* interest only when the creditor's terms stipulate it, from that same day
  (or from the day after the due date when that is later), at no more than
  the late-payment rate of the law of 2 August 2002.

Interest is simple interest on the open amount of the invoice. Each period
over which one rate applies gives its own line: the amount is the open amount
times the rate times the days of the period (both ends included) divided by
365, rounded half-up to the cent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from incasso.cases.law import B2B_FIXED_COMPENSATION, DebtorKind, consumer_damages_cap
from incasso.cases.rates import RatePeriod

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
DAYS_PER_YEAR = Decimal(365)

# Returns the b2b rate periods covering a first and last day, both included,
# e.g. functools.partial(rates.rate_periods, session, RateKind.B2B).
RateLookup = Callable[[date, date], Sequence[RatePeriod]]


class ChargeKind(StrEnum):
    """What a charge line is."""

    INTEREST = "interest"  # late-payment or contractual interest over a period
    FIXED_COMPENSATION = "fixed_compensation"  # the flat EUR 40 of a business debt, per invoice
    DAMAGES = "damages"  # a consumer's flat damages, within the legal cap


@dataclass(frozen=True)
class ChargeLine:
    """One computed amount with its basis, rate and period where they apply."""

    kind: ChargeKind
    amount: Decimal
    # Number of the invoice the line belongs to, None for a line on the whole balance.
    invoice_number: str | None = None
    basis: Decimal | None = None
    # Percent per year, and the id of the ``interest_rate`` row it came from.
    percent: Decimal | None = None
    rate_id: int | None = None
    period_start: date | None = None
    period_end: date | None = None


@dataclass(frozen=True)
class OpenInvoice:
    """An invoice of a case with what is still unpaid on it."""

    number: str
    due_date: date
    open_amount: Decimal


def compute_charges(
    debtor_kind: DebtorKind | str,
    invoices: Iterable[OpenInvoice],
    as_of: date,
    *,
    rates: RateLookup,
    costs_from: date | None = None,
    claim_damages: bool = True,
    consumer_interest: bool = False,
) -> list[ChargeLine]:
    """Compute every charge on a case's open invoices up to ``as_of``, that day included.

    ``rates`` returns the b2b rate periods of a range and raises
    RateMissingError when a day has no rate. ``costs_from`` is the first day
    after the consumer's term that follows the first reminder. It is None while
    no first reminder was sent, and a business debtor's charges ignore it.
    ``claim_damages`` and ``consumer_interest`` are what the creditor claims
    from a consumer. The lines come per invoice, in the order given, and a
    consumer's damages come last.
    """
    all_invoices = list(invoices)
    owed = [invoice for invoice in all_invoices if invoice.open_amount > 0]

    if DebtorKind(debtor_kind) == DebtorKind.ENTERPRISE:
        return _enterprise_charges(owed, as_of, rates)

    if costs_from is None or as_of < costs_from:
        return []

    lines = []
    if consumer_interest:
        lines.extend(_consumer_interest(owed, as_of, rates, costs_from))

    # A credit (a negative open amount) lowers the balance the damages are capped on.
    balance = sum((invoice.open_amount for invoice in all_invoices), Decimal("0.00"))
    if claim_damages and balance > 0:
        damages = consumer_damages_cap(balance)
        lines.append(ChargeLine(kind=ChargeKind.DAMAGES, amount=damages, basis=balance))
    return lines


def total_charges(lines: Iterable[ChargeLine]) -> Decimal:
    """Return the sum of the amounts of ``lines``, 0.00 when there are none."""
    return sum((line.amount for line in lines), Decimal("0.00"))


def interest_amount(basis: Decimal, percent: Decimal, days: int) -> Decimal:
    """Return simple interest on ``basis`` at ``percent`` a year over ``days`` days.

    The day count is actual/365 and the result is rounded half-up to the cent.
    """
    # NOTE: actual/365 (also in leap years) and rounding each line half-up to
    # the cent are our reading; both are still to be confirmed with counsel.
    raw = basis * percent / Decimal(100) * Decimal(days) / DAYS_PER_YEAR
    return raw.quantize(CENT, rounding=ROUND_HALF_UP)


def _enterprise_charges(
    invoices: Sequence[OpenInvoice], as_of: date, rates: RateLookup
) -> list[ChargeLine]:
    lines = []
    for invoice in invoices:
        first_late_day = invoice.due_date + timedelta(days=1)
        if as_of < first_late_day:
            continue

        lines.append(
            ChargeLine(
                kind=ChargeKind.FIXED_COMPENSATION,
                amount=B2B_FIXED_COMPENSATION,
                invoice_number=invoice.number,
                basis=invoice.open_amount,
            )
        )
        lines.extend(_interest_lines(invoice, first_late_day, as_of, rates))
    return lines


def _consumer_interest(
    invoices: Sequence[OpenInvoice], as_of: date, rates: RateLookup, costs_from: date
) -> list[ChargeLine]:
    # NOTE: the rate is always the legal maximum (the b2b rate). A lower rate
    # stipulated in the creditor's terms cannot be given yet.
    lines = []
    for invoice in invoices:
        first_day = max(costs_from, invoice.due_date + timedelta(days=1))
        lines.extend(_interest_lines(invoice, first_day, as_of, rates))
    return lines


def _interest_lines(
    invoice: OpenInvoice, first_day: date, last_day: date, rates: RateLookup
) -> list[ChargeLine]:
    """Return one interest line per rate period from ``first_day`` to ``last_day``.

    A period whose interest rounds to 0.00 gives no line.
    """
    if last_day < first_day:
        return []

    lines = []
    for period in rates(first_day, last_day):
        days = (period.end - period.start).days + 1
        amount = interest_amount(invoice.open_amount, period.percent, days)
        if amount == 0:
            continue  # a few days on a small amount: nothing to print or claim

        lines.append(
            ChargeLine(
                kind=ChargeKind.INTEREST,
                amount=amount,
                invoice_number=invoice.number,
                basis=invoice.open_amount,
                percent=period.percent,
                rate_id=period.rate_id,
                period_start=period.start,
                period_end=period.end,
            )
        )
    return lines
