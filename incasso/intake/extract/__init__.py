"""Invoice extraction from PDF text layers, Factur-X PDFs and UBL or CII e-invoices.

:func:`extract_document` sniffs the content, not the file name. A ``%PDF-`` header
anywhere in the first 1024 bytes makes a PDF, and the bytes before the header are
cut off, because real files arrive with junk or a UTF-8 byte order mark there. A
PDF with an embedded invoice XML (Factur-X, ZUGFeRD) is read from that XML, and
any other PDF from its text layer (see :mod:`incasso.intake.extract.facturx`).
XML is routed by its root element: a UBL 2.1 ``Invoice`` or ``CreditNote``, also
inside a Peppol envelope, or a Cross Industry Invoice (CII, ZUGFeRD 1.0).
An XLSX workbook (a ZIP archive with ``xl/workbook.xml``) and a CSV file (declared
as ``text/csv`` or named ``.csv``, or text whose first rows hold a header row with
invoice columns) are read as lists of invoices, one per row.
TIFF, PNG and JPEG images, and PDFs without a usable text layer (scans, faxes),
are read by OCR (see :mod:`incasso.intake.extract.ocr`).
Anything else gives ``Problem.UNSUPPORTED``, or ``Problem.UNREADABLE`` when the file
is empty, is XML that does not parse, or claims to be a PDF by name or content type
without having a PDF header.

Every invoice of every method then goes through
:func:`incasso.intake.extract.validate.validate`, which lowers the confidence of
values that fail a check and records the reason in ``Field.doubts``.

It never raises on bad input. Every failure, including an unexpected exception in
an extractor, comes back as a result with a problem and an English ``detail``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace

from lxml import etree

from incasso.intake.extract.facturx import extract_hybrid_pdf, extract_xml_root
from incasso.intake.extract.model import (
    DocumentKind,
    ExtractedInvoice,
    ExtractionResult,
    Field,
    FieldName,
    Problem,
)
from incasso.intake.extract.normalize import Exclusions
from incasso.intake.extract.ocr import extract_image, extract_scanned_pdf, is_image
from incasso.intake.extract.pdf import extract_pdf
from incasso.intake.extract.sheet import extract_csv, extract_xlsx, is_xlsx, looks_like_csv
from incasso.intake.extract.ubl import parse_xml
from incasso.intake.extract.validate import validate

__all__ = [
    "DocumentKind",
    "ExtractedInvoice",
    "ExtractionResult",
    "Field",
    "FieldName",
    "Problem",
    "extract_document",
]

logger = logging.getLogger(__name__)

PDF_HEADER = b"%PDF-"
PDF_HEADER_WINDOW = 1024  # bytes searched for the PDF header
_XML_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
# Signatures of files we recognise but do not extract, for a helpful detail.
_KNOWN_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive or Office document; unpack or convert it to PDF first"),
    (
        b"\xd0\xcf\x11\xe0",
        "an OLE file (old Office document or Outlook .msg); convert it to PDF first",
    ),
)


def extract_document(
    data: bytes,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    exclude: Iterable[str] = (),
    embedded_xml: bool = True,
) -> ExtractionResult:
    """Extract the invoices in one file (PDF, e-invoice XML or spreadsheet) from a creditor.

    ``exclude`` lists the sender's own e-mail addresses, domains ("@acme.be" or
    "acme.be") and VAT or enterprise numbers, which are never taken as the debtor's.
    ``filename`` and ``content_type`` only improve the problem detail; the content
    decides the format. ``embedded_xml=False`` reads a Factur-X PDF from its text
    layer (or by OCR) as if it carried no XML, to measure those readers against the
    XML; intake always leaves it on.
    """
    exclusions = Exclusions.from_entries(exclude)
    if exclusions.unrecognized:
        logger.warning(
            "ignored exclude entries %r: each must be an e-mail address, a domain or a VAT number",
            exclusions.unrecognized,
        )

    try:
        result = _extract(data, filename, content_type, exclusions, embedded_xml)
    except Exception as error:  # the caller relies on this function never raising
        logger.exception("extraction of %r failed unexpectedly", filename)
        return ExtractionResult(
            method="none",
            problem=Problem.UNREADABLE,
            detail=f"extraction failed with {type(error).__name__}: {error}; the file may be "
            "damaged, and if it opens in a viewer this is a bug in incasso",
        )
    return _validated(result, filename)


def _validated(result: ExtractionResult, filename: str | None) -> ExtractionResult:
    """Run validation on every invoice; a bug in it must not cost the extracted fields."""
    try:
        return replace(result, invoices=[validate(invoice) for invoice in result.invoices])
    except Exception as error:
        logger.exception("validation of %r failed unexpectedly", filename)
        result.notes.append(
            f"validation failed with {type(error).__name__}: {error}; the fields were not "
            "checked, which is a bug in incasso"
        )
        return result


def _extract(
    data: bytes,
    filename: str | None,
    content_type: str | None,
    exclusions: Exclusions,
    embedded_xml: bool,
) -> ExtractionResult:
    if not data:
        return _problem(Problem.UNREADABLE, f"{_describe(filename)} is empty (0 bytes)")

    header_at = data[:PDF_HEADER_WINDOW].find(PDF_HEADER)
    if header_at >= 0:
        if header_at:
            logger.info("cut %d byte(s) before the PDF header of %r", header_at, filename)
        if not embedded_xml:
            return _text_layer_or_ocr(data[header_at:], exclusions)
        return extract_hybrid_pdf(
            data[header_at:],
            exclusions=exclusions,
            text_layer=lambda pdf: _text_layer_or_ocr(pdf, exclusions),
        )

    if _looks_like_xml(data):
        return _extract_xml(data, filename, exclusions)

    # Spreadsheets listing invoices (see incasso.intake.extract.sheet).
    if is_xlsx(data):
        return extract_xlsx(data, exclusions=exclusions)
    if looks_like_csv(data, filename, content_type):
        return extract_csv(data, exclusions=exclusions)

    # Scans, faxes and photos (see incasso.intake.extract.ocr).
    if is_image(data):
        return extract_image(data, exclusions=exclusions)

    if _claims_pdf(filename, content_type):
        return _problem(
            Problem.UNREADABLE,
            f"{_describe(filename)} is declared as a PDF but has no %PDF- header in its first "
            f"{PDF_HEADER_WINDOW} bytes; it is damaged or not a PDF, so ask the creditor to "
            "send it again",
        )
    return _problem(Problem.UNSUPPORTED, f"{_describe(filename)} is {_guess_format(data)}")


def _text_layer_or_ocr(pdf: bytes, exclusions: Exclusions) -> ExtractionResult:
    """Read a PDF's text layer, or OCR its pages when it has none or an unusable one."""
    result = extract_pdf(pdf, exclusions=exclusions)
    if result.problem is not Problem.NO_TEXT_LAYER:
        return result
    reason = result.detail or "the PDF has no usable text layer"
    return extract_scanned_pdf(pdf, exclusions=exclusions, reason=reason)


def _extract_xml(data: bytes, filename: str | None, exclusions: Exclusions) -> ExtractionResult:
    try:
        root = parse_xml(data)
    except etree.XMLSyntaxError as error:
        return _problem(
            Problem.UNREADABLE,
            f"{_describe(filename)} is not well-formed XML ({error}); ask the creditor to "
            "send it again",
        )
    return extract_xml_root(root, exclusions=exclusions, origin=_describe(filename))


def _looks_like_xml(data: bytes) -> bool:
    start = data[:PDF_HEADER_WINDOW]
    for bom in _XML_BOMS:
        if start.startswith(bom):
            start = start[len(bom) :]
            break
    return start.lstrip().startswith(b"<")


def _claims_pdf(filename: str | None, content_type: str | None) -> bool:
    by_name = filename is not None and filename.lower().endswith(".pdf")
    by_type = (
        content_type is not None and content_type.lower().split(";")[0].strip() == "application/pdf"
    )
    return by_name or by_type


def _guess_format(data: bytes) -> str:
    for signature, description in _KNOWN_SIGNATURES:
        if data.startswith(signature):
            return description
    return (
        "neither a PDF nor XML; only PDFs, UBL or CII e-invoices and invoice spreadsheets "
        "(XLSX, CSV) are extracted"
    )


def _describe(filename: str | None) -> str:
    return f"the file {filename!r}" if filename else "the file"


def _problem(problem: Problem, detail: str) -> ExtractionResult:
    return ExtractionResult(method="none", problem=problem, detail=detail)
