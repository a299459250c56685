"""Recognizing fax-to-mail messages and turning their scans into single pages.

Rules:

- A message is a fax when it carries a TIFF image, found by content and not
  by name. It is also a fax when its subject or body speaks of a fax the way
  gateways do ("Fax from …", "Fax van …", "Télécopie de …", "Fax-Nachricht
  von …", "eFax", a subject starting "FAX:") and it carries a scanned PDF,
  that is one with at least one page without a text layer.
- The sending number is read from the subject first, then from the body,
  and only close after such fax wording or a sender label, so the fax
  number in a creditor's signature is not taken. It is returned in E.164
  form (``+3292345678``). A number without a country code is taken as
  Belgian. A number whose length does not fit its country (Belgium,
  the Netherlands and France exactly, others 8 to 15 digits) is no number.
- The page count is returned only when the gateway states it.
- ``split_tiff`` turns a multi-page TIFF into single-page TIFFs without loss:
  same pixels, same resolution (fax resolutions such as 204×98 dpi are not
  square), bilevel pages in CCITT Group 4, other pages in LZW. It returns
  every page or raises ``DamagedTiff``. It never returns part of a file.
- ``fax_pages`` gives the pages to store (every page, cover sheets included)
  and the documents to extract (each fax document once). A cover sheet is
  left out of extraction only when it is recognizable: the first page of a
  PDF whose text layer reads like a gateway cover sheet, followed by pages
  without a text layer.
"""

from __future__ import annotations

import html
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import PurePath

import pypdfium2 as pdfium
from PIL import Image, ImageSequence

from incasso.cases.phone import normalize_phone_number
from incasso.intake.mime import Attachment, ParsedMail

logger = logging.getLogger(__name__)

TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*")
PDF_HEADER = b"%PDF-"
PDF_HEADER_WINDOW = 1024
# Only the start of a body is searched: gateways put their text first, signatures come last.
BODY_SEARCH_LENGTH = 2000
# Characters after fax wording within which the sending number must start.
NUMBER_WINDOW = 60

# Wording with which fax gateways announce a fax, in English, Dutch, French and German.
FAX_WORDING = re.compile(
    r"\b(?:e-?fax|telefax|t[ée]l[ée]copie|fax[- ]?(?:nachricht|bericht|message))\b"
    r"|\bfax\s+(?:from|van|von|de|du|received|ontvangen|re[çc]u|empfangen)\b"
    r"|\b(?:new|nieuwe|neues|nouveau|received an?|ontvangen)\s+fax\b",
    re.IGNORECASE,
)
# A subject that starts with "FAX:" names a fax. In a body "Fax:" is usually a signature label.
FAX_SUBJECT = re.compile(r"^\s*(?:fw:|fwd:|tr:)?\s*fax\b", re.IGNORECASE)
# Labels after which gateways print the sending station's number.
SENDER_LABEL = re.compile(
    r"(?:absender|afzender|exp[ée]diteur|sender|csid|tsid|remote (?:station )?id|"
    r"faxnummer|fax number|num[ée]ro de fax|n° de fax)\s*:",
    re.IGNORECASE,
)
# Digit groups joined by spaces, dots, slashes, hyphens or a "(0)", with an optional + or 00.
NUMBER = re.compile(r"(?<![\w+])(?:\+|00)?\s?\d+(?:(?:[ \t./\-]|\(0\))+\d+)*")
NUMBER_SEPARATOR = re.compile(r"(?:[ \t./\-]|\(0\))+")
# A last digit group this short may be a page count printed after the number.
MAX_TRAILING_COUNT_DIGITS = 3
# National significant number lengths where they are fixed; Belgian mobiles (4xx) have 9.


PAGE_COUNT = re.compile(
    r"(\d{1,3})[ \t]*"
    r"(?:pages?|page\(s\)|pagina'?s|pagina\(s\)|blz\.?|seiten|seite\(n\)|feuilles?)\b"
    r"|(?:pages?|aantal pagina'?s|pagina'?s|nombre de pages|seiten|anzahl (?:der )?seiten)"
    r"[ \t]*[:=][ \t]*(\d{1,3})\b",
    re.IGNORECASE,
)
COVER_WORDING = re.compile(
    r"\b(?:fax|telefax|t[ée]l[ée]copie|voorblad|page de garde|cover ?sheet|cover page|"
    r"deckblatt|aantal pagina'?s|nombre de pages|anzahl (?:der )?seiten)\b"
    r"|\b(?:pages?|seiten)\s*:",
    re.IGNORECASE,
)
HTML_TAG = re.compile(r"<[^>]+>")
# What pypdfium2 raises on PDFs it cannot open or write.
PDF_ERRORS = (pdfium.PdfiumError, ValueError, OSError)


class DamagedTiff(ValueError):
    """A TIFF that cannot be split into pages without losing one."""


@dataclass(frozen=True)
class FaxInfo:
    """Sender number and page count as the fax gateway stated them, and the fax attachments."""

    sender_number: str | None
    pages: int | None
    attachments: list[Attachment]


@dataclass
class FaxPages:
    """The pages of a fax: all of them for storage, and the documents to extract."""

    pages: list[Attachment] = field(default_factory=list)
    for_extraction: list[Attachment] = field(default_factory=list)
    # File names of the PDF faxes whose first page was left out of extraction as a cover sheet.
    covers_skipped: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)


def detect_fax(parsed: ParsedMail) -> FaxInfo | None:
    """Return what is known about the fax in ``parsed``, or None when it is not a fax."""
    body = _body_text(parsed)
    speaks_of_fax = _speaks_of_fax(parsed.subject, body)
    attachments = [
        attachment
        for attachment in parsed.documents
        if is_tiff(attachment.data) or (speaks_of_fax and _is_scanned_pdf(attachment))
    ]
    if not attachments:
        return None

    number = find_fax_number(parsed.subject, subject=True) or find_fax_number(body)
    pages = stated_page_count(parsed.subject) or stated_page_count(body)
    logger.info(
        "fax detected: sender=%s pages=%s attachments=%s",
        number,
        pages,
        [a.filename for a in attachments],
    )
    return FaxInfo(sender_number=number, pages=pages, attachments=attachments)


def is_tiff(data: bytes) -> bool:
    """Tell whether ``data`` starts with a TIFF signature."""
    return data.startswith(TIFF_SIGNATURES)


def find_fax_number(text: str, *, subject: bool = False) -> str | None:
    """Return the sending fax number in ``text`` in E.164 form, or None.

    The number must start within a few characters after fax wording or a sender
    label. In a ``subject`` a plain leading "Fax" counts as such wording too.
    """
    anchors = [*FAX_WORDING.finditer(text), *SENDER_LABEL.finditer(text)]
    if subject:
        anchors.extend(FAX_SUBJECT.finditer(text))

    for anchor in sorted(anchors, key=lambda match: match.end()):
        window = text[anchor.end() : anchor.end() + NUMBER_WINDOW]
        for candidate in NUMBER.finditer(window):
            number = _valid_number(candidate.group())
            if number is not None:
                return number
    return None


def stated_page_count(text: str) -> int | None:
    """Return the page count that a gateway states in ``text`` ("3 pages", "Seiten: 3"), or None."""
    match = PAGE_COUNT.search(text)
    if match is None:
        return None
    count = int(match.group(1) or match.group(2))
    return count if count > 0 else None


def split_tiff(data: bytes) -> list[bytes]:
    """Split a TIFF into single-page TIFFs with the same pixels and resolution.

    Raises DamagedTiff, naming the problem, when any page cannot be read or saved.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "TIFF":
                raise DamagedTiff(f"the file is {image.format}, not TIFF")
            expected = getattr(image, "n_frames", 1)
            pages = [_save_page(frame) for frame in ImageSequence.Iterator(image)]
    except DamagedTiff:
        raise
    except Exception as err:  # Pillow raises assorted errors on damaged images
        raise DamagedTiff(f"{type(err).__name__}: {err}") from err

    if len(pages) != expected:
        raise DamagedTiff(f"only {len(pages)} of {expected} pages could be read")
    return pages


def fax_pages(info: FaxInfo) -> FaxPages:
    """Split the fax documents of ``info`` into pages to store and documents to extract."""
    result = FaxPages()
    for attachment in info.attachments:
        if is_tiff(attachment.data):
            _add_tiff(attachment, result)
        else:
            _add_pdf(attachment, result)

    if info.pages is not None and not result.defects and info.pages != len(result.pages):
        advice = (
            "a page may be missing, so ask the sender to fax again"
            if len(result.pages) < info.pages
            else "check that every attachment belongs to this fax"
        )
        result.defects.append(
            f"the fax gateway announced {info.pages} pages but the attachments hold "
            f"{len(result.pages)}; {advice}"
        )
    return result


# Detection


def _body_text(parsed: ParsedMail) -> str:
    text = parsed.text
    if not text and parsed.html:
        text = html.unescape(HTML_TAG.sub(" ", parsed.html))
    return text[:BODY_SEARCH_LENGTH]


def _speaks_of_fax(subject: str, body: str) -> bool:
    if FAX_SUBJECT.search(subject) or FAX_WORDING.search(subject):
        return True
    return FAX_WORDING.search(body) is not None


def _valid_number(candidate: str) -> str | None:
    """Return ``candidate`` as a valid number, or without a short last digit group if only so.

    A page count right after the number ("092345678 3 pages") would otherwise
    be read as part of it.
    """
    number = normalize_phone_number(candidate)
    if number is not None:
        return number
    separators = list(NUMBER_SEPARATOR.finditer(candidate))
    if not separators or len(candidate) - separators[-1].end() > MAX_TRAILING_COUNT_DIGITS:
        return None
    return normalize_phone_number(candidate[: separators[-1].start()])


def _pdf_bytes(data: bytes) -> bytes | None:
    """Return ``data`` from its PDF header on, or None when it is no PDF."""
    start = data[:PDF_HEADER_WINDOW].find(PDF_HEADER)
    return data[start:] if start >= 0 else None


def _is_scanned_pdf(attachment: Attachment) -> bool:
    """Tell whether ``attachment`` is a PDF with at least one page without a text layer."""
    if _pdf_bytes(attachment.data) is None:
        return False
    try:
        texts = _page_texts(attachment.data)
    except PDF_ERRORS as err:
        logger.info("PDF %r not read for fax detection: %s", attachment.filename, err)
        return False
    return any(not text.strip() for text in texts)


# Pages


def _page_texts(data: bytes) -> list[str]:
    """Return the text layer of each page of a PDF; raise PdfiumError when it does not open."""
    pdf = _pdf_bytes(data) or data
    document = pdfium.PdfDocument(pdf)
    try:
        texts = []
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return texts
    finally:
        document.close()


def _pdf_with_pages(data: bytes, indexes: list[int]) -> bytes:
    """Return a new PDF of the pages ``indexes`` of ``data``, copied as they are."""
    source = pdfium.PdfDocument(_pdf_bytes(data) or data)
    target = pdfium.PdfDocument.new()
    try:
        target.import_pages(source, indexes)
        buffer = io.BytesIO()
        target.save(buffer)
        return buffer.getvalue()
    finally:
        target.close()
        source.close()


def _save_page(frame: Image.Image) -> bytes:
    frame.load()
    options: dict[str, object] = {
        "format": "TIFF",
        "compression": "group4" if frame.mode == "1" else "tiff_lzw",
    }
    tags = getattr(frame, "tag_v2", {})
    if 282 in tags and 283 in tags:
        options["x_resolution"] = tags[282]
        options["y_resolution"] = tags[283]
        options["resolution_unit"] = tags.get(296, 2)

    buffer = io.BytesIO()
    frame.save(buffer, **options)  # type: ignore[arg-type]
    return buffer.getvalue()


def _page_name(attachment: Attachment, number: int, suffix: str) -> str:
    stem = PurePath(attachment.filename or "fax").stem
    return f"{stem}-page-{number:02d}{suffix}"


def _add_tiff(attachment: Attachment, result: FaxPages) -> None:
    # NOTE: a cover sheet in a TIFF fax is only text in an image, and it is not
    # recognized here: the whole TIFF goes to extraction, whose OCR reads the cover too.
    result.for_extraction.append(attachment)
    try:
        pages = split_tiff(attachment.data)
    except DamagedTiff as err:
        result.defects.append(
            f"fax image {attachment.filename!r} is damaged ({err}); it is kept whole, so ask "
            "the sender to fax again if pages are missing"
        )
        logger.warning("fax image %r could not be split: %s", attachment.filename, err)
        result.pages.append(attachment)
        return

    for number, page in enumerate(pages, start=1):
        name = _page_name(attachment, number, ".tif")
        result.pages.append(Attachment(name, "image/tiff", page, origin=attachment.display_name))


def _add_pdf(attachment: Attachment, result: FaxPages) -> None:
    try:
        texts = _page_texts(attachment.data)
        pages = [_pdf_with_pages(attachment.data, [index]) for index in range(len(texts))]
    except PDF_ERRORS as err:
        result.defects.append(
            f"fax PDF {attachment.filename!r} could not be split into pages ({err}); it is kept "
            "whole"
        )
        result.pages.append(attachment)
        result.for_extraction.append(attachment)
        return

    for number, page in enumerate(pages, start=1):
        name = _page_name(attachment, number, ".pdf")
        result.pages.append(
            Attachment(name, "application/pdf", page, origin=attachment.display_name)
        )

    if not _has_cover_sheet(texts):
        result.for_extraction.append(attachment)
        return
    try:
        rest = _pdf_with_pages(attachment.data, list(range(1, len(texts))))
    except PDF_ERRORS as err:
        logger.warning("cover sheet of fax %r kept: %s", attachment.filename, err)
        result.for_extraction.append(attachment)
        return
    name = f"{PurePath(attachment.filename or 'fax').stem}-without-cover.pdf"
    result.for_extraction.append(
        Attachment(name, "application/pdf", rest, origin=attachment.display_name)
    )
    result.covers_skipped.append(attachment.filename or name)
    logger.info("cover sheet of fax %r left out of extraction", attachment.filename)


def _has_cover_sheet(texts: list[str]) -> bool:
    """Tell whether the first page reads as a gateway cover sheet in front of scanned pages."""
    if len(texts) < 2 or COVER_WORDING.search(texts[0]) is None:
        return False
    return all(not text.strip() for text in texts[1:])
