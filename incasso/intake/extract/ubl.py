"""Extract the invoice of a UBL 2.1 Invoice or CreditNote, as sent over Peppol (BIS Billing 3.0).

Values are read with namespace-aware XPath, never with regular expressions on the
text, and get confidence 1.0. A missing element is a missing field. A value that is
present but invalid (a date that is not ISO, an amount that is not a number) is
logged and left out.

The parser resolves no entities, loads nothing from the network and keeps libxml2's
size limits (``huge_tree=False``), because the files come from outside.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

from incasso.intake.extract.model import (
    DocumentKind,
    ExtractedInvoice,
    ExtractionResult,
    Field,
    FieldName,
    Problem,
)
from incasso.intake.extract.normalize import (
    Exclusions,
    format_amount,
    normalize_email,
    normalize_vat,
    parse_ogm,
)

logger = logging.getLogger(__name__)

METHOD = "ubl"
CONFIDENCE_XML = 1.0
INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CBC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NAMESPACES = {"cbc": CBC_NS, "cac": CAC_NS}
UBL_ROOTS = {f"{{{INVOICE_NS}}}Invoice", f"{{{CREDIT_NOTE_NS}}}CreditNote"}
CREDIT_NOTE_TYPE_CODE = "381"  # UNTDID 1001 code for a credit note

_BUYER = "cac:AccountingCustomerParty/cac:Party"


def parse_xml(data: bytes) -> etree._Element:
    """Parse ``data`` with a parser that resolves no entities and fetches nothing.

    Raises ``etree.XMLSyntaxError`` when the XML is not well-formed.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    return etree.fromstring(data, parser=parser)


def is_ubl_document(root: etree._Element) -> bool:
    """Return whether ``root`` is a UBL 2.1 Invoice or CreditNote element."""
    return root.tag in UBL_ROOTS


def extract_ubl(root: etree._Element, *, exclusions: Exclusions) -> ExtractionResult:
    """Extract the one invoice or credit note of a parsed UBL document."""
    fields: dict[FieldName, Field] = {}
    _read_header(root, fields)
    _read_amount_due(root, fields)
    _read_buyer(root, fields, exclusions)
    _read_payment_reference(root, fields)
    _read_description(root, fields)

    if not fields:
        return ExtractionResult(
            method=METHOD,
            problem=Problem.NOT_AN_INVOICE,
            detail=f"the UBL {etree.QName(root).localname} has no ID, dates, amounts or buyer; "
            "check the file with the creditor",
        )
    invoice = ExtractedInvoice(fields=fields, kind=_document_kind(root))
    return ExtractionResult(method=METHOD, invoices=[invoice], vat_numbers=_vat_numbers(root))


def _vat_numbers(root: etree._Element) -> list[str]:
    """Return the VAT and enterprise numbers of the seller and the buyer."""
    paths = (
        "cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID",
        "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID",
        "cac:AccountingSupplierParty/cac:Party/cbc:EndpointID",
        f"{_BUYER}/cac:PartyTaxScheme/cbc:CompanyID",
        f"{_BUYER}/cac:PartyLegalEntity/cbc:CompanyID",
    )
    found: list[str] = []
    for path in paths:
        raw = _text(root, path)
        vat = normalize_vat(raw) if raw else None
        if vat is not None and vat not in found:
            found.append(vat)
    return found


def _document_kind(root: etree._Element) -> DocumentKind:
    if etree.QName(root).localname == "CreditNote":
        return DocumentKind.CREDIT_NOTE
    type_code = _text(root, "cbc:InvoiceTypeCode")
    return DocumentKind.CREDIT_NOTE if type_code == CREDIT_NOTE_TYPE_CODE else DocumentKind.INVOICE


def _text(element: etree._Element, path: str) -> str | None:
    """Return the stripped text of the first element at ``path``, or None when absent or empty."""
    found = element.xpath(path, namespaces=NAMESPACES)
    if not isinstance(found, list) or not found:
        return None
    first = found[0]
    if not isinstance(first, etree._Element) or first.text is None:
        return None
    text = " ".join(first.text.split())
    return text or None


def _set(fields: dict[FieldName, Field], name: FieldName, value: str, raw: str, path: str) -> None:
    fields[name] = Field(value, raw, f"ubl {path}", CONFIDENCE_XML)


def _read_header(root: etree._Element, fields: dict[FieldName, Field]) -> None:
    number = _text(root, "cbc:ID")
    if number is not None:
        _set(fields, FieldName.INVOICE_NUMBER, number, number, "cbc:ID")

    for name, paths in (
        (FieldName.ISSUE_DATE, ("cbc:IssueDate",)),
        (FieldName.DUE_DATE, ("cbc:DueDate", "cac:PaymentMeans/cbc:PaymentDueDate")),
    ):
        for path in paths:
            raw = _text(root, path)
            if raw is not None and _valid_iso_date(raw, path):
                _set(fields, name, raw, raw, path)
                break

    currency = _text(root, "cbc:DocumentCurrencyCode")
    if currency is not None:
        _set(fields, FieldName.CURRENCY, currency.upper(), currency, "cbc:DocumentCurrencyCode")


def _valid_iso_date(raw: str, path: str) -> bool:
    try:
        date.fromisoformat(raw)
    except ValueError:
        logger.warning("UBL %s %r is not an ISO date (YYYY-MM-DD); field left out", path, raw)
        return False
    return True


def _read_amount_due(root: etree._Element, fields: dict[FieldName, Field]) -> None:
    path = "cac:LegalMonetaryTotal/cbc:PayableAmount"
    raw = _text(root, path)
    if raw is None:
        return
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        logger.warning("UBL %s %r is not a decimal number; field left out", path, raw)
        return
    if not amount.is_finite():
        logger.warning("UBL %s %r is not a finite number; field left out", path, raw)
        return
    _set(fields, FieldName.AMOUNT_DUE, format_amount(amount), raw, path)

    currency_id = root.xpath(f"{path}/@currencyID", namespaces=NAMESPACES)
    if FieldName.CURRENCY not in fields and isinstance(currency_id, list) and currency_id:
        code = str(currency_id[0]).strip().upper()
        _set(fields, FieldName.CURRENCY, code, code, f"{path}/@currencyID")


def _read_buyer(
    root: etree._Element, fields: dict[FieldName, Field], exclusions: Exclusions
) -> None:
    parties = root.xpath(_BUYER, namespaces=NAMESPACES)
    if not isinstance(parties, list) or not parties or not isinstance(parties[0], etree._Element):
        return
    party = parties[0]

    for path in ("cac:PartyLegalEntity/cbc:RegistrationName", "cac:PartyName/cbc:Name"):
        name = _text(party, path)
        if name is not None:
            _set(fields, FieldName.DEBTOR_NAME, name, name, f"{_BUYER}/{path}")
            break

    _read_buyer_email(party, fields, exclusions)
    _read_buyer_vat(party, fields, exclusions)

    address = _postal_address(party)
    if address:
        _set(fields, FieldName.DEBTOR_ADDRESS, address, address, f"{_BUYER}/cac:PostalAddress")


def _read_buyer_email(
    party: etree._Element, fields: dict[FieldName, Field], exclusions: Exclusions
) -> None:
    path = "cac:Contact/cbc:ElectronicMail"
    raw = _text(party, path)
    if raw is None:
        return
    email = normalize_email(raw)
    if email is None:
        logger.warning("UBL buyer e-mail %r is not a valid address; field left out", raw)
    elif exclusions.excludes_email(email):
        logger.info(
            "UBL buyer e-mail %s is one of the sender's own addresses; field left out", email
        )
    else:
        _set(fields, FieldName.DEBTOR_EMAIL, email, raw, f"{_BUYER}/{path}")


def _read_buyer_vat(
    party: etree._Element, fields: dict[FieldName, Field], exclusions: Exclusions
) -> None:
    for path in ("cac:PartyTaxScheme/cbc:CompanyID", "cac:PartyLegalEntity/cbc:CompanyID"):
        raw = _text(party, path)
        if raw is None:
            continue
        vat = normalize_vat(raw) or raw
        if exclusions.excludes_vat(vat):
            logger.info("UBL buyer VAT number %s is one of the sender's own; field left out", vat)
            return
        _set(fields, FieldName.DEBTOR_VAT, vat, raw, f"{_BUYER}/{path}")
        return


def _postal_address(party: etree._Element) -> str:
    """Join the buyer's postal address into one line: street, postcode and city, country."""
    addresses = party.xpath("cac:PostalAddress", namespaces=NAMESPACES)
    if (
        not isinstance(addresses, list)
        or not addresses
        or not isinstance(addresses[0], etree._Element)
    ):
        return ""
    address = addresses[0]

    postal_zone = _text(address, "cbc:PostalZone")
    city = _text(address, "cbc:CityName")
    parts = [
        _text(address, "cbc:StreetName"),
        _text(address, "cbc:AdditionalStreetName"),
        _text(address, "cac:AddressLine/cbc:Line"),
        " ".join(part for part in (postal_zone, city) if part) or None,
        _text(address, "cbc:CountrySubentity"),
        _text(address, "cac:Country/cbc:IdentificationCode"),
    ]
    return ", ".join(part for part in parts if part)


def _read_payment_reference(root: etree._Element, fields: dict[FieldName, Field]) -> None:
    path = "cac:PaymentMeans/cbc:PaymentID"
    raw = _text(root, path)
    if raw is not None:
        _set(
            fields,
            FieldName.PAYMENT_REFERENCE,
            parse_ogm(raw, allow_bare_digits=True) or raw,
            raw,
            path,
        )


def _read_description(root: etree._Element, fields: dict[FieldName, Field]) -> None:
    for path in (
        "cac:InvoiceLine/cac:Item/cbc:Name",
        "cac:CreditNoteLine/cac:Item/cbc:Name",
        "cbc:Note",
    ):
        text = _text(root, path)
        if text is not None:
            _set(fields, FieldName.DESCRIPTION, text, text, path)
            return
