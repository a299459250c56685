"""The mentions Belgian law requires on every written notice, checked before and after rendering.

A notice to a debtor (the agency's ingebrekestelling, Book XIX of the Code of
Economic Law, and every later reminder) must contain:

* the creditor's name, enterprise number, address, phone and capacity, and the
  agency's name, address, enterprise number and contact details, with the
  administration of the FPS Economy that supervises debt collectors;
* every invoice with its due date, and a precise breakdown of the amount
  claimed: the principal, payments received, and each charge line (interest
  with its rate and period, flat compensation, damages);
* the payment term of at least 14 calendar days and its end date;
* the payment details: the third-party account and the structured communication.

``check_required_values`` rejects a notice whose input lacks one of them, before
anything is rendered. ``check_rendered`` rejects a rendered part that lost one,
so a broken template cannot send an unlawful notice.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from babel.numbers import is_currency
from markupsafe import escape
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.be import vat as stdnum_enterprise_number
from stdnum.exceptions import ValidationError

from incasso.cases.charges import ChargeKind, ChargeLine
from incasso.cases.ladder import LadderStep
from incasso.cases.law import DebtorKind, is_valid_ogm
from incasso.outbound.notice import AgencyIdentity, Identity, MissingMentionError, Notice
from incasso.outbound.views import NoticeContext

# Fix instructions quoted in error messages, one per source of input values.
CREDITOR_FIX = "register it with `incasso creditor add --{option}`"
AGENCY_FIX = "set INCASSO_AGENCY__{variable} or [agency] {key} in incasso.toml"
CASE_FIX = "correct the case data before sending"


def check_required_values(notice: Notice) -> None:
    """Raise MissingMentionError naming the first empty or invalid value the notice needs."""
    _require(notice.case_reference, "case reference", CASE_FIX)
    _require(notice.debtor_name, "debtor name", CASE_FIX)
    _check_creditor(notice.creditor)
    _check_agency(notice.agency)
    _check_payment_reference(notice.payment_reference)
    _check_currency(notice.currency)
    _check_invoices(notice)
    _check_payments(notice)
    _check_charges(notice)


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
    if not is_valid_iban(agency.iban):
        raise MissingMentionError(
            f"agency IBAN {agency.iban!r} is invalid; {_agency_fix('iban')} to a valid IBAN"
        )
    if agency.bic and not is_valid_bic(agency.bic):
        raise MissingMentionError(
            f"agency BIC {agency.bic!r} is invalid; {_agency_fix('bic')} to a valid BIC"
        )


@lru_cache(maxsize=16)
def is_valid_iban(iban: str) -> bool:
    """Return whether ``iban`` is valid; cached because every notice names the same account."""
    return bool(stdnum_iban.is_valid(iban))


@lru_cache(maxsize=16)
def is_valid_bic(bic: str) -> bool:
    """Return whether ``bic`` is a valid BIC; cached like ``is_valid_iban``."""
    return bool(stdnum_bic.is_valid(bic))


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


def _check_invoices(notice: Notice) -> None:
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


def _check_payments(notice: Notice) -> None:
    if notice.amount_paid < 0:
        raise MissingMentionError(
            f"amount paid {notice.amount_paid} of case {notice.case_reference} is negative; "
            "correct the payments of the case"
        )
    if notice.balance <= 0:
        raise MissingMentionError(
            f"case {notice.case_reference} has nothing left to pay: {notice.amount_paid} paid "
            f"of {notice.principal} invoiced; close the case as paid instead of sending a notice"
        )


def _check_charges(notice: Notice) -> None:
    if not notice.charges:
        return

    if notice.debtor_kind == DebtorKind.CONSUMER and notice.step == LadderStep.FIRST_REMINDER:
        raise MissingMentionError(
            f"first reminder of case {notice.case_reference} carries charges, but the first "
            "reminder to a consumer is free; queue it without charges"
        )
    for line in notice.charges:
        _check_charge(notice.case_reference, line)


def _check_charge(case_reference: str, line: ChargeLine) -> None:
    name = f"{line.kind} line of case {case_reference}"
    fix = "recompute the charges of the step"
    if line.amount is None or line.amount < 0:
        raise MissingMentionError(f"{name} has the amount {line.amount}; {fix}")
    if line.kind != ChargeKind.INTEREST:
        return

    if line.percent is None:
        raise MissingMentionError(f"{name} lacks its rate; {fix}")
    if line.period_start is None or line.period_end is None:
        raise MissingMentionError(f"{name} lacks its period; {fix}")
    if line.period_end < line.period_start:
        raise MissingMentionError(
            f"{name} ends on {line.period_end}, before it starts on {line.period_start}; {fix}"
        )


def mandatory_values(context: NoticeContext) -> list[tuple[str, str]]:
    """Return (mention, printed value) for every value each rendered part must contain."""
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
        ("principal", context.principal),
        ("outstanding balance", context.balance),
        ("total due", context.total_due),
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

    if context.amount_paid is not None:
        values.append(("payments received", context.amount_paid))
    for charge in context.charges:
        values.append((f"charge {charge.label}", charge.label))
        values.append((f"charge {charge.label} amount", charge.amount))
        for part in ("percent", "period_start", "period_end"):
            printed = getattr(charge, part)
            if printed is not None:
                values.append((f"charge {charge.label} {part.replace('_', ' ')}", printed))

    if context.damages is not None:
        values.append(("consumer damages cap", context.damages))
    if context.compensation is not None:
        values.append(("business fixed compensation", context.compensation))
    return values


def check_rendered(
    rendered: str,
    *,
    part: str,
    template: str,
    mandatory: Sequence[tuple[str, str]],
    html: bool,
) -> None:
    """Raise MissingMentionError when ``rendered`` lacks a mandatory value.

    ``part`` names the rendered part in the message ("plain-text part") and
    ``template`` the template to repair. In HTML each value is looked for in its
    escaped form.
    """
    for mention, value in mandatory:
        printed = str(escape(value)) if html else value
        if printed not in rendered:
            raise MissingMentionError(
                f"{part} lacks the mandatory mention {mention} ({value}); "
                f"restore it in the template {template}"
            )


def check_subject(subject: str, case_reference: str, template: str) -> None:
    """Raise MissingMentionError when ``subject`` lacks the case reference."""
    if case_reference not in subject:
        raise MissingMentionError(
            f"subject {subject!r} lacks the case reference {case_reference}; "
            f"restore it in the template {template}"
        )
