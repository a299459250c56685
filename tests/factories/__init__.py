"""Test data factories: invoice PDFs, image-only PDFs and Peppol UBL invoices.

See :mod:`tests.factories.invoice_pdf` for how a spec maps to the printed page.
"""

from __future__ import annotations

from tests.factories.invoice_pdf import (
    EXAMPLE_CREDITORS,
    EXAMPLE_CUSTOMERS,
    AmountStyle,
    DateStyle,
    InvoiceLine,
    InvoiceSpec,
    Party,
    ValuePlacement,
    belgian_vat,
    example_spec,
    format_amount,
    format_belgian_vat,
    format_date,
    format_ogm,
    make_image_only_pdf,
    make_invoice_pdf,
    make_invoices_pdf,
    make_ubl_invoice,
    ogm,
)

__all__ = [
    "EXAMPLE_CREDITORS",
    "EXAMPLE_CUSTOMERS",
    "AmountStyle",
    "DateStyle",
    "InvoiceLine",
    "InvoiceSpec",
    "Party",
    "ValuePlacement",
    "belgian_vat",
    "example_spec",
    "format_amount",
    "format_belgian_vat",
    "format_date",
    "format_ogm",
    "make_image_only_pdf",
    "make_invoice_pdf",
    "make_invoices_pdf",
    "make_ubl_invoice",
    "ogm",
]
