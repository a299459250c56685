"""Check an extracted invoice for values that cannot be right, and lower their confidence.

Extractors report what the document says. This module checks what can be checked
without outside data and adds a reason to ``Field.doubts`` for every failed check:

- VAT numbers (DEBTOR_VAT, SELLER_VAT): Belgian numbers, and numbers without a
  country prefix, must pass the mod-97 check of ``stdnum.be.vat``. Numbers of
  other EU member states must pass their own check (``stdnum.eu.vat``). Numbers
  of other countries are not checked.
- PAYEE_IBAN must pass the ISO 13616 check digits (``stdnum.iban``).
- PAYMENT_REFERENCE: a Belgian structured communication (12 digits, or printed as
  +++123/4567/89012+++) must pass its mod-97 check, and an ISO 11649 creditor
  reference ("RF18...") its own. Free text is not checked.
- Dates: the due date must not be before the issue date. An issue date more than
  10 years ago or more than 31 days ahead of today is doubtful.
- Amounts: TOTAL_WITHOUT_VAT + VAT_TOTAL must equal TOTAL_WITH_VAT within one
  cent (all three get the doubt, because any of them may be the wrong one). For
  an invoice, AMOUNT_DUE must be above zero and must not exceed TOTAL_WITH_VAT by
  more than one cent. Credit notes skip both amount-due checks.

Each doubt halves the field's confidence (:data:`DOUBT_FACTOR`). Confidences never
exceed 1.0, so one doubt brings any field to 0.5 or less, below the default review
threshold of 0.8, and the reviewer sees the reason. A doubt already recorded on
a field is not added or counted again, so validating twice changes nothing.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from stdnum import iban, iso11649
from stdnum.be import ogm_vcs
from stdnum.be import vat as be_vat
from stdnum.eu import vat as eu_vat

from incasso.intake.extract.model import DocumentKind, ExtractedInvoice, Field, FieldName

logger = logging.getLogger(__name__)

DOUBT_FACTOR = 0.5
MAX_ISSUE_AGE_YEARS = 10
MAX_ISSUE_DAYS_AHEAD = 31
AMOUNT_TOLERANCE = Decimal("0.01")

_CENT = Decimal("0.01")
_PLAIN_DECIMAL_RE = re.compile(r"[+-]?\d+(?:\.\d+)?")
_PRINTED_OGM_RE = re.compile(r"[+*]{3}\s*(\d{3})\s*/\s*(\d{4})\s*/\s*(\d{5})\s*[+*]{3}")
# VAT prefixes checked with stdnum.eu.vat: the member states, Greece as "EL" and
# Northern Ireland as "XI".
_EU_VAT_PREFIXES = frozenset(code.upper() for code in eu_vat.MEMBER_STATES) | {"EL"}


def add_doubt(field: Field, reason: str) -> Field:
    """Return ``field`` with ``reason`` added to its doubts and its confidence halved.

    A reason the field already has changes nothing.
    """
    if reason in field.doubts:
        return field
    return replace(
        field, confidence=field.confidence * DOUBT_FACTOR, doubts=(*field.doubts, reason)
    )


def validate(invoice: ExtractedInvoice, *, today: date | None = None) -> ExtractedInvoice:
    """Return a copy of ``invoice`` whose doubtful fields carry a reason and lower confidence.

    ``today`` is the date the issue date is compared with; it defaults to the
    system date.
    """
    reference_day = today or date.today()
    doubts: dict[FieldName, list[str]] = {}

    for name in (FieldName.DEBTOR_VAT, FieldName.SELLER_VAT):
        _note(doubts, name, _vat_doubt(invoice.value(name)))
    _note(doubts, FieldName.PAYEE_IBAN, _iban_doubt(invoice.value(FieldName.PAYEE_IBAN)))
    reference = invoice.value(FieldName.PAYMENT_REFERENCE)
    _note(doubts, FieldName.PAYMENT_REFERENCE, _reference_doubt(reference))

    _check_dates(invoice, reference_day, doubts)
    _check_totals(invoice, doubts)
    _check_amount_due(invoice, doubts)

    if not doubts:
        return invoice
    fields = dict(invoice.fields)
    for name, reasons in doubts.items():
        for reason in reasons:
            fields[name] = add_doubt(fields[name], reason)
    logger.info("validation doubted %s", ", ".join(str(name) for name in doubts))
    return replace(invoice, fields=fields)


def _note(doubts: dict[FieldName, list[str]], name: FieldName, reason: str | None) -> None:
    if reason is not None:
        doubts.setdefault(name, []).append(reason)


# ---------------------------------------------------------------------------
# Identifiers


def _vat_doubt(value: str | None) -> str | None:
    if value is None:
        return None
    compact = "".join(char for char in value.upper() if char.isalnum())

    if compact.startswith("BE") or compact.isdigit():
        if be_vat.is_valid(compact.removeprefix("BE")):
            return None
        return (
            f"VAT number {value} is not a valid Belgian VAT or enterprise number (ten digits "
            "starting with 0 or 1 that pass the mod-97 check); look the company up in the "
            "KBO/BCE register, and add the country prefix if the number is foreign"
        )

    prefix = compact[:2]
    if prefix in _EU_VAT_PREFIXES and not eu_vat.is_valid(compact):
        return (
            f"VAT number {value} fails the check of {prefix} VAT numbers; verify it in the "
            "EU VIES service"
        )
    return None


def _iban_doubt(value: str | None) -> str | None:
    if value is None or iban.is_valid(value):
        return None
    return (
        f"IBAN {value} fails the IBAN check digits (ISO 13616); ask the creditor for the "
        "correct account number before a reminder quotes it"
    )


def _reference_doubt(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = value.strip()

    printed = _PRINTED_OGM_RE.fullmatch(stripped)
    digits = "".join(printed.groups()) if printed else stripped
    if re.fullmatch(r"\d{12}", digits):
        if ogm_vcs.is_valid(digits):
            return None
        return (
            f"structured communication {value} fails its mod-97 check (the last two digits "
            "must be the first ten modulo 97); a payment with it would not be matched, so ask "
            "the creditor for the correct reference"
        )

    compact = "".join(stripped.split()).upper()
    if compact.startswith("RF") and not iso11649.is_valid(compact):
        return (
            f"creditor reference {value} fails the ISO 11649 check digits; ask the creditor "
            "for the correct reference"
        )
    return None


# ---------------------------------------------------------------------------
# Dates


def _check_dates(
    invoice: ExtractedInvoice, today: date, doubts: dict[FieldName, list[str]]
) -> None:
    issue = _date(invoice, FieldName.ISSUE_DATE, doubts)
    due = _date(invoice, FieldName.DUE_DATE, doubts)

    if issue is not None:
        oldest = _years_before(today, MAX_ISSUE_AGE_YEARS)
        latest = today + timedelta(days=MAX_ISSUE_DAYS_AHEAD)
        if issue < oldest:
            _note(
                doubts,
                FieldName.ISSUE_DATE,
                f"issue date {issue} is more than {MAX_ISSUE_AGE_YEARS} years ago, so the "
                "claim may be time-barred or the date misread; check it",
            )
        elif issue > latest:
            _note(
                doubts,
                FieldName.ISSUE_DATE,
                f"issue date {issue} is more than {MAX_ISSUE_DAYS_AHEAD} days after today "
                f"({today}); check whether the date was misread",
            )

    if issue is not None and due is not None and due < issue:
        _note(
            doubts,
            FieldName.DUE_DATE,
            f"due date {due} is before issue date {issue}; check both dates",
        )


def _date(
    invoice: ExtractedInvoice, name: FieldName, doubts: dict[FieldName, list[str]]
) -> date | None:
    value = invoice.value(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        _note(doubts, name, f"{name} {value!r} is not an ISO date (YYYY-MM-DD)")
        return None


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


# ---------------------------------------------------------------------------
# Amounts


def _check_totals(invoice: ExtractedInvoice, doubts: dict[FieldName, list[str]]) -> None:
    without_vat = _amount(invoice, FieldName.TOTAL_WITHOUT_VAT, doubts)
    vat = _amount(invoice, FieldName.VAT_TOTAL, doubts)
    with_vat = _amount(invoice, FieldName.TOTAL_WITH_VAT, doubts)
    if without_vat is None or vat is None or with_vat is None:
        return

    expected = without_vat + vat
    if abs(expected - with_vat) <= AMOUNT_TOLERANCE:
        return
    reason = (
        f"total without VAT {without_vat} plus VAT {vat} is {expected}, not the total with "
        f"VAT {with_vat}; one of the three totals is wrong, so check them on the invoice"
    )
    for name in (FieldName.TOTAL_WITHOUT_VAT, FieldName.VAT_TOTAL, FieldName.TOTAL_WITH_VAT):
        _note(doubts, name, reason)


def _check_amount_due(invoice: ExtractedInvoice, doubts: dict[FieldName, list[str]]) -> None:
    if invoice.kind is DocumentKind.CREDIT_NOTE:
        return
    due = _amount(invoice, FieldName.AMOUNT_DUE, doubts)
    if due is None:
        return

    if due <= 0:
        _note(
            doubts,
            FieldName.AMOUNT_DUE,
            f"amount due {due} is not above zero, so there is nothing to collect; check "
            "whether the invoice was paid or is a credit note",
        )
        return

    total = _amount(invoice, FieldName.TOTAL_WITH_VAT, doubts)
    if total is not None and due - total > AMOUNT_TOLERANCE:
        _note(
            doubts,
            FieldName.AMOUNT_DUE,
            f"amount due {due} is more than the total with VAT {total}; check whether "
            "costs were added or an amount was misread",
        )


def _amount(
    invoice: ExtractedInvoice, name: FieldName, doubts: dict[FieldName, list[str]]
) -> Decimal | None:
    """Return the amount of field ``name``, as precise as its raw text allows.

    XML amounts can have more than two decimals ("47.0504"). The raw text is used
    when it is a plain decimal that rounds to the stored value, so that sums are
    not thrown off by rounding each term. Otherwise the stored value is used.
    """
    found = invoice.fields.get(name)
    if found is None:
        return None
    try:
        value = Decimal(found.value)
    except InvalidOperation:
        _note(doubts, name, f"{name} {found.value!r} is not a number")
        return None
    if not value.is_finite():
        _note(doubts, name, f"{name} {found.value!r} is not a finite number")
        return None

    raw = found.raw.strip()
    if _PLAIN_DECIMAL_RE.fullmatch(raw):
        precise = Decimal(raw)
        if precise.quantize(_CENT, rounding=ROUND_HALF_UP) == value:
            return precise
    return value
