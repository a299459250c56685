"""Invoice extraction from PDF text layers and Peppol UBL files.

:func:`extract_document` sniffs the content, not the file name. A ``%PDF-`` header
anywhere in the first 1024 bytes makes a PDF, and the bytes before the header are
cut off, because real files arrive with junk or a UTF-8 byte order mark there. XML
whose root is a UBL 2.1 ``Invoice`` or ``CreditNote`` makes a UBL document.
Anything else gives ``Problem.UNSUPPORTED``, or ``Problem.UNREADABLE`` when the file
is empty, is XML that does not parse, or claims to be a PDF by name or content type
without having a PDF header.

It never raises on bad input. Every failure, including an unexpected exception in
an extractor, comes back as a result with a problem and an English ``detail``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from lxml import etree

from incasso.intake.extract.model import (
    DocumentKind,
    ExtractedInvoice,
    ExtractionResult,
    Field,
    FieldName,
    Problem,
)
from incasso.intake.extract.normalize import Exclusions
from incasso.intake.extract.pdf import extract_pdf
from incasso.intake.extract.ubl import extract_ubl, is_ubl_document, parse_xml

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
    (b"\x89PNG\r\n\x1a\n", "a PNG image; images need OCR, which is not supported yet"),
    (b"\xff\xd8\xff", "a JPEG image; images need OCR, which is not supported yet"),
    (b"II*\x00", "a TIFF image (scan or fax); images need OCR, which is not supported yet"),
    (b"MM\x00*", "a TIFF image (scan or fax); images need OCR, which is not supported yet"),
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
) -> ExtractionResult:
    """Extract the invoices in one file (PDF or UBL XML) received from a creditor.

    ``exclude`` lists the sender's own e-mail addresses, domains ("@acme.be" or
    "acme.be") and VAT or enterprise numbers, which are never taken as the debtor's.
    ``filename`` and ``content_type`` only improve the problem detail; the content
    decides the format.
    """
    exclusions = Exclusions.from_entries(exclude)
    if exclusions.unrecognized:
        logger.warning(
            "ignored exclude entries %r: each must be an e-mail address, a domain or a VAT number",
            exclusions.unrecognized,
        )

    try:
        return _extract(data, filename, content_type, exclusions)
    except Exception as error:  # the caller relies on this function never raising
        logger.exception("extraction of %r failed unexpectedly", filename)
        return ExtractionResult(
            method="none",
            problem=Problem.UNREADABLE,
            detail=f"extraction failed with {type(error).__name__}: {error}; the file may be "
            "damaged, and if it opens in a viewer this is a bug in incasso",
        )


def _extract(
    data: bytes, filename: str | None, content_type: str | None, exclusions: Exclusions
) -> ExtractionResult:
    if not data:
        return _problem(Problem.UNREADABLE, f"{_describe(filename)} is empty (0 bytes)")

    header_at = data[:PDF_HEADER_WINDOW].find(PDF_HEADER)
    if header_at >= 0:
        if header_at:
            logger.info("cut %d byte(s) before the PDF header of %r", header_at, filename)
        return extract_pdf(data[header_at:], exclusions=exclusions)

    if _looks_like_xml(data):
        return _extract_xml(data, filename, exclusions)

    if _claims_pdf(filename, content_type):
        return _problem(
            Problem.UNREADABLE,
            f"{_describe(filename)} is declared as a PDF but has no %PDF- header in its first "
            f"{PDF_HEADER_WINDOW} bytes; it is damaged or not a PDF, so ask the creditor to "
            "send it again",
        )
    return _problem(Problem.UNSUPPORTED, f"{_describe(filename)} is {_guess_format(data)}")


def _extract_xml(data: bytes, filename: str | None, exclusions: Exclusions) -> ExtractionResult:
    try:
        root = parse_xml(data)
    except etree.XMLSyntaxError as error:
        return _problem(
            Problem.UNREADABLE,
            f"{_describe(filename)} is not well-formed XML ({error}); ask the creditor to "
            "send it again",
        )

    if not is_ubl_document(root):
        return _problem(
            Problem.UNSUPPORTED,
            f"{_describe(filename)} is XML with root element {root.tag!r}, not a UBL 2.1 "
            "Invoice or CreditNote; other e-invoice formats such as CII are not supported yet",
        )
    return extract_ubl(root, exclusions=exclusions)


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
    return "neither a PDF nor UBL XML; only those formats are extracted"


def _describe(filename: str | None) -> str:
    return f"the file {filename!r}" if filename else "the file"


def _problem(problem: Problem, detail: str) -> ExtractionResult:
    return ExtractionResult(method="none", problem=problem, detail=detail)
