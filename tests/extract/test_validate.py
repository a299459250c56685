"""Tests for the plausibility checks that lower confidence with a reason."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from incasso.intake.extract import (
    DocumentKind,
    ExtractedInvoice,
    Field,
    FieldName,
    extract_document,
)
from incasso.intake.extract.validate import DOUBT_FACTOR, add_doubt, validate
from tests.factories import example_spec, make_invoice_pdf, make_ubl_invoice

TODAY = date(2026, 12, 4)
REVIEW_THRESHOLD = 0.8  # the default confidence threshold of intake review


def _invoice(
    values: dict[FieldName, str],
    *,
    kind: DocumentKind = DocumentKind.INVOICE,
    confidence: float = 1.0,
    raws: dict[FieldName, str] | None = None,
) -> ExtractedInvoice:
    raws = raws or {}
    fields = {
        name: Field(value, raws.get(name, value), "test", confidence)
        for name, value in values.items()
    }
    return ExtractedInvoice(fields=fields, kind=kind)


def _doubts(invoice: ExtractedInvoice, name: FieldName) -> tuple[str, ...]:
    return validate(invoice, today=TODAY).fields[name].doubts


# ---------------------------------------------------------------------------
# VAT numbers


@pytest.mark.parametrize("name", [FieldName.DEBTOR_VAT, FieldName.SELLER_VAT])
@pytest.mark.parametrize("value", ["BE0451237763", "0451237763", "BE 0451.237.763"])
def test_valid_belgian_vat_passes(name: FieldName, value: str) -> None:
    assert _doubts(_invoice({name: value}), name) == ()


@pytest.mark.parametrize("name", [FieldName.DEBTOR_VAT, FieldName.SELLER_VAT])
@pytest.mark.parametrize("value", ["BE0451237764", "0451237764", "BE04512377"])
def test_invalid_belgian_vat_doubted(name: FieldName, value: str) -> None:
    checked = validate(_invoice({name: value}), today=TODAY).fields[name]

    assert len(checked.doubts) == 1
    assert value in checked.doubts[0]
    assert "mod-97" in checked.doubts[0]
    assert checked.confidence == DOUBT_FACTOR


def test_foreign_eu_vat_checked() -> None:
    assert _doubts(_invoice({FieldName.SELLER_VAT: "NL004495445B01"}), FieldName.SELLER_VAT) == ()
    doubts = _doubts(_invoice({FieldName.SELLER_VAT: "NL004495446B01"}), FieldName.SELLER_VAT)
    assert len(doubts) == 1
    assert "NL" in doubts[0]


def test_non_eu_vat_not_checked() -> None:
    invoice = _invoice({FieldName.DEBTOR_VAT: "NO987654321MVA"})

    assert _doubts(invoice, FieldName.DEBTOR_VAT) == ()


# ---------------------------------------------------------------------------
# IBAN and payment reference


def test_valid_iban_passes() -> None:
    invoice = _invoice({FieldName.PAYEE_IBAN: "BE71096123456769"})

    assert _doubts(invoice, FieldName.PAYEE_IBAN) == ()


def test_invalid_iban_doubted() -> None:
    doubts = _doubts(_invoice({FieldName.PAYEE_IBAN: "BE71096123456768"}), FieldName.PAYEE_IBAN)

    assert len(doubts) == 1
    assert "BE71096123456768" in doubts[0]


@pytest.mark.parametrize(
    "value", ["102604120133", "+++102/6041/20133+++", "Factuur 2026-0412", "RF18539007547034"]
)
def test_valid_or_free_reference_passes(value: str) -> None:
    invoice = _invoice({FieldName.PAYMENT_REFERENCE: value})

    assert _doubts(invoice, FieldName.PAYMENT_REFERENCE) == ()


@pytest.mark.parametrize(
    ("value", "word"),
    [
        ("102604120134", "mod-97"),
        ("+++102/6041/20134+++", "mod-97"),
        ("***102/6041/20134***", "mod-97"),
        ("RF19539007547034", "ISO 11649"),
    ],
)
def test_invalid_reference_doubted(value: str, word: str) -> None:
    doubts = _doubts(_invoice({FieldName.PAYMENT_REFERENCE: value}), FieldName.PAYMENT_REFERENCE)

    assert len(doubts) == 1
    assert word in doubts[0]
    assert value in doubts[0]


# ---------------------------------------------------------------------------
# Dates


def test_due_date_before_issue_doubted() -> None:
    invoice = _invoice({FieldName.ISSUE_DATE: "2026-09-14", FieldName.DUE_DATE: "2026-09-13"})
    checked = validate(invoice, today=TODAY)

    assert len(checked.fields[FieldName.DUE_DATE].doubts) == 1
    assert "before issue date" in checked.fields[FieldName.DUE_DATE].doubts[0]
    assert checked.fields[FieldName.ISSUE_DATE].doubts == ()


def test_due_date_on_issue_date_passes() -> None:
    invoice = _invoice({FieldName.ISSUE_DATE: "2026-09-14", FieldName.DUE_DATE: "2026-09-14"})

    assert _doubts(invoice, FieldName.DUE_DATE) == ()


@pytest.mark.parametrize(
    ("issue", "doubted"),
    [
        ("2016-12-04", False),  # exactly ten years ago
        ("2016-12-03", True),
        ("2027-01-04", False),  # 31 days ahead
        ("2027-01-05", True),
    ],
)
def test_issue_date_range(issue: str, doubted: bool) -> None:
    doubts = _doubts(_invoice({FieldName.ISSUE_DATE: issue}), FieldName.ISSUE_DATE)

    assert bool(doubts) is doubted


def test_ten_years_before_leap_day() -> None:
    invoice = _invoice({FieldName.ISSUE_DATE: "2014-02-28"})
    checked = validate(invoice, today=date(2024, 2, 29))

    assert checked.fields[FieldName.ISSUE_DATE].doubts == ()


def test_non_iso_date_doubted() -> None:
    doubts = _doubts(_invoice({FieldName.DUE_DATE: "14/10/2026"}), FieldName.DUE_DATE)

    assert len(doubts) == 1
    assert "ISO" in doubts[0]


# ---------------------------------------------------------------------------
# Amounts

TOTALS = (FieldName.TOTAL_WITHOUT_VAT, FieldName.VAT_TOTAL, FieldName.TOTAL_WITH_VAT)


def test_totals_that_add_up_pass() -> None:
    invoice = _invoice(
        {
            FieldName.TOTAL_WITHOUT_VAT: "1010.00",
            FieldName.VAT_TOTAL: "212.10",
            FieldName.TOTAL_WITH_VAT: "1222.11",  # one cent off is allowed
        }
    )
    checked = validate(invoice, today=TODAY)

    for name in TOTALS:
        assert checked.fields[name].doubts == (), name


def test_totals_that_differ_doubted() -> None:
    invoice = _invoice(
        {
            FieldName.TOTAL_WITHOUT_VAT: "1010.00",
            FieldName.VAT_TOTAL: "212.10",
            FieldName.TOTAL_WITH_VAT: "1222.12",
        }
    )
    checked = validate(invoice, today=TODAY)

    for name in TOTALS:
        assert len(checked.fields[name].doubts) == 1, name
        assert "1222.10" in checked.fields[name].doubts[0]


def test_totals_use_precise_raw_amounts() -> None:
    # Each rounded value is off by less than a cent, but the rounded values are two
    # cents apart. The exact raw amounts add up.
    invoice = _invoice(
        {
            FieldName.TOTAL_WITHOUT_VAT: "10.01",
            FieldName.VAT_TOTAL: "2.11",
            FieldName.TOTAL_WITH_VAT: "12.10",
        },
        raws={
            FieldName.TOTAL_WITHOUT_VAT: "10.005",
            FieldName.VAT_TOTAL: "2.105",
            FieldName.TOTAL_WITH_VAT: "12.104",
        },
    )
    checked = validate(invoice, today=TODAY)

    for name in TOTALS:
        assert checked.fields[name].doubts == (), name


def test_printed_raw_amount_not_used() -> None:
    # "1.010" on a Dutch invoice is one thousand and ten, not 1.01.
    invoice = _invoice(
        {
            FieldName.TOTAL_WITHOUT_VAT: "1010.00",
            FieldName.VAT_TOTAL: "212.10",
            FieldName.TOTAL_WITH_VAT: "1222.10",
        },
        raws={FieldName.TOTAL_WITHOUT_VAT: "1.010"},
    )

    assert _doubts(invoice, FieldName.TOTAL_WITH_VAT) == ()


def test_amount_due_above_total_doubted() -> None:
    invoice = _invoice({FieldName.AMOUNT_DUE: "1300.00", FieldName.TOTAL_WITH_VAT: "1222.10"})
    doubts = _doubts(invoice, FieldName.AMOUNT_DUE)

    assert len(doubts) == 1
    assert "more than the total" in doubts[0]


def test_amount_due_below_total_passes() -> None:
    invoice = _invoice({FieldName.AMOUNT_DUE: "1022.10", FieldName.TOTAL_WITH_VAT: "1222.10"})

    assert _doubts(invoice, FieldName.AMOUNT_DUE) == ()


@pytest.mark.parametrize("amount", ["0.00", "-12.50"])
def test_invoice_nothing_due_doubted(amount: str) -> None:
    doubts = _doubts(_invoice({FieldName.AMOUNT_DUE: amount}), FieldName.AMOUNT_DUE)

    assert len(doubts) == 1
    assert "nothing to collect" in doubts[0]


def test_credit_note_amounts_not_doubted() -> None:
    invoice = _invoice(
        {FieldName.AMOUNT_DUE: "-1300.00", FieldName.TOTAL_WITH_VAT: "-1222.10"},
        kind=DocumentKind.CREDIT_NOTE,
    )
    checked = validate(invoice, today=TODAY)

    assert checked.fields[FieldName.AMOUNT_DUE].doubts == ()


def test_credit_note_above_total_not_doubted() -> None:
    invoice = _invoice(
        {FieldName.AMOUNT_DUE: "1300.00", FieldName.TOTAL_WITH_VAT: "1222.10"},
        kind=DocumentKind.CREDIT_NOTE,
    )

    assert _doubts(invoice, FieldName.AMOUNT_DUE) == ()


# ---------------------------------------------------------------------------
# Confidence rule


def test_doubt_drops_below_review_threshold() -> None:
    invoice = _invoice({FieldName.PAYEE_IBAN: "BE71096123456768"}, confidence=0.95)
    checked = validate(invoice, today=TODAY).fields[FieldName.PAYEE_IBAN]

    assert checked.confidence == pytest.approx(0.95 * DOUBT_FACTOR)
    assert checked.confidence < REVIEW_THRESHOLD


def test_validate_twice_changes_nothing() -> None:
    invoice = _invoice({FieldName.PAYEE_IBAN: "BE71096123456768"})
    once = validate(invoice, today=TODAY)
    twice = validate(once, today=TODAY)

    assert twice.fields == once.fields


def test_clean_invoice_unchanged() -> None:
    invoice = _invoice({FieldName.ISSUE_DATE: "2026-09-14", FieldName.AMOUNT_DUE: "10.00"})

    assert validate(invoice, today=TODAY).fields == invoice.fields


def test_add_doubt_keeps_other_values() -> None:
    field = Field("x", "raw x", "pdf page 1", 0.9, page=1, box=(1.0, 2.0, 3.0, 4.0))
    doubted = add_doubt(field, "reason")

    assert doubted.confidence == pytest.approx(0.45)
    assert doubted.doubts == ("reason",)
    assert (doubted.value, doubted.raw, doubted.page, doubted.box) == (
        "x",
        "raw x",
        1,
        (1.0, 2.0, 3.0, 4.0),
    )


# ---------------------------------------------------------------------------
# Through extract_document


def test_pdf_text_layer_is_validated() -> None:
    spec = example_spec("nl", due_date=date(2026, 9, 1))
    result = extract_document(make_invoice_pdf(spec))

    assert result.method == "pdf-text"
    due = result.invoices[0].fields[FieldName.DUE_DATE]
    assert due.value == "2026-09-01"
    assert due.confidence < REVIEW_THRESHOLD
    assert "before issue date 2026-09-14" in due.doubts[0]


def test_ubl_is_validated() -> None:
    spec = example_spec("nl", already_paid=Decimal("1222.10"))
    result = extract_document(make_ubl_invoice(spec))
    due = result.invoices[0].fields[FieldName.AMOUNT_DUE]

    assert due.value == "0.00"
    assert due.confidence == DOUBT_FACTOR
    assert "nothing to collect" in due.doubts[0]
