"""Tests for OCR extraction, on scans made here from the factory's invoice PDFs.

Each scan is rendered with pypdfium2 and then degraded the way real inputs are.
The scans are a PNG at 300 dpi, a noisy, blurred and skewed JPEG, an image-only
PDF, and CCITT Group 4 fax TIFFs at 204×196 dpi (fine) and 204×98 dpi (normal,
half the rows).
Tesseract runs for real, so every OCR test needs Debian's tesseract-ocr with the
nld, fra and eng data, as scripts/test installs.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache

import pytesseract
import pytest
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from incasso.intake.extract import (
    ExtractedInvoice,
    ExtractionResult,
    FieldName,
    Problem,
    extract_document,
    ocr,
    ocr_pages,
)
from incasso.intake.extract.layout import Word, build_lines
from incasso.intake.extract.normalize import Exclusions
from incasso.intake.extract.ocr_reading import (
    OCR_PROFILE,
    find_ocr_reference,
    read_ocr_amount,
    read_ocr_reference,
)
from incasso.intake.extract.pairing import extract_invoice
from tests.factories import (
    InvoiceSpec,
    ValuePlacement,
    example_spec,
    format_ogm,
    make_image_only_pdf,
    make_invoice_pdf,
    ogm,
)
from tests.factories.scans import (
    SCREEN_DPI,
    fax_tiff_scan,
    image_only_pdf_scan,
    noisy_jpeg_scan,
    png_scan,
    render_scan,
)

NL = example_spec("nl")
FR = example_spec("fr", placement=ValuePlacement.BELOW)
EN = example_spec("en")
BOX_TOLERANCE = 4.0  # points between an OCR'd box and the text layer's box of the same words


# ---------------------------------------------------------------------------
# Making scans


def _exclude(spec: InvoiceSpec) -> list[str]:
    return [value for value in (spec.creditor.email, spec.creditor.vat) if value]


def _blank_tiff(pages: int) -> bytes:
    images = [Image.new("1", (400, 560), color=1) for _ in range(pages)]
    buffer = io.BytesIO()
    images[0].save(buffer, format="TIFF", save_all=True, append_images=images[1:], dpi=(72, 72))
    return buffer.getvalue()


# Tesseract takes a few seconds a page, so each scan is read once for all tests.
@cache
def _ocrpng_scan() -> ExtractionResult:
    return extract_document(png_scan(NL), filename="scan.png", exclude=_exclude(NL))


@cache
def _text_layer() -> ExtractionResult:
    return extract_document(make_invoice_pdf(NL), exclude=_exclude(NL))


@cache
def _normal_fax() -> ExtractionResult:
    return extract_document(fax_tiff_scan([NL, FR], 98), filename="fax.tif", exclude=_exclude(NL))


def _single(result: ExtractionResult) -> ExtractedInvoice:
    assert result.problem is None, result.detail
    assert result.method == "ocr"
    assert len(result.invoices) == 1
    return result.invoices[0]


def _assert_key_fields(invoice: ExtractedInvoice, spec: InvoiceSpec) -> None:
    assert invoice.value(FieldName.INVOICE_NUMBER) == spec.number
    assert invoice.value(FieldName.ISSUE_DATE) == spec.issue_date.isoformat()
    assert invoice.value(FieldName.DUE_DATE) == spec.effective_due_date.isoformat()
    assert invoice.value(FieldName.AMOUNT_DUE) == f"{spec.amount_due:.2f}"
    assert invoice.value(FieldName.PAYMENT_REFERENCE) == spec.payment_reference


def _assert_near(
    box: tuple[float, float, float, float] | None,
    expected: tuple[float, float, float, float] | None,
) -> None:
    assert box is not None
    assert expected is not None
    for got, want in zip(box, expected, strict=True):
        assert abs(got - want) <= BOX_TOLERANCE, (box, expected)


# ---------------------------------------------------------------------------
# Fields read from scans


def test_ocr_png_fields() -> None:
    invoice = _single(_ocrpng_scan())

    _assert_key_fields(invoice, NL)
    assert invoice.value(FieldName.CURRENCY) == "EUR"
    assert invoice.value(FieldName.DEBTOR_NAME) == NL.customer.name
    assert invoice.language == "nl"


def test_ocr_confidence_below_text_layer() -> None:
    scanned = _single(_ocrpng_scan())
    text = _text_layer().invoices[0]

    for name, field in scanned.fields.items():
        assert field.confidence < text.fields[name].confidence, name
        assert field.source.startswith("ocr page 1, ")


def test_ocr_clean_value_passes_review() -> None:
    invoice = _single(_ocrpng_scan())

    # A clean value right of its label just passes the 0.8 threshold; below it, not.
    assert invoice.fields[FieldName.INVOICE_NUMBER].confidence == pytest.approx(0.8075)
    assert invoice.fields[FieldName.DESCRIPTION].confidence == pytest.approx(0.7225)


def test_ocr_boxes_match_text_layer() -> None:
    scanned = _single(_ocrpng_scan())
    text = _text_layer().invoices[0]

    for name in (FieldName.INVOICE_NUMBER, FieldName.DUE_DATE, FieldName.AMOUNT_DUE):
        assert scanned.fields[name].page == 1
        _assert_near(scanned.fields[name].box, text.fields[name].box)


def test_ocr_upside_down_page() -> None:
    result = extract_document(png_scan(NL, turn=Image.Transpose.ROTATE_180), exclude=_exclude(NL))
    invoice = _single(result)
    width, height = A4
    text_box = _text_layer().invoices[0].fields[FieldName.AMOUNT_DUE].box
    assert text_box is not None
    x0, top, x1, bottom = text_box

    _assert_key_fields(invoice, NL)
    # The box is on the page as scanned, that is upside down.
    turned = (width - x1, height - bottom, width - x0, height - top)
    _assert_near(invoice.fields[FieldName.AMOUNT_DUE].box, turned)


def test_ocr_noisy_skewed_jpeg() -> None:
    spec = example_spec("fr")
    invoice = _single(extract_document(noisy_jpeg_scan(spec), exclude=_exclude(spec)))

    _assert_key_fields(invoice, spec)
    assert invoice.language == "fr"


def test_ocr_image_only_pdf() -> None:
    result = extract_document(image_only_pdf_scan(EN), filename="scan.pdf", exclude=_exclude(EN))
    invoice = _single(result)

    _assert_key_fields(invoice, EN)
    assert invoice.value(FieldName.DEBTOR_VAT) == EN.customer.vat
    assert EN.creditor.vat in result.vat_numbers
    assert result.notes[0].startswith("text layer not used: the PDF has 1 page(s)")


def test_ocr_factory_fax_pdf() -> None:
    data = make_image_only_pdf("FACTUUR 2026-0412\nTe betalen: 184,50 EUR\nVervaldatum: 15/10/2026")
    invoice = _single(extract_document(data, filename="fax.pdf"))

    assert invoice.value(FieldName.AMOUNT_DUE) == "184.50"
    assert invoice.value(FieldName.DUE_DATE) == "2026-10-15"
    assert invoice.value(FieldName.CURRENCY) == "EUR"


def test_ocr_garbled_text_layer() -> None:
    """A PDF whose invisible text layer is garbled, over a picture of the invoice."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    canvas.drawImage(ImageReader(render_scan(NL, SCREEN_DPI)), 0, 0, width=A4[0], height=A4[1])
    hidden = canvas.beginText(72, 700)
    hidden.setTextRenderMode(3)  # neither filled nor stroked: invisible
    for _ in range(8):
        hidden.textLine("Aaaaaaa: AAAA AAA/Aaabaaab 77-2A8A-2076 Aabaa aambaa")
    canvas.drawText(hidden)
    canvas.showPage()
    canvas.save()
    result = extract_document(buffer.getvalue(), exclude=_exclude(NL))

    _assert_key_fields(_single(result), NL)
    assert "the letter 'a' makes up" in result.notes[0]


def test_ocr_finefax_tiff_scan() -> None:
    invoice = _single(extract_document(fax_tiff_scan([NL], 196), exclude=_exclude(NL)))

    _assert_key_fields(invoice, NL)


def test_ocr_normal_fax_every_page() -> None:
    result = _normal_fax()

    assert result.problem is None, result.detail
    assert [invoice.value(FieldName.INVOICE_NUMBER) for invoice in result.invoices] == [
        NL.number,
        FR.number,
    ]
    _assert_key_fields(result.invoices[0], NL)
    _assert_key_fields(result.invoices[1], FR)
    assert result.invoices[1].fields[FieldName.DUE_DATE].page == 2


def test_ocr_normal_fax_boxes_in_points() -> None:
    invoice = _normal_fax().invoices[0]
    text = _text_layer().invoices[0]

    # 204×98 dpi pixels are stretched to square ones, and boxes come back in points.
    for name in (FieldName.INVOICE_NUMBER, FieldName.AMOUNT_DUE):
        _assert_near(invoice.fields[name].box, text.fields[name].box)


# ---------------------------------------------------------------------------
# Failures and limits


def test_ocr_missing_tesseract(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/bin/tesseract")

    for data in (png_scan(NL), image_only_pdf_scan(NL)):
        result = extract_document(data)

        assert result.problem is Problem.NO_TEXT_LAYER
        assert result.invoices == []
        assert result.detail is not None
        assert "/nonexistent/bin/tesseract" in result.detail
        assert ocr.INSTALL_COMMAND in result.detail


def test_ocr_blank_page_not_invoice() -> None:
    result = extract_document(_blank_tiff(1), filename="blank.tif")

    assert result.problem is Problem.NOT_AN_INVOICE
    assert result.detail is not None
    assert "no words" in result.detail


def test_ocr_page_limit_noted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr_pages, "MAX_PAGES", 2)
    result = extract_document(_blank_tiff(3), filename="fax.tif")

    assert result.detail is not None
    assert "on the 2 page(s)" in result.detail
    assert "only the first 2 of 3 pages were read by OCR" in result.notes[0]


def test_ocr_pixel_limit_noted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr_pages, "MAX_PAGE_PIXELS", 100_000)
    result = extract_document(_blank_tiff(1))

    assert any("scaled down to 100,000 pixels" in note for note in result.notes)


def test_ocr_timeout_noted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "PAGE_TIMEOUT_SECONDS", 0.001)
    result = extract_document(png_scan(NL))

    assert result.problem is Problem.NO_TEXT_LAYER
    assert any("timed out after 0.001 s" in note for note in result.notes)


def test_ocr_document_budget_noted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "DOCUMENT_TIME_BUDGET_SECONDS", 0)
    result = extract_document(_blank_tiff(2))

    assert result.problem is Problem.NO_TEXT_LAYER
    assert "OCR stopped at page 1 of 2 after 0 s" in result.notes[0]


@pytest.mark.parametrize(
    ("kind", "length", "detail"),
    [
        ("PNG", 40, "the PNG image could not be decoded: Pillow does not recognize"),
        ("JPEG", 300, "the JPEG image could not be decoded: Pillow could not open"),
        ("TIFF", 200, "none of the 1 page(s) could be decoded"),
    ],
)
def test_ocr_truncated_image_unreadable(kind: str, length: int, detail: str) -> None:
    buffer = io.BytesIO()
    Image.new("L", (300, 300), color=200).save(buffer, format=kind)
    result = extract_document(buffer.getvalue()[:length], filename=f"scan.{kind.lower()}")

    assert result.problem is Problem.UNREADABLE
    assert result.detail is not None
    assert detail in result.detail


# ---------------------------------------------------------------------------
# Repairs of misread values, without Tesseract


REFERENCE = ogm(1_026_041_201)  # printed as +++102/6041/20133+++


@pytest.mark.parametrize(
    "printed",
    [
        format_ogm(REFERENCE),
        "+++102/6041/20133+4++",  # trailing +++ misread
        "+ ++102/6041/201334 ++",  # a + read as the digit 4
        "102/6041/20133",
        "102 / 6041 / 20133",
        "10216041120133",  # both slashes read as 1
        "102604120133",
    ],
)
def test_ocr_reference_after_label(printed: str) -> None:
    parsed = read_ocr_reference(printed)

    assert parsed is not None
    assert parsed.value == REFERENCE


@pytest.mark.parametrize("printed", ["102604120134", "+++102/6041/20134+++", "1026041201"])
def test_ocr_reference_check_digits_required(printed: str) -> None:
    assert read_ocr_reference(printed) is None


def test_ocr_reference_without_label_needs_plus() -> None:
    assert find_ocr_reference("Mededeling ++ +102/6041/20133 4+") is not None
    assert find_ocr_reference("Rekening 102604120133") is None


@pytest.mark.parametrize(
    ("printed", "value", "repaired"),
    [
        ("€ 1.222,10", "1222.10", False),
        ("1 222.10", "1222.10", False),
        ("€ 1.222.10", "1222.10", True),
        ("1,222,10 EUR", "1222.10", True),
    ],
)
def test_ocr_amount_separators(printed: str, value: str, repaired: bool) -> None:
    parsed = read_ocr_amount(printed)

    assert parsed is not None
    assert parsed.value == value
    assert (parsed.doubt is not None) is repaired


def _line_words(rows: Sequence[tuple[str, str]], *, confidence: float = 0.95) -> list[Word]:
    """Words of label-value rows, label at x 50 and value at x 300, 20 points apart."""
    words: list[Word] = []
    for index, (label, value) in enumerate(rows):
        top = 100.0 + 20 * index
        x = 50.0
        for text in label.split():
            words.append(Word(text, x, x + 6 * len(text), top, top + 10, confidence))
            x += 6 * len(text) + 4
        words.append(Word(value, 300, 300 + 6 * len(value), top, top + 10, confidence))
    return words


def _synthetic_invoice(rows: Sequence[tuple[str, str]], confidence: float) -> ExtractedInvoice:
    lines = build_lines(_line_words(rows, confidence=confidence), 1)
    invoice = extract_invoice(lines, Exclusions.from_entries([]), OCR_PROFILE)
    assert invoice is not None
    return invoice


def test_ocr_lost_decimal_separator_restored_by_totals() -> None:
    rows = [("Factuurnummer:", "2026-0099"), ("Subtotaal", "152,48"), ("Btw 21%", "32,02")]
    invoice = _synthetic_invoice([*rows, ("Te betalen", "18450")], confidence=0.95)
    amount = invoice.fields[FieldName.AMOUNT_DUE]

    assert amount.value == "184.50"
    assert "without a decimal separator" in amount.doubts[0]
    assert amount.confidence == pytest.approx(0.95 * 0.85 * 0.9)


def test_ocr_totals_confirm_low_confidence_amount() -> None:
    rows = [("Subtotaal", "152,48"), ("Btw 21%", "32,02"), ("Te betalen", "184,50")]
    confirmed = _synthetic_invoice(rows, confidence=0.6).fields[FieldName.AMOUNT_DUE]
    alone = _synthetic_invoice(rows[2:], confidence=0.6).fields[FieldName.AMOUNT_DUE]

    assert confirmed.value == alone.value == "184.50"
    assert confirmed.confidence == pytest.approx(0.95 * 0.85)
    assert confirmed.doubts == ()
    assert alone.confidence == pytest.approx(0.95 * 0.85 * 0.6 / 0.9)
    assert alone.doubts == ("OCR word confidence 60% for '184,50'",)


def test_ocr_low_word_confidence_floor() -> None:
    invoice = _synthetic_invoice([("Factuurnummer:", "2026-0099")], confidence=0.1)
    number = invoice.fields[FieldName.INVOICE_NUMBER]

    assert number.confidence == pytest.approx(0.95 * 0.85 * 0.5)
