"""Scans of factory invoices: rendered with pypdfium2, then degraded the way real inputs are.

A PNG at 300 dpi, a noisy, blurred and skewed JPEG, an image-only PDF, and
CCITT Group 4 fax TIFFs at 204×196 dpi (fine) and 204×98 dpi (normal, half the
rows). Used by the OCR tests and the evaluation set.
"""

from __future__ import annotations

import io
import random
from collections.abc import Sequence

import pypdfium2 as pdfium
from PIL import Image, ImageFilter
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from tests.factories.invoice_pdf import InvoiceSpec, make_invoice_pdf

SCREEN_DPI = 300


def render_scan(spec: InvoiceSpec, dpi: float) -> Image.Image:
    document = pdfium.PdfDocument(make_invoice_pdf(spec))
    try:
        return document[0].render(scale=dpi / 72, grayscale=True).to_pil()
    finally:
        document.close()


def png_scan(spec: InvoiceSpec, *, turn: Image.Transpose | None = None) -> bytes:
    image = render_scan(spec, SCREEN_DPI)
    if turn is not None:
        image = image.transpose(turn)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(SCREEN_DPI, SCREEN_DPI))
    return buffer.getvalue()


def noisy_jpeg_scan(spec: InvoiceSpec) -> bytes:
    """A photocopy-like scan: 200 dpi, turned 1.2 degrees, specks, blur, JPEG quality 70."""
    image = render_scan(spec, 200).rotate(1.2, Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    pixels = image.load()
    assert pixels is not None
    generator = random.Random(7)
    for _ in range(image.width * image.height // 150):
        xy = (generator.randrange(image.width), generator.randrange(image.height))
        pixels[xy] = generator.choice((0, 255))
    image = image.filter(ImageFilter.GaussianBlur(0.6))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=70, dpi=(200, 200))
    return buffer.getvalue()


def image_only_pdf_scan(spec: InvoiceSpec) -> bytes:
    """An A4 PDF whose only content is a 300 dpi picture of the invoice."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    canvas.drawImage(ImageReader(render_scan(spec, SCREEN_DPI)), 0, 0, width=A4[0], height=A4[1])
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def fax_page_scan(spec: InvoiceSpec, vertical_dpi: int) -> Image.Image:
    """A bilevel fax page at 204 dpi across and ``vertical_dpi`` down."""
    image = render_scan(spec, 204)
    rows = round(image.height * vertical_dpi / 204)
    image = image.resize((image.width, rows), Image.Resampling.BOX)
    return image.point(lambda value: 255 if value > 160 else 0).convert("1")


def fax_tiff_scan(specs: Sequence[InvoiceSpec], vertical_dpi: int) -> bytes:
    pages = [fax_page_scan(spec, vertical_dpi) for spec in specs]
    buffer = io.BytesIO()
    pages[0].save(
        buffer,
        format="TIFF",
        save_all=True,
        append_images=pages[1:],
        compression="group4",
        dpi=(204, vertical_dpi),
    )
    return buffer.getvalue()
