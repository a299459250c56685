"""Tests for Cross Industry Invoice (Factur-X, ZUGFeRD, XRechnung) XML extraction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from drafthorse.models.accounting import ApplicableTradeTax
from drafthorse.models.document import Document
from drafthorse.models.party import TaxRegistration
from drafthorse.models.payment import PaymentTerms
from drafthorse.models.tradelines import LineItem
from lxml import etree

from incasso.intake.extract import (
    DocumentKind,
    ExtractedInvoice,
    ExtractionResult,
    FieldName,
    Problem,
    extract_document,
)
from incasso.intake.extract.reference import reference_fields
from tests.factories import InvoiceLine, InvoiceSpec, example_spec, make_ubl_invoice
from tests.factories.einvoice import (
    CII_NS,
    TaxCurrency,
    make_cii_invoice,
    make_order_x,
    make_zugferd1_invoice,
    wrap_in_peppol_envelope,
)

SUMMATION = (
    "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
    "/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
)
SETTLEMENT = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
BUYER = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement/ram:BuyerTradeParty"


def _single(result: ExtractionResult) -> ExtractedInvoice:
    assert result.problem is None, result.detail
    assert result.method == "cii"
    assert len(result.invoices) == 1
    return result.invoices[0]


def _edit(data: bytes, path: str, text: str) -> bytes:
    """Return the XML with the text of the first element at ``path`` replaced."""
    root = etree.fromstring(data)
    element = root.xpath(path, namespaces=CII_NS)[0]
    element.text = text
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _remove(data: bytes, path: str) -> bytes:
    root = etree.fromstring(data)
    for element in root.xpath(path, namespaces=CII_NS):
        element.getparent().remove(element)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def test_cii_invoice_fields() -> None:
    spec = example_spec("en")
    invoice = _single(extract_document(make_cii_invoice(spec), filename="factur-x.xml"))

    assert invoice.kind is DocumentKind.INVOICE
    assert invoice.value(FieldName.INVOICE_NUMBER) == spec.number
    assert invoice.value(FieldName.ISSUE_DATE) == "2026-09-14"
    assert invoice.value(FieldName.DUE_DATE) == "2026-10-14"
    assert invoice.value(FieldName.CURRENCY) == "EUR"
    assert invoice.value(FieldName.AMOUNT_DUE) == f"{spec.amount_due:.2f}"
    assert invoice.value(FieldName.TOTAL_WITH_VAT) == f"{spec.total:.2f}"
    assert invoice.value(FieldName.TOTAL_WITHOUT_VAT) == f"{spec.subtotal:.2f}"
    assert invoice.value(FieldName.VAT_TOTAL) == f"{spec.vat_total:.2f}"
    assert invoice.value(FieldName.DEBTOR_NAME) == spec.customer.name
    assert invoice.value(FieldName.DEBTOR_EMAIL) == spec.customer.email
    assert invoice.value(FieldName.DEBTOR_VAT) == spec.customer.vat
    assert invoice.value(FieldName.DEBTOR_ADDRESS) == "Industrieweg 112, 2030 Antwerpen, BE"
    assert invoice.value(FieldName.SELLER_NAME) == spec.creditor.name
    assert invoice.value(FieldName.SELLER_VAT) == spec.creditor.vat
    assert invoice.value(FieldName.PAYMENT_REFERENCE) == spec.payment_reference
    assert invoice.value(FieldName.PAYEE_IBAN) == "BE71096123456769"
    assert invoice.value(FieldName.DESCRIPTION) == spec.lines[0].description


def test_cii_confidence_and_source() -> None:
    invoice = _single(extract_document(make_cii_invoice(example_spec("nl"))))

    assert {field.confidence for field in invoice.fields.values()} == {1.0}
    assert invoice.fields[FieldName.AMOUNT_DUE].source == f"cii {SUMMATION}/ram:DuePayableAmount"
    number_source = invoice.fields[FieldName.INVOICE_NUMBER].source
    assert number_source == "cii rsm:ExchangedDocument/ram:ID"
    assert invoice.fields[FieldName.ISSUE_DATE].raw == "20260914"


def test_cii_lists_vat_numbers() -> None:
    spec = example_spec("en")
    result = extract_document(make_cii_invoice(spec))

    assert spec.creditor.vat in result.vat_numbers
    assert spec.customer.vat in result.vat_numbers


def test_zugferd1_document_fields() -> None:
    spec = example_spec("nl")
    data = make_zugferd1_invoice(spec)
    invoice = _single(extract_document(data, filename="ZUGFeRD-invoice.xml"))

    assert etree.QName(etree.fromstring(data)).localname == "CrossIndustryDocument"
    assert invoice.value(FieldName.INVOICE_NUMBER) == spec.number
    assert invoice.value(FieldName.ISSUE_DATE) == "2026-09-14"
    assert invoice.value(FieldName.DUE_DATE) == "2026-10-14"
    assert invoice.value(FieldName.AMOUNT_DUE) == "1222.10"
    assert invoice.value(FieldName.VAT_TOTAL) == "212.10"
    assert invoice.value(FieldName.SELLER_VAT) == spec.creditor.vat
    assert invoice.value(FieldName.PAYEE_IBAN) == "BE71096123456769"
    assert invoice.value(FieldName.DESCRIPTION) == spec.lines[0].description
    source = invoice.fields[FieldName.INVOICE_NUMBER].source
    assert source == "cii rsm:HeaderExchangedDocument/ram:ID"


def test_cii_written_by_drafthorse() -> None:
    document = Document()
    document.context.guideline_parameter.id = "urn:cen.eu:en16931:2017"
    document.header.id = "DH-2026-0031"
    document.header.type_code = "380"
    document.header.issue_date_time = date(2026, 11, 3)
    document.trade.agreement.seller.name = "Drukkerij Peeters BV"
    document.trade.agreement.seller.address.country_id = "BE"
    document.trade.agreement.seller.tax_registrations.add(
        TaxRegistration(id=("VA", "BE0451237763"))
    )
    document.trade.agreement.buyer.name = "Bakkerij De Molen"
    document.trade.agreement.buyer.address.country_id = "BE"
    document.trade.settlement.currency_code = "EUR"
    document.trade.settlement.payment_reference = "+++102/6041/20133+++"
    terms = PaymentTerms()
    terms.due = date(2026, 12, 3)
    document.trade.settlement.terms.add(terms)

    item = LineItem()
    item.document.line_id = "1"
    item.product.name = "Flyers A5, 2000 stuks"
    item.agreement.net.amount = Decimal("250.00")
    item.delivery.billed_quantity = (Decimal("1.0000"), "C62")
    item.settlement.trade_tax.type_code = "VAT"
    item.settlement.trade_tax.category_code = "S"
    item.settlement.trade_tax.rate_applicable_percent = Decimal("21.00")
    item.settlement.monetary_summation.total_amount = Decimal("250.00")
    document.trade.items.add(item)

    tax = ApplicableTradeTax()
    tax.calculated_amount = Decimal("52.50")
    tax.basis_amount = Decimal("250.00")
    tax.type_code = "VAT"
    tax.category_code = "S"
    tax.rate_applicable_percent = Decimal("21.00")
    document.trade.settlement.trade_tax.add(tax)
    summation = document.trade.settlement.monetary_summation
    summation.line_total = Decimal("250.00")
    summation.tax_basis_total = Decimal("250.00")
    summation.tax_total = (Decimal("52.50"), "EUR")
    summation.grand_total = Decimal("302.50")
    summation.due_amount = Decimal("302.50")

    xml = document.serialize(schema="FACTUR-X_EN16931")
    invoice = _single(extract_document(xml))

    assert invoice.value(FieldName.INVOICE_NUMBER) == "DH-2026-0031"
    assert invoice.value(FieldName.ISSUE_DATE) == "2026-11-03"
    assert invoice.value(FieldName.DUE_DATE) == "2026-12-03"
    assert invoice.value(FieldName.AMOUNT_DUE) == "302.50"
    assert invoice.value(FieldName.VAT_TOTAL) == "52.50"
    assert invoice.value(FieldName.SELLER_VAT) == "BE0451237763"
    assert invoice.value(FieldName.DEBTOR_NAME) == "Bakkerij De Molen"
    assert invoice.value(FieldName.PAYMENT_REFERENCE) == "102604120133"
    assert invoice.value(FieldName.DESCRIPTION) == "Flyers A5, 2000 stuks"


def test_cii_credit_note_positive_amounts() -> None:
    spec = example_spec("nl", credit_note=True, number="CN-2026-0007")
    invoice = _single(extract_document(make_cii_invoice(spec)))

    assert invoice.kind is DocumentKind.CREDIT_NOTE
    assert invoice.value(FieldName.AMOUNT_DUE) == "1222.10"


def test_cii_negative_due_amount_credit() -> None:
    refund = (InvoiceLine("Terugbetaling voorschot", Decimal("-1"), Decimal("400.00")),)
    spec = example_spec("nl", lines=refund)
    result = extract_document(make_cii_invoice(spec, type_code="380"))
    invoice = _single(result)

    assert invoice.kind is DocumentKind.CREDIT_NOTE
    assert invoice.value(FieldName.AMOUNT_DUE) == "-484.00"
    assert any("negative DuePayableAmount -484.00" in note for note in result.notes)


def test_cii_two_tax_totals_takes_invoice_currency() -> None:
    spec = example_spec("nl")
    data = make_cii_invoice(spec, tax_currency=TaxCurrency("USD", Decimal("1.1000")))
    root = etree.fromstring(data)
    amounts = root.xpath(f"{SUMMATION}/ram:TaxTotalAmount", namespaces=CII_NS)
    assert [amount.get("currencyID") for amount in amounts] == ["USD", "EUR"]

    invoice = _single(extract_document(data))

    assert invoice.value(FieldName.VAT_TOTAL) == "212.10"
    assert invoice.fields[FieldName.VAT_TOTAL].source.endswith("[@currencyID='EUR']")
    assert invoice.fields[FieldName.VAT_TOTAL].doubts == ()


def test_cii_tax_total_missing_in_invoice_currency() -> None:
    spec = example_spec("nl")
    data = make_cii_invoice(spec, tax_currency=TaxCurrency("USD", Decimal("1.1000")))
    data = _remove(data, f"{SUMMATION}/ram:TaxTotalAmount[@currencyID='EUR']")
    result = extract_document(data)

    assert _single(result).value(FieldName.VAT_TOTAL) is None
    assert any("invoice currency EUR" in note for note in result.notes)


def test_cii_non_euro_currency_kept() -> None:
    spec = example_spec("en", currency="USD")
    invoice = _single(extract_document(make_cii_invoice(spec)))

    assert invoice.value(FieldName.CURRENCY) == "USD"
    assert invoice.value(FieldName.AMOUNT_DUE) == f"{spec.total:.2f}"
    assert invoice.value(FieldName.VAT_TOTAL) == f"{spec.vat_total:.2f}"


def test_cii_currency_from_amount_attribute() -> None:
    spec = example_spec("nl")
    data = _remove(make_cii_invoice(spec), f"{SETTLEMENT}/ram:InvoiceCurrencyCode")
    root = etree.fromstring(data)
    root.xpath(f"{SUMMATION}/ram:DuePayableAmount", namespaces=CII_NS)[0].set("currencyID", "EUR")
    invoice = _single(extract_document(etree.tostring(root)))

    assert invoice.value(FieldName.CURRENCY) == "EUR"
    assert invoice.value(FieldName.VAT_TOTAL) == "212.10"


def test_cii_four_decimal_lines_use_header_totals() -> None:
    lines = (InvoiceLine("Bouten M8, per 1000", Decimal("3"), Decimal("15.6835")),)
    spec = example_spec("nl", lines=lines)
    data = make_cii_invoice(spec, line_decimals=4)
    line_total = etree.fromstring(data).xpath(
        "//ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount",
        namespaces=CII_NS,
    )[0]
    assert line_total.text == "47.0505"

    invoice = _single(extract_document(data))

    assert invoice.value(FieldName.TOTAL_WITHOUT_VAT) == f"{spec.subtotal:.2f}"
    assert invoice.value(FieldName.AMOUNT_DUE) == f"{spec.total:.2f}"
    assert invoice.fields[FieldName.AMOUNT_DUE].doubts == ()


def test_cii_four_decimal_amount_rounded_half_up() -> None:
    data = _edit(
        make_cii_invoice(example_spec("nl")), f"{SUMMATION}/ram:DuePayableAmount", "1222.1050"
    )
    field = _single(extract_document(data)).fields[FieldName.AMOUNT_DUE]

    assert field.value == "1222.11"  # half-even rounding would give 1222.10
    assert field.raw == "1222.1050"
    assert field.confidence == 1.0


def test_cii_unclean_amount_doubted() -> None:
    data = _edit(
        make_cii_invoice(example_spec("nl")), f"{SUMMATION}/ram:DuePayableAmount", "1.222,10"
    )
    field = _single(extract_document(data)).fields[FieldName.AMOUNT_DUE]

    assert field.value == "1222.10"
    assert field.confidence < 0.8
    assert len(field.doubts) == 1
    assert "'1.222,10'" in field.doubts[0]


def test_cii_unreadable_amount_left_out() -> None:
    data = _edit(make_cii_invoice(example_spec("nl")), f"{SUMMATION}/ram:DuePayableAmount", "n/a")
    result = extract_document(data)

    assert _single(result).value(FieldName.AMOUNT_DUE) is None
    assert any("'n/a' is not an amount" in note for note in result.notes)


def test_cii_payment_terms_without_due_date() -> None:
    spec = example_spec("nl", due_date=None, payment_term_days=30)
    field = _single(extract_document(make_cii_invoice(spec))).fields[FieldName.DUE_DATE]

    assert field.value == "2026-10-14"
    assert field.confidence == 0.8
    assert field.raw == "Payable within 30 days"
    assert "issue date plus 30 days" in field.source


def test_cii_due_date_wins_over_terms() -> None:
    spec = example_spec("nl", payment_term_days=15)
    field = _single(extract_document(make_cii_invoice(spec))).fields[FieldName.DUE_DATE]

    assert field.value == "2026-10-14"
    assert field.confidence == 1.0


def test_cii_several_due_dates_take_latest() -> None:
    root = etree.fromstring(make_cii_invoice(example_spec("nl")))
    terms = root.xpath(f"{SETTLEMENT}/ram:SpecifiedTradePaymentTerms", namespaces=CII_NS)[0]
    discount = etree.fromstring(etree.tostring(terms))
    discount.xpath(".//udt:DateTimeString", namespaces=CII_NS)[0].text = "20260924"
    terms.addnext(discount)
    field = _single(extract_document(etree.tostring(root))).fields[FieldName.DUE_DATE]

    assert field.value == "2026-10-14"
    assert field.confidence < 0.8
    assert "2026-09-24, 2026-10-14" in field.doubts[0]


def test_cii_date_in_other_format_left_out() -> None:
    path = "rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString"
    data = _edit(make_cii_invoice(example_spec("nl")), path, "2026-09-14")
    result = extract_document(data)

    assert _single(result).value(FieldName.ISSUE_DATE) is None
    assert any("'2026-09-14'" in note and "YYYYMMDD" in note for note in result.notes)


def test_cii_tax_number_not_vat() -> None:
    root = etree.fromstring(make_cii_invoice(example_spec("en")))
    vat_id = root.xpath(f"{BUYER}/ram:SpecifiedTaxRegistration/ram:ID", namespaces=CII_NS)[0]
    vat_id.set("schemeID", "FC")
    vat_id.text = "201/113/40209"
    invoice = _single(extract_document(etree.tostring(root)))

    assert invoice.value(FieldName.DEBTOR_VAT) is None


def test_cii_enterprise_number_scheme_0208() -> None:
    root = etree.fromstring(make_cii_invoice(example_spec("nl")))
    buyer = root.xpath(BUYER, namespaces=CII_NS)[0]
    organization = etree.Element(f"{{{CII_NS['ram']}}}SpecifiedLegalOrganization")
    etree.SubElement(organization, f"{{{CII_NS['ram']}}}ID", schemeID="0208").text = "0403.170.701"
    buyer[0].addnext(organization)  # right after ram:Name
    result = extract_document(etree.tostring(root))

    assert _single(result).value(FieldName.DEBTOR_VAT) == "BE0403170701"
    assert "BE0403170701" in result.vat_numbers


def test_cii_excluded_buyer_email() -> None:
    spec = example_spec("en")
    assert spec.customer.email is not None
    result = extract_document(make_cii_invoice(spec), exclude=[spec.customer.email])

    assert _single(result).value(FieldName.DEBTOR_EMAIL) is None


def test_cii_excluded_buyer_vat() -> None:
    spec = example_spec("en")
    assert spec.customer.vat is not None
    result = extract_document(make_cii_invoice(spec), exclude=[spec.customer.vat])

    assert _single(result).value(FieldName.DEBTOR_VAT) is None


def test_cii_empty_document_not_an_invoice() -> None:
    data = b'<rsm:CrossIndustryInvoice xmlns:rsm="%s"/>' % CII_NS["rsm"].encode()
    result = extract_document(data)

    assert result.problem is Problem.NOT_AN_INVOICE
    assert result.detail is not None
    assert "CrossIndustryInvoice" in result.detail


def test_order_x_not_an_invoice() -> None:
    result = extract_document(make_order_x("PO-2026-0311"), filename="order-x.xml")

    assert result.problem is Problem.NOT_AN_INVOICE
    assert result.invoices == []
    assert result.detail is not None
    assert "ORDER-X order PO-2026-0311" in result.detail


def test_cii_entities_not_expanded() -> None:
    namespaces = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in CII_NS.items())
    data = (
        '<?xml version="1.0"?>\n'
        '<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/hostname">]>\n'
        f"<rsm:CrossIndustryInvoice {namespaces}><rsm:ExchangedDocument>"
        "<ram:ID>&secret;</ram:ID><ram:TypeCode>380</ram:TypeCode><ram:IssueDateTime>"
        '<udt:DateTimeString format="102">20260914</udt:DateTimeString></ram:IssueDateTime>'
        "</rsm:ExchangedDocument></rsm:CrossIndustryInvoice>"
    ).encode()
    invoice = _single(extract_document(data))

    assert invoice.value(FieldName.INVOICE_NUMBER) is None
    assert invoice.value(FieldName.ISSUE_DATE) == "2026-09-14"


def test_cii_schema_error_noted() -> None:
    root = etree.fromstring(make_cii_invoice(example_spec("nl")))
    header = root.xpath("rsm:ExchangedDocument", namespaces=CII_NS)[0]
    etree.SubElement(header, f"{{{CII_NS['ram']}}}Unexpected").text = "x"
    result = extract_document(etree.tostring(root))

    assert _single(result).value(FieldName.AMOUNT_DUE) == "1222.10"
    assert any("schema" in note and "Unexpected" in note for note in result.notes)


def test_valid_cii_has_no_notes() -> None:
    result = extract_document(make_cii_invoice(example_spec("nl")))

    assert result.notes == []


@pytest.mark.parametrize(
    "make",
    [make_cii_invoice, make_zugferd1_invoice, make_ubl_invoice],
    ids=["cii", "zugferd1", "ubl"],
)
def test_reference_fields_match_extraction(make: Callable[[InvoiceSpec], bytes]) -> None:
    spec = example_spec("en", already_paid=Decimal("100.00"))
    data = make(spec)
    expected = reference_fields(data)
    invoice = extract_document(data).invoices[0]

    assert len(expected) == 1
    assert expected[0]["kind"] == "invoice"
    assert expected[0]["amount_due"] == f"{spec.amount_due:.2f}"
    for key, value in expected[0].items():
        if key != "kind":
            assert invoice.value(FieldName(key)) == value, key


def test_reference_fields_other_documents() -> None:
    refund = (InvoiceLine("Refund", Decimal("-1"), Decimal("10.00")),)
    negative = make_cii_invoice(replace(example_spec("nl"), lines=refund))
    spec = example_spec("fr")
    enveloped = wrap_in_peppol_envelope(make_ubl_invoice(spec))

    assert reference_fields(negative)[0]["kind"] == "credit_note"
    assert reference_fields(enveloped)[0]["invoice_number"] == spec.number
    assert reference_fields(make_order_x()) == []
