"""Where each extracted field was read, shown in the reader's language.

The database keeps the English source the extractor wrote ("f.pdf: pdf page 1,
label 'Factuurnummer'"); pages and the command line show it through
``source_label``. Expectations translate the same English sentences with the same
catalog, so they hold before and after the Dutch and French texts are merged.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from gettext import NullTranslations
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from markupsafe import escape
from sqlalchemy import select

from incasso.app.context import Application
from incasso.i18n import translations
from incasso.intake.extract import ExtractionResult, extract_document
from incasso.intake.extract.body import extract_body
from incasso.review.labels import source_label
from incasso.store.db import transaction
from incasso.store.models import Case, Invoice
from tests.app.test_cli import creditor_arguments, run, submission_file, workdir
from tests.cases.test_drafts import creditor, submit, without_email
from tests.factories import make_ubl_invoice
from tests.factories.einvoice import make_cii_invoice
from tests.factories.invoice_pdf import ValuePlacement, example_spec, make_invoice_pdf
from tests.factories.scans import png_scan
from tests.review.conftest import StaffClient

__all__ = ["creditor", "workdir"]  # fixtures shared with the domain and command-line tests

Gettext = Callable[[str], str]

GETTEXTS = {language: translations(language).gettext for language in ("nl", "fr")}


def marked(text: str) -> str:
    """A gettext that shows which sentences were used: "⟦label “{label}”⟧"."""
    return f"⟦{text}⟧"


def recognised(source: str) -> bool:
    """Return whether ``source_label`` recognises the form of ``source`` and translates it."""
    return source_label(source, marked) != source


# ---------------------------------------------------------------------------
# Every form the extractors write

# (place as an extractor writes it, sentence of the place, its values,
#  sentence of the finding on the page or in the mail or None, its values)
PLACES: list[tuple[str, str, dict[str, str], str | None, dict[str, str]]] = [
    # PDF text layer and OCR (incasso.intake.extract.pairing, customer_block)
    (
        "pdf page 1, label 'Factuurnummer'",
        "PDF page {page}, {where}",
        {"page": "1"},
        "label “{label}”",
        {"label": "Factuurnummer"},
    ),
    (
        "pdf page 2, below label 'Date d'échéance'",
        "PDF page {page}, {where}",
        {"page": "2"},
        "below label “{label}”",
        {"label": "Date d'échéance"},
    ),
    (
        "pdf page 1, label 'Facture n°', date after the number",
        "PDF page {page}, {where}",
        {"page": "1"},
        "label “{label}”, date after the number",
        {"label": "Facture n°"},
    ),
    (
        "pdf page 1, below label 'Invoice no.: ', date after the number",
        "PDF page {page}, {where}",
        {"page": "1"},
        "below label “{label}”, date after the number",
        {"label": "Invoice no.: "},
    ),
    (
        "pdf page 1, customer block under 'Klant'",
        "PDF page {page}, {where}",
        {"page": "1"},
        "customer block under “{caption}”",
        {"caption": "Klant"},
    ),
    (
        "ocr page 3, text pattern outside the customer block",
        "scanned page {page} (OCR), {where}",
        {"page": "3"},
        "pattern outside the customer block",
        {},
    ),
    (
        "ocr page 1, structured communication pattern",
        "scanned page {page} (OCR), {where}",
        {"page": "1"},
        "pattern of a structured communication",
        {},
    ),
    (
        "pdf page 1, currency sign or code",
        "PDF page {page}, {where}",
        {"page": "1"},
        "currency sign or code",
        {},
    ),
    (
        "ocr page 12, issue date plus payment term of 30 days",
        "scanned page {page} (OCR), {where}",
        {"page": "12"},
        "invoice date plus a payment term of {days} days",
        {"days": "30"},
    ),
    # UBL and CII e-invoices (incasso.intake.extract.ubl, cii)
    (
        "ubl cac:LegalMonetaryTotal/cbc:PayableAmount",
        "UBL element {path}",
        {"path": "cac:LegalMonetaryTotal/cbc:PayableAmount"},
        None,
        {},
    ),
    (
        "ubl cac:PaymentTerms/cbc:Note, issue date plus 30 days",
        "UBL element {path}, invoice date plus {days} days",
        {"path": "cac:PaymentTerms/cbc:Note", "days": "30"},
        None,
        {},
    ),
    (
        "cii rsm:ExchangedDocument/ram:ID",
        "CII element {path}",
        {"path": "rsm:ExchangedDocument/ram:ID"},
        None,
        {},
    ),
    (
        "cii a/ram:SpecifiedTradePaymentTerms/ram:Description, issue date plus 14 days",
        "CII element {path}, invoice date plus {days} days",
        {"path": "a/ram:SpecifiedTradePaymentTerms/ram:Description", "days": "14"},
        None,
        {},
    ),
    # Spreadsheets (incasso.intake.extract.sheet_rows)
    (
        "sheet 'Blad1' row 2, column 'Vervaldatum'",
        "sheet “{sheet}”, row {row}, column “{column}”",
        {"sheet": "Blad1", "row": "2", "column": "Vervaldatum"},
        None,
        {},
    ),
    (
        "sheet \"Klant's lijst\" row 14, column 'Date d\\'échéance\\n'",
        "sheet “{sheet}”, row {row}, column “{column}”",
        {"sheet": "Klant's lijst", "row": "14", "column": "Date d'échéance\n"},
        None,
        {},
    ),
    (
        "CSV row 5, column 'Bedrag'",
        "CSV file, row {row}, column “{column}”",
        {"row": "5", "column": "Bedrag"},
        None,
        {},
    ),
    # Claims typed in the mail (incasso.intake.extract.body_claim, body_debtor)
    (
        "mail body line 3, label 'vervaldatum'",
        "mail text line {line}, {where}",
        {"line": "3"},
        "label “{label}”",
        {"label": "vervaldatum"},
    ),
    (
        "mail body line 1, invoice number in 'Facture n° F-88'",
        "mail text line {line}, {where}",
        {"line": "1"},
        "invoice number in “{text}”",
        {"text": "Facture n° F-88"},
    ),
    (
        "mail body line 1, 'van' after the invoice number",
        "mail text line {line}, {where}",
        {"line": "1"},
        "“{word}” after the invoice number",
        {"word": "van"},
    ),
    (
        "mail body line 2, the only amount of the claim, without a label",
        "mail text line {line}, {where}",
        {"line": "2"},
        "the only amount of the claim, without a label",
        {},
    ),
    (
        "mail body line 2, unlabeled date in the claim",
        "mail text line {line}, {where}",
        {"line": "2"},
        "date without a label in the claim",
        {},
    ),
    (
        "mail body line 2, issue date plus a payment term of 30 days",
        "mail text line {line}, {where}",
        {"line": "2"},
        "invoice date plus a payment term of {days} days",
        {"days": "30"},
    ),
    (
        "mail body line 2, currency in the claim",
        "mail text line {line}, {where}",
        {"line": "2"},
        "currency in the claim",
        {},
    ),
    ("mail body line 7", "mail text line {line}", {"line": "7"}, None, {}),
    (
        "mail body line 4, the only e-mail address in the claim",
        "mail text line {line}, {where}",
        {"line": "4"},
        "the only e-mail address in the claim",
        {},
    ),
    (
        "mail body line 4, name after 'Klant:'",
        "mail text line {line}, {where}",
        {"line": "4"},
        "name after “{word}”",
        {"word": "Klant:"},
    ),
    (
        "mail body line 5, after 'Client'",
        "mail text line {line}, {where}",
        {"line": "5"},
        "after “{caption}”",
        {"caption": "Client"},
    ),
]


def expected_place(
    gettext: Gettext,
    sentence: str,
    values: dict[str, str],
    finding: str | None,
    finding_values: dict[str, str],
) -> str:
    if finding is None:
        return gettext(sentence).format(**values)
    where = gettext(finding).format(**finding_values)
    return gettext(sentence).format(where=where, **values)


@pytest.mark.parametrize("language", ["nl", "fr"])
@pytest.mark.parametrize(
    ("place", "sentence", "values", "finding", "finding_values"), PLACES, ids=[p[0] for p in PLACES]
)
def test_every_form_is_translated(
    language: str,
    place: str,
    sentence: str,
    values: dict[str, str],
    finding: str | None,
    finding_values: dict[str, str],
) -> None:
    gettext = GETTEXTS[language]
    expected = expected_place(gettext, sentence, values, finding, finding_values)

    assert source_label(place, gettext) == expected
    for file in ("factuur.pdf", "scan.zip > fax: 1.tif"):
        stored = f"{file}: {place}"
        assert source_label(stored, gettext) == gettext("{file}: {place}").format(
            file=file, place=expected
        )


@pytest.mark.parametrize(
    ("place", "sentence", "values", "finding", "finding_values"), PLACES, ids=[p[0] for p in PLACES]
)
def test_every_form_keeps_its_variable_parts(
    place: str,
    sentence: str,
    values: dict[str, str],
    finding: str | None,
    finding_values: dict[str, str],
) -> None:
    label = source_label(f"f.pdf: {place}", marked)

    assert label.startswith("⟦f.pdf: ⟦")
    assert f"⟦{sentence}⟧" not in label  # the placeholders are filled
    for value in [*values.values(), *finding_values.values()]:
        assert value in label


def test_english_reads_as_a_sentence() -> None:
    english = NullTranslations().gettext  # the msgids are the English text

    assert (
        source_label("f.pdf: pdf page 1, label 'Factuurnummer'", english)
        == "f.pdf: PDF page 1, label “Factuurnummer”"
    )
    assert (
        source_label("l.csv: CSV row 5, column 'Bedrag'", english)
        == "l.csv: CSV file, row 5, column “Bedrag”"
    )


def test_staff_correction() -> None:
    for gettext in GETTEXTS.values():
        assert source_label("staff", gettext) == gettext("corrected by staff")


@pytest.mark.parametrize(
    "source",
    [
        "",
        "something new",
        "f.pdf: ",
        "f.pdf: pdf page 1, somewhere new",
        "f.pdf: pdf page one, label 'Factuurnummer'",
        "ubl",
        "mail body line 3,",
        "mail body line 3, label vervaldatum",
        "sheet 'Blad1' row 2",
        "f.pdf: staff",
    ],
)
def test_unknown_forms_are_shown_as_stored(source: str) -> None:
    for gettext in (*GETTEXTS.values(), marked):
        assert source_label(source, gettext) == source


# ---------------------------------------------------------------------------
# The sources real extraction writes


def sources_of(result: ExtractionResult) -> list[str]:
    assert result.invoices, result.detail
    return [field.source for invoice in result.invoices for field in invoice.fields.values()]


def assert_all_recognised(sources: list[str]) -> None:
    unknown = [source for source in sources if not recognised(f"f.pdf: {source}")]
    assert unknown == []


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
@pytest.mark.parametrize(
    "changes",
    [{}, {"placement": ValuePlacement.BELOW}, {"due_date": None, "payment_term_days": 30}],
    ids=["label-right", "label-above", "payment-term"],
)
def test_pdf_invoice_sources_are_recognised(language: str, changes: dict[str, Any]) -> None:
    spec = example_spec(language, **changes)

    sources = sources_of(extract_document(make_invoice_pdf(spec), filename="f.pdf"))

    assert_all_recognised(sources)
    dutch = GETTEXTS["nl"]
    for source in sources:
        label = re.search(r"'(.*)'", source)
        if label is not None:
            assert label.group(1) in source_label(source, dutch)


def test_scanned_invoice_sources_are_recognised() -> None:
    sources = sources_of(extract_document(png_scan(example_spec("nl")), filename="scan.png"))

    assert all(source.startswith("ocr page 1, ") for source in sources)
    assert_all_recognised(sources)


def spreadsheet(title: str, rows: list[list[str]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


HEADER = ["Factuurnummer", "Factuurdatum", "Vervaldatum", "Bedrag", "Naam", "E-mail", "Munt"]
ROW = ["2026-0101", "03/07/2026", "02/08/2026", "612,40", "Jan Peeters", "jan@mail.test", "EUR"]


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("f.xml", make_ubl_invoice(example_spec("nl", due_date=None, payment_term_days=30))),
        ("f.xml", make_cii_invoice(example_spec("fr"))),
        ("f.csv", ";".join(HEADER).encode() + b"\r\n" + ";".join(ROW).encode() + b"\r\n"),
        ("f.xlsx", spreadsheet("Open facturen", [HEADER, ROW])),
    ],
    ids=["ubl", "cii", "csv", "xlsx"],
)
def test_e_invoice_and_spreadsheet_sources_are_recognised(filename: str, data: bytes) -> None:
    assert_all_recognised(sources_of(extract_document(data, filename=filename)))


@pytest.mark.parametrize(
    "text",
    [
        "Beste,\n\nFactuur 2026-5521, bedrag 612,40 euro, vervaldatum 02/08/2026\n",
        "Factuur 2026-5521 van 03/07/2026, bedrag 612,40 euro, vervallen op 02/08/2026\n\n"
        "Klant: Jan Peeters, Jan.Peeters@Mail.test, 0475 12 34 56, Kerkstraat 4, 9000 Gent\n",
        "Invoice INV-7 of 3 July 2026, 99.00, due 2 August 2026. Debtor jan@mail.test\n",
    ],
)
def test_typed_claim_sources_are_recognised(text: str) -> None:
    assert_all_recognised(sources_of(extract_body(text)))


# ---------------------------------------------------------------------------
# Where people see them


def stored_sources(app: Application, reference: str) -> list[str]:
    with transaction(app.factory) as session:
        invoice = session.scalar(select(Invoice).join(Case).where(Case.reference == reference))
        assert invoice is not None
        return [field.source for field in invoice.fields]


def test_draft_page_shows_translated_sources(
    app: Application, creditor: str, client: StaffClient
) -> None:
    reference = submit(app, creditor, without_email())
    sources = stored_sources(app, reference)

    page = client.get(f"/drafts/{reference}").text

    dutch = GETTEXTS["nl"]  # els reads the pages in Dutch
    assert sources and all(source.startswith("factuur.pdf: pdf page 1, ") for source in sources)
    for source in sources:
        if source.endswith("'Factuurnummer'"):
            assert f"({escape(source_label(source, dutch))})" in page
        assert f"({escape(source)})" not in page


def test_case_command_shows_translated_sources(workdir: Path) -> None:
    run(*creditor_arguments())
    drop = workdir / "drop"
    submission_file(drop)
    run("intake", str(drop))
    (summary,) = json.loads(run("cases", "--json").output)["cases"]
    form = json.loads(run("case", summary["reference"], "--json").output)
    fields = form["invoices"][0]["fields"]

    shown = run("case", summary["reference"]).output

    source = fields["invoice_number"]["source"]
    assert source == "f.pdf: pdf page 1, label 'Factuurnummer'"  # stored in English
    assert source_label(source, GETTEXTS["nl"]) in shown
    assert source not in shown
    assert all(recognised(field["source"]) for field in fields.values())
