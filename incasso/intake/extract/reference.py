"""Expected field values of a UBL or CII invoice XML, for evaluating the extractors.

This module is for evaluation only, such as labelling Factur-X PDFs by their
embedded XML; intake never calls it. It reads the XML with its own XPath on local
names and shares no code with the extractors, so that comparing its output with
``extract_document`` checks them independently.

:func:`reference_fields` returns one dict per invoice, keyed by ``FieldName``
values plus ``"kind"`` ("invoice" or "credit_note"). A value missing from the XML
is missing from the dict. Values are normalized as the model stores them: dates
as YYYY-MM-DD, amounts with two decimals rounded half-up, currency and IBAN in
upper case without spaces, a +++123/4567/89012+++ reference as its 12 digits
(check digits are not verified). Names and VAT numbers stay as written. Of two
amounts, the one in the document currency counts, and of several due dates the
latest.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from lxml import etree

_UBL_ROOTS = {"Invoice", "CreditNote"}
_CII_ROOTS = {"CrossIndustryInvoice", "CrossIndustryDocument"}
_CREDIT_CODES = {"81", "83", "261", "381", "396", "532"}
_CENT = Decimal("0.01")


def reference_fields(xml: bytes) -> list[dict[str, str]]:
    """Return the expected fields of each invoice in a UBL or CII document (see module doc).

    A Peppol StandardBusinessDocument envelope is looked into. Any other root, and
    a document without any of the fields, gives no entry. Raises
    ``etree.XMLSyntaxError`` for XML that does not parse.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(xml, parser=parser)
    documents = [root] if etree.QName(root).localname != "StandardBusinessDocument" else list(root)

    found = []
    for document in documents:
        name = etree.QName(document).localname if isinstance(document.tag, str) else ""
        if name in _UBL_ROOTS:
            fields = _ubl(document)
        elif name in _CII_ROOTS:
            fields = _cii(document)
        else:
            continue
        if len(fields) > 1:  # more than "kind"
            found.append(fields)
    return found


def _path(steps: str) -> str:
    """Turn "A/B|C/D" into an XPath on local names, so that namespaces do not matter."""
    alternatives = []
    for alternative in steps.split("|"):
        parts = [f"*[local-name()='{step}']" for step in alternative.split("/")]
        alternatives.append("/".join(parts))
    return " | ".join(alternatives)


def _texts(element: etree._Element, steps: str) -> list[tuple[str, str]]:
    """Return (text, currencyID) of every element at ``steps``."""
    result = []
    for found in element.xpath(_path(steps)):
        text = " ".join((found.text or "").split())
        if text:
            result.append((text, (found.get("currencyID") or "").upper()))
    return result


def _first(element: etree._Element, steps: str) -> str | None:
    texts = _texts(element, steps)
    return texts[0][0] if texts else None


def _amount(element: etree._Element, steps: str, currency: str | None) -> str | None:
    for text, code in _texts(element, steps):
        if code and currency and code != currency:
            continue
        try:
            value = Decimal(text).quantize(_CENT, rounding=ROUND_HALF_UP)
        except InvalidOperation:
            return None
        return f"{abs(value) if value == 0 else value:.2f}"
    return None


def _reference(text: str | None) -> str | None:
    if text is None:
        return None
    digits = re.fullmatch(r"[+*]{3}(\d{3})/(\d{4})/(\d{5})[+*]{3}", text.replace(" ", ""))
    return "".join(digits.groups()) if digits else text


def _ubl(doc: etree._Element) -> dict[str, str]:
    currency = (_first(doc, "DocumentCurrencyCode") or "").upper() or None
    totals = "LegalMonetaryTotal"
    buyer = "AccountingCustomerParty/Party"
    seller = "AccountingSupplierParty/Party"
    iban = _first(doc, "PaymentMeans/PayeeFinancialAccount/ID")
    values = {
        "invoice_number": _first(doc, "ID"),
        "issue_date": _first(doc, "IssueDate"),
        "due_date": _first(doc, "DueDate") or _first(doc, "PaymentMeans/PaymentDueDate"),
        "currency": currency,
        "amount_due": _amount(doc, f"{totals}/PayableAmount", currency),
        "total_with_vat": _amount(doc, f"{totals}/TaxInclusiveAmount", currency),
        "total_without_vat": _amount(doc, f"{totals}/TaxExclusiveAmount", currency),
        "vat_total": _amount(doc, "TaxTotal/TaxAmount", currency),
        "debtor_name": _first(doc, f"{buyer}/PartyLegalEntity/RegistrationName")
        or _first(doc, f"{buyer}/PartyName/Name"),
        "seller_name": _first(doc, f"{seller}/PartyLegalEntity/RegistrationName")
        or _first(doc, f"{seller}/PartyName/Name"),
        "seller_vat": _first(doc, f"{seller}/PartyTaxScheme/CompanyID"),
        "debtor_vat": _first(doc, f"{buyer}/PartyTaxScheme/CompanyID"),
        "payment_reference": _reference(_first(doc, "PaymentMeans/PaymentID")),
        "payee_iban": "".join(iban.split()).upper() if iban else None,
    }
    type_code = _first(doc, "InvoiceTypeCode")
    credit = etree.QName(doc).localname == "CreditNote" or type_code in _CREDIT_CODES
    return _finish(values, credit)


def _cii(doc: etree._Element) -> dict[str, str]:
    # CII D16B names first, ZUGFeRD 1.0 names after the bar.
    header = _one(doc, "ExchangedDocument|HeaderExchangedDocument")
    agreement = _one(
        doc,
        "SupplyChainTradeTransaction/ApplicableHeaderTradeAgreement"
        "|SpecifiedSupplyChainTradeTransaction/ApplicableSupplyChainTradeAgreement",
    )
    settlement = _one(
        doc,
        "SupplyChainTradeTransaction/ApplicableHeaderTradeSettlement"
        "|SpecifiedSupplyChainTradeTransaction/ApplicableSupplyChainTradeSettlement",
    )

    values: dict[str, str | None] = {}
    type_code = None
    if header is not None:
        values["invoice_number"] = _first(header, "ID")
        values["issue_date"] = _iso(_first(header, "IssueDateTime/DateTimeString"))
        type_code = _first(header, "TypeCode")
    if settlement is not None:
        values |= _cii_settlement(settlement)
    if agreement is not None:
        for role, prefix in (("BuyerTradeParty", "debtor"), ("SellerTradeParty", "seller")):
            values[f"{prefix}_name"] = _first(agreement, f"{role}/Name")
            vat_ids = agreement.xpath(
                f"{_path(f'{role}/SpecifiedTaxRegistration/ID')}[@schemeID='VA']"
            )
            values[f"{prefix}_vat"] = " ".join((vat_ids[0].text or "").split()) if vat_ids else None
    return _finish(values, type_code in _CREDIT_CODES)


def _cii_settlement(settlement: etree._Element) -> dict[str, str | None]:
    currency = (_first(settlement, "InvoiceCurrencyCode") or "").upper() or None
    due_dates = [
        iso
        for text, _ in _texts(
            settlement, "SpecifiedTradePaymentTerms/DueDateDateTime/DateTimeString"
        )
        if (iso := _iso(text)) is not None
    ]
    iban = _first(
        settlement, "SpecifiedTradeSettlementPaymentMeans/PayeePartyCreditorFinancialAccount/IBANID"
    )
    values: dict[str, str | None] = {
        "currency": currency,
        "due_date": max(due_dates, default=None),
        "payment_reference": _reference(_first(settlement, "PaymentReference")),
        "payee_iban": "".join(iban.split()).upper() if iban else None,
    }

    summations = (
        "SpecifiedTradeSettlementHeaderMonetarySummation",
        "SpecifiedTradeSettlementMonetarySummation",
    )
    for key, element in (
        ("amount_due", "DuePayableAmount"),
        ("total_with_vat", "GrandTotalAmount"),
        ("total_without_vat", "TaxBasisTotalAmount"),
        ("vat_total", "TaxTotalAmount"),
    ):
        steps = "|".join(f"{summation}/{element}" for summation in summations)
        values[key] = _amount(settlement, steps, currency)
    return values


def _one(element: etree._Element, steps: str) -> etree._Element | None:
    found = element.xpath(_path(steps))
    return found[0] if found else None


def _iso(text: str | None) -> str | None:
    if text is None or not re.fullmatch(r"\d{8}", text):
        return None
    return f"{text[:4]}-{text[4:6]}-{text[6:]}"


def _finish(values: dict[str, str | None], credit: bool) -> dict[str, str]:
    result = {key: value for key, value in values.items() if value}
    amount_due = result.get("amount_due")
    negative = amount_due is not None and amount_due.startswith("-")
    result["kind"] = "credit_note" if credit or negative else "invoice"
    return result
