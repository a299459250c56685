"""Amounts a ladder step may add to a claim, each with what it was computed from.

A ``ChargeLine`` is one line of the breakdown a notice prints and the store
keeps in ``case_charge``: late-payment interest on one invoice over one period
at one rate, the flat compensation of a business debt, or a consumer's capped
damages. Lines are computed by the law functions; templates only print them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum


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
