"""The facts a written notice to a debtor is built from.

A ``Notice`` contains the case data of one ladder step: who the agency and the
creditor are, who owes what on which invoices, what was paid and charged
already, and when and how the notice is sent. The amounts and dates derived
from the Belgian rules (balance, total due, payment term, consumer damages cap,
business compensation) are properties here, so the templates only print them.

Payments are printed as one line of the breakdown, below the invoices, rather
than taken off individual invoices: each invoice keeps the amount the debtor
finds on it, and the line shows what was received so far.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from incasso.cases.charges import ChargeKind, ChargeLine
from incasso.cases.ladder import LadderStep
from incasso.cases.law import (
    B2B_FIXED_COMPENSATION,
    Channel,
    DebtorKind,
    PaymentTerm,
    consumer_damages_cap,
    payment_term,
)

ZERO = Decimal("0.00")


class MissingMentionError(ValueError):
    """A notice that cannot lawfully go out; the message names the value and the fix.

    Raised when a mandatory mention is empty or invalid, when a rendered part
    lacks one, when the debtor cannot be reached by the chosen medium, or when a
    value contradicts the law (charges on a consumer's free first reminder).
    """


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
    """One unpaid invoice with its amount as issued, in the notice's currency."""

    number: str
    issue_date: date | None
    due_date: date
    amount: Decimal
    description: str | None


@dataclass(frozen=True, kw_only=True)
class Notice:
    """One written notice of the agency to a debtor about a case, for one ladder step.

    NOTE: the creditor is always printed as the original creditor. A claim
    assigned to a new creditor needs both creditors on the notice, which this
    model cannot carry yet.
    """

    step: LadderStep
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
    # EMAIL or POST: decides when the consumer's payment term starts.
    channel: Channel
    # Language of the debtor. Unknown languages fall back to Dutch.
    language: str
    # Interest, compensation and damages computed for this step, printed line by line.
    charges: Sequence[ChargeLine] = ()
    # Payments received on the case so far, in the notice's currency.
    amount_paid: Decimal = ZERO
    # Postal address, lines separated by newlines or commas; needed for a letter only.
    debtor_address: str | None = None

    @property
    def principal(self) -> Decimal:
        """Sum of the invoice amounts, before payments and charges."""
        return sum((invoice.amount for invoice in self.invoices), ZERO)

    @property
    def balance(self) -> Decimal:
        """Outstanding balance: the invoices less the payments received."""
        return self.principal - self.amount_paid

    @property
    def charges_total(self) -> Decimal:
        return sum((line.amount for line in self.charges), ZERO)

    @property
    def total_due(self) -> Decimal:
        """What the debtor must pay now: the outstanding balance plus every charge line."""
        return self.balance + self.charges_total

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

    @property
    def claims_damages(self) -> bool:
        """True when a charge line already claims the consumer's damages."""
        return any(line.kind == ChargeKind.DAMAGES for line in self.charges)
