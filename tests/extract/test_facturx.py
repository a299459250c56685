"""Tests for PDFs with an embedded invoice XML (Factur-X, ZUGFeRD, XRechnung in a PDF)."""

from __future__ import annotations

import io

import pypdf
import pytest

from incasso.intake.extract import DocumentKind, FieldName, Problem, extract_document
from incasso.intake.extract import facturx as hybrid
from tests.factories import example_spec, make_invoice_pdf, make_ubl_invoice
from tests.factories.einvoice import (
    CII_NS,
    make_cii_invoice,
    make_facturx_pdf,
    make_order_x,
    make_pdf_with_files,
    make_zugferd1_invoice,
)

# Two invoices that differ in every field, so a test can tell which one was read.
PAGE_SPEC = example_spec("nl")
XML_SPEC = example_spec("en")


def _embedded_names(data: bytes) -> list[str]:
    return [attachment.name for attachment in pypdf.PdfReader(io.BytesIO(data)).attachment_list]


def test_facturx_fields_from_xml_not_page() -> None:
    data = make_facturx_pdf(PAGE_SPEC, make_cii_invoice(XML_SPEC))
    result = extract_document(data, filename="invoice.pdf")

    assert result.problem is None, result.detail
    assert result.method == "cii"
    assert len(result.invoices) == 1
    invoice = result.invoices[0]
    assert invoice.value(FieldName.INVOICE_NUMBER) == XML_SPEC.number
    assert invoice.value(FieldName.AMOUNT_DUE) == f"{XML_SPEC.amount_due:.2f}"
    assert invoice.value(FieldName.DEBTOR_NAME) == XML_SPEC.customer.name
    assert invoice.fields[FieldName.AMOUNT_DUE].source.startswith("cii ")
    assert {field.confidence for field in invoice.fields.values()} == {1.0}


def test_facturx_same_invoice_on_page_and_xml() -> None:
    spec = example_spec("fr")
    invoice = extract_document(make_facturx_pdf(spec, make_cii_invoice(spec))).invoices[0]

    assert invoice.value(FieldName.INVOICE_NUMBER) == spec.number
    assert invoice.value(FieldName.DUE_DATE) == "2026-10-14"
    assert invoice.value(FieldName.PAYMENT_REFERENCE) == spec.payment_reference


def test_facturx_with_junk_before_header() -> None:
    data = b"\xef\xbb\xbf" + make_facturx_pdf(PAGE_SPEC, make_cii_invoice(XML_SPEC))
    result = extract_document(data)

    assert result.method == "cii"
    assert result.invoices[0].value(FieldName.INVOICE_NUMBER) == XML_SPEC.number


def test_embedded_ubl_gives_ubl_method() -> None:
    data = make_pdf_with_files(
        make_invoice_pdf(PAGE_SPEC), [("factur-x.xml", make_ubl_invoice(XML_SPEC))]
    )
    result = extract_document(data)

    assert result.method == "ubl"
    assert result.invoices[0].value(FieldName.INVOICE_NUMBER) == XML_SPEC.number


def test_embedded_zugferd1_invoice() -> None:
    data = make_pdf_with_files(
        make_invoice_pdf(PAGE_SPEC), [("ZUGFeRD-invoice.xml", make_zugferd1_invoice(XML_SPEC))]
    )
    result = extract_document(data)

    assert result.method == "cii"
    assert result.invoices[0].value(FieldName.INVOICE_NUMBER) == XML_SPEC.number


def test_two_xmls_decided_by_name_not_order() -> None:
    zugferd = make_cii_invoice(example_spec("fr"))
    facturx_xml = make_cii_invoice(XML_SPEC)
    data = make_pdf_with_files(
        make_invoice_pdf(PAGE_SPEC),
        [("ZUGFeRD-invoice.xml", zugferd), ("factur-x.xml", facturx_xml)],
    )
    assert _embedded_names(data) == ["ZUGFeRD-invoice.xml", "factur-x.xml"]

    result = extract_document(data)

    assert result.invoices[0].value(FieldName.INVOICE_NUMBER) == XML_SPEC.number
    assert any("'ZUGFeRD-invoice.xml'" in note for note in result.notes)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (("factur-x.xml", "zugferd-invoice.xml"), "factur-x.xml"),
        (("xrechnung.xml", "zugferd-invoice.xml"), "zugferd-invoice.xml"),
        (("xrechnung.xml", "rechnung.xml"), "xrechnung.xml"),
    ],
)
def test_embedded_name_priority(files: tuple[str, str], expected: str) -> None:
    numbers = {name: f"NR-{index}" for index, name in enumerate(files)}
    embedded = [
        (name, make_cii_invoice(example_spec("nl", number=numbers[name]))) for name in files
    ]
    data = make_pdf_with_files(make_invoice_pdf(PAGE_SPEC), embedded)
    result = extract_document(data)

    assert result.method == "cii"
    assert result.invoices[0].value(FieldName.INVOICE_NUMBER) == numbers[expected]


def test_other_embedded_pdf_ignored() -> None:
    delivery_note = make_invoice_pdf(example_spec("fr", number="BL-2026-0099"))
    data = make_facturx_pdf(
        PAGE_SPEC, make_cii_invoice(XML_SPEC), attachments=[("Leveringsbon.pdf", delivery_note)]
    )
    assert sorted(_embedded_names(data)) == ["Leveringsbon.pdf", "factur-x.xml"]

    result = extract_document(data)

    assert result.method == "cii"
    assert len(result.invoices) == 1
    assert result.invoices[0].value(FieldName.INVOICE_NUMBER) == XML_SPEC.number
    assert any("'Leveringsbon.pdf'" in note for note in result.notes)
    assert not any("not well-formed" in note for note in result.notes)


def test_order_x_pdf_not_an_invoice() -> None:
    data = make_facturx_pdf(PAGE_SPEC, make_order_x("PO-2026-0311"), check_xsd=False)
    assert _embedded_names(data) == ["order-x.xml"]

    result = extract_document(data, filename="bestelling.pdf")

    assert result.problem is Problem.NOT_AN_INVOICE
    assert result.invoices == []
    assert result.detail is not None
    assert "ORDER-X" in result.detail
    assert "PO-2026-0311" in result.detail


def test_order_x_under_facturx_name() -> None:
    data = make_pdf_with_files(make_invoice_pdf(PAGE_SPEC), [("factur-x.xml", make_order_x())])
    result = extract_document(data)

    assert result.problem is Problem.NOT_AN_INVOICE
    assert result.invoices == []


def test_non_invoice_root_under_facturx_name_skipped() -> None:
    other = b'<data xmlns="urn:example:logistics"><parcel>4</parcel></data>'
    data = make_pdf_with_files(
        make_invoice_pdf(PAGE_SPEC),
        [("factur-x.xml", other), ("zugferd-invoice.xml", make_cii_invoice(XML_SPEC))],
    )
    result = extract_document(data)

    assert result.method == "cii"
    assert result.invoices[0].value(FieldName.INVOICE_NUMBER) == XML_SPEC.number
    assert any("'factur-x.xml' has root element" in note for note in result.notes)


def test_only_other_pdf_embedded() -> None:
    delivery_note = make_invoice_pdf(example_spec("fr", number="BL-2026-0099"))
    data = make_pdf_with_files(make_invoice_pdf(PAGE_SPEC), [("Leveringsbon.pdf", delivery_note)])
    result = extract_document(data)

    assert result.method == "pdf-text"
    assert len(result.invoices) == 1
    assert result.invoices[0].value(FieldName.INVOICE_NUMBER) == PAGE_SPEC.number
    assert result.notes == []


def test_broken_xml_falls_back_to_text_layer() -> None:
    broken = make_cii_invoice(XML_SPEC)[:-40]
    data = make_pdf_with_files(make_invoice_pdf(PAGE_SPEC), [("factur-x.xml", broken)])
    result = extract_document(data)

    assert result.problem is None, result.detail
    assert result.method == "pdf-text"
    assert result.invoices[0].value(FieldName.INVOICE_NUMBER) == PAGE_SPEC.number
    assert any("'factur-x.xml' is not well-formed XML" in note for note in result.notes)


def test_broken_facturx_xml_uses_zugferd_xml() -> None:
    broken = make_cii_invoice(example_spec("fr"))[:-40]
    data = make_pdf_with_files(
        make_invoice_pdf(PAGE_SPEC),
        [("factur-x.xml", broken), ("zugferd-invoice.xml", make_cii_invoice(XML_SPEC))],
    )
    result = extract_document(data)

    assert result.method == "cii"
    assert result.invoices[0].value(FieldName.INVOICE_NUMBER) == XML_SPEC.number
    assert any("not well-formed" in note for note in result.notes)


def test_xml_without_invoice_falls_back() -> None:
    empty = b'<rsm:CrossIndustryInvoice xmlns:rsm="%s"/>' % CII_NS["rsm"].encode()
    data = make_pdf_with_files(make_invoice_pdf(PAGE_SPEC), [("factur-x.xml", empty)])
    result = extract_document(data)

    assert result.method == "pdf-text"
    assert result.invoices[0].value(FieldName.INVOICE_NUMBER) == PAGE_SPEC.number
    assert any("gave no invoice" in note for note in result.notes)


def test_non_invoice_xml_only_reads_text_layer() -> None:
    other = b'<data xmlns="urn:example:logistics"><parcel>4</parcel></data>'
    data = make_pdf_with_files(make_invoice_pdf(PAGE_SPEC), [("additional_data.xml", other)])
    result = extract_document(data)

    assert result.method == "pdf-text"
    assert result.invoices[0].value(FieldName.INVOICE_NUMBER) == PAGE_SPEC.number


def test_credit_note_in_pdf() -> None:
    spec = example_spec("nl", credit_note=True, number="CN-2026-0007")
    result = extract_document(make_facturx_pdf(spec, make_cii_invoice(spec)))

    assert result.invoices[0].kind is DocumentKind.CREDIT_NOTE


def test_plain_pdf_reads_text_layer() -> None:
    result = extract_document(make_invoice_pdf(PAGE_SPEC))

    assert result.method == "pdf-text"
    assert result.notes == []


def test_second_reader_when_pypdf_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_listing(data: bytes) -> tuple[list[object], bool]:
        return [], False

    monkeypatch.setattr(hybrid, "_list_with_pypdf", failing_listing)
    data = make_facturx_pdf(PAGE_SPEC, make_cii_invoice(XML_SPEC))
    result = extract_document(data)

    assert result.method == "cii"
    assert result.invoices[0].value(FieldName.INVOICE_NUMBER) == XML_SPEC.number
    assert any("factur-x library" in note for note in result.notes)


def test_truncated_pdf_unreadable() -> None:
    data = make_facturx_pdf(PAGE_SPEC, make_cii_invoice(XML_SPEC))[:15]
    result = extract_document(data, filename="factur-x.pdf")

    assert result.problem is Problem.UNREADABLE
    assert result.invoices == []
