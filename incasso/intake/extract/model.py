"""What an extractor returns: invoices made of fields, each with its source and confidence.

Every extractor reports either at least one invoice or a ``problem`` that says
why it found none, so that an empty result never passes for success (an
image-only PDF has no text, which is not the same as having no fields).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class FieldName(StrEnum):
    """Names of the fields an extractor may fill; values are normalized as noted."""

    INVOICE_NUMBER = "invoice_number"  # text as printed
    ISSUE_DATE = "issue_date"  # ISO date, YYYY-MM-DD
    DUE_DATE = "due_date"  # ISO date, YYYY-MM-DD
    AMOUNT_DUE = "amount_due"  # Decimal as text with a dot and two decimals: "1234.56"
    CURRENCY = "currency"  # ISO 4217 code: "EUR"
    DEBTOR_NAME = "debtor_name"
    DEBTOR_EMAIL = "debtor_email"  # lower-case address
    DEBTOR_VAT = "debtor_vat"  # Belgian numbers as "BE0123456749"; others as printed
    DEBTOR_ADDRESS = "debtor_address"  # one line, parts joined with ", "
    DEBTOR_PHONE = "debtor_phone"  # E.164: "+3292345678"
    PAYMENT_REFERENCE = "payment_reference"  # a valid OGM as 12 digits, else as printed
    DESCRIPTION = "description"  # what the invoice was for
    SELLER_NAME = "seller_name"  # the issuer, normally the creditor
    SELLER_VAT = "seller_vat"  # same form as DEBTOR_VAT
    PAYEE_IBAN = "payee_iban"  # compact, upper case: "BE71096123456769"
    TOTAL_WITH_VAT = "total_with_vat"  # invoice total including VAT, before prepayments
    TOTAL_WITHOUT_VAT = "total_without_vat"
    VAT_TOTAL = "vat_total"


class DocumentKind(StrEnum):
    """Kind of business document, as the extractor understood it."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class Problem(StrEnum):
    """Why a document gave no usable invoice."""

    NO_TEXT_LAYER = "no_text_layer"  # image-only PDF or a scan: needs OCR
    ENCRYPTED = "encrypted"  # the PDF needs a password
    UNREADABLE = "unreadable"  # damaged or not the format it claims
    NOT_AN_INVOICE = "not_an_invoice"  # readable, but no invoice fields found
    UNSUPPORTED = "unsupported"  # a file type we do not extract yet
    TOO_COSTLY = "too_costly"  # extraction hit its time or memory limit, or its process died


@dataclass(frozen=True)
class Field:
    """One extracted value with where it came from and how sure we are."""

    value: str
    raw: str
    source: str  # short, English, for staff and logs: "pdf page 1, label 'Vervaldatum'"
    confidence: float  # 0.0 to 1.0
    # Where the value is printed, for highlighting it beside the document: the
    # 1-based page and the box (x0, top, x1, bottom) in PDF points from the top left.
    page: int | None = None
    box: tuple[float, float, float, float] | None = None
    # Why the confidence was lowered, in English: "due date before issue date".
    doubts: tuple[str, ...] = ()


@dataclass
class ExtractedInvoice:
    """One invoice (or credit note) found in a document."""

    fields: dict[FieldName, Field] = field(default_factory=dict)
    kind: DocumentKind = DocumentKind.INVOICE
    language: str | None = None  # "nl", "fr", "en" or "de" when the labels tell

    def value(self, name: FieldName) -> str | None:
        """Return the normalized value of ``name``, or None when it was not found."""
        found = self.fields.get(name)
        return found.value if found else None


@dataclass
class ExtractionResult:
    """Everything one document gave: invoices, or the problem that stopped extraction."""

    method: str  # "ubl", "cii", "pdf-text", "ocr", "email-body", "spreadsheet", "none"
    invoices: list[ExtractedInvoice] = field(default_factory=list)
    problem: Problem | None = None
    detail: str | None = None  # English technical detail for the log and the reviewer
    # Every valid VAT or enterprise number printed anywhere in the document, seller's
    # and buyer's alike, as normalize_vat gives them ("BE0123456749"). Intake checks
    # that the registered creditor's number is among them.
    vat_numbers: list[str] = field(default_factory=list)
    # Findings about parts of the document that gave nothing, for the reviewer:
    # "row 7: amount '12,3,4' is not a number".
    notes: list[str] = field(default_factory=list)
