"""Generate invoice PDFs (reportlab), image-only "fax" PDFs (Pillow) and Peppol UBL invoices (lxml).

Everything is built from an :class:`InvoiceSpec`, so one spec gives both a PDF and
the matching UBL file. All people and companies are invented: e-mail addresses use
the reserved ``.example`` and ``.test`` domains, and VAT numbers and structured
communications are made up but carry valid check digits (see :func:`belgian_vat`
and :func:`ogm`).

Typical use::

    spec = example_spec("fr", placement=ValuePlacement.BELOW)
    data = make_invoice_pdf(spec)

Text is drawn in DejaVu Sans when Debian's fonts-dejavu-core is installed, else in
reportlab's own Bitstream Vera. Vera has no narrow no-break space (U+202F), so with
it amounts in :attr:`AmountStyle.SPACES` use a no-break space (U+00A0) instead.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import reportlab
from lxml import etree
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont, TTFontFile
from reportlab.pdfgen.canvas import Canvas
from stdnum.be import ogm_vcs
from stdnum.be import vat as be_vat

CENT = Decimal("0.01")
NARROW_NO_BREAK_SPACE = "\u202f"
NO_BREAK_SPACE = "\u00a0"

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
_DEJAVU_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
_VERA_DIR = Path(reportlab.__file__).parent / "fonts"
_FONT = "InvoiceSans"
_FONT_BOLD = "InvoiceSans-Bold"


# ---------------------------------------------------------------------------
# Check digits for invented identifiers


def belgian_vat(base: int) -> str:
    """Return a valid Belgian VAT number "BE0xxxxxxxxx" for an 8-digit ``base`` below 20,000,000.

    The two check digits are 97 minus ``base`` modulo 97, as for real enterprise numbers.
    """
    if not 0 <= base < 20_000_000:
        raise ValueError(
            f"VAT base {base} must lie in 0..19999999 so the number starts with 0 or 1"
        )
    check = 97 - base % 97
    number = f"{base:08d}{check:02d}"
    if not be_vat.is_valid(number):
        raise ValueError(f"VAT number {number} built from base {base} fails stdnum's check")
    return f"BE{number}"


def format_belgian_vat(vat: str) -> str:
    """Format "BE0123456749" as printed on invoices: "BE 0123.456.749"."""
    digits = vat.removeprefix("BE")
    return f"BE {digits[:4]}.{digits[4:7]}.{digits[7:]}"


def ogm(base: int) -> str:
    """Return the 12 digits of a valid structured communication for a 10-digit ``base``."""
    digits = f"{base:010d}"
    number = digits + ogm_vcs.calc_check_digits(digits)
    if not ogm_vcs.is_valid(number):
        raise ValueError(f"structured communication {number} fails stdnum's check")
    return number


def format_ogm(digits: str) -> str:
    """Format 12 digits as printed on Belgian invoices: "+++123/4567/89012+++"."""
    return f"+++{digits[:3]}/{digits[3:7]}/{digits[7:]}+++"


# ---------------------------------------------------------------------------
# The specification


class ValuePlacement(StrEnum):
    """Where the value of a label is printed."""

    RIGHT = "right"  # "Factuurnummer:   2026-0412" on one line
    BELOW = "below"  # label on one line, value on the next


class AmountStyle(StrEnum):
    """How amounts are printed."""

    DOTS = "dots"  # "€ 1.234,56"
    SPACES = "spaces"  # "1 234,56 €" with a narrow no-break space (U+202F)
    ENGLISH = "english"  # "EUR 3,448.50"


class DateStyle(StrEnum):
    """How dates are printed."""

    NUMERIC = "numeric"  # 14-10-2026 (nl), 14/10/2026 (fr), 14.10.2026 (en)
    WORDS = "words"  # 14 oktober 2026, 1er octobre 2026, October 14, 2026


@dataclass(frozen=True)
class Party:
    """A creditor or customer as printed in a header or customer block."""

    name: str
    street: str
    postcode: str
    city: str
    country: str = "BE"
    vat: str | None = None  # compact form, "BE0123456749"
    email: str | None = None

    @property
    def address_lines(self) -> tuple[str, str]:
        return self.street, f"{self.postcode} {self.city}"


@dataclass(frozen=True)
class InvoiceLine:
    """One line item; amounts exclude VAT."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    vat_rate: Decimal = Decimal("21")

    @property
    def net(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(CENT)

    @property
    def vat(self) -> Decimal:
        return (self.net * self.vat_rate / 100).quantize(CENT)


@dataclass(frozen=True)
class InvoiceSpec:
    """Everything printed on one invoice or credit note.

    Give ``due_date`` or ``payment_term_days`` (or both). Totals are computed from
    ``lines``; ``already_paid`` adds a "paid" line and a balance to pay.
    """

    creditor: Party
    customer: Party
    number: str
    issue_date: date
    lines: tuple[InvoiceLine, ...]
    language: str = "nl"  # "nl", "fr" or "en"
    due_date: date | None = None
    payment_term_days: int | None = None
    already_paid: Decimal | None = None
    credit_note: bool = False
    payment_reference: str | None = None  # 12 OGM digits, see ogm()
    currency: str = "EUR"
    placement: ValuePlacement = ValuePlacement.RIGHT
    amount_style: AmountStyle = AmountStyle.DOTS
    date_style: DateStyle = DateStyle.NUMERIC
    creditor_footer: bool = False  # repeat the creditor's VAT number and e-mail in a footer

    def __post_init__(self) -> None:
        if self.language not in _TEXTS:
            raise ValueError(f"language {self.language!r} is not one of {sorted(_TEXTS)}")
        if self.due_date is None and self.payment_term_days is None:
            raise ValueError("give a due_date or payment_term_days")

    @property
    def subtotal(self) -> Decimal:
        return sum((line.net for line in self.lines), Decimal("0.00"))

    @property
    def vat_total(self) -> Decimal:
        return sum((line.vat for line in self.lines), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.vat_total

    @property
    def amount_due(self) -> Decimal:
        return self.total - (self.already_paid or Decimal("0.00"))

    @property
    def effective_due_date(self) -> date:
        """The printed due date, else issue date plus the payment term."""
        if self.due_date is not None:
            return self.due_date
        assert self.payment_term_days is not None  # enforced in __post_init__
        return self.issue_date + timedelta(days=self.payment_term_days)


@dataclass(frozen=True)
class _Texts:
    invoice_title: str
    credit_title: str
    number: str
    credit_number: str
    issue_date: str
    due_date: str
    customer: str
    vat: str
    email: str
    description: str
    quantity: str
    price: str
    line_total: str
    subtotal: str
    vat_line: str
    total: str
    paid: str
    to_pay: str
    reference: str
    term: str  # with {days}
    months: tuple[str, ...]


_TEXTS: dict[str, _Texts] = {
    "nl": _Texts(
        invoice_title="FACTUUR",
        credit_title="CREDITNOTA",
        number="Factuurnummer",
        credit_number="Creditnota nr.",
        issue_date="Factuurdatum",
        due_date="Vervaldatum",
        customer="Klant",
        vat="BTW",
        email="E-mail",
        description="Omschrijving",
        quantity="Aantal",
        price="Eenheidsprijs",
        line_total="Bedrag",
        subtotal="Subtotaal",
        vat_line="Btw 21%",
        total="Totaal incl. btw",
        paid="Reeds betaald",
        to_pay="Te betalen",
        reference="Mededeling",
        term="Betaling binnen {days} dagen na factuurdatum.",
        months=(
            "januari",
            "februari",
            "maart",
            "april",
            "mei",
            "juni",
            "juli",
            "augustus",
            "september",
            "oktober",
            "november",
            "december",
        ),
    ),
    "fr": _Texts(
        invoice_title="FACTURE",
        credit_title="NOTE DE CRÉDIT",
        number="Facture n°",
        credit_number="Note de crédit n°",
        issue_date="Date de facture",
        due_date="Date d'échéance",
        customer="Facturé à",
        vat="TVA",
        email="E-mail",
        description="Description",
        quantity="Quantité",
        price="Prix unitaire",
        line_total="Montant",
        subtotal="Sous-total",
        vat_line="TVA 21%",
        total="Total TVAC",
        paid="Déjà payé",
        to_pay="Montant à payer",
        reference="Communication",
        term="Payable à {days} jours date de facture.",
        months=(
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ),
    ),
    "en": _Texts(
        invoice_title="INVOICE",
        credit_title="CREDIT NOTE",
        number="Invoice number",
        credit_number="Credit note no.",
        issue_date="Invoice date",
        due_date="Due date",
        customer="Bill to",
        vat="VAT",
        email="Email",
        description="Description",
        quantity="Qty",
        price="Unit price",
        line_total="Amount",
        subtotal="Subtotal",
        vat_line="VAT 21%",
        total="Total incl. VAT",
        paid="Already paid",
        to_pay="Amount due",
        reference="Payment reference",
        term="Payment terms: Net {days} days.",
        months=(
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ),
    ),
}


# ---------------------------------------------------------------------------
# Ready-made examples

EXAMPLE_CREDITORS: dict[str, Party] = {
    "nl": Party(
        "Schrijnwerkerij Vandamme BV",
        "Molenstraat 41",
        "8800",
        "Roeselare",
        vat=belgian_vat(4_512_377),
        email="boekhouding@vandamme-schrijnwerk.example",
    ),
    "fr": Party(
        "Menuiserie Lambotte SRL",
        "Rue des Tanneurs 17",
        "5000",
        "Namur",
        vat=belgian_vat(6_270_915),
        email="compta@lambotte-menuiserie.example",
    ),
    "en": Party(
        "Northbay Repairs BV",
        "Havenlaan 8",
        "1000",
        "Brussel",
        vat=belgian_vat(7_841_206),
        email="billing@northbay-repairs.example",
    ),
}
EXAMPLE_CUSTOMERS: dict[str, Party] = {
    "nl": Party(
        "Lotte Verhaegen", "Kapelstraat 9", "9000", "Gent", email="lotte.verhaegen@mail.test"
    ),
    "fr": Party(
        "Julien Dethier", "Rue de la Station 23", "4000", "Liège", email="julien.dethier@mail.test"
    ),
    "en": Party(
        "Brightfield Logistics NV",
        "Industrieweg 112",
        "2030",
        "Antwerpen",
        vat=belgian_vat(8_391_442),
        email="ap@brightfield-logistics.example",
    ),
}
EXAMPLE_LINES: dict[str, tuple[InvoiceLine, ...]] = {
    "nl": (
        InvoiceLine("Eiken deur op maat", Decimal("1"), Decimal("845.00")),
        InvoiceLine("Plaatsing (uren)", Decimal("3"), Decimal("55.00")),
    ),
    "fr": (
        InvoiceLine("Châssis en bois", Decimal("2"), Decimal("412.50")),
        InvoiceLine("Main-d'œuvre (heures)", Decimal("4"), Decimal("48.00")),
    ),
    "en": (
        InvoiceLine("Forklift maintenance", Decimal("1"), Decimal("2450.00")),
        InvoiceLine("Replacement hydraulic hose", Decimal("2"), Decimal("187.50")),
    ),
}


def example_spec(language: str = "nl", **changes: Any) -> InvoiceSpec:
    """Return a complete example invoice in ``language``, with ``changes`` applied.

    The example has a due date, a structured communication and a customer e-mail,
    and the English one a business customer with a VAT number.
    """
    spec = InvoiceSpec(
        creditor=EXAMPLE_CREDITORS[language],
        customer=EXAMPLE_CUSTOMERS[language],
        number={"nl": "2026-0412", "fr": "F26-1187", "en": "INV-2026-0077"}[language],
        issue_date=date(2026, 9, 14),
        due_date=date(2026, 10, 14),
        lines=EXAMPLE_LINES[language],
        language=language,
        payment_reference=ogm(
            {"nl": 1_026_041_201, "fr": 1_026_118_702, "en": 1_026_007_703}[language]
        ),
    )
    return replace(spec, **changes)


# ---------------------------------------------------------------------------
# Formatting


def format_amount(
    amount: Decimal,
    style: AmountStyle,
    currency: str = "EUR",
    *,
    space: str = NARROW_NO_BREAK_SPACE,
) -> str:
    """Format ``amount`` in ``style``; ``space`` is the thousands separator of SPACES."""
    sign = "-" if amount < 0 else ""
    whole, cents = f"{abs(amount):.2f}".split(".")
    symbol = "€" if currency == "EUR" else currency

    if style is AmountStyle.ENGLISH:
        return f"{currency} {sign}{int(whole):,}.{cents}"

    groups = f"{int(whole):,}".split(",")
    if style is AmountStyle.SPACES:
        return f"{sign}{space.join(groups)},{cents}{NO_BREAK_SPACE}{symbol}"
    return f"{symbol} {sign}{'.'.join(groups)},{cents}"


def format_date(value: date, language: str, style: DateStyle) -> str:
    """Format ``value`` the way invoices in ``language`` print it."""
    texts = _TEXTS[language]
    if style is DateStyle.NUMERIC:
        separator = {"nl": "-", "fr": "/", "en": "."}[language]
        return f"{value.day:02d}{separator}{value.month:02d}{separator}{value.year}"

    month = texts.months[value.month - 1]
    if language == "en":
        return f"{month} {value.day}, {value.year}"
    day = "1er" if language == "fr" and value.day == 1 else str(value.day)
    return f"{day} {month} {value.year}"


# ---------------------------------------------------------------------------
# PDF


def make_invoice_pdf(spec: InvoiceSpec, *, user_password: str | None = None) -> bytes:
    """Return a one-page PDF of ``spec``; with ``user_password`` the PDF is encrypted."""
    return make_invoices_pdf([spec], user_password=user_password)


def make_invoices_pdf(specs: Sequence[InvoiceSpec], *, user_password: str | None = None) -> bytes:
    """Return one PDF with each spec on its own page, as creditors batch their invoices."""
    fonts = _register_fonts()
    buffer = io.BytesIO()
    encryption = StandardEncryption(user_password, strength=128) if user_password else None
    canvas = Canvas(buffer, pagesize=A4, encrypt=encryption, invariant=True)

    for spec in specs:
        _draw_invoice(canvas, spec, fonts)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


@dataclass(frozen=True)
class _Fonts:
    regular: str
    bold: str
    has_narrow_space: bool


def _register_fonts() -> _Fonts:
    if _DEJAVU.exists() and _DEJAVU_BOLD.exists():
        regular, bold = _DEJAVU, _DEJAVU_BOLD
    else:
        regular, bold = _VERA_DIR / "Vera.ttf", _VERA_DIR / "VeraBd.ttf"

    if _FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(_FONT, str(regular)))
        pdfmetrics.registerFont(TTFont(_FONT_BOLD, str(bold)))
    has_narrow_space = ord(NARROW_NO_BREAK_SPACE) in TTFontFile(str(regular)).charToGlyph
    return _Fonts(_FONT, _FONT_BOLD, has_narrow_space)


class _Writer:
    """Draws text top-down in points from the top-left corner, like a reader sees it."""

    def __init__(self, canvas: Canvas, fonts: _Fonts) -> None:
        self.canvas = canvas
        self.fonts = fonts
        self.height = A4[1]

    def text(self, x: float, y: float, text: str, *, size: float = 10, bold: bool = False) -> None:
        self.canvas.setFont(self.fonts.bold if bold else self.fonts.regular, size)
        self.canvas.drawString(x, self.height - y, text)

    def right(self, x: float, y: float, text: str, *, size: float = 10) -> None:
        self.canvas.setFont(self.fonts.regular, size)
        self.canvas.drawRightString(x, self.height - y, text)


def _draw_invoice(canvas: Canvas, spec: InvoiceSpec, fonts: _Fonts) -> None:
    writer = _Writer(canvas, fonts)
    texts = _TEXTS[spec.language]
    _draw_creditor(writer, spec, texts)
    _draw_customer(writer, spec, texts)

    title = texts.credit_title if spec.credit_note else texts.invoice_title
    writer.text(50, 250, title, size=18, bold=True)
    _draw_meta(writer, spec, texts)
    bottom = _draw_lines(writer, spec, texts)
    bottom = _draw_totals(writer, spec, texts, bottom + 20)
    _draw_payment(writer, spec, texts, bottom + 30)
    if spec.creditor_footer:
        _draw_footer(writer, spec, texts)


def _draw_creditor(writer: _Writer, spec: InvoiceSpec, texts: _Texts) -> None:
    creditor = spec.creditor
    writer.text(50, 60, creditor.name, size=13, bold=True)
    y = 78.0
    for line in creditor.address_lines:
        writer.text(50, y, line)
        y += 13
    if creditor.vat:
        writer.text(50, y, f"{texts.vat}: {format_belgian_vat(creditor.vat)}")
        y += 13
    if creditor.email:
        writer.text(50, y, f"{texts.email}: {creditor.email}")


def _draw_customer(writer: _Writer, spec: InvoiceSpec, texts: _Texts) -> None:
    customer = spec.customer
    x = 330.0
    entries = [customer.name, *customer.address_lines]
    if customer.vat:
        entries.append(f"{texts.vat}: {format_belgian_vat(customer.vat)}")
    if customer.email:
        entries.append(f"{texts.email}: {customer.email}")

    if spec.placement is ValuePlacement.RIGHT:
        writer.text(x, 130, f"{texts.customer}:", bold=True)
        y = 130.0
        for entry in entries:
            writer.text(x + 70, y, entry)
            y += 13
        return

    writer.text(x, 130, texts.customer, bold=True)
    y = 145.0
    for entry in entries:
        writer.text(x, y, entry)
        y += 13


def _meta_entries(spec: InvoiceSpec, texts: _Texts) -> list[tuple[str, str]]:
    number_label = texts.credit_number if spec.credit_note else texts.number
    entries = [
        (number_label, spec.number),
        (texts.issue_date, format_date(spec.issue_date, spec.language, spec.date_style)),
    ]
    if spec.due_date is not None:
        entries.append((texts.due_date, format_date(spec.due_date, spec.language, spec.date_style)))
    return entries


def _draw_meta(writer: _Writer, spec: InvoiceSpec, texts: _Texts) -> None:
    entries = _meta_entries(spec, texts)
    if spec.placement is ValuePlacement.RIGHT:
        y = 280.0
        for label, value in entries:
            writer.text(50, y, f"{label}:")
            writer.text(170, y, value)
            y += 14
        return

    x = 50.0
    for label, value in entries:
        writer.text(x, 280, label, bold=True)
        writer.text(x, 294, value)
        x += 150


def _draw_lines(writer: _Writer, spec: InvoiceSpec, texts: _Texts) -> float:
    y = 340.0
    writer.text(50, y, texts.description, bold=True)
    writer.text(300, y, texts.quantity, bold=True)
    writer.text(360, y, texts.price, bold=True)
    writer.text(480, y, texts.line_total, bold=True)

    for line in spec.lines:
        y += 16
        writer.text(50, y, line.description)
        writer.right(330, y, f"{line.quantity:g}")
        writer.right(450, y, _amount(spec, line.unit_price, writer))
        writer.right(545, y, _amount(spec, line.net, writer))
    return y


def _amount(spec: InvoiceSpec, value: Decimal, writer: _Writer) -> str:
    space = NARROW_NO_BREAK_SPACE if writer.fonts.has_narrow_space else NO_BREAK_SPACE
    return format_amount(value, spec.amount_style, spec.currency, space=space)


def _draw_totals(writer: _Writer, spec: InvoiceSpec, texts: _Texts, top: float) -> float:
    rows = [
        (texts.subtotal, spec.subtotal),
        (texts.vat_line, spec.vat_total),
        (texts.total, spec.total),
    ]
    if spec.already_paid is not None:
        rows.append((texts.paid, -spec.already_paid))
        rows.append((texts.to_pay, spec.amount_due))

    y = top
    for label, value in rows:
        if spec.placement is ValuePlacement.RIGHT:
            writer.text(330, y, label)
            writer.right(545, y, _amount(spec, value, writer))
            y += 15
        else:
            writer.text(400, y, label, bold=True)
            writer.text(400, y + 13, _amount(spec, value, writer))
            y += 32
    return y


def _draw_payment(writer: _Writer, spec: InvoiceSpec, texts: _Texts, top: float) -> None:
    y = top
    if spec.payment_term_days is not None:
        writer.text(50, y, texts.term.format(days=spec.payment_term_days))
        y += 15
    if spec.payment_reference is not None:
        writer.text(50, y, f"{texts.reference}: {format_ogm(spec.payment_reference)}")


def _draw_footer(writer: _Writer, spec: InvoiceSpec, texts: _Texts) -> None:
    creditor = spec.creditor
    parts = [creditor.name, f"{creditor.street}, {creditor.postcode} {creditor.city}"]
    if creditor.vat:
        parts.append(f"{texts.vat} {format_belgian_vat(creditor.vat)}")
    if creditor.email:
        parts.append(creditor.email)
    writer.text(50, 800, " - ".join(parts), size=8)


def make_image_only_pdf(text: str, *, pages: int = 1) -> bytes:
    """Return a PDF whose pages hold only a picture of ``text``, like a faxed invoice.

    The PDF has no text layer at all: every page is one image drawn with Pillow.
    """
    image = _render_text_image(text)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    width, height = A4
    for _ in range(pages):
        canvas.drawImage(ImageReader(image), 0, 0, width=width, height=height)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _render_text_image(text: str) -> Image.Image:
    image = Image.new("L", (1240, 1754), color=255)  # A4 at 150 dpi, greyscale like a fax
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=32)
    y = 120
    for line in text.splitlines():
        draw.text((110, y), line, fill=0, font=font)
        y += 48
    return image


# ---------------------------------------------------------------------------
# Peppol UBL

_UBL_NS = {
    "Invoice": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "CreditNote": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
}
_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
PEPPOL_CUSTOMIZATION_ID = (
    "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
)
PEPPOL_PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
_BELGIAN_ENTERPRISE_SCHEME = "0208"  # Peppol participant scheme for Belgian enterprise numbers
_CREDIT_TRANSFER = "30"  # UNCL 4461 payment means code


def make_ubl_invoice(spec: InvoiceSpec, *, due_date_in_payment_means: bool = False) -> bytes:
    """Return a Peppol BIS Billing 3.0 UBL Invoice (or CreditNote) for ``spec`` as UTF-8 XML.

    ``already_paid`` becomes ``PrepaidAmount`` and is subtracted in ``PayableAmount``.
    Credit notes, and invoices with ``due_date_in_payment_means``, carry the due date
    as ``PaymentMeans/PaymentDueDate``; ``payment_term_days`` alone gives a
    ``PaymentTerms`` note and no due date. The file is close to BIS 3 but was not
    run through the Peppol schematron.
    """
    root_name = "CreditNote" if spec.credit_note else "Invoice"
    root = etree.Element(
        f"{{{_UBL_NS[root_name]}}}{root_name}",
        nsmap={None: _UBL_NS[root_name], "cac": _CAC, "cbc": _CBC},
    )

    _cbc(root, "CustomizationID", PEPPOL_CUSTOMIZATION_ID)
    _cbc(root, "ProfileID", PEPPOL_PROFILE_ID)
    _cbc(root, "ID", spec.number)
    _cbc(root, "IssueDate", spec.issue_date.isoformat())
    in_payment_means = spec.credit_note or due_date_in_payment_means
    if spec.due_date is not None and not in_payment_means:
        _cbc(root, "DueDate", spec.due_date.isoformat())
    _cbc(root, f"{root_name}TypeCode", "381" if spec.credit_note else "380")
    _cbc(root, "DocumentCurrencyCode", spec.currency)

    _ubl_party(_cac(root, "AccountingSupplierParty"), spec.creditor)
    _ubl_party(_cac(root, "AccountingCustomerParty"), spec.customer)
    _ubl_payment(root, spec, in_payment_means)
    _ubl_totals(root, spec)
    _ubl_lines(root, spec, root_name)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _cbc(parent: etree._Element, name: str, text: str, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{_CBC}}}{name}", attributes)
    element.text = text
    return element


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{_CAC}}}{name}")


def _money(parent: etree._Element, name: str, amount: Decimal, currency: str) -> None:
    _cbc(parent, name, f"{amount:.2f}", currencyID=currency)


def _ubl_party(wrapper: etree._Element, party: Party) -> None:
    element = _cac(wrapper, "Party")
    if party.vat:
        _cbc(
            element, "EndpointID", party.vat.removeprefix("BE"), schemeID=_BELGIAN_ENTERPRISE_SCHEME
        )
    elif party.email:
        _cbc(element, "EndpointID", party.email, schemeID="EM")
    _cbc(_cac(element, "PartyName"), "Name", party.name)

    address = _cac(element, "PostalAddress")
    _cbc(address, "StreetName", party.street)
    _cbc(address, "CityName", party.city)
    _cbc(address, "PostalZone", party.postcode)
    _cbc(_cac(address, "Country"), "IdentificationCode", party.country)

    if party.vat:
        tax_scheme = _cac(element, "PartyTaxScheme")
        _cbc(tax_scheme, "CompanyID", party.vat)
        _cbc(_cac(tax_scheme, "TaxScheme"), "ID", "VAT")
    legal = _cac(element, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", party.name)
    if party.vat:
        _cbc(legal, "CompanyID", party.vat.removeprefix("BE"), schemeID=_BELGIAN_ENTERPRISE_SCHEME)
    if party.email:
        _cbc(_cac(element, "Contact"), "ElectronicMail", party.email)


def _ubl_payment(root: etree._Element, spec: InvoiceSpec, due_in_payment_means: bool) -> None:
    means = _cac(root, "PaymentMeans")
    _cbc(means, "PaymentMeansCode", _CREDIT_TRANSFER)
    if due_in_payment_means and spec.due_date is not None:
        _cbc(means, "PaymentDueDate", spec.due_date.isoformat())
    if spec.payment_reference is not None:
        _cbc(means, "PaymentID", format_ogm(spec.payment_reference))
    _cbc(_cac(means, "PayeeFinancialAccount"), "ID", "BE71096123456769")

    if spec.payment_term_days is not None:
        terms = _cac(root, "PaymentTerms")
        _cbc(terms, "Note", f"Net {spec.payment_term_days} days")


def _ubl_totals(root: etree._Element, spec: InvoiceSpec) -> None:
    tax_total = _cac(root, "TaxTotal")
    _money(tax_total, "TaxAmount", spec.vat_total, spec.currency)

    totals = _cac(root, "LegalMonetaryTotal")
    _money(totals, "LineExtensionAmount", spec.subtotal, spec.currency)
    _money(totals, "TaxExclusiveAmount", spec.subtotal, spec.currency)
    _money(totals, "TaxInclusiveAmount", spec.total, spec.currency)
    if spec.already_paid is not None:
        _money(totals, "PrepaidAmount", spec.already_paid, spec.currency)
    _money(totals, "PayableAmount", spec.amount_due, spec.currency)


def _ubl_lines(root: etree._Element, spec: InvoiceSpec, root_name: str) -> None:
    quantity_name = "CreditedQuantity" if spec.credit_note else "InvoicedQuantity"
    for number, line in enumerate(spec.lines, start=1):
        element = _cac(root, f"{root_name}Line")
        _cbc(element, "ID", str(number))
        _cbc(element, quantity_name, f"{line.quantity:g}", unitCode="C62")
        _money(element, "LineExtensionAmount", line.net, spec.currency)

        item = _cac(element, "Item")
        _cbc(item, "Name", line.description)
        category = _cac(item, "ClassifiedTaxCategory")
        _cbc(category, "ID", "S")
        _cbc(category, "Percent", f"{line.vat_rate:g}")
        _cbc(_cac(category, "TaxScheme"), "ID", "VAT")
        _money(_cac(element, "Price"), "PriceAmount", line.unit_price, spec.currency)
