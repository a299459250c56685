"""Generate CII e-invoices (lxml), Factur-X PDFs (factur-x library) and Peppol envelopes.

Everything is built from an :class:`~tests.factories.invoice_pdf.InvoiceSpec`, so
one spec gives the PDF, the UBL file and the CII file of the same invoice. The
companies and numbers are the invented ones of ``example_spec``.

Typical use::

    spec = example_spec("nl")
    pdf = make_facturx_pdf(spec, make_cii_invoice(spec))

CII documents follow the Factur-X 1.0 EN 16931 profile; :func:`make_facturx_pdf`
checks them against its XSD (the factur-x library ships it), so a fixture that
drifts from the standard fails loudly. ZUGFeRD 1.0 documents are written in the
old ``CrossIndustryDocument`` vocabulary without a schema check.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import facturx
import pypdf
from lxml import etree

from tests.factories.invoice_pdf import (
    CENT,
    InvoiceSpec,
    Party,
    format_ogm,
    make_invoice_pdf,
)

CII_NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
}
ZUGFERD1_NS = {
    "rsm": "urn:ferd:CrossIndustryDocument:invoice:1p0",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15",
}
ORDER_X_NS = {
    "rsm": "urn:un:unece:uncefact:data:SCRDMCCBDACIOMessageStructure:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:128",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:128",
}
SBDH_NS = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
EN16931_GUIDELINE = "urn:cen.eu:en16931:2017"
ZUGFERD1_GUIDELINE = "urn:ferd:CrossIndustryDocument:invoice:1p0:comfort"
PAYEE_IBAN = "BE71096123456769"
SEPA_CREDIT_TRANSFER = "58"  # UNTDID 4461 payment means code


@dataclass(frozen=True)
class TaxCurrency:
    """A second currency in which the VAT total is also stated, with its exchange rate."""

    code: str
    rate: Decimal  # units of this currency per unit of the invoice currency


def make_cii_invoice(
    spec: InvoiceSpec,
    *,
    type_code: str | None = None,
    tax_currency: TaxCurrency | None = None,
    line_decimals: int = 2,
    due_date_in_terms: bool = True,
) -> bytes:
    """Return a Factur-X EN 16931 CrossIndustryInvoice for ``spec`` as UTF-8 XML.

    ``type_code`` defaults to 381 for credit notes and 380 otherwise. With
    ``tax_currency`` the document also states its VAT total in that currency, and
    that TaxTotalAmount comes first, as a trap for readers that take the first.
    ``line_decimals`` sets the decimals of line totals (header totals keep two).
    ``payment_term_days`` becomes the payment terms' description, and the due date
    is left out when ``due_date_in_terms`` is false.
    """
    root = etree.Element(_q(CII_NS, "rsm:CrossIndustryInvoice"), nsmap=CII_NS)
    context = _sub(root, CII_NS, "rsm:ExchangedDocumentContext")
    guideline = _sub(context, CII_NS, "ram:GuidelineSpecifiedDocumentContextParameter")
    _sub(guideline, CII_NS, "ram:ID", EN16931_GUIDELINE)

    header = _sub(root, CII_NS, "rsm:ExchangedDocument")
    _sub(header, CII_NS, "ram:ID", spec.number)
    _sub(header, CII_NS, "ram:TypeCode", type_code or ("381" if spec.credit_note else "380"))
    _cii_date(_sub(header, CII_NS, "ram:IssueDateTime"), CII_NS, spec.issue_date.strftime("%Y%m%d"))

    transaction = _sub(root, CII_NS, "rsm:SupplyChainTradeTransaction")
    _cii_lines(transaction, spec, line_decimals)

    agreement = _sub(transaction, CII_NS, "ram:ApplicableHeaderTradeAgreement")
    _cii_party(_sub(agreement, CII_NS, "ram:SellerTradeParty"), CII_NS, spec.creditor)
    _cii_party(_sub(agreement, CII_NS, "ram:BuyerTradeParty"), CII_NS, spec.customer)
    _sub(transaction, CII_NS, "ram:ApplicableHeaderTradeDelivery")
    _cii_settlement(transaction, spec, tax_currency, due_date_in_terms)
    return _serialize(root)


def _cii_lines(transaction: etree._Element, spec: InvoiceSpec, decimals: int) -> None:
    for number, line in enumerate(spec.lines, start=1):
        item = _sub(transaction, CII_NS, "ram:IncludedSupplyChainTradeLineItem")
        document = _sub(item, CII_NS, "ram:AssociatedDocumentLineDocument")
        _sub(document, CII_NS, "ram:LineID", str(number))
        _sub(_sub(item, CII_NS, "ram:SpecifiedTradeProduct"), CII_NS, "ram:Name", line.description)

        agreement = _sub(item, CII_NS, "ram:SpecifiedLineTradeAgreement")
        price = _sub(agreement, CII_NS, "ram:NetPriceProductTradePrice")
        _sub(price, CII_NS, "ram:ChargeAmount", f"{line.unit_price:.2f}")
        delivery = _sub(item, CII_NS, "ram:SpecifiedLineTradeDelivery")
        _sub(delivery, CII_NS, "ram:BilledQuantity", f"{line.quantity:.4f}", unitCode="C62")

        settlement = _sub(item, CII_NS, "ram:SpecifiedLineTradeSettlement")
        tax = _sub(settlement, CII_NS, "ram:ApplicableTradeTax")
        _sub(tax, CII_NS, "ram:TypeCode", "VAT")
        _sub(tax, CII_NS, "ram:CategoryCode", "S")
        _sub(tax, CII_NS, "ram:RateApplicablePercent", f"{line.vat_rate:.2f}")
        summation = _sub(settlement, CII_NS, "ram:SpecifiedTradeSettlementLineMonetarySummation")
        exact = line.quantity * line.unit_price
        _sub(summation, CII_NS, "ram:LineTotalAmount", f"{exact:.{decimals}f}")


def _cii_party(element: etree._Element, ns: dict[str, str], party: Party) -> None:
    _sub(element, ns, "ram:Name", party.name)
    address = _sub(element, ns, "ram:PostalTradeAddress")
    _sub(address, ns, "ram:PostcodeCode", party.postcode)
    _sub(address, ns, "ram:LineOne", party.street)
    _sub(address, ns, "ram:CityName", party.city)
    _sub(address, ns, "ram:CountryID", party.country)
    if party.email and ns is CII_NS:
        communication = _sub(element, ns, "ram:URIUniversalCommunication")
        _sub(communication, ns, "ram:URIID", party.email, schemeID="EM")
    if party.vat:
        registration = _sub(element, ns, "ram:SpecifiedTaxRegistration")
        _sub(registration, ns, "ram:ID", party.vat, schemeID="VA")


def _cii_settlement(
    transaction: etree._Element,
    spec: InvoiceSpec,
    tax_currency: TaxCurrency | None,
    due_date_in_terms: bool,
) -> None:
    settlement = _sub(transaction, CII_NS, "ram:ApplicableHeaderTradeSettlement")
    if spec.payment_reference is not None:
        _sub(settlement, CII_NS, "ram:PaymentReference", format_ogm(spec.payment_reference))
    if tax_currency is not None:
        _sub(settlement, CII_NS, "ram:TaxCurrencyCode", tax_currency.code)
    _sub(settlement, CII_NS, "ram:InvoiceCurrencyCode", spec.currency)

    means = _sub(settlement, CII_NS, "ram:SpecifiedTradeSettlementPaymentMeans")
    _sub(means, CII_NS, "ram:TypeCode", SEPA_CREDIT_TRANSFER)
    account = _sub(means, CII_NS, "ram:PayeePartyCreditorFinancialAccount")
    _sub(account, CII_NS, "ram:IBANID", PAYEE_IBAN)

    for rate, basis, amount in _vat_breakdown(spec):
        tax = _sub(settlement, CII_NS, "ram:ApplicableTradeTax")
        _sub(tax, CII_NS, "ram:CalculatedAmount", f"{amount:.2f}")
        _sub(tax, CII_NS, "ram:TypeCode", "VAT")
        _sub(tax, CII_NS, "ram:BasisAmount", f"{basis:.2f}")
        _sub(tax, CII_NS, "ram:CategoryCode", "S")
        _sub(tax, CII_NS, "ram:RateApplicablePercent", f"{rate:.2f}")

    terms = _sub(settlement, CII_NS, "ram:SpecifiedTradePaymentTerms")
    if spec.payment_term_days is not None:
        _sub(terms, CII_NS, "ram:Description", f"Payable within {spec.payment_term_days} days")
    if spec.due_date is not None and due_date_in_terms:
        due = _sub(terms, CII_NS, "ram:DueDateDateTime")
        _cii_date(due, CII_NS, spec.due_date.strftime("%Y%m%d"))

    summation = _sub(settlement, CII_NS, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _sub(summation, CII_NS, "ram:LineTotalAmount", f"{spec.subtotal:.2f}")
    _sub(summation, CII_NS, "ram:TaxBasisTotalAmount", f"{spec.subtotal:.2f}")
    if tax_currency is not None:
        converted = (spec.vat_total * tax_currency.rate).quantize(CENT, rounding=ROUND_HALF_UP)
        _sub(
            summation,
            CII_NS,
            "ram:TaxTotalAmount",
            f"{converted:.2f}",
            currencyID=tax_currency.code,
        )
    _sub(summation, CII_NS, "ram:TaxTotalAmount", f"{spec.vat_total:.2f}", currencyID=spec.currency)
    _sub(summation, CII_NS, "ram:GrandTotalAmount", f"{spec.total:.2f}")
    if spec.already_paid is not None:
        _sub(summation, CII_NS, "ram:TotalPrepaidAmount", f"{spec.already_paid:.2f}")
    _sub(summation, CII_NS, "ram:DuePayableAmount", f"{spec.amount_due:.2f}")


def _vat_breakdown(spec: InvoiceSpec) -> list[tuple[Decimal, Decimal, Decimal]]:
    """Return (rate, basis, VAT) per rate, from the spec's lines."""
    by_rate: dict[Decimal, tuple[Decimal, Decimal]] = {}
    for line in spec.lines:
        basis, amount = by_rate.get(line.vat_rate, (Decimal("0.00"), Decimal("0.00")))
        by_rate[line.vat_rate] = (basis + line.net, amount + line.vat)
    return [(rate, basis, amount) for rate, (basis, amount) in by_rate.items()]


def make_zugferd1_invoice(spec: InvoiceSpec) -> bytes:
    """Return a ZUGFeRD 1.0 CrossIndustryDocument (COMFORT) for ``spec`` as UTF-8 XML."""
    ns = ZUGFERD1_NS
    root = etree.Element(_q(ns, "rsm:CrossIndustryDocument"), nsmap=ns)
    context = _sub(root, ns, "rsm:SpecifiedExchangedDocumentContext")
    guideline = _sub(context, ns, "ram:GuidelineSpecifiedDocumentContextParameter")
    _sub(guideline, ns, "ram:ID", ZUGFERD1_GUIDELINE)

    header = _sub(root, ns, "rsm:HeaderExchangedDocument")
    _sub(header, ns, "ram:ID", spec.number)
    _sub(header, ns, "ram:TypeCode", "381" if spec.credit_note else "380")
    _cii_date(_sub(header, ns, "ram:IssueDateTime"), ns, spec.issue_date.strftime("%Y%m%d"))

    transaction = _sub(root, ns, "rsm:SpecifiedSupplyChainTradeTransaction")
    agreement = _sub(transaction, ns, "ram:ApplicableSupplyChainTradeAgreement")
    _cii_party(_sub(agreement, ns, "ram:SellerTradeParty"), ns, spec.creditor)
    _cii_party(_sub(agreement, ns, "ram:BuyerTradeParty"), ns, spec.customer)

    settlement = _sub(transaction, ns, "ram:ApplicableSupplyChainTradeSettlement")
    if spec.payment_reference is not None:
        _sub(settlement, ns, "ram:PaymentReference", format_ogm(spec.payment_reference))
    _sub(settlement, ns, "ram:InvoiceCurrencyCode", spec.currency)
    means = _sub(settlement, ns, "ram:SpecifiedTradeSettlementPaymentMeans")
    _sub(means, ns, "ram:TypeCode", SEPA_CREDIT_TRANSFER)
    account = _sub(means, ns, "ram:PayeePartyCreditorFinancialAccount")
    _sub(account, ns, "ram:IBANID", PAYEE_IBAN)
    if spec.due_date is not None:
        terms = _sub(settlement, ns, "ram:SpecifiedTradePaymentTerms")
        _cii_date(_sub(terms, ns, "ram:DueDateDateTime"), ns, spec.due_date.strftime("%Y%m%d"))

    summation = _sub(settlement, ns, "ram:SpecifiedTradeSettlementMonetarySummation")
    for name, amount in (
        ("ram:LineTotalAmount", spec.subtotal),
        ("ram:TaxBasisTotalAmount", spec.subtotal),
        ("ram:TaxTotalAmount", spec.vat_total),
        ("ram:GrandTotalAmount", spec.total),
        ("ram:DuePayableAmount", spec.amount_due),
    ):
        _sub(summation, ns, name, f"{amount:.2f}", currencyID=spec.currency)

    for line in spec.lines:
        item = _sub(transaction, ns, "ram:IncludedSupplyChainTradeLineItem")
        _sub(_sub(item, ns, "ram:SpecifiedTradeProduct"), ns, "ram:Name", line.description)
    return _serialize(root)


def make_order_x(number: str = "PO-2026-0311") -> bytes:
    """Return a small ORDER-X purchase order (type code 220) as UTF-8 XML."""
    ns = ORDER_X_NS
    root = etree.Element(_q(ns, "rsm:SCRDMCCBDACIOMessageStructure"), nsmap=ns)
    context = _sub(root, ns, "rsm:ExchangedDocumentContext")
    guideline = _sub(context, ns, "ram:GuidelineSpecifiedDocumentContextParameter")
    _sub(guideline, ns, "ram:ID", "urn:order-x.eu:1p0:basic")
    header = _sub(root, ns, "rsm:ExchangedDocument")
    _sub(header, ns, "ram:ID", number)
    _sub(header, ns, "ram:TypeCode", "220")
    _cii_date(_sub(header, ns, "ram:IssueDateTime"), ns, "20261120")
    transaction = _sub(root, ns, "rsm:SupplyChainTradeTransaction")
    agreement = _sub(transaction, ns, "ram:ApplicableHeaderTradeAgreement")
    _sub(_sub(agreement, ns, "ram:SellerTradeParty"), ns, "ram:Name", "Houthandel Claeys NV")
    _sub(_sub(agreement, ns, "ram:BuyerTradeParty"), ns, "ram:Name", "Schrijnwerkerij Vandamme BV")
    return _serialize(root)


def wrap_in_peppol_envelope(document: bytes) -> bytes:
    """Return ``document`` inside a Peppol StandardBusinessDocument with a minimal header."""
    payload = etree.fromstring(document)
    envelope = etree.Element(f"{{{SBDH_NS}}}StandardBusinessDocument", nsmap={"sh": SBDH_NS})
    header = etree.SubElement(envelope, f"{{{SBDH_NS}}}StandardBusinessDocumentHeader")
    etree.SubElement(header, f"{{{SBDH_NS}}}HeaderVersion").text = "1.0"
    sender = etree.SubElement(header, f"{{{SBDH_NS}}}Sender")
    identifier = etree.SubElement(
        sender, f"{{{SBDH_NS}}}Identifier", Authority="iso6523-actorid-upis"
    )
    identifier.text = "0208:0451237763"
    envelope.append(payload)
    return _serialize(envelope)


def make_facturx_pdf(
    spec: InvoiceSpec,
    xml: bytes,
    *,
    attachments: Sequence[tuple[str, bytes]] = (),
    check_xsd: bool = True,
) -> bytes:
    """Return a Factur-X PDF: the reportlab page of ``spec`` with ``xml`` as factur-x.xml.

    ``attachments`` are embedded next to it (name, content), like a delivery note.
    The factur-x library names the XML itself and checks it against the XSD of its
    profile unless ``check_xsd`` is false (an ORDER-X is checked as ORDER-X).
    """
    extra = {
        name: {"filedata": content, "description": f"{name} (test attachment)"}
        for name, content in attachments
    }
    result = facturx.generate_from_binary(
        make_invoice_pdf(spec),
        xml,
        check_xsd=check_xsd,
        attachments=extra or None,
    )
    return bytes(result)


def make_pdf_with_files(visible_pdf: bytes, files: Sequence[tuple[str, bytes]]) -> bytes:
    """Return ``visible_pdf`` with ``files`` embedded under their names, in the order given.

    Unlike :func:`make_facturx_pdf` this checks nothing, so it can embed broken XML
    or two invoice XMLs.
    """
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(visible_pdf)))
    for name, content in files:
        writer.add_attachment(name, content)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _q(ns: dict[str, str], name: str) -> str:
    prefix, local = name.split(":")
    return f"{{{ns[prefix]}}}{local}"


def _sub(
    parent: etree._Element, ns: dict[str, str], name: str, text: str | None = None, **attrs: str
) -> etree._Element:
    element = etree.SubElement(parent, _q(ns, name), attrs)
    if text is not None:
        element.text = text
    return element


def _cii_date(parent: etree._Element, ns: dict[str, str], yyyymmdd: str) -> None:
    _sub(parent, ns, "udt:DateTimeString", yyyymmdd, format="102")


def _serialize(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
