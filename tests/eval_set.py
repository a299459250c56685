"""A generated, labelled set of invoices for measuring extraction (``incasso eval-extraction``).

``write_eval_set(folder)`` writes every document and an ``expected.json``
whose labels come from the same specs the documents were printed from, so the
labels are right by construction. Run ``scripts/make-eval-set DIR`` to get the
set on disk; the test suite generates it in a temporary folder and holds the
scores to their targets.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from incasso.intake.evaluation import LABELS_FILE, LABELS_SCHEMA
from tests.factories.invoice_pdf import (
    AmountStyle,
    DateStyle,
    InvoiceSpec,
    ValuePlacement,
    example_spec,
    make_invoice_pdf,
    make_invoices_pdf,
    make_ubl_invoice,
)
from tests.factories.layout_grid import make_grid_invoice_pdf

LANGUAGES = ("nl", "fr", "en")

# Writers of extra kinds (scans, CII, bodies, sheets) register here: each yields
# (file name, bytes, label) for the set.
Writer = Callable[[], Iterator[tuple[str, bytes, dict[str, Any]]]]
EXTRA_WRITERS: list[Writer] = []


def write_eval_set(folder: Path) -> int:
    """Write the documents and ``expected.json`` into ``folder``; return how many documents."""
    folder.mkdir(parents=True, exist_ok=True)
    labels: dict[str, dict[str, Any]] = {}
    writers: list[Writer] = [_text_pdfs, _grid_pdfs, _ubl_files, *EXTRA_WRITERS]
    for writer in writers:
        for name, data, label in writer():
            if name in labels:
                raise ValueError(f"two documents of the evaluation set are named {name}")
            (folder / name).write_bytes(data)
            labels[name] = label

    document = {"schema": LABELS_SCHEMA, "documents": labels}
    (folder / LABELS_FILE).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return len(labels)


def invoice_label(spec: InvoiceSpec) -> dict[str, str]:
    """Return what extraction must find on the invoice printed from ``spec``."""
    label = {
        "invoice_number": spec.number,
        "issue_date": spec.issue_date.isoformat(),
        "due_date": spec.effective_due_date.isoformat(),
        "amount_due": f"{spec.amount_due:.2f}",
        "currency": spec.currency,
        "debtor_name": spec.customer.name,
    }
    if spec.customer.email:
        label["debtor_email"] = spec.customer.email
    if spec.customer.vat:
        label["debtor_vat"] = spec.customer.vat
    if spec.payment_reference:
        label["payment_reference"] = spec.payment_reference
    return label


def _numbered(spec: InvoiceSpec, suffix: str) -> InvoiceSpec:
    return replace(spec, number=f"{spec.number}-{suffix}")


def _text_pdfs() -> Iterator[tuple[str, bytes, dict[str, Any]]]:
    for language in LANGUAGES:
        for placement in ValuePlacement:
            for style in AmountStyle:
                suffix = f"{placement.value[:1]}{style.value[:1]}".upper()
                spec = _numbered(
                    example_spec(language, placement=placement, amount_style=style), suffix
                )
                yield _pdf(f"pdf-{language}-{placement.value}-{style.value}.pdf", spec)

        base = example_spec(language)
        yield _pdf(
            f"pdf-{language}-words.pdf", _numbered(replace(base, date_style=DateStyle.WORDS), "W")
        )
        yield _pdf(
            f"pdf-{language}-term.pdf",
            _numbered(replace(base, due_date=None, payment_term_days=30), "T"),
        )
        yield _pdf(
            f"pdf-{language}-partly-paid.pdf",
            _numbered(replace(base, already_paid=Decimal("200.00")), "P"),
        )

    credit = replace(example_spec("nl"), number="CN-2026-0007", credit_note=True)
    yield (
        "pdf-nl-credit-note.pdf",
        make_invoice_pdf(credit),
        {
            "kind": "pdf-text",
            "invoices": [],
            "credit_notes": 1,
        },
    )

    first = _numbered(example_spec("nl"), "M1")
    second = replace(
        _numbered(example_spec("nl"), "M2"),
        customer=example_spec("en").customer,
        issue_date=date(2026, 9, 20),
        due_date=date(2026, 10, 20),
    )
    yield (
        "pdf-nl-two-invoices.pdf",
        make_invoices_pdf([first, second]),
        {
            "kind": "pdf-text",
            "invoices": [invoice_label(first), invoice_label(second)],
        },
    )


def _grid_pdfs() -> Iterator[tuple[str, bytes, dict[str, Any]]]:
    """The same facts in a second, independently drawn layout with other label words."""
    for language in LANGUAGES:
        plain = _numbered(example_spec(language), "G1")
        yield f"grid-{language}.pdf", make_grid_invoice_pdf(plain), _pdf_label(plain)

        varied = _numbered(
            example_spec(
                language,
                amount_style=AmountStyle.SPACES,
                date_style=DateStyle.WORDS,
                already_paid=Decimal("100.00"),
            ),
            "G2",
        )
        yield f"grid-{language}-paid-words.pdf", make_grid_invoice_pdf(varied), _pdf_label(varied)


def _pdf_label(spec: InvoiceSpec) -> dict[str, Any]:
    return {"kind": "pdf-text", "invoices": [invoice_label(spec)]}


def _pdf(name: str, spec: InvoiceSpec) -> tuple[str, bytes, dict[str, Any]]:
    return name, make_invoice_pdf(spec), {"kind": "pdf-text", "invoices": [invoice_label(spec)]}


def _ubl_files() -> Iterator[tuple[str, bytes, dict[str, Any]]]:
    for language in LANGUAGES:
        spec = _numbered(example_spec(language), "U")
        yield f"ubl-{language}.xml", make_ubl_invoice(spec), _ubl_label(spec)

    paid = _numbered(replace(example_spec("en"), already_paid=Decimal("450.00")), "UP")
    yield "ubl-prepaid.xml", make_ubl_invoice(paid), _ubl_label(paid)

    in_means = _numbered(example_spec("fr"), "UM")
    data = make_ubl_invoice(in_means, due_date_in_payment_means=True)
    yield "ubl-due-in-payment-means.xml", data, _ubl_label(in_means)

    credit = replace(example_spec("nl"), number="UCN-2026-3", credit_note=True)
    yield (
        "ubl-credit-note.xml",
        make_ubl_invoice(credit),
        {
            "kind": "ubl",
            "invoices": [],
            "credit_notes": 1,
        },
    )


def _ubl_label(spec: InvoiceSpec) -> dict[str, Any]:
    return {"kind": "ubl", "invoices": [invoice_label(spec)]}
