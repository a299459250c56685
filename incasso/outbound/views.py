"""Every value a notice template prints, formatted for the debtor's language.

Templates only print what ``build_context`` prepares: amounts in the Belgian
format of the language (``€ 1.234,56``, ``1 234,56 €``), dates as
``dd-mm-yyyy``, the IBAN in groups of four, the structured communication as
``+++123/4567/89012+++``, and each charge line with its label and basis.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal

from babel.numbers import format_currency, format_percent
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban

from incasso.cases.charges import ChargeKind, ChargeLine
from incasso.cases.ladder import LadderStep
from incasso.cases.law import DebtorKind, format_enterprise_number, format_ogm
from incasso.i18n import LOCALES, translations
from incasso.outbound.notice import Identity, Notice, NoticeInvoice

DATE_FORMAT = "%d-%m-%Y"
PERCENT_FORMAT = "#,##0.00%"
SUPERVISOR_WEBSITE = "economie.fgov.be"
ADDRESS_SEPARATORS = re.compile(r"\s*(?:\r?\n|,)\s*")


@dataclass(frozen=True)
class PartyView:
    """An agency or creditor with every value already formatted for print."""

    name: str
    enterprise_number: str
    address: str
    phone: str
    email: str
    website: str | None


@dataclass(frozen=True)
class InvoiceView:
    """One invoice line with its dates and amount formatted for print."""

    number: str
    issue_date: str | None
    due_date: str
    amount: str
    description: str | None


@dataclass(frozen=True)
class ChargeView:
    """One charge line of the breakdown: what it is, what it was computed on, and its amount."""

    label: str
    # Rate, basis and period of an interest line; None for a flat amount.
    detail: str | None
    amount: str
    # The rate and period dates as printed, which the mandatory-mention check looks for.
    percent: str | None
    period_start: str | None
    period_end: str | None


@dataclass(frozen=True)
class PaymentView:
    """Payment details: the third-party account, the structured communication and the amount."""

    iban: str
    bic: str | None
    ogm: str
    amount: str
    # Source of the EPC QR image (``cid:`` in an e-mail, ``data:`` in a letter), or None.
    qr_src: str | None


@dataclass(frozen=True)
class SupervisorView:
    """The administration that supervises debt collectors, named in the debtor's language."""

    name: str
    address: str
    website: str


@dataclass(frozen=True)
class NoticeContext:
    """Every value the notice templates print, formatted for one language."""

    language: str
    step: str
    reference: str
    debtor_name: str
    # Address lines for the window of the envelope; empty for an e-mail.
    debtor_address: list[str]
    consumer: bool
    first_reminder: bool
    # True when the notice is a printed letter rather than an e-mail.
    letter: bool
    sent_on: str
    invoices: list[InvoiceView]
    principal: str
    # Payments received, None when nothing was paid yet.
    amount_paid: str | None
    balance: str
    charges: list[ChargeView]
    total_due: str
    term_start: str
    term_end: str
    # Maximum consumer damages, None for a business or once a line claims them.
    damages: str | None
    # Flat business compensation, None for a consumer.
    compensation: str | None
    payment: PaymentView
    creditor: PartyView
    agency: PartyView
    supervisor: SupervisorView
    # Above a courtesy version: where the legally required version is.
    version_note: str | None = None
    # Above the legally required version of a bilingual letter.
    version_heading: str | None = None

    def as_template_variables(self) -> dict[str, object]:
        """Return the fields as a shallow mapping, keeping the nested views as objects."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


def format_date(day: date) -> str:
    return day.strftime(DATE_FORMAT)


def address_lines(address: str | None) -> list[str]:
    """Split a postal address written on one line with commas, or on several lines."""
    if not address:
        return []
    return [line for line in ADDRESS_SEPARATORS.split(address.strip()) if line]


def build_context(
    notice: Notice, language: str, *, letter: bool = False, qr_src: str | None = None
) -> NoticeContext:
    """Format every printed value of ``notice`` for ``language`` (one of incasso.i18n.LANGUAGES)."""
    locale = LOCALES[language]

    def money(amount: Decimal) -> str:
        return format_currency(amount, notice.currency, locale=locale)

    term = notice.term
    damages = notice.consumer_damages
    compensation = notice.fixed_compensation
    payment = PaymentView(
        iban=stdnum_iban.format(notice.agency.iban),
        bic=stdnum_bic.format(notice.agency.bic) if notice.agency.bic else None,
        ogm=format_ogm(notice.payment_reference),
        amount=money(notice.total_due),
        qr_src=qr_src,
    )

    return NoticeContext(
        language=language,
        step=str(notice.step),
        reference=notice.case_reference,
        debtor_name=notice.debtor_name,
        debtor_address=address_lines(notice.debtor_address) if letter else [],
        consumer=notice.debtor_kind == DebtorKind.CONSUMER,
        first_reminder=notice.step == LadderStep.FIRST_REMINDER,
        letter=letter,
        sent_on=format_date(notice.sent_on),
        invoices=[_invoice_view(invoice, money) for invoice in notice.invoices],
        principal=money(notice.principal),
        amount_paid=money(-notice.amount_paid) if notice.amount_paid else None,
        balance=money(notice.balance),
        charges=[_charge_view(line, language, money) for line in notice.charges],
        total_due=money(notice.total_due),
        term_start=format_date(term.start),
        term_end=format_date(term.end),
        damages=money(damages) if damages is not None and not notice.claims_damages else None,
        compensation=money(compensation) if compensation is not None else None,
        payment=payment,
        creditor=_party_view(notice.creditor),
        agency=_party_view(notice.agency),
        supervisor=supervisor_view(language),
    )


def _invoice_view(invoice: NoticeInvoice, money: Callable[[Decimal], str]) -> InvoiceView:
    return InvoiceView(
        number=invoice.number,
        issue_date=format_date(invoice.issue_date) if invoice.issue_date else None,
        due_date=format_date(invoice.due_date),
        amount=money(invoice.amount),
        description=invoice.description or None,
    )


def _charge_view(line: ChargeLine, language: str, money: Callable[[Decimal], str]) -> ChargeView:
    _ = translations(language).gettext
    invoice = line.invoice_number

    if line.kind == ChargeKind.INTEREST:
        if invoice:
            label = _("Interest on invoice %(invoice)s") % {"invoice": invoice}
        else:
            label = _("Interest")
        return _interest_view(line, label, language, money)

    if line.kind == ChargeKind.FIXED_COMPENSATION:
        if invoice:
            label = _("Flat compensation for invoice %(invoice)s") % {"invoice": invoice}
        else:
            label = _("Flat compensation")
    else:
        label = _("Damages")
    return ChargeView(
        label=label,
        detail=None,
        amount=money(line.amount),
        percent=None,
        period_start=None,
        period_end=None,
    )


def _interest_view(
    line: ChargeLine, label: str, language: str, money: Callable[[Decimal], str]
) -> ChargeView:
    _ = translations(language).gettext
    if line.percent is None or line.period_start is None or line.period_end is None:
        # check_required_values rejects such a line before any context is built.
        raise ValueError(f"interest line {line} lacks its rate or period")

    percent = format_percent(line.percent / 100, PERCENT_FORMAT, locale=LOCALES[language])
    values = {
        "rate": percent,
        "start": format_date(line.period_start),
        "end": format_date(line.period_end),
    }
    if line.basis is not None:
        values["basis"] = money(line.basis)
        detail = _("%(rate)s a year on %(basis)s, from %(start)s to %(end)s") % values
    else:
        detail = _("%(rate)s a year, from %(start)s to %(end)s") % values

    return ChargeView(
        label=label,
        detail=detail,
        amount=money(line.amount),
        percent=percent,
        period_start=values["start"],
        period_end=values["end"],
    )


def _party_view(identity: Identity) -> PartyView:
    return PartyView(
        name=identity.name,
        enterprise_number=format_enterprise_number(identity.enterprise_number),
        address=identity.address,
        phone=identity.phone,
        email=identity.email,
        website=identity.website or None,
    )


def supervisor_view(language: str) -> SupervisorView:
    _ = translations(language).gettext
    return SupervisorView(
        name=_(
            "FPS Economy, S.M.E.s, Self-employed and Energy – "
            "Directorate-General for Economic Inspection"
        ),
        address=_("Boulevard du Roi Albert II 16, 1000 Brussels"),
        website=SUPERVISOR_WEBSITE,
    )
