"""Tests for spreadsheets that list invoices: CSV text built here and XLSX built with openpyxl."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from incasso.intake.extract import ExtractionResult, FieldName, Problem, extract_document
from incasso.intake.extract.normalize import Exclusions
from incasso.intake.extract.sheet import (
    CONFIDENCE_CELL,
    CONFIDENCE_GUESS,
    CONFIDENCE_MONTH_FIRST,
    MAX_FILE_BYTES,
    MAX_ROWS,
    extract_csv,
    extract_xlsx,
    is_xlsx,
    looks_like_csv,
)

NO_EXCLUSIONS = Exclusions()
HEADER_NL = ["Factuurnummer", "Factuurdatum", "Vervaldatum", "Bedrag", "Klant", "E-mail"]
ROW_NL = ["2026-1", "03/07/2026", "02/08/2026", "612,40", "Jan Peeters", "Jan@Mail.test"]


def _csv(rows: list[list[str]], separator: str = ";") -> str:
    return "".join(separator.join(row) + "\r\n" for row in rows)


def _xlsx(rows: list[list[object]], title: str = "Blad1", before: int = 0) -> bytes:
    """Build a workbook whose sheet ``title`` contains ``rows``, after ``before`` other sheets."""
    workbook = openpyxl.Workbook()
    first = workbook.active
    assert first is not None
    first.title = title
    for row in rows:
        first.append(row)
    for index in range(before):
        workbook.create_sheet(f"Info{index}", 0).append(["Overzicht", "juli 2026"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _ok(result: ExtractionResult, count: int) -> None:
    assert result.problem is None, result.detail
    assert result.method == "spreadsheet"
    assert len(result.invoices) == count


@pytest.mark.parametrize(
    ("separator", "amount"),
    [(";", "1.234,56"), (",", '"1,234.56"'), ("\t", "1234,56"), (",", "1234.56")],
)
def test_csv_separators_and_number_formats(separator: str, amount: str) -> None:
    text = _csv([["Factuurnummer", "Bedrag", "Klant"], ["F-1", amount, "Jan Peeters"]], separator)
    result = extract_csv(text.encode(), exclusions=NO_EXCLUSIONS)

    _ok(result, 1)
    invoice = result.invoices[0]
    assert invoice.value(FieldName.INVOICE_NUMBER) == "F-1"
    assert invoice.value(FieldName.AMOUNT_DUE) == "1234.56"
    assert invoice.value(FieldName.DEBTOR_NAME) == "Jan Peeters"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_csv_encodings(encoding: str) -> None:
    text = _csv(
        [
            ["Échéance", "N° facture", "Montant", "Client"],
            ["2/8/2026", "F-9", "9,50", "L’Atelier d’Hélène"],
        ]
    )
    result = extract_csv(text.encode(encoding), exclusions=NO_EXCLUSIONS)

    _ok(result, 1)
    invoice = result.invoices[0]
    assert invoice.value(FieldName.DEBTOR_NAME) == "L’Atelier d’Hélène"
    assert invoice.value(FieldName.DUE_DATE) == "2026-08-02"
    assert invoice.fields[FieldName.DUE_DATE].source == "CSV row 2, column 'Échéance'"


def test_csv_all_fields() -> None:
    header = [*HEADER_NL, "BTW", "Adres", "Telefoon", "Munt", "Mededeling", "Omschrijving"]
    row = [*ROW_NL, "BE 0417.497.106", "Kerkstraat 4, 9000 Gent", "0475 12 34 56", "EUR"]
    row += ["+++090/9337/55493+++", "onderhoud juni"]
    result = extract_csv(_csv([header, row]).encode(), exclusions=NO_EXCLUSIONS)

    _ok(result, 1)
    invoice = result.invoices[0]
    assert invoice.value(FieldName.ISSUE_DATE) == "2026-07-03"
    assert invoice.value(FieldName.DUE_DATE) == "2026-08-02"
    assert invoice.value(FieldName.AMOUNT_DUE) == "612.40"
    assert invoice.value(FieldName.CURRENCY) == "EUR"
    assert invoice.value(FieldName.DEBTOR_EMAIL) == "jan@mail.test"
    assert invoice.value(FieldName.DEBTOR_VAT) == "BE0417497106"
    assert invoice.value(FieldName.DEBTOR_ADDRESS) == "Kerkstraat 4, 9000 Gent"
    assert invoice.value(FieldName.DEBTOR_PHONE) == "+32475123456"
    assert invoice.value(FieldName.PAYMENT_REFERENCE) == "090933755493"
    assert invoice.value(FieldName.DESCRIPTION) == "onderhoud juni"
    assert all(field.confidence == CONFIDENCE_CELL for field in invoice.fields.values())
    assert result.vat_numbers == ["BE0417497106"]


@pytest.mark.parametrize(
    "header",
    [
        ["Factuurnr.", "Datum", "Vervaldag", "Openstaand", "Naam", "Mail"],
        ["Numéro de facture", "Date facture", "Date d'échéance", "Montant dû", "Nom", "Courriel"],
        ["Invoice #", "Invoice date", "Due date", "Amount due", "Customer", "Email address"],
    ],
    ids=["nl", "fr", "en"],
)
def test_csv_header_languages(header: list[str]) -> None:
    result = extract_csv(_csv([header, ROW_NL]).encode(), exclusions=NO_EXCLUSIONS)

    _ok(result, 1)
    invoice = result.invoices[0]
    assert invoice.value(FieldName.INVOICE_NUMBER) == "2026-1"
    assert invoice.value(FieldName.ISSUE_DATE) == "2026-07-03"
    assert invoice.value(FieldName.DUE_DATE) == "2026-08-02"
    assert invoice.value(FieldName.AMOUNT_DUE) == "612.40"
    assert invoice.value(FieldName.DEBTOR_NAME) == "Jan Peeters"
    assert invoice.value(FieldName.DEBTOR_EMAIL) == "jan@mail.test"


def test_csv_open_balance_beats_amount() -> None:
    text = _csv([["Factuur", "Bedrag", "Openstaand saldo"], ["F-1", "500,00", "125,00"]])
    result = extract_csv(text.encode(), exclusions=NO_EXCLUSIONS)

    _ok(result, 1)
    assert result.invoices[0].value(FieldName.AMOUNT_DUE) == "125.00"


def test_csv_currency_from_header_or_assumed() -> None:
    named = _csv([["Factuur", "Bedrag (EUR)"], ["F-1", "5,00"]])
    unnamed = _csv([["Factuur", "Bedrag"], ["F-1", "5,00"]])

    in_header = extract_csv(named.encode(), exclusions=NO_EXCLUSIONS).invoices[0]
    assumed = extract_csv(unnamed.encode(), exclusions=NO_EXCLUSIONS).invoices[0]

    assert in_header.fields[FieldName.CURRENCY].value == "EUR"
    assert in_header.fields[FieldName.CURRENCY].confidence == CONFIDENCE_CELL
    assert assumed.fields[FieldName.CURRENCY].value == "EUR"
    assert assumed.fields[FieldName.CURRENCY].confidence == CONFIDENCE_GUESS
    assert assumed.fields[FieldName.CURRENCY].doubts == ("no currency in the sheet; EUR assumed",)


def test_csv_title_rows_before_header() -> None:
    text = "Openstaande facturen ACME\r\nper 01/08/2026\r\n\r\n" + _csv([HEADER_NL, ROW_NL])
    result = extract_csv(text.encode(), exclusions=NO_EXCLUSIONS)

    _ok(result, 1)
    assert result.invoices[0].fields[FieldName.AMOUNT_DUE].source == "CSV row 5, column 'Bedrag'"


def test_csv_bad_rows_noted() -> None:
    rows = [
        HEADER_NL,
        ROW_NL,
        ["2026-2", "03/07/2026", "02/08/2026", "12,3,4", "X", ""],
        ["2026-3", "03/07/2026", "31/02/2026", "10,00", "Y", ""],
        ["", "03/07/2026", "02/08/2026", "10,00", "Z", ""],
        ["2026-4", "03/07/2026", "02/08/2026", "", "Z", ""],
        ["", "", "", "", "", ""],
        ["2026-1", "03/07/2026", "02/08/2026", "5,00", "Jan Peeters", ""],
        ["Totaal", "", "", "622,40", "", ""],
        ["2026-5", "03/07/2026", "02/08/2026", "7,50", "W", ""],
    ]
    result = extract_csv(_csv(rows).encode(), exclusions=NO_EXCLUSIONS)

    _ok(result, 2)
    assert [invoice.value(FieldName.INVOICE_NUMBER) for invoice in result.invoices] == [
        "2026-1",
        "2026-5",
    ]
    assert result.notes == [
        "row 3: amount '12,3,4' is not a number; correct the sheet and send it again",
        "row 4: due date '31/02/2026' is not a valid date; correct the sheet and send it again",
        "row 5: the invoice number is missing; the row was skipped",
        "row 6: the amount is empty (if the cell holds a formula, save the file in Excel so "
        "its value is stored); "
        "correct the sheet and send it again",
        "row 8: invoice number '2026-1' repeats row 2; the row was skipped",
        "row 9: a totals row, not an invoice; the row was skipped",
    ]


def test_csv_unquoted_separator_in_row() -> None:
    text = _csv([["Factuur", "Bedrag", "Klant"], ["F-1", "612,40", "Jan"]], ",")
    result = extract_csv(text.encode(), exclusions=NO_EXCLUSIONS)

    assert result.problem is Problem.NOT_AN_INVOICE
    assert result.notes[0].startswith("row 2: has 4 values for 3 columns")


def test_csv_optional_values_left_out() -> None:
    rows = [
        ["Factuur", "Bedrag", "E-mail", "BTW", "GSM"],
        ["F-1", "5,00", "jan@", "BE0000000000", "12"],
        ["F-2", "6,00", "boekhouding@acme.test", "", ""],
    ]
    exclusions = Exclusions.from_entries(["boekhouding@acme.test"])
    result = extract_csv(_csv(rows).encode(), exclusions=exclusions)

    _ok(result, 2)
    first, second = result.invoices
    assert FieldName.DEBTOR_EMAIL not in first.fields
    assert FieldName.DEBTOR_VAT not in first.fields
    assert FieldName.DEBTOR_PHONE not in first.fields
    assert FieldName.DEBTOR_EMAIL not in second.fields
    assert result.notes == [
        "column 'E-mail': 'jan@' (row 2) left out (not a valid e-mail address)",
        "column 'BTW': 'BE0000000000' (row 2) left out (not a valid VAT number)",
        "column 'GSM': '12' (row 2) left out (not a valid phone number)",
        "column 'E-mail': 'boekhouding@acme.test' (row 3) left out (the creditor's own)",
    ]


def test_csv_month_first_dates() -> None:
    rows = [
        ["Invoice", "Due date", "Amount"],
        ["A", "7/31/2026", "1.00"],
        ["B", "8/2/2026", "2.00"],
    ]
    result = extract_csv(_csv(rows, ",").encode(), exclusions=NO_EXCLUSIONS)

    _ok(result, 2)
    due = result.invoices[1].fields[FieldName.DUE_DATE]
    assert due.value == "2026-08-02"
    assert due.confidence == CONFIDENCE_MONTH_FIRST
    assert due.doubts == ("the dates of this sheet are read month first",)


def test_csv_day_first_dates_by_default() -> None:
    rows = [
        ["Invoice", "Due date", "Amount"],
        ["A", "31/7/2026", "1.00"],
        ["B", "8/2/2026", "2.00"],
    ]
    result = extract_csv(_csv(rows, ",").encode(), exclusions=NO_EXCLUSIONS)

    _ok(result, 2)
    assert result.invoices[1].value(FieldName.DUE_DATE) == "2026-02-08"
    assert result.invoices[1].fields[FieldName.DUE_DATE].doubts == ()


def test_csv_without_header_not_an_invoice() -> None:
    text = _csv([["Klant", "Datum", "Opmerking"], ["Jan", "03/07/2026", "bellen"]])
    result = extract_csv(text.encode(), exclusions=NO_EXCLUSIONS)

    assert result.problem is Problem.NOT_AN_INVOICE
    assert result.method == "spreadsheet"
    assert result.detail is not None
    assert "no header row with an invoice-number and an amount column" in result.detail
    assert "row 1, names 'Klant', 'Datum'" in result.detail


def test_csv_header_only_not_an_invoice() -> None:
    result = extract_csv(_csv([HEADER_NL]).encode(), exclusions=NO_EXCLUSIONS)

    assert result.problem is Problem.NOT_AN_INVOICE
    assert result.detail == "CSV has a header row (row 1) but no rows below it"


def test_csv_row_limit() -> None:
    rows = [["Factuur", "Bedrag"]] + [[f"F-{index}", "1,00"] for index in range(MAX_ROWS + 1)]
    result = extract_csv(_csv(rows).encode(), exclusions=NO_EXCLUSIONS)

    _ok(result, MAX_ROWS)
    assert result.notes == [
        f"the sheet has more than {MAX_ROWS} rows; row {MAX_ROWS + 2} and the rows after it "
        "were not read, so send them in another file"
    ]


def test_csv_file_size_limit() -> None:
    text = _csv([["Factuur", "Bedrag", "Omschrijving"], ["F-1", "1,00", "x" * MAX_FILE_BYTES]])
    result = extract_csv(text.encode(), exclusions=NO_EXCLUSIONS)

    assert result.problem is Problem.UNSUPPORTED
    assert result.detail is not None
    assert f"more than the limit of {MAX_FILE_BYTES} bytes" in result.detail
    assert result.notes == [result.detail]


def test_xlsx_cells_and_text() -> None:
    rows: list[list[object]] = [
        ["Factuurnummer", "Factuurdatum", "Vervaldatum", "Bedrag", "Klant", "GSM"],
        ["2026-1", date(2026, 7, 3), datetime(2026, 8, 2), 612.4, "Jan Peeters", 475123456],
        [20265522, "03/07/2026", "2 augustus 2026", "1.245,80", "Marie Dubois", "+32 9 234 56 78"],
        ["2026-3", 46206, 46236, 10, "Ann", None],
    ]
    result = extract_xlsx(_xlsx(rows), exclusions=NO_EXCLUSIONS)

    _ok(result, 3)
    first, second, third = result.invoices
    assert first.value(FieldName.ISSUE_DATE) == "2026-07-03"
    assert first.value(FieldName.DUE_DATE) == "2026-08-02"
    assert first.value(FieldName.AMOUNT_DUE) == "612.40"
    assert first.value(FieldName.DEBTOR_PHONE) == "+32475123456"
    assert first.fields[FieldName.DUE_DATE].source == "sheet 'Blad1' row 2, column 'Vervaldatum'"
    assert second.value(FieldName.INVOICE_NUMBER) == "20265522"
    assert second.value(FieldName.ISSUE_DATE) == "2026-07-03"
    assert second.value(FieldName.DUE_DATE) == "2026-08-02"
    assert second.value(FieldName.AMOUNT_DUE) == "1245.80"
    assert second.value(FieldName.DEBTOR_PHONE) == "+3292345678"
    assert third.value(FieldName.ISSUE_DATE) == "2026-07-03"
    assert third.value(FieldName.DUE_DATE) == "2026-08-02"
    assert third.value(FieldName.AMOUNT_DUE) == "10.00"


def test_xlsx_euro_number_format() -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Invoice number", "Amount"])
    sheet.append(["INV-1", 98.5])
    sheet["B2"].number_format = '#,##0.00 "€"'
    buffer = io.BytesIO()
    workbook.save(buffer)

    result = extract_xlsx(buffer.getvalue(), exclusions=NO_EXCLUSIONS)

    _ok(result, 1)
    assert result.invoices[0].fields[FieldName.CURRENCY].value == "EUR"
    assert result.invoices[0].fields[FieldName.CURRENCY].confidence == CONFIDENCE_CELL


def test_xlsx_sheet_with_header_chosen() -> None:
    rows: list[list[object]] = [["Invoice number", "Amount due"], ["INV-1", 98.5]]
    result = extract_xlsx(_xlsx(rows, title="Open invoices", before=2), exclusions=NO_EXCLUSIONS)

    _ok(result, 1)
    source = result.invoices[0].fields[FieldName.AMOUNT_DUE].source
    assert source == "sheet 'Open invoices' row 2, column 'Amount due'"


def test_xlsx_bad_rows_noted() -> None:
    rows: list[list[object]] = [
        ["Factuurnummer", "Vervaldatum", "Bedrag"],
        ["F-1", date(2026, 8, 2), "12,3,4"],
        ["F-2", "volgende week", 10],
        ["F-3", date(2026, 8, 2), "=5*2"],
        ["F-4", date(2026, 8, 2), 7],
    ]
    result = extract_xlsx(_xlsx(rows), exclusions=NO_EXCLUSIONS)

    _ok(result, 1)
    assert result.notes == [
        "row 2: amount '12,3,4' is not a number; correct the sheet and send it again",
        "row 3: due date 'volgende week' is not a valid date; correct the sheet and send it again",
        "row 4: the amount is empty (if the cell holds a formula, save the file in Excel so "
        "its value is stored); "
        "correct the sheet and send it again",
    ]


def test_xlsx_without_header_not_an_invoice() -> None:
    rows: list[list[object]] = [["Naam", "Adres"], ["Jan", "Kerkstraat 4"]]
    result = extract_xlsx(_xlsx(rows), exclusions=NO_EXCLUSIONS)

    assert result.problem is Problem.NOT_AN_INVOICE
    assert result.detail is not None
    assert result.detail.startswith("sheet 'Blad1' has no header row")


def test_xlsx_damaged_unreadable() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "this is not XML")
    data = buffer.getvalue()

    assert is_xlsx(data)
    result = extract_xlsx(data, exclusions=NO_EXCLUSIONS)
    assert result.problem is Problem.UNREADABLE
    assert result.detail is not None
    assert "could not be read" in result.detail


def test_xlsx_row_limit() -> None:
    rows: list[list[object]] = [["Invoice", "Amount"]]
    rows += [[f"INV-{index}", 1.5] for index in range(MAX_ROWS + 1)]
    result = extract_xlsx(_xlsx(rows), exclusions=NO_EXCLUSIONS)

    _ok(result, MAX_ROWS)
    assert len(result.notes) == 1
    assert result.notes[0].startswith(f"the sheet has more than {MAX_ROWS} rows")


def test_document_dispatches_spreadsheets() -> None:
    csv_bytes = _csv([HEADER_NL, ROW_NL]).encode()
    xlsx_bytes = _xlsx([["Invoice number", "Amount"], ["INV-1", 98.5]])

    as_xlsx = extract_document(xlsx_bytes, filename="lijst.bin")
    by_type = extract_document(csv_bytes, content_type="text/csv; charset=utf-8")
    by_name = extract_document(csv_bytes, filename="Openstaand.CSV")
    by_header = extract_document(csv_bytes, filename="export.txt", content_type="text/plain")

    for result in (as_xlsx, by_type, by_name, by_header):
        _ok(result, 1)


def test_document_csv_name_without_header() -> None:
    result = extract_document(b"hello;world\r\n1;2\r\n", filename="notes.csv")

    assert result.problem is Problem.NOT_AN_INVOICE
    assert result.method == "spreadsheet"


def test_document_plain_text_not_spreadsheet() -> None:
    data = b"Beste, in bijlage de factuur. Groeten, Piet"

    assert not looks_like_csv(data, "bericht.txt", "text/plain")
    assert extract_document(data, filename="bericht.txt").problem is Problem.UNSUPPORTED


def test_csv_customer_named_total_kept() -> None:
    text = _csv([["Factuur", "Bedrag", "Klant"], ["F-1", "5,00", "Total"]])
    result = extract_csv(text.encode(), exclusions=NO_EXCLUSIONS)

    _ok(result, 1)
    assert result.invoices[0].value(FieldName.DEBTOR_NAME) == "Total"
    assert result.notes == []


def test_xlsx_row_numbers_after_empty_rows() -> None:
    rows: list[list[object]] = [[], ["Invoice number", "Amount"], [], ["INV-1", 98.5]]
    result = extract_xlsx(_xlsx(rows), exclusions=NO_EXCLUSIONS)

    _ok(result, 1)
    source = result.invoices[0].fields[FieldName.AMOUNT_DUE].source
    assert source == "sheet 'Blad1' row 4, column 'Amount'"
    assert result.notes == []
