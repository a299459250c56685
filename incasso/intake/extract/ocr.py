"""Extract invoices from scans, faxes and photos with Tesseract OCR.

Inputs are image-only PDFs, PDFs whose text layer is unusable, and TIFF (every
page), PNG and JPEG images. ``ocr_pages`` turns them into greyscale page images
with square pixels. Tesseract, through ``pytesseract.image_to_data`` with the
languages nld+fra+eng, returns each page's words with their boxes and
confidences. The words are converted to PDF points and grouped into lines like a
text layer, and the same label pairing as for text PDFs reads the fields (see
``pairing``). How OCR'd values are repaired and rated is in ``ocr_reading``.

Rules:

- Whether Tesseract and the three languages are installed is checked once for
  each Tesseract command, and the result is cached. When something is missing
  the result is ``Problem.NO_TEXT_LAYER`` with a detail that names the
  ``apt-get install`` command, never an exception.
- Each page gets at most :data:`PAGE_TIMEOUT_SECONDS` of Tesseract time, and a
  document at most :data:`DOCUMENT_TIME_BUDGET_SECONDS`. A page that times out or
  fails is skipped with a note and the other pages are read. Pages left when the
  budget is spent are not read, with a note, so that a long fax gives what was
  read instead of being stopped by the caller's own time limit.
- A page lying on its side or upside down is turned upright first, when
  Tesseract's orientation detection is sure of it. Word boxes are cleaned up and
  a skewed page is straightened before the words are grouped into lines (see
  ``ocr_words``). Field boxes are then mapped back onto the page as scanned.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Mapping
from dataclasses import replace

import pytesseract
from PIL import Image
from pytesseract import Output, TesseractError, TesseractNotFoundError

from incasso.intake.extract.layout import Line, Word, build_lines
from incasso.intake.extract.model import ExtractedInvoice, ExtractionResult, Problem
from incasso.intake.extract.normalize import Exclusions
from incasso.intake.extract.ocr_pages import (
    PageImage,
    PageSource,
    UnreadableImage,
    image_pages,
    pdf_pages,
)
from incasso.intake.extract.ocr_reading import OCR_PROFILE
from incasso.intake.extract.ocr_words import PageFrame, page_words
from incasso.intake.extract.pairing import extract_invoice, split_invoices, vat_numbers

logger = logging.getLogger(__name__)

METHOD = "ocr"
LANGUAGES = ("nld", "fra", "eng")
INSTALL_COMMAND = (
    "apt-get install tesseract-ocr tesseract-ocr-nld tesseract-ocr-fra tesseract-ocr-eng"
)
# Measured on a 2-core x86 machine: an invoice page at 300 dpi took 2 to 5 s (about 0.6 s
# of it orientation detection) and a dense two-column page about 20 s.
PAGE_TIMEOUT_SECONDS = 30
# Below the 60 s that intake's isolated extraction allows a document by default
# (Settings.extraction_timeout_seconds), which would otherwise stop a long fax
# without any result.
DOCUMENT_TIME_BUDGET_SECONDS = 45
_MIN_PAGE_SECONDS = 2.0  # a page is not started with less time than this left
# Tesseract's automatic page segmentation: it finds the columns and blocks of an
# invoice itself. The lines are rebuilt from the word boxes afterwards anyway.
PAGE_SEGMENTATION_MODE = 3
# Tesseract's orientation confidence below which a page is read as it lies. Scans
# lying on their side or upside down gave 30 to 35 when tried. A wrong turn ruins
# the page, so weaker findings are ignored.
MIN_ORIENTATION_CONFIDENCE = 5.0
# Transposition that applies a number of quarter turns clockwise.
_TURNS = {
    1: Image.Transpose.ROTATE_270,
    2: Image.Transpose.ROTATE_180,
    3: Image.Transpose.ROTATE_90,
}

IMAGE_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}


def is_image(data: bytes) -> bool:
    """Tell whether ``data`` starts like a PNG, JPEG or TIFF file."""
    return data.startswith(tuple(IMAGE_SIGNATURES))


def _image_kind(data: bytes) -> str:
    return next(
        (kind for signature, kind in IMAGE_SIGNATURES.items() if data.startswith(signature)), ""
    )


def extract_image(data: bytes, *, exclusions: Exclusions) -> ExtractionResult:
    """Extract the invoices of a TIFF, PNG or JPEG image by OCR."""
    missing = tesseract_problem()
    if missing is not None:
        return _failure(Problem.NO_TEXT_LAYER, f"the image needs OCR, but {missing}")
    try:
        source = image_pages(data)
    except UnreadableImage as error:
        return _failure(
            Problem.UNREADABLE,
            f"the {_image_kind(data)} image could not be decoded: {error}; it is damaged or "
            "truncated, so ask the sender for a new copy",
        )
    return _extract_pages(source, exclusions, notes=[])


def extract_scanned_pdf(data: bytes, *, exclusions: Exclusions, reason: str) -> ExtractionResult:
    """Extract the invoices of a PDF by OCR of its rendered pages.

    ``reason`` explains why the text layer was not used. It becomes the first note.
    """
    missing = tesseract_problem()
    if missing is not None:
        return _failure(Problem.NO_TEXT_LAYER, f"{reason}; OCR is not possible because {missing}")
    try:
        source = pdf_pages(data)
    except UnreadableImage as error:
        return _failure(
            Problem.UNREADABLE,
            f"{reason}, and its pages could not be rendered for OCR: {error}; ask the sender "
            "for a new copy",
        )
    return _extract_pages(source, exclusions, notes=[f"text layer not used: {reason}"])


# ---------------------------------------------------------------------------
# Checking the installation


def tesseract_problem() -> str | None:
    """Return what is missing for OCR, or None when Tesseract and its languages are installed.

    The result is cached for each value of ``pytesseract.pytesseract.tesseract_cmd``.
    """
    return _check_tesseract(str(pytesseract.pytesseract.tesseract_cmd))


@functools.lru_cache(maxsize=8)
def _check_tesseract(command: str) -> str | None:
    try:
        version = pytesseract.get_tesseract_version()
        installed = set(pytesseract.get_languages(config=""))
    except (TesseractNotFoundError, OSError) as error:
        logger.error("Tesseract %r not found: %s", command, error)
        return f"Tesseract was not found at {command!r}; install it with: {INSTALL_COMMAND}"
    except SystemExit as error:  # pytesseract exits on a version string it cannot parse
        logger.error("Tesseract %r did not give a usable version: %s", command, error)
        return (
            f"{command!r} did not report a usable Tesseract version ({error}); "
            f"install Tesseract with: {INSTALL_COMMAND}"
        )

    missing = [language for language in LANGUAGES if language not in installed]
    if missing:
        logger.error("Tesseract %s lacks the language data %s", version, missing)
        return (
            f"Tesseract {version} lacks the language data {', '.join(missing)}; install "
            f"it with: {INSTALL_COMMAND}"
        )
    logger.info("OCR with Tesseract %s, languages %s", version, "+".join(LANGUAGES))
    return None


# ---------------------------------------------------------------------------
# Reading pages


def _extract_pages(
    source: PageSource, exclusions: Exclusions, notes: list[str]
) -> ExtractionResult:
    pages: list[list[Line]] = []
    frames: dict[int, PageFrame] = {}
    word_count = 0
    deadline = time.monotonic() + DOCUMENT_TIME_BUDGET_SECONDS
    for page in source.pages:
        seconds_left = deadline - time.monotonic()
        if seconds_left < _MIN_PAGE_SECONDS:
            notes.append(
                f"OCR stopped at page {page.number} of {source.page_count} after "
                f"{DOCUMENT_TIME_BUDGET_SECONDS} s; the remaining pages need manual entry"
            )
            break
        read = _read_page(page, notes, timeout=min(PAGE_TIMEOUT_SECONDS, seconds_left))
        if read is None:
            continue
        words, frames[page.number] = read
        word_count += len(words)
        pages.append(build_lines(words, page.number))
    notes.extend(source.notes)

    invoices = [
        _boxes_on_page(invoice, frames)
        for group in split_invoices(pages, OCR_PROFILE)
        if (invoice := extract_invoice(group, exclusions, OCR_PROFILE)) is not None
    ]
    lines = [line for page_lines in pages for line in page_lines]
    if invoices:
        return ExtractionResult(
            method=METHOD, invoices=invoices, vat_numbers=vat_numbers(lines), notes=notes
        )
    return _no_invoice_result(source, len(pages), word_count, notes)


def _no_invoice_result(
    source: PageSource, pages_read: int, word_count: int, notes: list[str]
) -> ExtractionResult:
    page_count = source.page_count
    if pages_read == 0 and source.damaged:
        detail = (
            f"none of the {page_count} page(s) could be decoded (see the notes); the file is "
            "damaged or truncated, so ask the sender for a new copy"
        )
        return _failure(Problem.UNREADABLE, detail, notes)
    if pages_read == 0:
        detail = (
            f"OCR could not read any of the {page_count} page(s) (see the notes); "
            "the document needs manual entry"
        )
        return _failure(Problem.NO_TEXT_LAYER, detail, notes)
    if word_count == 0:
        detail = (
            f"OCR found no words on the {pages_read} page(s) it read; the scan is blank or "
            "too faint, so ask the sender for a better copy"
        )
        return _failure(Problem.NOT_AN_INVOICE, detail, notes)
    detail = (
        f"OCR read {word_count} words on {pages_read} page(s) but found no invoice number or "
        "amount label; check that it is an invoice, and enter it by hand if the scan is poor"
    )
    return _failure(Problem.NOT_AN_INVOICE, detail, notes)


def _read_page(
    page: PageImage, notes: list[str], *, timeout: float
) -> tuple[list[Word], PageFrame] | None:
    """Return the words Tesseract reads on ``page`` in points, or None when it failed.

    The page is first turned upright when Tesseract's orientation detection is
    sure that it lies on its side or upside down. ``timeout`` is in seconds and
    applies to each of the two Tesseract runs.
    """
    turns = _clockwise_turns(page, timeout)
    image = page.image.transpose(_TURNS[turns]) if turns else page.image
    scale_x, scale_y = page.points_per_pixel_x, page.points_per_pixel_y
    frame = PageFrame(page.image.width * scale_x, page.image.height * scale_y, turns)
    if turns % 2:
        scale_x, scale_y = scale_y, scale_x

    config = f"--psm {PAGE_SEGMENTATION_MODE} --dpi {page.dpi}"
    try:
        data = pytesseract.image_to_data(
            image,
            lang="+".join(LANGUAGES),
            config=config,
            output_type=Output.DICT,
            timeout=timeout,
        )
    except TesseractError as error:
        logger.warning("Tesseract failed on page %d: %s", page.number, error.message)
        notes.append(f"page {page.number}: Tesseract failed ({error.message}); it was not read")
        return None
    except RuntimeError as error:  # pytesseract's timeout is a plain RuntimeError
        if "timeout" not in str(error):
            raise
        logger.warning("OCR of page %d timed out after %.0f s", page.number, timeout)
        notes.append(
            f"page {page.number}: OCR timed out after {timeout:g} s, so it was not read; "
            "the page needs manual entry"
        )
        return None
    except OSError as error:  # Tesseract removed since the installation check
        logger.error("Tesseract could not be started for page %d: %s", page.number, error)
        notes.append(f"page {page.number}: Tesseract could not be started ({error})")
        return None

    read = page_words(data, scale_x, scale_y)
    return read.words, replace(frame, slope=read.slope)


def _clockwise_turns(page: PageImage, timeout: float) -> int:
    """Return the quarter turns clockwise that make ``page`` upright, or 0 when unsure.

    Tesseract's orientation detection fails on pages with little text, and its
    language data for it (``osd``) may be missing. Both count as upright.
    """
    try:
        found = pytesseract.image_to_osd(
            page.image,
            config=f"--psm 0 --dpi {page.dpi}",
            output_type=Output.DICT,
            timeout=timeout,
        )
    except (TesseractError, RuntimeError, OSError) as error:
        logger.info("orientation of page %d not detected: %s", page.number, error)
        return 0

    rotate = int(found.get("rotate", 0))
    confidence = float(found.get("orientation_conf", 0.0))
    if rotate % 90 or confidence < MIN_ORIENTATION_CONFIDENCE:
        return 0
    if rotate:
        logger.info("page %d turned %d degrees clockwise before OCR", page.number, rotate)
    return (rotate // 90) % 4


def _boxes_on_page(invoice: ExtractedInvoice, frames: Mapping[int, PageFrame]) -> ExtractedInvoice:
    """Map the field boxes of upright, straightened pages back onto the pages as scanned."""
    for name, found in list(invoice.fields.items()):
        frame = frames.get(found.page or 0)
        if found.box is not None and frame is not None:
            invoice.fields[name] = replace(found, box=frame.page_box(found.box))
    return invoice


def _failure(problem: Problem, detail: str, notes: list[str] | None = None) -> ExtractionResult:
    return ExtractionResult(method=METHOD, problem=problem, detail=detail, notes=notes or [])
