"""Tests for format sniffing and failure results of extract_document."""

from __future__ import annotations

import pytest

from incasso.intake.extract import Problem, extract_document
from tests.factories import example_spec, make_invoice_pdf, make_ubl_invoice


def test_empty_file_unreadable() -> None:
    result = extract_document(b"", filename="factuur.pdf")

    assert result.problem is Problem.UNREADABLE
    assert result.method == "none"
    assert result.detail is not None
    assert "0 bytes" in result.detail


def test_content_decides_not_name() -> None:
    pdf = make_invoice_pdf(example_spec("nl"))
    ubl = make_ubl_invoice(example_spec("nl"))

    assert extract_document(pdf, filename="invoice.xml").method == "pdf-text"
    as_pdf = extract_document(ubl, filename="factuur.pdf", content_type="application/pdf")
    assert as_pdf.method == "ubl"


def test_pdf_header_after_1024_bytes_ignored() -> None:
    data = b"x" * 1024 + make_invoice_pdf(example_spec("nl"))
    result = extract_document(data, filename="scan.bin")

    assert result.problem is Problem.UNSUPPORTED


def test_claimed_pdf_without_header_unreadable() -> None:
    result = extract_document(b"Hello, this is not a PDF", content_type="application/pdf")

    assert result.problem is Problem.UNREADABLE
    assert result.detail is not None
    assert "%PDF-" in result.detail


@pytest.mark.parametrize(
    "data",
    [
        b"<Invoice><cbc:ID>1</Invoice>",
        b'<?xml version="1.0"?>\n'
        b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">',
        b"\xef\xbb\xbf<Invoice></Invoic>",
    ],
)
def test_broken_xml_unreadable(data: bytes) -> None:
    result = extract_document(data, filename="invoice.xml")

    assert result.problem is Problem.UNREADABLE
    assert result.invoices == []
    assert result.detail is not None
    assert "XML" in result.detail


def test_empty_cii_is_not_an_invoice() -> None:
    data = (
        b"<rsm:CrossIndustryInvoice"
        b' xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"/>'
    )
    result = extract_document(data)

    assert result.problem is Problem.NOT_AN_INVOICE
    assert result.detail is not None
    assert "CrossIndustryInvoice" in result.detail


def test_ubl_wrong_namespace_unsupported() -> None:
    result = extract_document(b'<Invoice xmlns="urn:example:not-ubl"/>')

    assert result.problem is Problem.UNSUPPORTED


def test_plain_text_unsupported() -> None:
    result = extract_document(b"Plain text, no invoice", filename="attachment")

    assert result.problem is Problem.UNSUPPORTED
    assert result.detail is not None
    assert "neither" in result.detail


@pytest.mark.parametrize(
    ("data", "word"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "PNG"),
        (b"II*\x00" + b"\x00" * 20, "TIFF"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "JPEG"),
    ],
)
def test_damaged_images_unreadable(data: bytes, word: str) -> None:
    result = extract_document(data, filename="attachment")

    assert result.problem is Problem.UNREADABLE
    assert result.detail is not None
    assert word in result.detail


def test_unrecognized_exclude_entry_ignored(caplog: pytest.LogCaptureFixture) -> None:
    spec = example_spec("nl")
    result = extract_document(make_invoice_pdf(spec), exclude=["not a value"])

    assert result.problem is None
    assert "not a value" in caplog.text
