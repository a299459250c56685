"""Extract the invoice of a UN/CEFACT Cross Industry Invoice (Factur-X, ZUGFeRD, XRechnung).

Two vocabularies are read with the same rules:

- ``rsm:CrossIndustryInvoice`` (CII D16B), used by Factur-X 1.0, ZUGFeRD 2.x and
  XRechnung in CII syntax;
- ``rsm:CrossIndustryDocument``, the older ZUGFeRD 1.0 format, whose elements
  have other names (HeaderExchangedDocument, ApplicableSupplyChainTradeSettlement).

Each field's ``source`` is ``"cii "`` plus its XPath from the root element. The
rules are those of the UBL extractor (see :mod:`incasso.intake.extract.ubl`):

- Values read as they stand get confidence 1.0. An amount that is not a plain XML
  decimal but still readable is kept with confidence 0.5 and a doubt. Dates must
  be ``DateTimeString`` in format 102 (YYYYMMDD). Anything unreadable is left out
  with a note in the result.
- Amounts are rounded half-up to cents, so a 4-decimal "47.0450" becomes "47.05";
  ``raw`` keeps the digits as written. Line amounts are never summed: the totals
  come from the header summation.
- When an amount element occurs more than once (TaxTotalAmount in the invoice
  currency and again in the tax currency), the one whose ``currencyID`` is the
  InvoiceCurrencyCode is taken.
- TypeCode 381 (or another credit-note code) makes a credit note whatever the sign.
  A negative DuePayableAmount makes a credit note too, because there is nothing to
  collect, even when the TypeCode is 380.
- Of several due dates in the payment terms the latest is taken, with a doubt,
  because earlier ones are usually a cash discount deadline or an instalment.
  Without a due date, a payment term description such as "30 days net" gives
  issue date plus 30 days with confidence 0.8.
- A VAT number is a SpecifiedTaxRegistration with schemeID "VA". A tax number
  (schemeID "FC", the German Steuernummer) is not a VAT number. A legal
  organization ID in scheme 0208 is a Belgian enterprise number and becomes
  "BE" plus its digits.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from lxml import etree

from incasso.intake.extract.model import (
    DocumentKind,
    ExtractedInvoice,
    ExtractionResult,
    FieldName,
    Problem,
)
from incasso.intake.extract.normalize import (
    Exclusions,
    normalize_email,
    normalize_vat,
    parse_ogm,
)
from incasso.intake.extract.ubl import (
    BELGIAN_ENTERPRISE_SCHEME,
    BELGIAN_VAT_SCHEME,
    CREDIT_NOTE_TYPE_CODES,
    Collected,
    compact_iban,
    elements_at,
    text_at,
)

logger = logging.getLogger(__name__)

METHOD = "cii"
CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
ZUGFERD1_NS = "urn:ferd:CrossIndustryDocument:invoice:1p0"
ORDER_X_NS = "urn:un:unece:uncefact:data:SCRDMCCBDACIOMessageStructure:100"
ORDER_X_ROOT = f"{{{ORDER_X_NS}}}SCRDMCCBDACIOMessageStructure"
# UNTDID 1001 codes an ORDER-X document carries: order, order change, order response.
ORDER_X_TYPE_NAMES = {"220": "order", "230": "order change", "231": "order response"}
VAT_SCHEME = "VA"  # schemeID of a VAT number in SpecifiedTaxRegistration
EMAIL_SCHEME = "EM"  # schemeID of an e-mail address in URIUniversalCommunication
DATE_FORMAT_YYYYMMDD = "102"  # UNTDID 2379 code for CCYYMMDD


@dataclass(frozen=True)
class _Vocabulary:
    """Namespaces and element names of one CII version. The reader's paths use these prefixes."""

    namespaces: dict[str, str]
    header: str
    transaction: str
    agreement: str
    settlement: str
    summation: str

    @property
    def settlement_path(self) -> str:
        return f"{self.transaction}/{self.settlement}"

    @property
    def agreement_path(self) -> str:
        return f"{self.transaction}/{self.agreement}"

    @property
    def summation_path(self) -> str:
        return f"{self.settlement_path}/{self.summation}"


_D16B = _Vocabulary(
    namespaces={
        "rsm": CII_NS,
        "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
        "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    },
    header="rsm:ExchangedDocument",
    transaction="rsm:SupplyChainTradeTransaction",
    agreement="ram:ApplicableHeaderTradeAgreement",
    settlement="ram:ApplicableHeaderTradeSettlement",
    summation="ram:SpecifiedTradeSettlementHeaderMonetarySummation",
)
_ZUGFERD1 = _Vocabulary(
    namespaces={
        "rsm": ZUGFERD1_NS,
        "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12",
        "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15",
    },
    header="rsm:HeaderExchangedDocument",
    transaction="rsm:SpecifiedSupplyChainTradeTransaction",
    agreement="ram:ApplicableSupplyChainTradeAgreement",
    settlement="ram:ApplicableSupplyChainTradeSettlement",
    summation="ram:SpecifiedTradeSettlementMonetarySummation",
)
_VOCABULARIES = {
    f"{{{CII_NS}}}CrossIndustryInvoice": _D16B,
    f"{{{ZUGFERD1_NS}}}CrossIndustryDocument": _ZUGFERD1,
}


def is_cii_document(root: etree._Element) -> bool:
    """Return whether ``root`` is a CrossIndustryInvoice or a ZUGFeRD 1.0 CrossIndustryDocument."""
    return root.tag in _VOCABULARIES


def is_order_x(root: etree._Element) -> bool:
    """Return whether ``root`` is an ORDER-X document: an order, not an invoice."""
    return root.tag == ORDER_X_ROOT


def describe_order_x(root: etree._Element) -> str:
    """Return an English detail for an ORDER-X document, naming its number and type."""
    number = root.xpath("string(*[local-name()='ExchangedDocument']/*[local-name()='ID'])")
    code = root.xpath("string(*[local-name()='ExchangedDocument']/*[local-name()='TypeCode'])")
    kind = ORDER_X_TYPE_NAMES.get(str(code).strip(), "order")
    return (
        f"the XML is an ORDER-X {kind} {str(number).strip() or '(no number)'} "
        f"(type code {str(code).strip() or 'missing'}), a purchase order and not an invoice, "
        "so there is nothing to collect; ask the creditor for the invoice itself"
    )


def extract_cii(root: etree._Element, *, exclusions: Exclusions) -> ExtractionResult:
    """Extract the one invoice or credit note of a parsed CII document."""
    vocabulary = _VOCABULARIES[root.tag]
    reader = _Reader(root, vocabulary, Collected(METHOD))

    reader.read_header()
    reader.read_currency()
    payable = reader.read_totals()
    reader.read_due_date()
    reader.read_buyer(exclusions)
    reader.read_seller()
    reader.read_payment()
    reader.read_description()

    collected = reader.collected
    if not collected.fields:
        return ExtractionResult(
            method=METHOD,
            problem=Problem.NOT_AN_INVOICE,
            detail=f"the CII {etree.QName(root).localname} has no ID, dates, amounts or buyer; "
            "check the file with the creditor",
            notes=collected.notes,
        )

    invoice = ExtractedInvoice(fields=collected.fields, kind=reader.document_kind(payable))
    return ExtractionResult(
        method=METHOD,
        invoices=[invoice],
        vat_numbers=reader.vat_numbers(),
        notes=collected.notes,
    )


class _Reader:
    """Reader that fills a :class:`Collected` with the fields of one CII document."""

    def __init__(self, root: etree._Element, vocabulary: _Vocabulary, collected: Collected) -> None:
        self.root = root
        self.vocabulary = vocabulary
        self.collected = collected

    # -- small helpers

    def text(self, path: str, element: etree._Element | None = None) -> str | None:
        return text_at(self.root if element is None else element, path, self.vocabulary.namespaces)

    def elements(self, path: str, element: etree._Element | None = None) -> list[etree._Element]:
        return elements_at(
            self.root if element is None else element, path, self.vocabulary.namespaces
        )

    def date_at(self, path: str) -> tuple[str, str] | None:
        """Return (ISO date, raw) of the first DateTimeString at ``path``, or None."""
        elements = self.elements(path)
        if not elements:
            return None
        return self.read_date(elements[0], path)

    def read_date(self, element: etree._Element, path: str) -> tuple[str, str] | None:
        raw = " ".join((element.text or "").split())
        if not raw:
            return None
        date_format = (element.get("format") or DATE_FORMAT_YYYYMMDD).strip()
        value = _parse_yyyymmdd(raw) if date_format == DATE_FORMAT_YYYYMMDD else None

        if value is None:
            self.collected.notes.append(
                f"{path} {raw!r} (format {date_format}) is not a date in format 102 "
                "(YYYYMMDD); left out"
            )
            logger.warning("CII %s %r in format %s is not YYYYMMDD", path, raw, date_format)
            return None
        return value, raw

    # -- header

    def read_header(self) -> None:
        header = self.vocabulary.header
        number = self.text(f"{header}/ram:ID")
        if number is not None:
            self.collected.set(FieldName.INVOICE_NUMBER, number, number, f"{header}/ram:ID")

        path = f"{header}/ram:IssueDateTime/udt:DateTimeString"
        issue = self.date_at(path)
        if issue is not None:
            self.collected.set(FieldName.ISSUE_DATE, issue[0], issue[1], path)

    def read_currency(self) -> None:
        path = f"{self.vocabulary.settlement_path}/ram:InvoiceCurrencyCode"
        code = self.text(path)
        if code is None:
            # Fall back on the currency of the amount due or of the grand total.
            for element in ("ram:DuePayableAmount", "ram:GrandTotalAmount"):
                path = f"{self.vocabulary.summation_path}/{element}/@currencyID"
                code = self.text(path)
                if code is not None:
                    break
        if code is not None:
            self.collected.set(FieldName.CURRENCY, code.upper(), code, path)

    def document_kind(self, payable: Decimal | None) -> DocumentKind:
        code = self.text(f"{self.vocabulary.header}/ram:TypeCode")
        if code in CREDIT_NOTE_TYPE_CODES:
            return DocumentKind.CREDIT_NOTE

        if payable is not None and payable < 0:
            self.collected.notes.append(
                f"the invoice (type code {code or 'missing'}) has a negative DuePayableAmount "
                f"{payable}, so it is a credit and was reported as a credit note with nothing "
                "to collect"
            )
            return DocumentKind.CREDIT_NOTE
        return DocumentKind.INVOICE

    # -- amounts

    def read_totals(self) -> Decimal | None:
        """Read the header totals and return the DuePayableAmount, or None when it is missing."""
        payable = None
        for name, element in (
            (FieldName.AMOUNT_DUE, "ram:DuePayableAmount"),
            (FieldName.TOTAL_WITH_VAT, "ram:GrandTotalAmount"),
            (FieldName.TOTAL_WITHOUT_VAT, "ram:TaxBasisTotalAmount"),
            (FieldName.VAT_TOTAL, "ram:TaxTotalAmount"),
        ):
            amount = self.read_amount(name, f"{self.vocabulary.summation_path}/{element}")
            if name is FieldName.AMOUNT_DUE:
                payable = amount
        return payable

    def read_amount(self, name: FieldName, path: str) -> Decimal | None:
        """Read the amount at ``path`` in the invoice currency, or add a note when there is none."""
        elements = self.elements(path)
        if not elements:
            return None

        currency_field = self.collected.fields.get(FieldName.CURRENCY)
        currency = currency_field.value if currency_field else None
        chosen_path = path
        if len(elements) > 1 and currency is None:
            self.collected.notes.append(
                f"{path} occurs {len(elements)} times and the invoice currency is unknown; left out"
            )
            return None
        if currency is not None and (len(elements) > 1 or _foreign(elements[0], currency)):
            elements = [element for element in elements if not _foreign(element, currency)]
            chosen_path = f"{path}[@currencyID='{currency}']"
            if not elements:
                self.collected.notes.append(
                    f"no {path} in the invoice currency {currency}; left out"
                )
                return None

        raw = " ".join((elements[0].text or "").split())
        if not raw:
            return None
        return self.collected.set_amount(name, raw, chosen_path)

    # -- payment terms

    def read_due_date(self) -> None:
        terms = f"{self.vocabulary.settlement_path}/ram:SpecifiedTradePaymentTerms"
        path = f"{terms}/ram:DueDateDateTime/udt:DateTimeString"
        due_dates = [
            found
            for element in self.elements(path)
            if (found := self.read_date(element, path)) is not None
        ]
        if due_dates:
            self.set_due_date(due_dates, path)
            return

        for element in self.elements(f"{terms}/ram:Description"):
            description = " ".join((element.text or "").split())
            if description:
                self.collected.set_due_date_from_term(description, f"{terms}/ram:Description")
            if FieldName.DUE_DATE in self.collected.fields:
                return

    def set_due_date(self, due_dates: list[tuple[str, str]], path: str) -> None:
        """Set the latest due date; several different ones are a doubt.

        The debtor is not late before the last date. Earlier ones are usually a
        cash discount deadline ("2% Skonto bis ...") or an instalment.
        """
        distinct = sorted({value for value, _ in due_dates})
        value = distinct[-1]
        raw = next(raw for found, raw in due_dates if found == value)
        doubts: tuple[str, ...] = ()
        if len(distinct) > 1:
            doubts = (
                f"the invoice has {len(distinct)} payment terms with due dates "
                f"{', '.join(distinct)}; the latest was taken because the debtor is not late "
                "before it, so check whether the earlier ones are discount or instalment dates",
            )
        self.collected.set(FieldName.DUE_DATE, value, raw, path, doubts=doubts)

    # -- parties

    def party(self, role: str) -> tuple[etree._Element, str] | None:
        path = f"{self.vocabulary.agreement_path}/ram:{role}"
        parties = self.elements(path)
        return (parties[0], path) if parties else None

    def read_buyer(self, exclusions: Exclusions) -> None:
        found = self.party("BuyerTradeParty")
        if found is None:
            return
        party, base = found

        name = self.text("ram:Name", party)
        if name is not None:
            self.collected.set(FieldName.DEBTOR_NAME, name, name, f"{base}/ram:Name")

        self.read_buyer_email(party, base, exclusions)

        vat = self.party_vat(party)
        if vat is not None:
            value, raw, path = vat
            if exclusions.excludes_vat(value):
                logger.info("CII buyer VAT number %s is one of the sender's own; left out", value)
            else:
                self.collected.set(FieldName.DEBTOR_VAT, value, raw, f"{base}/{path}")

        address = self.postal_address(party)
        if address:
            path = f"{base}/ram:PostalTradeAddress"
            self.collected.set(FieldName.DEBTOR_ADDRESS, address, address, path)

    def read_buyer_email(self, party: etree._Element, base: str, exclusions: Exclusions) -> None:
        for path in (
            f"ram:URIUniversalCommunication/ram:URIID[@schemeID='{EMAIL_SCHEME}']",
            "ram:DefinedTradeContact/ram:EmailURIUniversalCommunication/ram:URIID",
        ):
            raw = self.text(path, party)
            if raw is None:
                continue
            email = normalize_email(raw)
            if email is None:
                self.collected.notes.append(f"buyer e-mail {raw!r} is not a valid address")
                continue
            if exclusions.excludes_email(email):
                logger.info("CII buyer e-mail %s is one of the sender's own; left out", email)
                continue
            self.collected.set(FieldName.DEBTOR_EMAIL, email, raw, f"{base}/{path}")
            return

    def party_vat(self, party: etree._Element) -> tuple[str, str, str] | None:
        """Return the VAT number of ``party`` as (value, raw, path), or None."""
        path = f"ram:SpecifiedTaxRegistration/ram:ID[@schemeID='{VAT_SCHEME}']"
        raw = self.text(path, party)
        if raw is not None:
            return normalize_vat(raw) or raw, raw, path

        path = "ram:SpecifiedLegalOrganization/ram:ID"
        for element in self.elements(path, party):
            vat = _registered_vat(element)
            if vat is not None:
                return vat, " ".join((element.text or "").split()), path
        return None

    def postal_address(self, party: etree._Element) -> str:
        addresses = self.elements("ram:PostalTradeAddress", party)
        if not addresses:
            return ""
        address = addresses[0]

        postcode = self.text("ram:PostcodeCode", address)
        city = self.text("ram:CityName", address)
        parts = [
            self.text("ram:LineOne", address),
            self.text("ram:LineTwo", address),
            self.text("ram:LineThree", address),
            " ".join(part for part in (postcode, city) if part) or None,
            self.text("ram:CountrySubDivisionName", address),
            self.text("ram:CountryID", address),
        ]
        return ", ".join(part for part in parts if part)

    def read_seller(self) -> None:
        found = self.party("SellerTradeParty")
        if found is None:
            return
        party, base = found

        name = self.text("ram:Name", party)
        if name is not None:
            self.collected.set(FieldName.SELLER_NAME, name, name, f"{base}/ram:Name")

        vat = self.party_vat(party)
        if vat is not None:
            self.collected.set(FieldName.SELLER_VAT, vat[0], vat[1], f"{base}/{vat[2]}")

    def vat_numbers(self) -> list[str]:
        """Return every valid VAT and enterprise number of the seller and the buyer."""
        found: list[str] = []
        for role in ("SellerTradeParty", "BuyerTradeParty"):
            located = self.party(role)
            if located is None:
                continue
            party = located[0]
            candidates = [
                normalize_vat(element.text or "")
                for element in self.elements("ram:SpecifiedTaxRegistration/ram:ID", party)
            ]
            candidates += [
                _registered_vat(element)
                for element in self.elements("ram:SpecifiedLegalOrganization/ram:ID", party)
            ]
            for candidate in candidates:
                vat = normalize_vat(candidate) if candidate else None
                if vat is not None and vat not in found:
                    found.append(vat)
        return found

    # -- payment

    def read_payment(self) -> None:
        settlement = self.vocabulary.settlement_path
        path = f"{settlement}/ram:PaymentReference"
        raw = self.text(path)
        if raw is not None:
            reference = parse_ogm(raw, allow_bare_digits=True) or raw
            self.collected.set(FieldName.PAYMENT_REFERENCE, reference, raw, path)

        path = (
            f"{settlement}/ram:SpecifiedTradeSettlementPaymentMeans"
            "/ram:PayeePartyCreditorFinancialAccount/ram:IBANID"
        )
        accounts: list[tuple[str, str]] = []
        for element in self.elements(path):
            raw_account = " ".join((element.text or "").split())
            account = compact_iban(raw_account)
            if account and account not in (known for known, _ in accounts):
                accounts.append((account, raw_account))
        if not accounts:
            return

        doubts: tuple[str, ...] = ()
        if len(accounts) > 1:
            listed = ", ".join(account for account, _ in accounts)
            doubts = (
                f"the invoice names {len(accounts)} payee accounts ({listed}); the payment may "
                "be split between them, so check which account to use",
            )
        account, raw_account = accounts[0]
        self.collected.set(FieldName.PAYEE_IBAN, account, raw_account, path, doubts=doubts)

    def read_description(self) -> None:
        path = (
            f"{self.vocabulary.transaction}/ram:IncludedSupplyChainTradeLineItem"
            "/ram:SpecifiedTradeProduct/ram:Name"
        )
        text = self.text(path)
        if text is not None:
            self.collected.set(FieldName.DESCRIPTION, text, text, path)


def _parse_yyyymmdd(raw: str) -> str | None:
    if not re.fullmatch(r"\d{8}", raw):
        return None
    try:
        return date(int(raw[:4]), int(raw[4:6]), int(raw[6:])).isoformat()
    except ValueError:
        return None


def _foreign(element: etree._Element, currency: str | None) -> bool:
    """Return whether the amount ``element`` names a currency other than ``currency``."""
    code = (element.get("currencyID") or "").strip().upper()
    return bool(code) and code != currency


def _registered_vat(element: etree._Element) -> str | None:
    """Return the VAT number a legal organization ID stands for, or None.

    Only Belgian schemes count, because other registries (a German Handelsregister
    number, a French SIREN) are not VAT numbers.
    """
    raw = " ".join((element.text or "").split())
    scheme = (element.get("schemeID") or "").strip()
    if not raw or scheme not in (BELGIAN_ENTERPRISE_SCHEME, BELGIAN_VAT_SCHEME):
        return None
    digits = re.sub(r"\D", "", raw)
    return (normalize_vat(raw) or f"BE{digits}") if digits else None
