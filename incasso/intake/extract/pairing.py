"""Pair labels with their values on lines of positioned words, from a text layer or OCR.

Labels are found in the cells of each line (see ``labels``). Each label is paired
with its value: the rest of its cell or the next cell on the same line, else the
cell just below it. Every field keeps the page and the box of the words that
print its value.

Rules that are not obvious from the code:

- A page whose invoice number differs from the current invoice's starts a new
  invoice, so "one invoice per page" documents give one invoice per page. Pages
  without a number belong to the invoice before them.
- The amount due comes from the best-ranked amount label (balance or "to pay",
  then total including VAT, then plain total). Among equal ranks the last one
  printed wins, because totals sit at the bottom of the page.
- The debtor's name, address, e-mail and VAT number come from the customer block
  (see ``customer_block``).
- Without a due date, a payment term in days gives issue date plus that term.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from incasso.intake.extract.candidates import (
    CONFIDENCE_BELOW,
    CONFIDENCE_DERIVED,
    CONFIDENCE_PATTERN,
    CONFIDENCE_SAME_LINE,
    Candidate,
    Parsed,
    Profile,
    Reader,
    plain_fields,
)
from incasso.intake.extract.customer_block import (
    block_candidates,
    find_debtor_block,
    outside_block_candidates,
    starts_with_label,
)
from incasso.intake.extract.labels import (
    Label,
    LabelKind,
    LabelMatch,
    detect_language,
    find_credit_note_title,
    find_labels,
)
from incasso.intake.extract.layout import Cell, Line, Span, cell_below
from incasso.intake.extract.model import DocumentKind, ExtractedInvoice, FieldName
from incasso.intake.extract.normalize import (
    Exclusions,
    find_amount,
    find_currency,
    find_date,
    find_ogm,
    find_vats,
    format_amount,
    normalize_vat,
    payment_term_days,
)

_MAX_INVOICE_NUMBER_LENGTH = 40


# ---------------------------------------------------------------------------
# Value readers


def read_invoice_number(text: str) -> Parsed | None:
    """Read the first token of ``text`` as an invoice number; it must contain a digit."""
    tokens = text.replace(":", " ").split()
    if not tokens:
        return None
    token = tokens[0].strip(".,;()")
    if token.lower() in {"n°", "nr", "nr.", "no", "no.", "#"} and len(tokens) > 1:
        token = tokens[1].strip(".,;()")
    if not any(char.isdigit() for char in token) or len(token) > _MAX_INVOICE_NUMBER_LENGTH:
        return None
    return Parsed(token, token)


def read_date(text: str) -> Parsed | None:
    found = find_date(text)
    return Parsed(found.value.isoformat(), found.raw) if found else None


def read_amount(text: str) -> Parsed | None:
    found = find_amount(text)
    return Parsed(format_amount(found.value), found.raw) if found else None


def read_reference(text: str) -> Parsed | None:
    found = find_ogm(text)
    return Parsed(*found) if found else None


def read_vat(text: str) -> Parsed | None:
    found = normalize_vat(text) or next(iter(find_vats(text)), None)
    return Parsed(found, text.strip()) if found else None


def read_description(text: str) -> Parsed | None:
    cleaned = text.strip()
    return Parsed(cleaned, cleaned) if any(char.isalpha() for char in cleaned) else None


TEXT_READERS: dict[LabelKind, Reader] = {
    LabelKind.INVOICE_NUMBER: read_invoice_number,
    LabelKind.DEBTOR_VAT: read_vat,
    LabelKind.ISSUE_DATE: read_date,
    LabelKind.DUE_DATE: read_date,
    LabelKind.AMOUNT_DUE: read_amount,
    LabelKind.PAYMENT_REFERENCE: read_reference,
    LabelKind.DESCRIPTION: read_description,
}
TEXT_PROFILE = Profile("pdf", TEXT_READERS, read_reference, plain_fields)

# Field filled by each label kind.
_LABEL_FIELDS: dict[LabelKind, FieldName] = {
    LabelKind.INVOICE_NUMBER: FieldName.INVOICE_NUMBER,
    LabelKind.DEBTOR_VAT: FieldName.DEBTOR_VAT,
    LabelKind.ISSUE_DATE: FieldName.ISSUE_DATE,
    LabelKind.DUE_DATE: FieldName.DUE_DATE,
    LabelKind.AMOUNT_DUE: FieldName.AMOUNT_DUE,
    LabelKind.PAYMENT_REFERENCE: FieldName.PAYMENT_REFERENCE,
    LabelKind.DESCRIPTION: FieldName.DESCRIPTION,
}
# Marks printed on their own between a label and its value: "Datum   :   14-10-2026".
_SEPARATOR_MARKS = ":.-–—"
# Column headers: their value is only ever below them.
_BELOW_ONLY_KINDS = frozenset({LabelKind.DESCRIPTION})


# ---------------------------------------------------------------------------
# Documents and invoices


def split_invoices(pages: Sequence[Sequence[Line]], profile: Profile) -> list[list[Line]]:
    """Group the lines of ``pages`` into invoices: a page with a new invoice number starts one."""
    groups: list[list[Line]] = []
    current_number: str | None = None

    for lines in pages:
        number = _first_invoice_number(lines, profile)
        if not groups or (number is not None and number != current_number):
            groups.append(list(lines))
            current_number = number or current_number
        else:
            groups[-1].extend(lines)
    return groups


def _first_invoice_number(lines: Sequence[Line], profile: Profile) -> str | None:
    for candidate in _label_candidates(lines, profile):
        if candidate.name is FieldName.INVOICE_NUMBER:
            return candidate.value
    return None


def vat_numbers(lines: Sequence[Line]) -> list[str]:
    """Return every valid VAT or enterprise number printed in ``lines``, once each."""
    found: list[str] = []
    for line in lines:
        found.extend(vat for vat in find_vats(line.text) if vat not in found)
    return found


def extract_invoice(
    lines: Sequence[Line], exclusions: Exclusions, profile: Profile
) -> ExtractedInvoice | None:
    """Extract one invoice from its lines; None when it has neither a number nor an amount."""
    candidates = _label_candidates(lines, profile)
    block = find_debtor_block(lines)

    if block is not None:
        candidates.extend(block_candidates(block, exclusions, profile))
    candidates.extend(outside_block_candidates(lines, block, exclusions, profile))
    candidates.extend(_unlabeled_reference_candidates(lines, profile))

    chosen = _choose(
        [candidate for candidate in candidates if not _excluded(candidate, exclusions)]
    )
    _add_currency(chosen, lines, profile)
    _add_due_date_from_term(chosen, lines, profile)

    if FieldName.INVOICE_NUMBER not in chosen and FieldName.AMOUNT_DUE not in chosen:
        return None

    credit_titles = _credit_note_titles(lines)
    labels = _matched_labels(lines) + [title.label for title in credit_titles]
    return ExtractedInvoice(
        fields=profile.finish(chosen, lines),
        kind=DocumentKind.CREDIT_NOTE if credit_titles else DocumentKind.INVOICE,
        language=detect_language(labels),
    )


def _excluded(candidate: Candidate, exclusions: Exclusions) -> bool:
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


# ---------------------------------------------------------------------------
# Labeled values


def _label_candidates(lines: Sequence[Line], profile: Profile) -> list[Candidate]:
    """Read the value of every field label in ``lines``, right of it or below it."""
    candidates: list[Candidate] = []
    for position, line in enumerate(lines):
        for cell in line.cells:
            matches = find_labels(cell.text)
            for index, match in enumerate(matches):
                if match.kind not in profile.readers:
                    continue
                next_start = (
                    matches[index + 1].start if index + 1 < len(matches) else len(cell.text)
                )
                candidates.extend(
                    _read_labeled_value(lines, position, cell, match, next_start, profile)
                )
    return candidates


def _read_labeled_value(
    lines: Sequence[Line],
    position: int,
    cell: Cell,
    match: LabelMatch,
    next_start: int,
    profile: Profile,
) -> list[Candidate]:
    """Read a label's value from the first place that parses: right of it, then below it.

    Right of the label means the rest of its cell, then that rest followed by the
    next cell ("Total in USD   $7.20"). Below is tried only when nothing follows the
    label in its own cell. An invoice number may be followed by its date ("Facture
    n°562044387 du 02 Juillet 2015"), which gives an issue date as well.
    """
    line = lines[position]
    reader = profile.readers[match.kind]
    rest = cell.span(match.end, next_start)
    if not rest.text.strip(_SEPARATOR_MARKS):
        rest = Span("")  # a stray mark after the label: read the value beside or below it

    for span, below in _value_spans(lines, position, cell, match, rest):
        parsed = reader(span.text)
        if parsed is None:
            continue

        where = "below label" if below else "label"
        found = [
            Candidate(
                name=_LABEL_FIELDS[match.kind],
                value=parsed.value,
                raw=parsed.raw,
                source=profile.source(line.page, f"{where} '{match.text}'"),
                confidence=CONFIDENCE_BELOW if below else CONFIDENCE_SAME_LINE,
                order=position,
                rank=match.label.rank,
                page=line.page,
                words=span.words_of(parsed.raw),
                doubts=(parsed.doubt,) if parsed.doubt else (),
            )
        ]
        if match.kind is LabelKind.INVOICE_NUMBER:
            found.extend(_date_after_number(span, found[0]))
        return found
    return []


def _value_spans(
    lines: Sequence[Line], position: int, cell: Cell, match: LabelMatch, rest: Span
) -> list[tuple[Span, bool]]:
    """List the texts that may hold a label's value, each with whether it lies below the label."""
    if match.kind in _BELOW_ONLY_KINDS:
        if rest.text or match.has_colon:
            return []
        spans: list[tuple[Span, bool]] = []
    else:
        spans = [(rest, False)] if rest.text else []
        neighbour = _value_cell_after(lines[position], cell)
        if neighbour is not None and not starts_with_label(neighbour.text):
            spans.append((rest.join(neighbour.span()), False))

    if not rest.text:
        label_x0, label_x1 = cell.span_x(match.start, match.end)
        below = cell_below(lines, position, label_x0, label_x1)
        if below is not None and not starts_with_label(below.text):
            spans.append((below.span(), True))
    return spans


def _value_cell_after(line: Line, cell: Cell) -> Cell | None:
    """Return the next cell right of ``cell``, passing over cells of a lone ":" or "-"."""
    neighbour = line.cell_after(cell)
    while neighbour is not None and not neighbour.text.strip(_SEPARATOR_MARKS):
        neighbour = line.cell_after(neighbour)
    return neighbour


def _date_after_number(span: Span, number: Candidate) -> list[Candidate]:
    """Read the issue date printed right after an invoice number, if any."""
    after = span.sub(span.text.find(number.raw) + len(number.raw), len(span.text))
    found = find_date(after.text)
    if found is None:
        return []
    return [
        Candidate(
            name=FieldName.ISSUE_DATE,
            value=found.value.isoformat(),
            raw=found.raw,
            source=f"{number.source}, date after the number",
            confidence=CONFIDENCE_BELOW,
            order=number.order,
            page=number.page,
            words=after.words_of(found.raw),
        )
    ]


def _unlabeled_reference_candidates(lines: Sequence[Line], profile: Profile) -> list[Candidate]:
    for position, line in enumerate(lines):
        parsed = profile.find_reference(line.text)
        if parsed is not None:
            return [
                Candidate(
                    name=FieldName.PAYMENT_REFERENCE,
                    value=parsed.value,
                    raw=parsed.raw,
                    source=profile.source(line.page, "structured communication pattern"),
                    confidence=CONFIDENCE_PATTERN,
                    order=position,
                    page=line.page,
                    words=line.span().words_of(parsed.raw),
                    doubts=(parsed.doubt,) if parsed.doubt else (),
                )
            ]
    return []


# ---------------------------------------------------------------------------
# Choosing among candidates and deriving fields


def _choose(candidates: Sequence[Candidate]) -> dict[FieldName, Candidate]:
    """Pick one candidate per field.

    The amount due goes to the highest label rank, then the last printed. Other
    fields go to the highest confidence, then the first printed.
    """
    best: dict[FieldName, Candidate] = {}
    for candidate in candidates:
        current = best.get(candidate.name)
        if current is None or _better(candidate, current):
            best[candidate.name] = candidate
    return best


def _better(candidate: Candidate, current: Candidate) -> bool:
    if candidate.name is FieldName.AMOUNT_DUE:
        return (candidate.rank, candidate.order) > (current.rank, current.order)
    return (candidate.confidence, -candidate.order) > (current.confidence, -current.order)


def _add_currency(
    chosen: dict[FieldName, Candidate], lines: Sequence[Line], profile: Profile
) -> None:
    """Take the currency from the amount due, else from its line, else from anywhere."""
    amount = chosen.get(FieldName.AMOUNT_DUE)
    if amount is not None:
        currency = find_currency(amount.raw)
        if currency is not None:
            chosen[FieldName.CURRENCY] = Candidate(
                name=FieldName.CURRENCY,
                value=currency,
                raw=amount.raw,
                source=amount.source,
                confidence=amount.confidence,
                order=amount.order,
                page=amount.page,
                words=amount.words,
                doubts=amount.doubts,
            )
            return

    for position, line in enumerate(lines):
        currency = find_currency(line.text)
        if currency is None:
            continue
        words = [word for cell in line.cells for word in cell.words if find_currency(word.text)]
        chosen[FieldName.CURRENCY] = Candidate(
            name=FieldName.CURRENCY,
            value=currency,
            raw=line.text,
            source=profile.source(line.page, "currency sign or code"),
            confidence=CONFIDENCE_PATTERN,
            order=position,
            page=line.page,
            words=tuple(words) or line.span().words,
        )
        return


def _add_due_date_from_term(
    chosen: dict[FieldName, Candidate], lines: Sequence[Line], profile: Profile
) -> None:
    """Set the due date to issue date plus the payment term when no due date was printed."""
    issue = chosen.get(FieldName.ISSUE_DATE)
    if FieldName.DUE_DATE in chosen or issue is None:
        return

    for position, line in enumerate(lines):
        days = payment_term_days(line.text)
        if days is None:
            continue
        issue_date = find_date(issue.value)
        if issue_date is None:
            return
        due = issue_date.value + timedelta(days=days)
        chosen[FieldName.DUE_DATE] = Candidate(
            name=FieldName.DUE_DATE,
            value=due.isoformat(),
            raw=line.text,
            source=profile.source(line.page, f"issue date plus payment term of {days} days"),
            confidence=CONFIDENCE_DERIVED,
            order=position,
            page=line.page,
            words=line.span().words,
            doubts=issue.doubts,
        )
        return
