"""A generated, labelled set of invoices for measuring extraction (``incasso eval-extraction``).

``write_eval_set(folder)`` writes every document and an ``expected.json``
whose labels come from the same specs the documents were printed from, so the
labels are right by construction. Run ``scripts/make-eval-set DIR`` to get the
set on disk; the test suite generates it in a temporary folder and holds the
scores to their targets.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl

from incasso.intake.evaluation import LABELS_FILE, LABELS_SCHEMA
from tests.factories.einvoice import make_cii_invoice, make_facturx_pdf
from tests.factories.invoice_pdf import (
    AmountStyle,
    DateStyle,
    InvoiceSpec,
    ValuePlacement,
    example_spec,
    make_invoice_pdf,
    make_invoices_pdf,
    make_ubl_invoice,
)
from tests.factories.layout_grid import make_grid_invoice_pdf
from tests.factories.scans import fax_tiff_scan, image_only_pdf_scan, noisy_jpeg_scan, png_scan

LANGUAGES = ("nl", "fr", "en")

# Writers of extra kinds (scans, CII, bodies, sheets) register here: each yields
# (file name, bytes, label) for the set.
Writer = Callable[[], Iterator[tuple[str, bytes, dict[str, Any]]]]
EXTRA_WRITERS: list[Writer] = []


def write_eval_set(folder: Path) -> int:
    """Write the documents and ``expected.json`` into ``folder``; return how many documents."""
    folder.mkdir(parents=True, exist_ok=True)
    labels: dict[str, dict[str, Any]] = {}
    writers: list[Writer] = [_text_pdfs, _grid_pdfs, _ubl_files, *EXTRA_WRITERS]
    for writer in writers:
        for name, data, label in writer():
            if name in labels:
                raise ValueError(f"two documents of the evaluation set are named {name}")
            (folder / name).write_bytes(data)
            labels[name] = label

    document = {"schema": LABELS_SCHEMA, "documents": labels}
    (folder / LABELS_FILE).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return len(labels)


def invoice_label(spec: InvoiceSpec) -> dict[str, str]:
    """Return what extraction must find on the invoice printed from ``spec``."""
    label = {
        "invoice_number": spec.number,
        "issue_date": spec.issue_date.isoformat(),
        "due_date": spec.effective_due_date.isoformat(),
        "amount_due": f"{spec.amount_due:.2f}",
        "currency": spec.currency,
        "debtor_name": spec.customer.name,
    }
    if spec.customer.email:
        label["debtor_email"] = spec.customer.email
    if spec.customer.vat:
        label["debtor_vat"] = spec.customer.vat
    if spec.payment_reference:
        label["payment_reference"] = spec.payment_reference
    return label


def _numbered(spec: InvoiceSpec, suffix: str) -> InvoiceSpec:
    return replace(spec, number=f"{spec.number}-{suffix}")


def _text_pdfs() -> Iterator[tuple[str, bytes, dict[str, Any]]]:
    for language in LANGUAGES:
        for placement in ValuePlacement:
            for style in AmountStyle:
                suffix = f"{placement.value[:1]}{style.value[:1]}".upper()
                spec = _numbered(
                    example_spec(language, placement=placement, amount_style=style), suffix
                )
                yield _pdf(f"pdf-{language}-{placement.value}-{style.value}.pdf", spec)

        base = example_spec(language)
        yield _pdf(
            f"pdf-{language}-words.pdf", _numbered(replace(base, date_style=DateStyle.WORDS), "W")
        )
        yield _pdf(
            f"pdf-{language}-term.pdf",
            _numbered(replace(base, due_date=None, payment_term_days=30), "T"),
        )
        yield _pdf(
            f"pdf-{language}-partly-paid.pdf",
            _numbered(replace(base, already_paid=Decimal("200.00")), "P"),
        )

    credit = replace(example_spec("nl"), number="CN-2026-0007", credit_note=True)
    yield (
        "pdf-nl-credit-note.pdf",
        make_invoice_pdf(credit),
        {
            "kind": "pdf-text",
            "invoices": [],
            "credit_notes": 1,
        },
    )

    first = _numbered(example_spec("nl"), "M1")
    second = replace(
        _numbered(example_spec("nl"), "M2"),
        customer=example_spec("en").customer,
        issue_date=date(2026, 9, 20),
        due_date=date(2026, 10, 20),
    )
    yield (
        "pdf-nl-two-invoices.pdf",
        make_invoices_pdf([first, second]),
        {
            "kind": "pdf-text",
            "invoices": [invoice_label(first), invoice_label(second)],
        },
    )


def _grid_pdfs() -> Iterator[tuple[str, bytes, dict[str, Any]]]:
    """The same facts in a second, independently drawn layout with other label words."""
    for language in LANGUAGES:
        plain = _numbered(example_spec(language), "G1")
        yield f"grid-{language}.pdf", make_grid_invoice_pdf(plain), _pdf_label(plain)

        varied = _numbered(
            example_spec(
                language,
                amount_style=AmountStyle.SPACES,
                date_style=DateStyle.WORDS,
                already_paid=Decimal("100.00"),
            ),
            "G2",
        )
        yield f"grid-{language}-paid-words.pdf", make_grid_invoice_pdf(varied), _pdf_label(varied)


def _pdf_label(spec: InvoiceSpec) -> dict[str, Any]:
    return {"kind": "pdf-text", "invoices": [invoice_label(spec)]}


def _pdf(name: str, spec: InvoiceSpec) -> tuple[str, bytes, dict[str, Any]]:
    return name, make_invoice_pdf(spec), {"kind": "pdf-text", "invoices": [invoice_label(spec)]}


def _ubl_files() -> Iterator[tuple[str, bytes, dict[str, Any]]]:
    for language in LANGUAGES:
        spec = _numbered(example_spec(language), "U")
        yield f"ubl-{language}.xml", make_ubl_invoice(spec), _ubl_label(spec)

    paid = _numbered(replace(example_spec("en"), already_paid=Decimal("450.00")), "UP")
    yield "ubl-prepaid.xml", make_ubl_invoice(paid), _ubl_label(paid)

    in_means = _numbered(example_spec("fr"), "UM")
    data = make_ubl_invoice(in_means, due_date_in_payment_means=True)
    yield "ubl-due-in-payment-means.xml", data, _ubl_label(in_means)

    credit = replace(example_spec("nl"), number="UCN-2026-3", credit_note=True)
    yield (
        "ubl-credit-note.xml",
        make_ubl_invoice(credit),
        {
            "kind": "ubl",
            "invoices": [],
            "credit_notes": 1,
        },
    )


def _ubl_label(spec: InvoiceSpec) -> dict[str, Any]:
    return {"kind": "ubl", "invoices": [invoice_label(spec)]}


# ---------------------------------------------------------------------------
# E-invoices in CII, alone and inside Factur-X PDFs


def _cii_files() -> Iterator[tuple[str, bytes, dict[str, Any]]]:
    for language in LANGUAGES:
        spec = _numbered(example_spec(language), "C")
        xml = make_cii_invoice(spec)
        yield f"cii-{language}.xml", xml, {"kind": "cii", "invoices": [invoice_label(spec)]}

        pdf_spec = _numbered(example_spec(language), "FX")
        facturx = make_facturx_pdf(pdf_spec, make_cii_invoice(pdf_spec))
        yield (
            f"facturx-{language}.pdf",
            facturx,
            {
                "kind": "cii",
                "invoices": [invoice_label(pdf_spec)],
            },
        )

    noted = _numbered(example_spec("nl"), "FXD")
    with_note = make_facturx_pdf(
        noted, make_cii_invoice(noted), attachments=[("leveringsbon.pdf", make_invoice_pdf(noted))]
    )
    yield (
        "facturx-nl-with-delivery-note.pdf",
        with_note,
        {
            "kind": "cii",
            "invoices": [invoice_label(noted)],
        },
    )

    precise = _numbered(example_spec("fr"), "C4")
    yield (
        "cii-fr-four-decimals.xml",
        make_cii_invoice(precise, line_decimals=4),
        {
            "kind": "cii",
            "invoices": [invoice_label(precise)],
        },
    )


# ---------------------------------------------------------------------------
# Scans: pictures of the printed invoices, read by OCR


def _scans() -> Iterator[tuple[str, bytes, dict[str, Any]]]:
    def label(spec: InvoiceSpec) -> dict[str, Any]:
        return {"kind": "scan", "invoices": [_scan_label(spec)]}

    nl, fr, en = (_numbered(example_spec(language), "S") for language in LANGUAGES)
    yield "scan-nl.png", png_scan(nl), label(nl)
    yield "scan-fr-photocopy.jpg", noisy_jpeg_scan(fr), label(fr)
    yield "scan-en.pdf", image_only_pdf_scan(en), label(en)

    fine = _numbered(example_spec("fr", placement=ValuePlacement.BELOW), "F1")
    yield "fax-fr-fine.tif", fax_tiff_scan([fine], 196), label(fine)
    normal = _numbered(example_spec("nl"), "F2")
    yield "fax-nl-normal.tif", fax_tiff_scan([normal], 98), label(normal)


def _scan_label(spec: InvoiceSpec) -> dict[str, str]:
    """The key fields of a scan; contact details are scored on text, not on OCR."""
    label = invoice_label(spec)
    return {name: label[name] for name in ("invoice_number", "issue_date", "due_date",
                                           "amount_due", "payment_reference")}  # fmt: skip


# ---------------------------------------------------------------------------
# Claims typed in a mail body, and lists of invoices in spreadsheets

BODIES = {
    "nl": (
        "Goedemiddag,\n\nGraag uw hulp voor deze openstaande factuur:\n"
        "Factuur 2026-5521 van 03/07/2026, bedrag 612,40 euro, vervallen op 02/08/2026.\n"
        "Klant: Jan Peeters, jan.peeters@mail.test, 0475 12 34 56\n\n"
        "Met vriendelijke groeten,\nBoekhouding Schrijnwerkerij Vandamme\n",
        {"invoice_number": "2026-5521", "issue_date": "2026-07-03", "due_date": "2026-08-02",
         "amount_due": "612.40", "debtor_name": "Jan Peeters",
         "debtor_email": "jan.peeters@mail.test"},
    ),
    "fr": (
        "Bonjour,\n\nMerci de recouvrer la facture suivante :\n"
        "Facture n° F-88 du 3 juillet 2026, montant 1.245,80 €, échéance 2 août 2026.\n"
        "Client : Marie Dubois, marie.dubois@mail.test\n\nCordialement,\nGarage Dupont\n",
        {"invoice_number": "F-88", "issue_date": "2026-07-03", "due_date": "2026-08-02",
         "amount_due": "1245.80", "debtor_name": "Marie Dubois",
         "debtor_email": "marie.dubois@mail.test"},
    ),
    "en": (
        "Hello,\n\nPlease collect this invoice for us:\n"
        "Invoice INV-7 dated 3 July 2026, amount EUR 98.50, due 2 August 2026.\n"
        "Customer: Tom Baker, tom.baker@mail.test\n\nKind regards,\nBrightfield Logistics\n",
        {"invoice_number": "INV-7", "issue_date": "2026-07-03", "due_date": "2026-08-02",
         "amount_due": "98.50", "debtor_name": "Tom Baker", "debtor_email": "tom.baker@mail.test"},
    ),
}  # fmt: skip

SHEET_ROWS = [
    ("2026-0101", "2026-08-01", "2026-09-01", "125.00", "Els Wouters", "els.wouters@mail.test"),
    ("2026-0102", "2026-08-03", "2026-09-03", "1480.35", "Koen Maes", "koen.maes@mail.test"),
    ("2026-0103", "2026-08-09", "2026-09-08", "77.10", "Sara Jacobs", "sara.jacobs@mail.test"),
]
SHEET_HEADER = ("Factuurnummer", "Factuurdatum", "Vervaldatum", "Bedrag", "Klant", "E-mail")


def _bodies_and_sheets() -> Iterator[tuple[str, bytes, dict[str, Any]]]:
    for language, (text, label) in BODIES.items():
        yield f"body-{language}.txt", text.encode(), {"kind": "email-body", "invoices": [label]}

    labels = [
        {"invoice_number": number, "issue_date": issued, "due_date": due, "amount_due": amount,
         "debtor_name": name, "debtor_email": email}
        for number, issued, due, amount, name, email in SHEET_ROWS
    ]  # fmt: skip
    yield "sheet.csv", _csv_sheet(), {"kind": "spreadsheet", "invoices": labels}
    yield "sheet.xlsx", _xlsx_sheet(), {"kind": "spreadsheet", "invoices": labels}


def _csv_sheet() -> bytes:
    def belgian(row: tuple[str, ...]) -> list[str]:
        number, issued, due, amount, name, email = row
        day = lambda iso: "/".join(reversed(iso.split("-")))  # noqa: E731
        return [number, day(issued), day(due), amount.replace(".", ","), name, email]

    lines = [";".join(SHEET_HEADER)] + [";".join(belgian(row)) for row in SHEET_ROWS]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _xlsx_sheet() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Openstaand"
    sheet.append(list(SHEET_HEADER))
    for number, issued, due, amount, name, email in SHEET_ROWS:
        sheet.append([number, date.fromisoformat(issued), date.fromisoformat(due),
                      float(amount), name, email])  # fmt: skip
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


EXTRA_WRITERS.extend([_cii_files, _scans, _bodies_and_sheets])
