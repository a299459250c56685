"""Extract invoices from the text layer of a PDF with pdfplumber.

Each page's words are grouped into lines and cells (see ``layout``), and labels are
found in the cells (see ``labels``). Each label is paired with its value: the rest
of its cell or the next cell on the same line, else the cell just below it.

Rules that are not obvious from the code:

- A page whose invoice number differs from the current invoice's starts a new
  invoice, so "one invoice per page" PDFs give one invoice per page. Pages without a
  number belong to the invoice before them.
- The amount due comes from the best-ranked amount label (balance or "to pay",
  then total including VAT, then plain total). Among equal ranks the last one
  printed wins, because totals sit at the bottom of the page.
- The debtor's name, address, e-mail and VAT number come from the customer block.
  An e-mail address or VAT number printed elsewhere is used, with confidence 0.5,
  only when exactly one such value is left after removing the excluded ones and
  those printed above the customer block (the creditor's letterhead).
- Without a due date, a payment term in days gives issue date plus that term.
- A PDF without any characters but with images or vector drawings is a scan or a
  fax and gives ``Problem.NO_TEXT_LAYER``, never "not an invoice".
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError
from pdfplumber.page import Page
from pdfplumber.utils.exceptions import PdfminerException

from incasso.intake.extract.labels import (
    Label,
    LabelKind,
    LabelMatch,
    detect_language,
    find_credit_note_title,
    find_labels,
)
from incasso.intake.extract.layout import Cell, Line, Word, build_lines, cell_below
from incasso.intake.extract.model import (
    DocumentKind,
    ExtractedInvoice,
    ExtractionResult,
    Field,
    FieldName,
    Problem,
)
from incasso.intake.extract.normalize import (
    Exclusions,
    find_amount,
    find_currency,
    find_date,
    find_emails,
    find_ogm,
    find_vats,
    format_amount,
    normalize_vat,
    payment_term_days,
)

logger = logging.getLogger(__name__)

METHOD = "pdf-text"
CONFIDENCE_SAME_LINE = 0.95
CONFIDENCE_BELOW = 0.85
CONFIDENCE_DERIVED = 0.8
CONFIDENCE_PATTERN = 0.5

_MAX_BLOCK_LINES = 8
_BLOCK_GAP_FACTOR = 1.2  # a vertical gap of more line heights than this ends the customer block
_UNMAPPED_GLYPH_SHARE = 0.5  # above this share of "(cid:N)" characters the text layer is unusable
_MAX_INVOICE_NUMBER_LENGTH = 40
# Labels that may appear inside the customer block without ending it.
_BLOCK_INNER_KINDS = frozenset(
    {LabelKind.VAT, LabelKind.DEBTOR_VAT, LabelKind.EMAIL, LabelKind.PHONE, LabelKind.OTHER}
)


@dataclass(frozen=True)
class _PageText:
    """Lines of one page, with counts of its characters, images and drawings."""

    number: int
    lines: list[Line]
    char_count: int
    unmapped_char_count: int
    image_count: int
    drawing_count: int  # lines, rectangles and curves


@dataclass(frozen=True)
class _Candidate:
    """A possible value for one field, before the best one is chosen."""

    name: FieldName
    value: str
    raw: str
    source: str
    confidence: float
    order: int  # position of the line in the invoice, to prefer earlier or later values
    rank: int = 0  # amount-due label rank


@dataclass
class _Block:
    """The customer block: its caption and the texts below or right of it."""

    caption: str
    page: int
    top: float  # of the caption line
    entries: list[tuple[str, bool]] = field(default_factory=list)  # (text, on the caption's line)
    line_ids: set[int] = field(default_factory=set)  # id() of the lines it covers


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

    invoices = [
        invoice
        for group in _split_invoices(pages)
        if (invoice := _extract_invoice(group, exclusions)) is not None
    ]
    if invoices:
        return ExtractionResult(method=METHOD, invoices=invoices, vat_numbers=_vat_numbers(pages))
    return _no_invoice_result(pages)


def _vat_numbers(pages: Sequence[_PageText]) -> list[str]:
    found: list[str] = []
    for page in pages:
        for line in page.lines:
            found.extend(vat for vat in find_vats(line.text) if vat not in found)
    return found


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

    return _PageText(
        number=int(page.page_number),
        lines=build_lines(words, int(page.page_number)) if words else [],
        char_count=len(chars),
        unmapped_char_count=unmapped,
        image_count=len(page.images),
        drawing_count=len(page.lines) + len(page.rects) + len(page.curves),
    )


def _failure(problem: Problem, detail: str) -> ExtractionResult:
    return ExtractionResult(method=METHOD, problem=problem, detail=detail)


def _text_layer_problem(pages: Sequence[_PageText]) -> ExtractionResult | None:
    """Return NO_TEXT_LAYER when the document has no usable characters at all."""
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
    return None


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


# ---------------------------------------------------------------------------
# Splitting a PDF into invoices


def _split_invoices(pages: Sequence[_PageText]) -> list[list[_PageText]]:
    """Group pages into invoices: a page with a new invoice number starts one."""
    groups: list[list[_PageText]] = []
    current_number: str | None = None

    for page in pages:
        number = _first_invoice_number(page.lines)
        if not groups or (number is not None and number != current_number):
            groups.append([page])
            current_number = number or current_number
        else:
            groups[-1].append(page)
    return groups


def _first_invoice_number(lines: Sequence[Line]) -> str | None:
    for candidate in _label_candidates(lines):
        if candidate.name is FieldName.INVOICE_NUMBER:
            return candidate.value
    return None


# ---------------------------------------------------------------------------
# Fields of one invoice


def _extract_invoice(pages: Sequence[_PageText], exclusions: Exclusions) -> ExtractedInvoice | None:
    lines = [line for page in pages for line in page.lines]
    candidates = _label_candidates(lines)
    block = _find_debtor_block(lines)

    if block is not None:
        candidates.extend(_block_candidates(block, exclusions))
    candidates.extend(_outside_block_candidates(lines, block, exclusions))
    candidates.extend(_unlabeled_reference_candidates(lines))

    fields = _choose_fields(
        [candidate for candidate in candidates if not _excluded(candidate, exclusions)]
    )
    _add_currency(fields, lines)
    _add_due_date_from_term(fields, lines)

    if FieldName.INVOICE_NUMBER not in fields and FieldName.AMOUNT_DUE not in fields:
        return None

    credit_titles = _credit_note_titles(lines)
    labels = _matched_labels(lines) + [title.label for title in credit_titles]
    return ExtractedInvoice(
        fields=fields,
        kind=DocumentKind.CREDIT_NOTE if credit_titles else DocumentKind.INVOICE,
        language=detect_language(labels),
    )


def _excluded(candidate: _Candidate, exclusions: Exclusions) -> bool:
    if candidate.name is FieldName.DEBTOR_EMAIL:
        return exclusions.excludes_email(candidate.value)
    if candidate.name is FieldName.DEBTOR_VAT:
        return exclusions.excludes_vat(candidate.value)
    return False


def _matched_labels(lines: Sequence[Line]) -> list[Label]:
    return [
        match.label for line in lines for cell in line.cells for match in find_labels(cell.text)
    ]


def _credit_note_titles(lines: Sequence[Line]) -> list[LabelMatch]:
    titles = [find_credit_note_title(cell.text) for line in lines for cell in line.cells]
    return [title for title in titles if title is not None]


# Field filled by each label kind, and the reader that parses its value text.
_LABEL_FIELDS: dict[LabelKind, FieldName] = {
    LabelKind.INVOICE_NUMBER: FieldName.INVOICE_NUMBER,
    LabelKind.DEBTOR_VAT: FieldName.DEBTOR_VAT,
    LabelKind.ISSUE_DATE: FieldName.ISSUE_DATE,
    LabelKind.DUE_DATE: FieldName.DUE_DATE,
    LabelKind.AMOUNT_DUE: FieldName.AMOUNT_DUE,
    LabelKind.PAYMENT_REFERENCE: FieldName.PAYMENT_REFERENCE,
    LabelKind.DESCRIPTION: FieldName.DESCRIPTION,
}


def _read_invoice_number(text: str) -> tuple[str, str] | None:
    """Read the first token of ``text`` as an invoice number; it must contain a digit."""
    tokens = text.replace(":", " ").split()
    if not tokens:
        return None
    token = tokens[0].strip(".,;()")
    if token.lower() in {"n°", "nr", "nr.", "no", "no.", "#"} and len(tokens) > 1:
        token = tokens[1].strip(".,;()")
    if not any(char.isdigit() for char in token) or len(token) > _MAX_INVOICE_NUMBER_LENGTH:
        return None
    return token, token


def _read_date(text: str) -> tuple[str, str] | None:
    found = find_date(text)
    return (found.value.isoformat(), found.raw) if found else None


def _read_amount(text: str) -> tuple[str, str] | None:
    found = find_amount(text)
    return (format_amount(found.value), found.raw) if found else None


def _read_reference(text: str) -> tuple[str, str] | None:
    return find_ogm(text)


def _read_vat(text: str) -> tuple[str, str] | None:
    found = normalize_vat(text) or next(iter(find_vats(text)), None)
    return (found, text.strip()) if found else None


def _read_description(text: str) -> tuple[str, str] | None:
    cleaned = text.strip()
    return (cleaned, cleaned) if any(char.isalpha() for char in cleaned) else None


_READERS: dict[LabelKind, Callable[[str], tuple[str, str] | None]] = {
    LabelKind.INVOICE_NUMBER: _read_invoice_number,
    LabelKind.DEBTOR_VAT: _read_vat,
    LabelKind.ISSUE_DATE: _read_date,
    LabelKind.DUE_DATE: _read_date,
    LabelKind.AMOUNT_DUE: _read_amount,
    LabelKind.PAYMENT_REFERENCE: _read_reference,
    LabelKind.DESCRIPTION: _read_description,
}
# Column headers: their value is only ever below them.
_BELOW_ONLY_KINDS = frozenset({LabelKind.DESCRIPTION})


def _label_candidates(lines: Sequence[Line]) -> list[_Candidate]:
    """Read the value of every field label in ``lines``, right of it or below it."""
    candidates: list[_Candidate] = []
    for position, line in enumerate(lines):
        for cell in line.cells:
            matches = find_labels(cell.text)
            for index, match in enumerate(matches):
                if match.kind not in _READERS:
                    continue
                next_start = (
                    matches[index + 1].start if index + 1 < len(matches) else len(cell.text)
                )
                candidates.extend(_read_labeled_value(lines, position, cell, match, next_start))
    return candidates


def _read_labeled_value(
    lines: Sequence[Line], position: int, cell: Cell, match: LabelMatch, next_start: int
) -> list[_Candidate]:
    """Read a label's value from the first place that parses: right of it, then below it.

    Right of the label means the rest of its cell, then that rest followed by the
    next cell ("Total in USD   $7.20"). Below is tried only when nothing follows the
    label in its own cell. An invoice number may be followed by its date ("Facture
    n°562044387 du 02 Juillet 2015"), which gives an issue date as well.
    """
    line = lines[position]
    reader = _READERS[match.kind]
    rest = cell.text[match.end : next_start].strip()

    for text, below in _value_texts(lines, position, cell, match, rest):
        parsed = reader(text)
        if parsed is None:
            continue

        where = "below label" if below else "label"
        source = f"pdf page {line.page}, {where} '{match.text}'"
        confidence = CONFIDENCE_BELOW if below else CONFIDENCE_SAME_LINE
        name = _LABEL_FIELDS[match.kind]
        found = [
            _Candidate(name, parsed[0], parsed[1], source, confidence, position, match.label.rank)
        ]
        if match.kind is LabelKind.INVOICE_NUMBER:
            found.extend(_date_after_number(text, parsed[1], source, position))
        return found
    return []


def _value_texts(
    lines: Sequence[Line], position: int, cell: Cell, match: LabelMatch, rest: str
) -> list[tuple[str, bool]]:
    """List the texts that may hold a label's value, each with whether it lies below the label."""
    if match.kind in _BELOW_ONLY_KINDS:
        if rest or match.has_colon:
            return []
        texts: list[tuple[str, bool]] = []
    else:
        texts = [(rest, False)] if rest else []
        neighbour = lines[position].cell_after(cell)
        if neighbour is not None and not _starts_with_label(neighbour.text):
            texts.append((f"{rest} {neighbour.text}".strip(), False))

    if not rest:
        label_x0, label_x1 = cell.span_x(match.start, match.end)
        below = cell_below(lines, position, label_x0, label_x1)
        if below is not None and not _starts_with_label(below.text):
            texts.append((below.text, True))
    return texts


def _date_after_number(text: str, number: str, source: str, position: int) -> list[_Candidate]:
    after = text[text.find(number) + len(number) :]
    found = find_date(after)
    if found is None:
        return []
    return [
        _Candidate(
            FieldName.ISSUE_DATE,
            found.value.isoformat(),
            found.raw,
            f"{source}, date after the number",
            CONFIDENCE_BELOW,
            position,
        )
    ]


def _starts_with_label(text: str) -> bool:
    matches = find_labels(text)
    return bool(matches) and matches[0].start == 0


# ---------------------------------------------------------------------------
# The customer block


def _find_debtor_block(lines: Sequence[Line]) -> _Block | None:
    """Return the first customer block that has at least one line of text."""
    for position, line in enumerate(lines):
        for cell in line.cells:
            for match in find_labels(cell.text):
                if match.kind is LabelKind.DEBTOR_BLOCK:
                    block = _read_block(lines, position, cell, match)
                    if block.entries:
                        return block
    return None


def _read_block(lines: Sequence[Line], position: int, cell: Cell, match: LabelMatch) -> _Block:
    line = lines[position]
    block = _Block(caption=match.text, page=line.page, top=line.top)
    anchor_x = cell.span_x(match.start, match.end)[0]

    rest = cell.text[match.end :].strip()
    neighbour = line.cell_after(cell)
    if rest:
        block.entries.append((rest, True))
        anchor_x = cell.x_at(match.end)
    elif neighbour is not None and not _starts_with_label(neighbour.text):
        block.entries.append((neighbour.text, True))
        anchor_x = neighbour.x0
    block.line_ids.add(id(line))

    previous = line
    for following in lines[position + 1 :]:
        too_far = following.top - previous.bottom > _BLOCK_GAP_FACTOR * previous.height
        if following.page != line.page or too_far or len(block.entries) >= _MAX_BLOCK_LINES:
            break
        column_cell = following.cell_starting_near(anchor_x)
        if column_cell is None:
            break
        labels = find_labels(column_cell.text)
        if labels and labels[0].start == 0 and labels[0].kind not in _BLOCK_INNER_KINDS:
            break
        block.entries.append((column_cell.text, False))
        block.line_ids.add(id(following))
        previous = following
    return block


def _block_candidates(block: _Block, exclusions: Exclusions) -> list[_Candidate]:
    """Read name, address, e-mail and VAT number from the customer block's texts."""
    candidates: list[_Candidate] = []
    address_parts: list[str] = []
    name_found = False
    source = f"pdf page {block.page}, customer block under '{block.caption}'"

    for order, (text, on_caption_line) in enumerate(block.entries):
        confidence = CONFIDENCE_SAME_LINE if on_caption_line else CONFIDENCE_BELOW
        labels = find_labels(text)
        first_kind = labels[0].kind if labels and labels[0].start == 0 else None
        emails = [email for email in find_emails(text) if not exclusions.excludes_email(email)]
        vats = _vats_in(text, labelled=first_kind is LabelKind.VAT)
        vats = [vat for vat in vats if not exclusions.excludes_vat(vat)]

        if emails:
            candidates.append(
                _Candidate(FieldName.DEBTOR_EMAIL, emails[0], emails[0], source, confidence, order)
            )
        if vats:
            candidates.append(
                _Candidate(FieldName.DEBTOR_VAT, vats[0], text, source, confidence, order)
            )
        if emails or vats or first_kind in _BLOCK_INNER_KINDS or find_emails(text):
            continue
        if text.endswith(":"):
            continue  # a sub-caption such as "Address:"

        if not name_found and sum(char.isalpha() for char in text) >= 2:
            candidates.append(
                _Candidate(FieldName.DEBTOR_NAME, text, text, source, confidence, order)
            )
            name_found = True
        else:
            address_parts.append(text)

    if address_parts:
        address = ", ".join(address_parts)
        candidates.append(
            _Candidate(FieldName.DEBTOR_ADDRESS, address, address, source, CONFIDENCE_BELOW, 0)
        )
    return candidates


def _vats_in(text: str, *, labelled: bool) -> list[str]:
    """Find VAT numbers in ``text``; after a VAT label a bare ten-digit number counts too."""
    found = find_vats(text)
    if found or not labelled:
        return found
    labels = find_labels(text)
    bare = normalize_vat(text[labels[0].end :]) if labels else None
    return [bare] if bare else []


def _outside_block_candidates(
    lines: Sequence[Line], block: _Block | None, exclusions: Exclusions
) -> list[_Candidate]:
    """Use an e-mail address or VAT number outside the customer block when it is the only one.

    Lines above the customer block are skipped: that is the creditor's letterhead.

    NOTE: a creditor's address or VAT number printed in a footer, below the customer
    block, is still offered with confidence 0.5 unless the caller excludes it.
    """
    outside = [line for line in lines if block is None or _after_block_start(line, block)]
    emails: dict[str, int] = {}
    vats: dict[str, int] = {}

    for line in outside:
        for cell in line.cells:
            for email in find_emails(cell.text):
                if not exclusions.excludes_email(email):
                    emails.setdefault(email, line.page)
            labels = find_labels(cell.text)
            labelled = bool(labels) and labels[0].kind is LabelKind.VAT
            for vat in _vats_in(cell.text, labelled=labelled):
                if not exclusions.excludes_vat(vat):
                    vats.setdefault(vat, line.page)

    candidates: list[_Candidate] = []
    for name, found in ((FieldName.DEBTOR_EMAIL, emails), (FieldName.DEBTOR_VAT, vats)):
        if len(found) == 1:
            value, page = next(iter(found.items()))
            source = f"pdf page {page}, text pattern outside the customer block"
            candidates.append(_Candidate(name, value, value, source, CONFIDENCE_PATTERN, 0))
    return candidates


def _after_block_start(line: Line, block: _Block) -> bool:
    if id(line) in block.line_ids:
        return False
    return line.page > block.page or (line.page == block.page and line.top >= block.top)


def _unlabeled_reference_candidates(lines: Sequence[Line]) -> list[_Candidate]:
    for position, line in enumerate(lines):
        found = find_ogm(line.text)
        if found is not None:
            source = f"pdf page {line.page}, structured communication pattern"
            return [
                _Candidate(
                    FieldName.PAYMENT_REFERENCE,
                    found[0],
                    found[1],
                    source,
                    CONFIDENCE_PATTERN,
                    position,
                )
            ]
    return []


# ---------------------------------------------------------------------------
# Choosing among candidates and deriving fields


def _choose_fields(candidates: Sequence[_Candidate]) -> dict[FieldName, Field]:
    """Pick one candidate per field.

    The amount due goes to the highest label rank, then the last printed. Other
    fields go to the highest confidence, then the first printed.
    """
    best: dict[FieldName, _Candidate] = {}
    for candidate in candidates:
        current = best.get(candidate.name)
        if current is None or _better(candidate, current):
            best[candidate.name] = candidate
    return {
        name: Field(candidate.value, candidate.raw, candidate.source, candidate.confidence)
        for name, candidate in best.items()
    }


def _better(candidate: _Candidate, current: _Candidate) -> bool:
    if candidate.name is FieldName.AMOUNT_DUE:
        return (candidate.rank, candidate.order) > (current.rank, current.order)
    return (candidate.confidence, -candidate.order) > (current.confidence, -current.order)


def _add_currency(fields: dict[FieldName, Field], lines: Sequence[Line]) -> None:
    """Take the currency from the amount due, else from its line, else from anywhere."""
    amount = fields.get(FieldName.AMOUNT_DUE)
    if amount is not None:
        currency = find_currency(amount.raw)
        if currency is not None:
            fields[FieldName.CURRENCY] = Field(
                currency, amount.raw, amount.source, amount.confidence
            )
            return

    for line in lines:
        currency = find_currency(line.text)
        if currency is not None:
            source = f"pdf page {line.page}, currency sign or code"
            fields[FieldName.CURRENCY] = Field(currency, line.text, source, CONFIDENCE_PATTERN)
            return


def _add_due_date_from_term(fields: dict[FieldName, Field], lines: Sequence[Line]) -> None:
    """Set the due date to issue date plus the payment term when no due date was printed."""
    issue = fields.get(FieldName.ISSUE_DATE)
    if FieldName.DUE_DATE in fields or issue is None:
        return

    for line in lines:
        days = payment_term_days(line.text)
        if days is None:
            continue
        issue_date = find_date(issue.value)
        if issue_date is None:
            return
        due = issue_date.value + timedelta(days=days)
        source = f"pdf page {line.page}, issue date plus payment term of {days} days"
        fields[FieldName.DUE_DATE] = Field(due.isoformat(), line.text, source, CONFIDENCE_DERIVED)
        return
