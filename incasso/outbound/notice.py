"""The facts a first reminder to a debtor is built from.

A ``FirstNotice`` contains the case data: who the agency and the creditor
are, who owes what on which invoices, and when and how the notice is sent. The
amounts and dates derived from the Belgian rules (balance, payment term,
consumer damages cap, business compensation) are properties here, so the
templates only print them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from incasso.cases.law import (
    B2B_FIXED_COMPENSATION,
    Channel,
    DebtorKind,
    PaymentTerm,
    consumer_damages_cap,
    payment_term,
)


@dataclass(frozen=True)
class Identity:
    """Legal identity and contact details of an enterprise named in a notice."""

    name: str
    # Belgian enterprise (KBO/BCE) number, with or without dots and BE prefix.
    enterprise_number: str
    # Postal address on one line: "Kerkstraat 1, 9000 Gent".
    address: str
    phone: str
    email: str
    website: str | None = None


@dataclass(frozen=True, kw_only=True)
class AgencyIdentity(Identity):
    """The collection agency, with the third-party account (derdenrekening) debtors pay into."""

    iban: str
    bic: str


@dataclass(frozen=True)
class NoticeInvoice:
    """One unpaid invoice, whose ``amount`` is the part still open, in the notice's currency."""

    number: str
    issue_date: date | None
    due_date: date
    amount: Decimal
    description: str | None


@dataclass(frozen=True)
class FirstNotice:
    """The agency's first written notice to a debtor about a case.

    NOTE: the creditor is always printed as the original creditor. A claim
    assigned to a new creditor needs both creditors on the notice, which this
    model cannot carry yet.
    """

    case_reference: str
    # Structured communication as 12 digits, without +++ or slashes.
    payment_reference: str
    agency: AgencyIdentity
    creditor: Identity
    debtor_name: str
    debtor_kind: DebtorKind
    invoices: Sequence[NoticeInvoice]
    # ISO 4217 code, e.g. "EUR".
    currency: str
    sent_on: date
    channel: Channel
    # Language of the debtor. Unknown languages fall back to Dutch.
    language: str

    @property
    def balance(self) -> Decimal:
        """Outstanding balance: the sum of the open amounts of all invoices."""
        return sum((invoice.amount for invoice in self.invoices), Decimal("0"))

    @property
    def term(self) -> PaymentTerm:
        """Payment term that starts from the sending date and channel."""
        return payment_term(self.sent_on, self.channel)

    @property
    def consumer_damages(self) -> Decimal | None:
        """Maximum damages a consumer owes when the term passes unpaid, None for a business."""
        if self.debtor_kind != DebtorKind.CONSUMER:
            return None
        return consumer_damages_cap(self.balance)

    @property
    def fixed_compensation(self) -> Decimal | None:
        """Flat compensation a business owes for late payment, None for a consumer."""
        if self.debtor_kind != DebtorKind.ENTERPRISE:
            return None
        return B2B_FIXED_COMPENSATION
