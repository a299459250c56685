"""Render the agency's first reminder to a debtor as an e-mail subject, plain text and HTML.

The first reminder is also the agency's first written notice (ingebrekestelling)
to the debtor, so Belgian law fixes what it must contain:

* the creditor's name, enterprise number, address, phone, e-mail and its
  capacity, and the agency's name, address, enterprise number and contact
  details, with its registration at the FPS Economy and the address of the
  supervising Economic Inspection;
* every invoice with its due date and amount, and the outstanding balance;
* the payment term of at least 14 calendar days and its end date;
* for a consumer: that this reminder is free, the maximum damages that may be
  claimed after the term, and the right to a payment plan, to a debt mediator,
  to dispute the claim and to receive the supporting documents;
* for a business: the flat EUR 40 compensation and statutory late-payment
  interest.

A notice that lacks one of these must not go out, so ``render_first_reminder``
raises ``MissingMentionError`` both for an empty or invalid input value and for
a template that dropped a mandatory value from either part.

The subject names only the case reference and the creditor. It never says that
the mail is about debt collection, because Belgian law forbids an envelope
that reveals it, and we treat a subject line like an envelope.

All texts come from the gettext catalogs through one set of Jinja2 templates.
The HTML part is autoescaped and the plain-text part is not, so names from
invoices are safe in HTML and unchanged in the text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from functools import cache

from babel.numbers import format_currency, is_currency
from jinja2 import BaseLoader, Environment, PackageLoader, StrictUndefined
from markupsafe import escape
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.be import vat as stdnum_enterprise_number
from stdnum.exceptions import ValidationError

from incasso.cases.law import DebtorKind, format_enterprise_number, format_ogm, is_valid_ogm
from incasso.i18n import normalize_language, translations
from incasso.outbound.notice import AgencyIdentity, FirstNotice, Identity, NoticeInvoice

logger = logging.getLogger(__name__)

TEMPLATE_PACKAGE = "incasso"
TEMPLATE_FOLDER = "templates/mail"
SUBJECT_TEMPLATE = "first_reminder_subject.txt.j2"
TEXT_TEMPLATE = "first_reminder.txt.j2"
HTML_TEMPLATE = "first_reminder.html.j2"

# Belgian formatting conventions for each language a debtor may read.
BABEL_LOCALES = {"nl": "nl_BE", "fr": "fr_BE", "de": "de_BE", "en": "en_BE"}
DATE_FORMAT = "%d-%m-%Y"

SUPERVISOR_WEBSITE = "economie.fgov.be"

# Fix instructions quoted in error messages, one per source of input values.
CREDITOR_FIX = "register it with `incasso creditor add --{option}`"
AGENCY_FIX = "set INCASSO_AGENCY__{variable} or [agency] {key} in incasso.toml"
CASE_FIX = "correct the case data before sending"


class MissingMentionError(ValueError):
    """A mandatory mention of a notice is empty, invalid, or missing from a rendered part."""


@dataclass(frozen=True)
class RenderedMessage:
    """A rendered message to a debtor, ready to be wrapped in a MIME message."""

    subject: str
    text: str
    html: str
    language: str


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
class PaymentView:
    """Payment details: the third-party account, the structured communication and the amount."""

    iban: str
    bic: str | None
    ogm: str
    amount: str


@dataclass(frozen=True)
class SupervisorView:
    """The administration that supervises debt collectors, named in the debtor's language."""

    name: str
    address: str
    website: str


@dataclass(frozen=True)
class ReminderContext:
    """Every value the first-reminder templates print, formatted for the debtor's language."""

    language: str
    reference: str
    debtor_name: str
    consumer: bool
    balance: str
    invoices: list[InvoiceView]
    term_start: str
    term_end: str
    # Maximum consumer damages, None for a business debtor.
    damages: str | None
    # Flat business compensation, None for a consumer.
    compensation: str | None
    payment: PaymentView
    creditor: PartyView
    agency: PartyView
    supervisor: SupervisorView

    def as_template_variables(self) -> dict[str, object]:
        """Return the fields as a shallow mapping, keeping the nested views as objects."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


def render_first_reminder(
    notice: FirstNotice, *, loader: BaseLoader | None = None
) -> RenderedMessage:
    """Render ``notice`` in the debtor's language, Dutch when the language is unknown.

    A legally required notice must exist in the language of the agency's seat
    (settings ``agency.legal_language``, Dutch for a Flemish seat). For a debtor
    who reads another language, the caller renders the notice twice and sends
    the debtor's version beside the legal one.

    ``loader`` replaces the packaged templates; tests use it to render a
    broken template. Raises MissingMentionError when an input value is empty or
    invalid, or when a rendered part lacks a mandatory value.
    """
    check_required_values(notice)

    language = normalize_language(notice.language)
    if loader is None:
        environment = _packaged_environment(language)
    else:
        environment = _environment(language, loader)
    context = _build_context(notice, language)
    variables = context.as_template_variables()

    subject = _render_subject(environment, variables)
    text = environment.get_template(TEXT_TEMPLATE).render(variables)
    html = environment.get_template(HTML_TEMPLATE).render(variables)

    _check_rendered(notice.case_reference, subject, text, html, _mandatory_values(context))

    logger.debug(
        "rendered first reminder case=%s language=%s debtor_kind=%s",
        notice.case_reference,
        language,
        notice.debtor_kind,
    )
    return RenderedMessage(subject=subject, text=text, html=html, language=language)


def check_required_values(notice: FirstNotice) -> None:
    """Raise MissingMentionError naming the first empty or invalid value the notice needs."""
    _require(notice.case_reference, "case reference", CASE_FIX)
    _require(notice.debtor_name, "debtor name", CASE_FIX)
    _check_creditor(notice.creditor)
    _check_agency(notice.agency)
    _check_payment_reference(notice.payment_reference)
    _check_currency(notice.currency)
    _check_invoices(notice)


def _require(value: object, mention: str, fix: str) -> None:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise MissingMentionError(f"{mention} is empty; {fix}")


def _creditor_fix(option: str) -> str:
    return CREDITOR_FIX.format(option=option)


def _agency_fix(key: str) -> str:
    return AGENCY_FIX.format(variable=key.upper(), key=key)


def _check_creditor(creditor: Identity) -> None:
    _require(creditor.name, "creditor name", _creditor_fix("name"))
    _require(
        creditor.enterprise_number,
        "creditor enterprise number",
        _creditor_fix("enterprise-number"),
    )
    _check_enterprise_number(
        creditor.enterprise_number, "creditor enterprise number", _creditor_fix("enterprise-number")
    )
    _require(creditor.address, "creditor address", _creditor_fix("address"))
    _require(creditor.phone, "creditor phone", _creditor_fix("phone"))


def _check_agency(agency: AgencyIdentity) -> None:
    _require(agency.name, "agency name", _agency_fix("name"))
    _require(agency.enterprise_number, "agency enterprise number", _agency_fix("enterprise_number"))
    _check_enterprise_number(
        agency.enterprise_number, "agency enterprise number", _agency_fix("enterprise_number")
    )
    _require(agency.address, "agency address", _agency_fix("address"))
    _require(agency.phone, "agency phone", _agency_fix("phone"))
    _require(agency.email, "agency e-mail", _agency_fix("email"))

    _require(agency.iban, "agency IBAN", _agency_fix("iban"))
    if not stdnum_iban.is_valid(agency.iban):
        raise MissingMentionError(
            f"agency IBAN {agency.iban!r} is invalid; {_agency_fix('iban')} to a valid IBAN"
        )
    if agency.bic and not stdnum_bic.is_valid(agency.bic):
        raise MissingMentionError(
            f"agency BIC {agency.bic!r} is invalid; {_agency_fix('bic')} to a valid BIC"
        )


def _check_enterprise_number(value: str, mention: str, fix: str) -> None:
    try:
        stdnum_enterprise_number.validate(value)
    except ValidationError as error:
        raise MissingMentionError(
            f"{mention} {value!r} is not a valid Belgian enterprise number ({error}); {fix}"
        ) from error


def _check_payment_reference(payment_reference: str) -> None:
    _require(payment_reference, "payment reference", "allocate the case number with its OGM")
    if not is_valid_ogm(payment_reference):
        raise MissingMentionError(
            f"payment reference {payment_reference!r} is not a valid structured communication; "
            "expected 12 digits as made by make_ogm()"
        )


def _check_currency(currency: str) -> None:
    _require(currency, "currency", CASE_FIX)
    if not is_currency(currency):
        raise MissingMentionError(f"currency {currency!r} is not an ISO 4217 code; {CASE_FIX}")


def _check_invoices(notice: FirstNotice) -> None:
    if not notice.invoices:
        raise MissingMentionError(f"notice for case {notice.case_reference} has no invoices")

    for position, invoice in enumerate(notice.invoices, start=1):
        label = f"invoice {invoice.number or f'#{position}'}"
        _require(invoice.number, f"{label} number", CASE_FIX)
        _require(invoice.due_date, f"{label} due date", CASE_FIX)
        _require(invoice.amount, f"{label} amount", CASE_FIX)
        if invoice.amount <= 0:
            raise MissingMentionError(
                f"{label} amount {invoice.amount} is not positive; {CASE_FIX}"
            )


@cache
def _packaged_environment(language: str) -> Environment:
    return _environment(language, PackageLoader(TEMPLATE_PACKAGE, TEMPLATE_FOLDER))


def _environment(language: str, loader: BaseLoader) -> Environment:
    environment = Environment(
        loader=loader,
        autoescape=_autoescape,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_translations(  # type: ignore[attr-defined]
        translations(language), newstyle=True
    )
    return environment


def _autoescape(template_name: str | None) -> bool:
    return template_name is not None and template_name.endswith(".html.j2")


def _build_context(notice: FirstNotice, language: str) -> ReminderContext:
    locale = BABEL_LOCALES[language]

    def money(amount: Decimal) -> str:
        return format_currency(amount, notice.currency, locale=locale)

    term = notice.term
    damages = notice.consumer_damages
    compensation = notice.fixed_compensation
    payment = PaymentView(
        iban=stdnum_iban.format(notice.agency.iban),
        bic=stdnum_bic.format(notice.agency.bic) if notice.agency.bic else None,
        ogm=format_ogm(notice.payment_reference),
        amount=money(notice.balance),
    )

    return ReminderContext(
        language=language,
        reference=notice.case_reference,
        debtor_name=notice.debtor_name,
        consumer=notice.debtor_kind == DebtorKind.CONSUMER,
        balance=money(notice.balance),
        invoices=[_invoice_view(invoice, money) for invoice in notice.invoices],
        term_start=_format_date(term.start),
        term_end=_format_date(term.end),
        damages=money(damages) if damages is not None else None,
        compensation=money(compensation) if compensation is not None else None,
        payment=payment,
        creditor=_party_view(notice.creditor),
        agency=_party_view(notice.agency),
        supervisor=_supervisor_view(language),
    )


def _format_date(day: date) -> str:
    return day.strftime(DATE_FORMAT)


def _invoice_view(invoice: NoticeInvoice, money: Callable[[Decimal], str]) -> InvoiceView:
    return InvoiceView(
        number=invoice.number,
        issue_date=_format_date(invoice.issue_date) if invoice.issue_date else None,
        due_date=_format_date(invoice.due_date),
        amount=money(invoice.amount),
        description=invoice.description or None,
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


def _supervisor_view(language: str) -> SupervisorView:
    _ = translations(language).gettext
    return SupervisorView(
        name=_(
            "FPS Economy, S.M.E.s, Self-employed and Energy – "
            "Directorate-General for Economic Inspection"
        ),
        address=_("Boulevard du Roi Albert II 16, 1000 Brussels"),
        website=SUPERVISOR_WEBSITE,
    )


def _render_subject(environment: Environment, variables: dict[str, object]) -> str:
    rendered = environment.get_template(SUBJECT_TEMPLATE).render(variables)
    # A line break in a creditor name must not reach the Subject header.
    return " ".join(rendered.split())


def _mandatory_values(context: ReminderContext) -> list[tuple[str, str]]:
    creditor = context.creditor
    agency = context.agency
    values = [
        ("creditor name", creditor.name),
        ("creditor enterprise number", creditor.enterprise_number),
        ("creditor address", creditor.address),
        ("creditor phone", creditor.phone),
        ("agency name", agency.name),
        ("agency enterprise number", agency.enterprise_number),
        ("agency address", agency.address),
        ("agency phone", agency.phone),
        ("agency e-mail", agency.email),
        ("outstanding balance", context.balance),
        ("term end date", context.term_end),
        ("IBAN", context.payment.iban),
        ("structured communication", context.payment.ogm),
        ("supervisory authority", context.supervisor.name),
        ("supervisory authority address", context.supervisor.address),
    ]

    for invoice in context.invoices:
        values.append((f"invoice {invoice.number} number", invoice.number))
        values.append((f"invoice {invoice.number} due date", invoice.due_date))
        values.append((f"invoice {invoice.number} amount", invoice.amount))

    if context.damages is not None:
        values.append(("consumer damages cap", context.damages))
    if context.compensation is not None:
        values.append(("business fixed compensation", context.compensation))
    return values


def _check_rendered(
    case_reference: str,
    subject: str,
    text: str,
    html: str,
    mandatory: Sequence[tuple[str, str]],
) -> None:
    if case_reference not in subject:
        raise MissingMentionError(
            f"subject {subject!r} lacks the case reference {case_reference}; "
            f"restore it in the template {SUBJECT_TEMPLATE}"
        )

    for mention, value in mandatory:
        if value not in text:
            raise MissingMentionError(
                f"plain-text part lacks the mandatory mention {mention} ({value}); "
                f"restore it in the template {TEXT_TEMPLATE}"
            )
        if str(escape(value)) not in html:
            raise MissingMentionError(
                f"HTML part lacks the mandatory mention {mention} ({value}); "
                f"restore it in the template {HTML_TEMPLATE}"
            )
