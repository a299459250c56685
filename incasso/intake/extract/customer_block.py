"""Read the debtor's name, address, e-mail and VAT number from the customer block.

The customer block starts at a caption such as "Klant", "Facturé à" or "Bill to"
and holds the texts right of the caption and the lines below it that start in the
same column. It ends at a gap of more than :data:`_BLOCK_GAP_FACTOR` line heights,
at a line starting with another label, or after :data:`_MAX_BLOCK_LINES` texts.

An e-mail address or VAT number printed outside the block is used, with confidence
0.5, only when exactly one such value is left after removing the excluded ones and
those printed above the customer block (the creditor's letterhead).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from incasso.intake.extract.candidates import (
    CONFIDENCE_BELOW,
    CONFIDENCE_PATTERN,
    CONFIDENCE_SAME_LINE,
    Candidate,
    Profile,
)
from incasso.intake.extract.labels import LabelKind, LabelMatch, find_labels
from incasso.intake.extract.layout import Cell, Line, Span, Word
from incasso.intake.extract.model import FieldName
from incasso.intake.extract.normalize import Exclusions, find_emails, find_vats, normalize_vat

_MAX_BLOCK_LINES = 8
_BLOCK_GAP_FACTOR = 1.2  # a vertical gap of more line heights than this ends the customer block
# Labels that may appear inside the customer block without ending it.
_BLOCK_INNER_KINDS = frozenset(
    {LabelKind.VAT, LabelKind.DEBTOR_VAT, LabelKind.EMAIL, LabelKind.PHONE, LabelKind.OTHER}
)


@dataclass
class Block:
    """The customer block: its caption and the texts below or right of it."""

    caption: str
    page: int
    top: float  # of the caption line
    entries: list[tuple[Span, bool]] = field(default_factory=list)  # (text, on the caption's line)
    line_ids: set[int] = field(default_factory=set)  # id() of the lines it covers


def starts_with_label(text: str) -> bool:
    """Tell whether ``text`` starts with a label of any kind."""
    matches = find_labels(text)
    return bool(matches) and matches[0].start == 0


def find_debtor_block(lines: Sequence[Line]) -> Block | None:
    """Return the first customer block that has at least one line of text."""
    for position, line in enumerate(lines):
        for cell in line.cells:
            for match in find_labels(cell.text):
                if match.kind is LabelKind.DEBTOR_BLOCK:
                    block = _read_block(lines, position, cell, match)
                    if block.entries:
                        return block
    return None


def _read_block(lines: Sequence[Line], position: int, cell: Cell, match: LabelMatch) -> Block:
    line = lines[position]
    block = Block(caption=match.text, page=line.page, top=line.top)
    anchor_x = cell.span_x(match.start, match.end)[0]

    rest = cell.span(match.end)
    neighbour = line.cell_after(cell)
    if rest.text:
        block.entries.append((rest, True))
        anchor_x = cell.x_at(match.end)
    elif neighbour is not None and not starts_with_label(neighbour.text):
        block.entries.append((neighbour.span(), True))
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
        block.entries.append((column_cell.span(), False))
        block.line_ids.add(id(following))
        previous = following
    return block


def block_candidates(block: Block, exclusions: Exclusions, profile: Profile) -> list[Candidate]:
    """Read name, address, e-mail and VAT number from the customer block's texts."""
    candidates: list[Candidate] = []
    address_parts: list[Span] = []
    name_found = False
    source = profile.source(block.page, f"customer block under '{block.caption}'")

    def candidate(
        name: FieldName, value: str, raw: str, confidence: float, order: int, words: Sequence[Word]
    ) -> Candidate:
        return Candidate(
            name, value, raw, source, confidence, order, page=block.page, words=tuple(words)
        )

    for order, (span, on_caption_line) in enumerate(block.entries):
        text = span.text
        confidence = CONFIDENCE_SAME_LINE if on_caption_line else CONFIDENCE_BELOW
        labels = find_labels(text)
        first_kind = labels[0].kind if labels and labels[0].start == 0 else None
        emails = [email for email in find_emails(text) if not exclusions.excludes_email(email)]
        vats = _vats_in(text, labelled=first_kind is LabelKind.VAT)
        vats = [vat for vat in vats if not exclusions.excludes_vat(vat)]

        if emails:
            words = span.words_of(emails[0])
            candidates.append(
                candidate(FieldName.DEBTOR_EMAIL, emails[0], emails[0], confidence, order, words)
            )
        if vats:
            words = vat_words(span, vats[0])
            candidates.append(
                candidate(FieldName.DEBTOR_VAT, vats[0], text, confidence, order, words)
            )
        if emails or vats or first_kind in _BLOCK_INNER_KINDS or find_emails(text):
            continue
        if text.endswith(":"):
            continue  # a sub-caption such as "Address:"

        if not name_found and sum(char.isalpha() for char in text) >= 2:
            candidates.append(
                candidate(FieldName.DEBTOR_NAME, text, text, confidence, order, span.words)
            )
            name_found = True
        else:
            address_parts.append(span)

    if address_parts:
        address = ", ".join(part.text for part in address_parts)
        address_words = tuple(word for part in address_parts for word in part.words)
        candidates.append(
            candidate(
                FieldName.DEBTOR_ADDRESS, address, address, CONFIDENCE_BELOW, 0, address_words
            )
        )
    return candidates


def vat_words(span: Span, vat: str) -> tuple[Word, ...]:
    """Return the fewest consecutive words of ``span`` whose digits hold those of ``vat``.

    Printed forms differ from the normalized one ("BE 0123.456.749", "123.456.749"
    for "BE0123456749"), so the words are matched on their digits. Without a match,
    as for foreign numbers with letters, the words after a leading label are returned.
    """
    digits = "".join(char for char in vat if char.isdigit()).lstrip("0")
    words = span.words
    best: tuple[Word, ...] = ()
    for first in range(len(words)):
        printed = ""
        for last in range(first, len(words)):
            printed += "".join(char for char in words[last].text if char.isdigit())
            if digits and digits in printed:
                if not best or last + 1 - first < len(best):
                    best = words[first : last + 1]
                break
    return best or _after_label(span).words


def _after_label(span: Span) -> Span:
    """Return the span without a label that starts it, or the whole span."""
    labels = find_labels(span.text)
    if not labels or labels[0].start != 0:
        return span
    rest = span.sub(labels[0].end, len(span.text))
    return rest if rest.words else span


def _vats_in(text: str, *, labelled: bool) -> list[str]:
    """Find VAT numbers in ``text``; after a VAT label a bare ten-digit number counts too."""
    found = find_vats(text)
    if found or not labelled:
        return found
    labels = find_labels(text)
    bare = normalize_vat(text[labels[0].end :]) if labels else None
    return [bare] if bare else []


def outside_block_candidates(
    lines: Sequence[Line], block: Block | None, exclusions: Exclusions, profile: Profile
) -> list[Candidate]:
    """Use an e-mail address or VAT number outside the customer block when it is the only one.

    Lines above the customer block are skipped: that is the creditor's letterhead.

    NOTE: a creditor's address or VAT number printed in a footer, below the customer
    block, is still offered with confidence 0.5 unless the caller excludes it.
    """
    outside = [line for line in lines if block is None or _after_block_start(line, block)]
    emails: dict[str, tuple[int, tuple[Word, ...]]] = {}
    vats: dict[str, tuple[int, tuple[Word, ...]]] = {}

    for line in outside:
        for cell in line.cells:
            span = cell.span()
            for email in find_emails(cell.text):
                if not exclusions.excludes_email(email):
                    emails.setdefault(email, (line.page, span.words_of(email)))
            labels = find_labels(cell.text)
            labelled = bool(labels) and labels[0].kind is LabelKind.VAT
            for vat in _vats_in(cell.text, labelled=labelled):
                if not exclusions.excludes_vat(vat):
                    vats.setdefault(vat, (line.page, vat_words(span, vat)))

    candidates: list[Candidate] = []
    for name, found in ((FieldName.DEBTOR_EMAIL, emails), (FieldName.DEBTOR_VAT, vats)):
        if len(found) == 1:
            value, (page, words) = next(iter(found.items()))
            source = profile.source(page, "text pattern outside the customer block")
            candidates.append(
                Candidate(name, value, value, source, CONFIDENCE_PATTERN, 0, page=page, words=words)
            )
    return candidates


def _after_block_start(line: Line, block: Block) -> bool:
    if id(line) in block.line_ids:
        return False
    return line.page > block.page or (line.page == block.page and line.top >= block.top)
