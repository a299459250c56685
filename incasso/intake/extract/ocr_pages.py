"""Turn PDFs and TIFF, PNG or JPEG images into greyscale page images ready for OCR.

Rules:

- PDF pages are rendered with pypdfium2 at :data:`RENDER_DPI`, as the page is
  displayed (``/Rotate`` applied). A page so small that its longer side would get
  fewer than :data:`MIN_RENDER_PIXELS` pixels is rendered at a higher resolution,
  up to :data:`MAX_RENDER_DPI`, so that small pages of large print stay readable.
- An image takes its resolution from the file (TIFF tags, PNG ``pHYs``, JPEG
  JFIF). Without one, :data:`DEFAULT_DPI` is assumed. An EXIF orientation tag is
  applied, as photos from phones carry one.
- Tesseract assumes square pixels, so an image whose horizontal and vertical
  resolutions differ (a normal-resolution fax is 204×98 dpi) is stretched along
  the lower one. Otherwise its letters reach Tesseract squashed to half height.
- A page of more than :data:`MAX_PAGE_PIXELS` pixels is scaled down to fit, and
  at most :data:`MAX_PAGES` pages of a document are read. Each such limit adds a
  note for the reviewer.

Every page records how many PDF points one of its pixels is, so that OCR word
boxes are given in points from the top-left corner of the page, like the boxes
of the text-layer path. For an image the page is its physical size at its
resolution.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import pypdfium2 as pdfium
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

logger = logging.getLogger(__name__)

MAX_PAGES = 20  # pages OCR'd per document
# An A4 page at 300 dpi has 8.7 million pixels and A3 17.4 million. Time and memory
# of Tesseract grow with the pixel count, so larger pages are scaled down.
MAX_PAGE_PIXELS = 25_000_000
RENDER_DPI = 300
MIN_RENDER_PIXELS = 2000  # on the longer side of a rendered PDF page
MAX_RENDER_DPI = 1200
DEFAULT_DPI = 300  # for images that state no resolution
POINTS_PER_INCH = 72
_SQUARE_TOLERANCE = 0.02  # resolutions closer than 2 % count as square pixels
_EXIF_ORIENTATION = 0x0112
_ROTATING_ORIENTATIONS = frozenset({5, 6, 7, 8})  # EXIF orientations that swap width and height
_HIGH_DEPTH_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


class UnreadableImage(ValueError):
    """An image or PDF that could not be decoded at all."""


@dataclass(frozen=True)
class PageImage:
    """One page as a greyscale image with square pixels."""

    number: int  # 1-based page number in the document
    image: Image.Image  # mode "1" or "L"
    dpi: int  # pixels per inch on both axes, given to Tesseract
    points_per_pixel_x: float
    points_per_pixel_y: float


@dataclass
class PageSource:
    """The pages of one document, produced one at a time to keep memory low."""

    page_count: int
    pages: Iterator[PageImage]
    # Findings about the limits and damage, for ExtractionResult.notes. Both these
    # and ``damaged`` are complete only once ``pages`` has been consumed.
    notes: list[str]
    damaged: bool = False  # a page could not be decoded


# ---------------------------------------------------------------------------
# PDFs


def pdf_pages(data: bytes) -> PageSource:
    """Return the pages of a PDF rendered for OCR; raise UnreadableImage if it does not open."""
    try:
        document = pdfium.PdfDocument(data)
    except (pdfium.PdfiumError, ValueError, OSError) as error:
        raise UnreadableImage(f"pypdfium2 could not open the PDF ({error})") from error

    page_count = len(document)
    notes: list[str] = []
    _note_page_limit(page_count, notes)
    return PageSource(page_count, _render_pages(document, notes), notes)


def _render_pages(document: pdfium.PdfDocument, notes: list[str]) -> Iterator[PageImage]:
    try:
        for index in range(min(len(document), MAX_PAGES)):
            page = document[index]
            try:
                yield _render_page(page, index + 1, notes)
            finally:
                page.close()
    finally:
        document.close()


def _render_page(page: pdfium.PdfPage, number: int, notes: list[str]) -> PageImage:
    width, height = page.get_size()  # points, as displayed
    dpi = float(RENDER_DPI)
    longer_side = max(width, height) / POINTS_PER_INCH * dpi
    if 0 < longer_side < MIN_RENDER_PIXELS:
        dpi = min(MAX_RENDER_DPI, dpi * MIN_RENDER_PIXELS / longer_side)

    pixels = (width * dpi / POINTS_PER_INCH) * (height * dpi / POINTS_PER_INCH)
    if pixels > MAX_PAGE_PIXELS:
        dpi *= math.sqrt(MAX_PAGE_PIXELS / pixels)
        notes.append(
            f"page {number} measures {width:.0f}×{height:.0f} points, so it was read at "
            f"{dpi:.0f} dpi to stay within {MAX_PAGE_PIXELS:,} pixels; small print may be misread"
        )

    image = page.render(scale=dpi / POINTS_PER_INCH, grayscale=True).to_pil()
    return PageImage(
        number=number,
        image=image,
        dpi=round(dpi),
        points_per_pixel_x=width / image.width,
        points_per_pixel_y=height / image.height,
    )


# ---------------------------------------------------------------------------
# TIFF, PNG and JPEG images


def image_pages(data: bytes) -> PageSource:
    """Return the pages (frames) of an image file; raise UnreadableImage if it does not open."""
    try:
        image = Image.open(io.BytesIO(data))
        page_count = getattr(image, "n_frames", 1)
    except UnidentifiedImageError as error:
        raise UnreadableImage("Pillow does not recognize the image data") from error
    except (Image.DecompressionBombError, OSError, ValueError, SyntaxError) as error:
        raise UnreadableImage(f"Pillow could not open the image ({error})") from error

    source = PageSource(page_count, iter(()), [])
    _note_page_limit(page_count, source.notes)
    source.pages = _image_frames(image, source)
    return source


def _image_frames(image: Image.Image, source: PageSource) -> Iterator[PageImage]:
    number = 0
    try:
        for frame in ImageSequence.Iterator(image):
            number += 1
            if number > MAX_PAGES:
                return
            yield _prepare_frame(frame, number, source.notes)
    except (Image.DecompressionBombError, OSError, ValueError, SyntaxError) as error:
        logger.info("image page %d of %d not decoded: %s", number, source.page_count, error)
        source.damaged = True
        source.notes.append(
            f"page {number} of {source.page_count} could not be decoded ({error}); it and any "
            "later pages were not read, so ask the sender for a new copy"
        )
    finally:
        image.close()


def _prepare_frame(frame: Image.Image, number: int, notes: list[str]) -> PageImage:
    dpi_x, dpi_y = _resolution(frame)
    orientation = frame.getexif().get(_EXIF_ORIENTATION, 1)
    if orientation in _ROTATING_ORIENTATIONS:
        dpi_x, dpi_y = dpi_y, dpi_x
    upright = ImageOps.exif_transpose(frame)
    grey = _greyscale(upright)

    dpi = max(dpi_x, dpi_y)
    width = grey.width * dpi / dpi_x
    height = grey.height * dpi / dpi_y
    if width * height > MAX_PAGE_PIXELS:
        shrink = math.sqrt(MAX_PAGE_PIXELS / (width * height))
        width, height, dpi = width * shrink, height * shrink, dpi * shrink
        notes.append(
            f"page {number} has {grey.width}×{grey.height} pixels, so it was scaled down to "
            f"{MAX_PAGE_PIXELS:,} pixels; small print may be misread"
        )

    size = (max(1, round(width)), max(1, round(height)))
    if size != grey.size:
        source = grey.convert("L") if grey.mode == "1" else grey
        grey = source.resize(size, Image.Resampling.LANCZOS)
    return PageImage(
        number=number,
        image=grey,
        dpi=max(1, round(dpi)),
        points_per_pixel_x=POINTS_PER_INCH / dpi,
        points_per_pixel_y=POINTS_PER_INCH / dpi,
    )


def _resolution(frame: Image.Image) -> tuple[float, float]:
    """Return the horizontal and vertical resolution in dpi, or the default for both."""
    stated = frame.info.get("dpi")
    try:
        dpi_x, dpi_y = (float(value) for value in stated) if stated else (0.0, 0.0)
    except (TypeError, ValueError):
        return float(DEFAULT_DPI), float(DEFAULT_DPI)
    if dpi_x <= 0 or dpi_y <= 0 or not math.isfinite(dpi_x * dpi_y):
        return float(DEFAULT_DPI), float(DEFAULT_DPI)
    if abs(dpi_x - dpi_y) <= _SQUARE_TOLERANCE * max(dpi_x, dpi_y):
        return dpi_x, dpi_x
    return dpi_x, dpi_y


def _greyscale(image: Image.Image) -> Image.Image:
    """Return ``image`` as a bilevel or 8-bit grey image, transparency shown as white."""
    if image.mode in ("1", "L"):
        image.load()
        return image
    if image.mode in _HIGH_DEPTH_MODES:
        floating = image.convert("F")
        low, high = cast(tuple[float, float], floating.getextrema())
        span = high - low or 1.0
        return floating.point(lambda value: (value - low) * 255.0 / span).convert("L")
    if "A" in image.getbands() or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        background.alpha_composite(rgba)
        return background.convert("L")
    return image.convert("L")


def _note_page_limit(page_count: int, notes: list[str]) -> None:
    if page_count > MAX_PAGES:
        notes.append(
            f"only the first {MAX_PAGES} of {page_count} pages were read by OCR; "
            f"pages {MAX_PAGES + 1} to {page_count} need manual entry"
        )
