"""Extract the invoice of a UBL 2.1 Invoice or CreditNote, as sent over Peppol (BIS Billing 3.0).

Values are read with namespace-aware XPath, never with regular expressions on the
text. Each field's ``source`` is ``"ubl "`` plus its XPath relative to the
Invoice or CreditNote element. A missing element is a missing field. The rules:

- A Peppol envelope (``sh:StandardBusinessDocument``) is unwrapped first, see
  :func:`unwrap_envelope`.
- Values read as they stand get confidence 1.0. An amount that is not a plain XML
  decimal but still readable ("1.234,56") is kept with a doubt, which halves its
  confidence to 0.5.
  A date that is not ISO or an amount that cannot be read at all is left out, with
  a note in the result.
- Amounts keep their sign and are rounded half-up to cents: "47.0450" becomes
  "47.05". ``raw`` keeps the digits as written.
- A CreditNote root or a credit-note type code (381 and the other UNTDID 1001
  credit-note codes) makes a credit note, whatever the sign of its amounts. An
  Invoice whose PayableAmount is below zero is a credit as well, so it is reported
  as a credit note, because there is nothing to collect.
- ``VAT_TOTAL`` is the TaxTotal in the document currency. UBL adds a second
  TaxTotal in the tax currency when the two differ, and that one is skipped.
- Without a due date, a payment term note such as "Net 30 days" gives issue date
  plus 30 days with confidence 0.8, as for PDFs.
- The seller's VAT number comes from PartyTaxScheme, else from PartyLegalEntity,
  else from an EndpointID in scheme 0208 (Belgian enterprise number) or 9925
  (Belgian VAT number). A CompanyID in another registry, such as a Dutch KvK
  number, is not taken as a VAT number.

The parser resolves no entities, loads nothing from the network and keeps libxml2's
size limits (``huge_tree=False``), because the files come from outside.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

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
    normalize_email,
    normalize_vat,
    parse_amount,
    parse_ogm,
    payment_term_days,
)
from incasso.intake.extract.validate import add_doubt

logger = logging.getLogger(__name__)

METHOD = "ubl"
CONFIDENCE_XML = 1.0
CONFIDENCE_DERIVED = 0.8  # due date computed from a payment term, as the PDF extractor does

UBL_NS_PREFIX = "urn:oasis:names:specification:ubl:schema:xsd:"
INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CBC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
SBDH_NS = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
NAMESPACES = {"cbc": CBC_NS, "cac": CAC_NS}
UBL_ROOTS = {f"{{{INVOICE_NS}}}Invoice", f"{{{CREDIT_NOTE_NS}}}CreditNote"}
ENVELOPE_ROOT = f"{{{SBDH_NS}}}StandardBusinessDocument"

# UNTDID 1001 document type codes of credit notes that EN 16931 allows: credit note
# for goods or services (81), for financial adjustments (83), self-billed (261),
# plain (381), factored (396) and forwarder's (532).
CREDIT_NOTE_TYPE_CODES = frozenset({"81", "83", "261", "381", "396", "532"})
# Peppol participant identifier schemes that hold a Belgian number.
BELGIAN_ENTERPRISE_SCHEME = "0208"
BELGIAN_VAT_SCHEME = "9925"

_SUPPLIER = "cac:AccountingSupplierParty/cac:Party"
_BUYER = "cac:AccountingCustomerParty/cac:Party"
_TOTALS = "cac:LegalMonetaryTotal"
_CENT = Decimal("0.01")
# The lexical form of xsd:decimal: digits with an optional point, no grouping.
_XML_DECIMAL_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
# The lexical form of xsd:date: an ISO date with an optional time zone.
_XML_DATE_RE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})?")


# ---------------------------------------------------------------------------
# Helpers shared with the CII extractor


def parse_xml(data: bytes) -> etree._Element:
    """Parse ``data`` with a parser that resolves no entities and fetches nothing.

    Raises ``etree.XMLSyntaxError`` when the XML is not well-formed.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    return etree.fromstring(data, parser=parser)


def parse_xml_amount(raw: str) -> tuple[Decimal, tuple[str, ...]] | None:
    """Read an amount element's text: a plain XML decimal, else a printed amount with a doubt.

    Returns the value and the doubts about it, or None when the text is no amount.
    """
    if _XML_DECIMAL_RE.fullmatch(raw):
        return Decimal(raw), ()

    lenient = parse_amount(raw)
    if lenient is None:
        return None
    doubt = (
        f"amount {raw!r} is not a plain XML decimal such as 1234.56; it was read as "
        f"{lenient}, so check it against the printed invoice"
    )
    return lenient, (doubt,)


def format_cents(amount: Decimal) -> str:
    """Format ``amount`` with two decimals, rounding half-up: "47.0450" gives "47.05".

    A negative zero ("-0.00" in some UBL files) comes out as "0.00".
    """
    rounded = amount.quantize(_CENT, rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)
    return f"{rounded:.2f}"


def compact_iban(raw: str) -> str:
    """Return ``raw`` without white space and in upper case, as FieldName.PAYEE_IBAN stores it."""
    return "".join(raw.split()).upper()


@dataclass
class Collected:
    """Fields and reviewer notes gathered while reading one XML invoice."""

    prefix: str  # "ubl" or "cii", the start of every field's source
    fields: dict[FieldName, Field] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def set(
        self,
        name: FieldName,
        value: str,
        raw: str,
        path: str,
        *,
        confidence: float = CONFIDENCE_XML,
        doubts: tuple[str, ...] = (),
    ) -> None:
        """Store a field whose source is this collection's prefix and ``path``.

        Each of ``doubts`` halves ``confidence``, as validation does.
        """
        stored = Field(value, raw, f"{self.prefix} {path}", confidence)
        for reason in doubts:
            stored = add_doubt(stored, reason)
        self.fields[name] = stored

    def set_amount(self, name: FieldName, raw: str, path: str) -> Decimal | None:
        """Store the amount ``raw`` read at ``path``, or add a note when it is no amount."""
        parsed = parse_xml_amount(raw)
        if parsed is None:
            self.notes.append(f"{path} {raw!r} is not an amount; the field was left out")
            logger.warning("%s %s %r is not an amount; field left out", self.prefix, path, raw)
            return None
        amount, doubts = parsed
        self.set(name, format_cents(amount), raw, path, doubts=doubts)
        return amount

    def set_due_date_from_term(self, term_text: str, path: str) -> None:
        """Set the due date to issue date plus the term in ``term_text`` when no due date is set."""
        issue = self.fields.get(FieldName.ISSUE_DATE)
        if FieldName.DUE_DATE in self.fields or issue is None:
            return
        # The element is a payment term, so the text need not say "payment" itself.
        days = payment_term_days(f"payment terms: {term_text}")
        if days is None:
            return
        due = date.fromisoformat(issue.value) + timedelta(days=days)
        self.set(
            FieldName.DUE_DATE,
            due.isoformat(),
            term_text,
            f"{path}, issue date plus {days} days",
            confidence=CONFIDENCE_DERIVED,
        )


def text_at(element: etree._Element, path: str, namespaces: dict[str, str]) -> str | None:
    """Return the text of the first element at ``path`` with runs of white space collapsed.

    Returns None when the element is absent or empty.
    """
    found = element.xpath(path, namespaces=namespaces)
    if not isinstance(found, list) or not found:
        return None
    first = found[0]
    if isinstance(first, str):  # an attribute
        text = " ".join(first.split())
        return text or None
    if not isinstance(first, etree._Element) or first.text is None:
        return None
    text = " ".join(first.text.split())
    return text or None


def elements_at(
    element: etree._Element, path: str, namespaces: dict[str, str]
) -> list[etree._Element]:
    """Return the elements at ``path``, in document order."""
    found = element.xpath(path, namespaces=namespaces)
    if not isinstance(found, list):
        return []
    return [item for item in found if isinstance(item, etree._Element)]


# ---------------------------------------------------------------------------
# Recognising the document


def is_ubl_document(root: etree._Element) -> bool:
    """Return whether ``root`` is a UBL 2.1 Invoice or CreditNote element."""
    return root.tag in UBL_ROOTS


def unwrap_envelope(root: etree._Element) -> etree._Element | None:
    """Return the business document inside a Peppol StandardBusinessDocument envelope.

    The document is the first child element outside the envelope's own namespace,
    after the StandardBusinessDocumentHeader. Returns ``root`` itself when it is no
    envelope, and None when the envelope is empty.
    """
    if root.tag != ENVELOPE_ROOT:
        return root
    for child in root:
        if isinstance(child.tag, str) and etree.QName(child).namespace != SBDH_NS:
            return child
    return None


def describe_other_ubl(root: etree._Element) -> str | None:
    """Name the UBL document type of ``root`` when it is UBL but no Invoice or CreditNote.

    Returns "ApplicationResponse" for a Peppol invoice response, for example, and
    None for anything that is not in a UBL 2 document namespace.
    """
    namespace = etree.QName(root).namespace or ""
    if namespace.startswith(UBL_NS_PREFIX) and not is_ubl_document(root):
        return etree.QName(root).localname
    return None


# ---------------------------------------------------------------------------
# Extraction


def extract_ubl(root: etree._Element, *, exclusions: Exclusions) -> ExtractionResult:
    """Extract the one invoice or credit note of a parsed UBL document."""
    collected = Collected(METHOD)
    _read_header(root, collected)
    payable = _read_totals(root, collected)
    _read_tax_total(root, collected)
    _read_payment_terms(root, collected)
    _read_buyer(root, collected, exclusions)
    _read_seller(root, collected)
    _read_payment_means(root, collected)
    _read_description(root, collected)

    if not collected.fields:
        return ExtractionResult(
            method=METHOD,
            problem=Problem.NOT_AN_INVOICE,
            detail=f"the UBL {etree.QName(root).localname} has no ID, dates, amounts or buyer; "
            "check the file with the creditor",
            notes=collected.notes,
        )

    kind = _document_kind(root, payable, collected)
    invoice = ExtractedInvoice(fields=collected.fields, kind=kind)
    return ExtractionResult(
        method=METHOD, invoices=[invoice], vat_numbers=_vat_numbers(root), notes=collected.notes
    )


def _text(element: etree._Element, path: str) -> str | None:
    return text_at(element, path, NAMESPACES)


def _vat_numbers(root: etree._Element) -> list[str]:
    """Return the valid VAT and enterprise numbers of the seller and the buyer."""
    found: list[str] = []
    for party_path in (_SUPPLIER, _BUYER):
        for party in elements_at(root, party_path, NAMESPACES):
            for vat in _party_numbers(party):
                if vat not in found:
                    found.append(vat)
    return found


def _party_numbers(party: etree._Element) -> list[str]:
    """Return every valid VAT number of ``party``: tax registrations, legal and endpoint IDs."""
    numbers: list[str] = []
    for element in elements_at(party, "cac:PartyTaxScheme/cbc:CompanyID", NAMESPACES):
        vat = normalize_vat(element.text or "")
        if vat is not None:
            numbers.append(vat)

    for path in ("cac:PartyLegalEntity/cbc:CompanyID", "cbc:EndpointID"):
        for element in elements_at(party, path, NAMESPACES):
            registered = _registered_vat(element)
            vat = normalize_vat(registered) if registered else None
            if vat is not None:
                numbers.append(vat)
    return numbers


def _document_kind(
    root: etree._Element, payable: Decimal | None, collected: Collected
) -> DocumentKind:
    localname = etree.QName(root).localname
    if localname == "CreditNote":
        return DocumentKind.CREDIT_NOTE

    type_code = _text(root, "cbc:InvoiceTypeCode")
    if type_code in CREDIT_NOTE_TYPE_CODES:
        return DocumentKind.CREDIT_NOTE

    if payable is not None and payable < 0:
        collected.notes.append(
            f"the {localname} has a negative PayableAmount {payable}, so it is a credit and "
            "was reported as a credit note with nothing to collect"
        )
        return DocumentKind.CREDIT_NOTE
    return DocumentKind.INVOICE


def _read_header(root: etree._Element, collected: Collected) -> None:
    number = _text(root, "cbc:ID")
    if number is not None:
        collected.set(FieldName.INVOICE_NUMBER, number, number, "cbc:ID")

    for name, paths in (
        (FieldName.ISSUE_DATE, ("cbc:IssueDate",)),
        (FieldName.DUE_DATE, ("cbc:DueDate", "cac:PaymentMeans/cbc:PaymentDueDate")),
    ):
        for path in paths:
            raw = _text(root, path)
            if raw is None:
                continue
            value = _iso_date(raw, path, collected)
            if value is not None:
                collected.set(name, value, raw, path)
                break

    currency = _text(root, "cbc:DocumentCurrencyCode")
    if currency is not None:
        collected.set(FieldName.CURRENCY, currency.upper(), currency, "cbc:DocumentCurrencyCode")


def _iso_date(raw: str, path: str, collected: Collected) -> str | None:
    """Return the ISO date in ``raw`` (an xsd:date, time zone ignored), else note it and None."""
    match = _XML_DATE_RE.fullmatch(raw)
    value: date | None = None
    if match is not None:
        try:
            value = date.fromisoformat(match.group(1))
        except ValueError:
            value = None

    if value is None:
        logger.warning("UBL %s %r is not an ISO date (YYYY-MM-DD); field left out", path, raw)
        collected.notes.append(f"{path} {raw!r} is not an ISO date (YYYY-MM-DD); left out")
        return None
    return value.isoformat()


def _read_totals(root: etree._Element, collected: Collected) -> Decimal | None:
    """Read the document totals and return the PayableAmount, or None when it is missing."""
    for name, element in (
        (FieldName.TOTAL_WITH_VAT, "cbc:TaxInclusiveAmount"),
        (FieldName.TOTAL_WITHOUT_VAT, "cbc:TaxExclusiveAmount"),
    ):
        path = f"{_TOTALS}/{element}"
        raw = _text(root, path)
        if raw is not None:
            collected.set_amount(name, raw, path)

    path = f"{_TOTALS}/cbc:PayableAmount"
    raw = _text(root, path)
    if raw is None:
        return None
    payable = collected.set_amount(FieldName.AMOUNT_DUE, raw, path)

    code = _text(root, f"{path}/@currencyID")
    if FieldName.CURRENCY not in collected.fields and code is not None:
        collected.set(FieldName.CURRENCY, code.upper(), code, f"{path}/@currencyID")
    return payable


def _read_tax_total(root: etree._Element, collected: Collected) -> None:
    """Read the TaxTotal in the document currency; a second one in the tax currency is skipped."""
    amounts = elements_at(root, "cac:TaxTotal/cbc:TaxAmount", NAMESPACES)
    if not amounts:
        return

    currency = collected.fields.get(FieldName.CURRENCY)
    if currency is not None:
        matching = [
            amount
            for amount in amounts
            if (amount.get("currencyID") or currency.value).strip().upper() == currency.value
        ]
        path = f"cac:TaxTotal/cbc:TaxAmount[@currencyID='{currency.value}']"
    else:
        matching = amounts if len(amounts) == 1 else []
        path = "cac:TaxTotal/cbc:TaxAmount"

    if not matching:
        found = ", ".join(f"{a.text} {a.get('currencyID')}" for a in amounts)
        collected.notes.append(
            f"no TaxTotal in the document currency among {found}; VAT total left out"
        )
        return
    raw = " ".join((matching[0].text or "").split())
    if raw:
        collected.set_amount(FieldName.VAT_TOTAL, raw, path)


def _read_payment_terms(root: etree._Element, collected: Collected) -> None:
    """Derive the due date from a payment term note when the document has no due date."""
    for note in elements_at(root, "cac:PaymentTerms/cbc:Note", NAMESPACES):
        text = " ".join((note.text or "").split())
        if text:
            collected.set_due_date_from_term(text, "cac:PaymentTerms/cbc:Note")
        if FieldName.DUE_DATE in collected.fields:
            return


def _read_buyer(root: etree._Element, collected: Collected, exclusions: Exclusions) -> None:
    parties = elements_at(root, _BUYER, NAMESPACES)
    if not parties:
        return
    party = parties[0]

    name = _party_name(party)
    if name is not None:
        collected.set(FieldName.DEBTOR_NAME, name[0], name[0], f"{_BUYER}/{name[1]}")

    _read_buyer_email(party, collected, exclusions)
    _read_buyer_vat(party, collected, exclusions)

    address = _postal_address(party)
    if address:
        collected.set(FieldName.DEBTOR_ADDRESS, address, address, f"{_BUYER}/cac:PostalAddress")


def _party_name(party: etree._Element) -> tuple[str, str] | None:
    """Return the registered name, else the trading name, with the path it came from."""
    for path in ("cac:PartyLegalEntity/cbc:RegistrationName", "cac:PartyName/cbc:Name"):
        name = _text(party, path)
        if name is not None:
            return name, path
    return None


def _read_buyer_email(party: etree._Element, collected: Collected, exclusions: Exclusions) -> None:
    path = "cac:Contact/cbc:ElectronicMail"
    raw = _text(party, path)
    if raw is None:
        return
    email = normalize_email(raw)
    if email is None:
        logger.warning("UBL buyer e-mail %r is not a valid address; field left out", raw)
        collected.notes.append(f"buyer e-mail {raw!r} is not a valid address; left out")
    elif exclusions.excludes_email(email):
        logger.info(
            "UBL buyer e-mail %s is one of the sender's own addresses; field left out", email
        )
    else:
        collected.set(FieldName.DEBTOR_EMAIL, email, raw, f"{_BUYER}/{path}")


def _read_buyer_vat(party: etree._Element, collected: Collected, exclusions: Exclusions) -> None:
    found = _party_vat(party)
    if found is None:
        return
    vat, raw, path = found
    if exclusions.excludes_vat(vat):
        logger.info("UBL buyer VAT number %s is one of the sender's own; field left out", vat)
        return
    collected.set(FieldName.DEBTOR_VAT, vat, raw, f"{_BUYER}/{path}")


def _party_vat(party: etree._Element) -> tuple[str, str, str] | None:
    """Return the VAT number of ``party`` as (value, raw, path), or None.

    The VAT registration (PartyTaxScheme with TaxScheme VAT) wins. A number that
    fails its check there is still returned as written, so that validation can
    flag it. Legal and endpoint identifiers count only in a Belgian scheme or when
    they are a valid VAT number with a country prefix.
    """
    vat_scheme = "cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID"
    raw = _text(party, vat_scheme)
    if raw is not None:
        return normalize_vat(raw) or raw, raw, vat_scheme

    for path in (
        "cac:PartyTaxScheme/cbc:CompanyID",
        "cac:PartyLegalEntity/cbc:CompanyID",
        "cbc:EndpointID",
    ):
        for element in elements_at(party, path, NAMESPACES):
            number = _registered_vat(element)
            if number is not None:
                return number, " ".join((element.text or "").split()), path
    return None


def _registered_vat(element: etree._Element) -> str | None:
    """Return the VAT number an identifier element stands for, or None."""
    raw = " ".join((element.text or "").split())
    if not raw:
        return None
    scheme = (element.get("schemeID") or "").strip()
    if scheme in (BELGIAN_ENTERPRISE_SCHEME, BELGIAN_VAT_SCHEME):
        digits = re.sub(r"\D", "", raw)
        return (normalize_vat(raw) or f"BE{digits}") if digits else None
    if re.match(r"[A-Za-z]{2}", raw):
        return normalize_vat(raw)
    return None


def _read_seller(root: etree._Element, collected: Collected) -> None:
    parties = elements_at(root, _SUPPLIER, NAMESPACES)
    if not parties:
        return
    party = parties[0]

    name = _party_name(party)
    if name is not None:
        collected.set(FieldName.SELLER_NAME, name[0], name[0], f"{_SUPPLIER}/{name[1]}")

    vat = _party_vat(party)
    if vat is not None:
        collected.set(FieldName.SELLER_VAT, vat[0], vat[1], f"{_SUPPLIER}/{vat[2]}")


def _postal_address(party: etree._Element) -> str:
    """Join the buyer's postal address into one line: street, postcode and city, country."""
    addresses = elements_at(party, "cac:PostalAddress", NAMESPACES)
    if not addresses:
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


def _read_payment_means(root: etree._Element, collected: Collected) -> None:
    path = "cac:PaymentMeans/cbc:PaymentID"
    raw = _text(root, path)
    if raw is not None:
        reference = parse_ogm(raw, allow_bare_digits=True) or raw
        collected.set(FieldName.PAYMENT_REFERENCE, reference, raw, path)

    path = "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID"
    accounts: list[str] = []
    for element in elements_at(root, path, NAMESPACES):
        account = compact_iban(element.text or "")
        if account and account not in accounts:
            accounts.append(account)
    if not accounts:
        return

    doubts: tuple[str, ...] = ()
    if len(accounts) > 1:
        doubts = (
            f"the invoice names {len(accounts)} payee accounts ({', '.join(accounts)}); "
            "the payment may be split between them, so check which account to use",
        )
    raw = _text(root, path) or accounts[0]
    collected.set(FieldName.PAYEE_IBAN, accounts[0], raw, path, doubts=doubts)


def _read_description(root: etree._Element, collected: Collected) -> None:
    for path in (
        "cac:InvoiceLine/cac:Item/cbc:Name",
        "cac:CreditNoteLine/cac:Item/cbc:Name",
        "cbc:Note",
    ):
        text = _text(root, path)
        if text is not None:
            collected.set(FieldName.DESCRIPTION, text, text, path)
            return
