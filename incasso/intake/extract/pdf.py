"""Extract invoices from the text layer of a PDF with pdfplumber.

Each page's words are grouped into lines and cells (see ``layout``), and the
labels in them are paired with their values (see ``pairing``), the same way as
for OCR'd pages. Every field gets the page and box of its value's words, in
pdfplumber's points from the top-left corner of the page.

A PDF without any characters but with images or vector drawings is a scan or a
fax. A PDF also has an unusable text layer when most of its characters lack a
Unicode mapping ("(cid:12)") or none of them is a letter. The same holds when one
letter makes up more than 30 % of its letters, as a broken font encoding gives.
All of these give ``Problem.NO_TEXT_LAYER``, never "not an invoice", so that the
caller can run OCR (see ``ocr``).
"""

from __future__ import annotations

import io
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError
from pdfplumber.page import Page
from pdfplumber.utils.exceptions import PdfminerException

from incasso.intake.extract.layout import Line, Word, build_lines
from incasso.intake.extract.model import ExtractionResult, Problem
from incasso.intake.extract.normalize import Exclusions
from incasso.intake.extract.pairing import (
    TEXT_PROFILE,
    extract_invoice,
    split_invoices,
    vat_numbers,
)

logger = logging.getLogger(__name__)

METHOD = "pdf-text"

_UNMAPPED_GLYPH_SHARE = 0.5  # above this share of "(cid:N)" characters the text layer is unusable
# A text layer decoded with a wrong font encoding repeats a few letters ("Aaaaa:
# AAAA Aabab"). The most common letter of Dutch, French and English text, "e",
# makes up 12 to 19 % of the letters, so a share above this marks such a layer.
_COMMON_LETTER_MAX_SHARE = 0.3
_MIN_LETTERS_FOR_SHARE = 200  # fewer letters are too few to judge by their frequencies


@dataclass(frozen=True)
class _PageText:
    """Lines of one page, with counts of its characters, images and drawings."""

    number: int
    lines: list[Line]
    char_count: int
    unmapped_char_count: int
    image_count: int
    drawing_count: int  # lines, rectangles and curves
    letters: Counter[str]  # how often each letter occurs, in lower case


# ---------------------------------------------------------------------------
# Reading the file


def extract_pdf(data: bytes, *, exclusions: Exclusions) -> ExtractionResult:
    """Extract the invoices of a PDF whose bytes start with ``%PDF-``.

    An encrypted or damaged file, a missing text layer and a document without
    invoice fields give a result with a problem. Parser errors are caught and
    reported that way, but a bug in this module still raises.
    """
    pages_or_result = _read_pages(data)
    if isinstance(pages_or_result, ExtractionResult):
        return pages_or_result
    pages = pages_or_result

    problem = _text_layer_problem(pages)
    if problem is not None:
        return problem

    groups = split_invoices([page.lines for page in pages], TEXT_PROFILE)
    invoices = [
        invoice
        for group in groups
        if (invoice := extract_invoice(group, exclusions, TEXT_PROFILE)) is not None
    ]
    if invoices:
        lines = [line for page in pages for line in page.lines]
        return ExtractionResult(method=METHOD, invoices=invoices, vat_numbers=vat_numbers(lines))
    return _no_invoice_result(pages)


def _read_pages(data: bytes) -> list[_PageText] | ExtractionResult:
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            return [_read_page(page) for page in pdf.pages]
    except PdfminerException as error:
        cause = error.args[0] if error.args else error
        if isinstance(cause, PDFEncryptionError):
            return _failure(
                Problem.ENCRYPTED,
                f"the PDF is encrypted and needs a password ({type(cause).__name__}); "
                "ask the creditor for an unprotected copy",
            )
        return _unreadable(cause)
    except Exception as error:  # pdfminer raises many exception types on damaged files
        return _unreadable(error)


def _unreadable(error: BaseException) -> ExtractionResult:
    logger.info("PDF could not be parsed: %s: %s", type(error).__name__, error)
    return _failure(
        Problem.UNREADABLE,
        f"the PDF could not be parsed ({type(error).__name__}: {error}); it is damaged "
        "or truncated, so ask the creditor to send it again",
    )


def _read_page(page: Page) -> _PageText:
    raw_words = page.extract_words(keep_blank_chars=False, use_text_flow=False)
    words = [
        Word(
            str(item["text"]),
            float(item["x0"]),
            float(item["x1"]),
            float(item["top"]),
            float(item["bottom"]),
        )
        for item in raw_words
    ]
    chars = [char for char in page.chars if not str(char.get("text", "")).isspace()]
    unmapped = sum(1 for char in chars if str(char.get("text", "")).startswith("(cid:"))
    letters = Counter(
        text.lower() for char in chars if (text := str(char.get("text", ""))).isalpha()
    )

    return _PageText(
        number=int(page.page_number),
        lines=build_lines(words, int(page.page_number)) if words else [],
        char_count=len(chars),
        unmapped_char_count=unmapped,
        image_count=len(page.images),
        drawing_count=len(page.lines) + len(page.rects) + len(page.curves),
        letters=letters,
    )


def _failure(problem: Problem, detail: str) -> ExtractionResult:
    return ExtractionResult(method=METHOD, problem=problem, detail=detail)


def _text_layer_problem(pages: Sequence[_PageText]) -> ExtractionResult | None:
    """Return NO_TEXT_LAYER when the document has no characters, or only garbled ones."""
    if not pages:
        return _failure(
            Problem.UNREADABLE, "the PDF has no pages; ask the creditor to send it again"
        )

    characters = sum(page.char_count for page in pages)
    unmapped = sum(page.unmapped_char_count for page in pages)
    images = sum(page.image_count for page in pages)
    drawings = sum(page.drawing_count for page in pages)

    if characters == 0 and (images or drawings):
        return _failure(
            Problem.NO_TEXT_LAYER,
            f"the PDF has {len(pages)} page(s) with no text layer but {images} image(s) and "
            f"{drawings} drawing(s); it is a scan or fax and needs OCR or manual entry",
        )
    if characters and unmapped / characters > _UNMAPPED_GLYPH_SHARE:
        return _failure(
            Problem.NO_TEXT_LAYER,
            f"{unmapped} of the {characters} characters in the PDF have no Unicode mapping, "
            "so the text layer is unusable; it needs OCR or manual entry",
        )
    return _garbled_letters_problem(pages, characters)


def _garbled_letters_problem(
    pages: Sequence[_PageText], characters: int
) -> ExtractionResult | None:
    """Return NO_TEXT_LAYER when the letters of the text layer cannot be real text."""
    letters: Counter[str] = Counter()
    for page in pages:
        letters.update(page.letters)
    letter_count = sum(letters.values())

    if characters and letter_count == 0:
        return _failure(
            Problem.NO_TEXT_LAYER,
            f"the {characters} characters in the PDF's text layer include no letter, so they "
            "do not match the printed text; it needs OCR or manual entry",
        )
    if letter_count < _MIN_LETTERS_FOR_SHARE:
        return None
    letter, count = letters.most_common(1)[0]
    if count / letter_count <= _COMMON_LETTER_MAX_SHARE:
        return None
    return _failure(
        Problem.NO_TEXT_LAYER,
        f"the letter {letter!r} makes up {count / letter_count:.0%} of the {letter_count} "
        "letters in the PDF's text layer, so its font encoding is broken and the text is "
        "garbled; it needs OCR or manual entry",
    )


def _no_invoice_result(pages: Sequence[_PageText]) -> ExtractionResult:
    image_pages = [str(page.number) for page in pages if page.char_count == 0 and page.image_count]
    if image_pages:
        return _failure(
            Problem.NO_TEXT_LAYER,
            f"no invoice fields in the text layer, and page(s) {', '.join(image_pages)} "
            "contain only images; the invoice is probably scanned and needs OCR or manual entry",
        )

    characters = sum(page.char_count for page in pages)
    if characters == 0:
        return _failure(
            Problem.NOT_AN_INVOICE,
            f"the PDF has {len(pages)} page(s) without any text, image or drawing; it is blank, "
            "or damaged in a way the parser did not detect, so ask the creditor to send it again",
        )
    return _failure(
        Problem.NOT_AN_INVOICE,
        f"the PDF has {len(pages)} page(s) and {characters} characters of text, but no invoice "
        "number or amount label was found; check that it is an invoice",
    )
