"""A second invoice layout, drawn independently of ``invoice_pdf``, for honest evaluation.

The first layout was the one extraction was developed against. This one
prints the same facts the way many accounting packages do: the title and the
creditor on top, the customer on the left under "billed to" wording, a
two-column grid of invoice facts on the right with other label words than the
first layout, the lines in a table, the totals in a box at the bottom right,
and the payment instruction as a sentence. It reuses ``InvoiceSpec`` for the
facts, so the labels of the evaluation set come from the same place.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from tests.factories.invoice_pdf import (
    InvoiceSpec,
    format_amount,
    format_belgian_vat,
    format_date,
    format_ogm,
)
from tests.factories.invoice_pdf import _register_fonts as register_fonts


@dataclass(frozen=True)
class GridTexts:
    title: str
    billed_to: str
    number: str
    date: str
    due: str
    customer_vat: str
    description: str
    amount: str
    subtotal: str
    vat: str
    total: str
    paid: str
    balance: str
    pay_sentence: str  # with {amount}, {iban}, {reference}, {due}


GRID_TEXTS = {
    "nl": GridTexts(
        title="Factuur",
        billed_to="Gefactureerd aan",
        number="Factuur nr.",
        date="Datum",
        due="Te betalen vóór",
        customer_vat="Uw btw-nummer",
        description="Omschrijving",
        amount="Bedrag",
        subtotal="Subtotaal",
        vat="Btw 21 %",
        total="Totaal incl. btw",
        paid="Reeds betaald",
        balance="Openstaand saldo",
        pay_sentence="Gelieve {amount} te storten op {iban} met mededeling {reference}.",
    ),
    "fr": GridTexts(
        title="Facture",
        billed_to="Facturé à",
        number="N° de facture",
        date="Date de facture",
        due="Date d'échéance",
        customer_vat="Votre n° TVA",
        description="Désignation",
        amount="Montant",
        subtotal="Total HTVA",
        vat="TVA 21 %",
        total="Total TVAC",
        paid="Déjà payé",
        balance="Solde à payer",
        pay_sentence="Merci de verser {amount} sur {iban} avec la communication {reference}.",
    ),
    "en": GridTexts(
        title="Invoice",
        billed_to="Invoice to",
        number="Invoice no.",
        date="Invoice date",
        due="Payment due",
        customer_vat="Customer VAT",
        description="Item",
        amount="Amount",
        subtotal="Net total",
        vat="VAT 21%",
        total="Total",
        paid="Paid",
        balance="Balance due",
        pay_sentence="Please transfer {amount} to {iban} quoting {reference}.",
    ),
}

IBAN = "BE71 0961 2345 6769"


def make_grid_invoice_pdf(spec: InvoiceSpec) -> bytes:
    """Return a one-page PDF of ``spec`` in the grid layout."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    fonts = register_fonts()
    page = _Page(canvas, fonts.regular, fonts.bold)
    texts = GRID_TEXTS[spec.language]

    _draw_header(page, spec, texts)
    _draw_customer(page, spec, texts)
    _draw_facts(page, spec, texts)
    bottom = _draw_lines(page, spec, texts)
    bottom = _draw_totals(page, spec, texts, bottom + 24)
    _draw_payment(page, spec, texts, bottom + 36)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


class _Page:
    def __init__(self, canvas: Canvas, regular: str, bold: str) -> None:
        self.canvas = canvas
        self.regular = regular
        self.bold = bold
        self.height = A4[1]

    def left(self, x: float, y: float, text: str, *, size: float = 9.5, bold: bool = False) -> None:
        self.canvas.setFont(self.bold if bold else self.regular, size)
        self.canvas.drawString(x, self.height - y, text)

    def right(
        self, x: float, y: float, text: str, *, size: float = 9.5, bold: bool = False
    ) -> None:
        self.canvas.setFont(self.bold if bold else self.regular, size)
        self.canvas.drawRightString(x, self.height - y, text)

    def rule(self, x0: float, y: float, x1: float) -> None:
        self.canvas.line(x0, self.height - y, x1, self.height - y)


def _money(spec: InvoiceSpec, value: object) -> str:
    return format_amount(value, spec.amount_style, spec.currency)  # type: ignore[arg-type]


def _draw_header(page: _Page, spec: InvoiceSpec, texts: GridTexts) -> None:
    page.left(40, 60, texts.title.upper(), size=22, bold=True)
    creditor = spec.creditor
    page.right(555, 50, creditor.name, size=11, bold=True)
    y = 64.0
    for line in creditor.address_lines:
        page.right(555, y, line, size=8.5)
        y += 11
    if creditor.vat:
        page.right(555, y, format_belgian_vat(creditor.vat), size=8.5)
        y += 11
    if creditor.email:
        page.right(555, y, creditor.email, size=8.5)


def _draw_customer(page: _Page, spec: InvoiceSpec, texts: GridTexts) -> None:
    customer = spec.customer
    page.left(40, 150, texts.billed_to, size=8, bold=True)
    page.left(40, 164, customer.name, size=10.5)
    y = 177.0
    for line in customer.address_lines:
        page.left(40, y, line)
        y += 12
    if customer.email:
        page.left(40, y, customer.email)
        y += 12
    if customer.vat:
        page.left(40, y, f"{texts.customer_vat} {format_belgian_vat(customer.vat)}")


def _draw_facts(page: _Page, spec: InvoiceSpec, texts: GridTexts) -> None:
    facts = [
        (texts.number, spec.number),
        (texts.date, format_date(spec.issue_date, spec.language, spec.date_style)),
        (texts.due, format_date(spec.effective_due_date, spec.language, spec.date_style)),
    ]
    y = 150.0
    for label, value in facts:
        page.left(340, y, label, size=8.5)
        page.right(555, y, value, size=9.5, bold=True)
        y += 16


def _draw_lines(page: _Page, spec: InvoiceSpec, texts: GridTexts) -> float:
    y = 270.0
    page.left(40, y, texts.description, bold=True)
    page.right(555, y, texts.amount, bold=True)
    page.rule(40, y + 5, 555)
    y += 20
    for line in spec.lines:
        page.left(40, y, f"{line.quantity:g} × {line.description}")
        page.right(555, y, _money(spec, line.net))
        y += 15
    page.rule(40, y - 8, 555)
    return y


def _draw_totals(page: _Page, spec: InvoiceSpec, texts: GridTexts, top: float) -> float:
    rows = [(texts.subtotal, spec.subtotal), (texts.vat, spec.vat_total), (texts.total, spec.total)]
    if spec.already_paid is not None:
        rows += [(texts.paid, spec.already_paid), (texts.balance, spec.amount_due)]
    y = top
    for label, value in rows:
        strong = label in (texts.total, texts.balance)
        page.left(360, y, label, bold=strong)
        page.right(555, y, _money(spec, value), bold=strong)
        y += 15
    page.canvas.rect(350, page.height - y + 5, 210, y - top + 10)
    return y


def _draw_payment(page: _Page, spec: InvoiceSpec, texts: GridTexts, y: float) -> None:
    reference = format_ogm(spec.payment_reference) if spec.payment_reference else spec.number
    sentence = texts.pay_sentence.format(
        amount=_money(spec, spec.amount_due),
        iban=IBAN,
        reference=reference,
        due=format_date(spec.effective_due_date, spec.language, spec.date_style),
    )
    page.left(40, y, sentence, size=9)
