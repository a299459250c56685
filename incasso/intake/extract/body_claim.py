"""Read the amount, currency, dates and payment reference of each typed claim.

- A claim needs an amount, which has decimals or a currency ("612,40", "612 euro"). A
  number without an amount ("zie factuur 2026-5521 in bijlage") gives a note, not a
  claim.
- A part (the creditor's message or one forwarded or quoted message) with one invoice
  number is read whole for its claim. Otherwise a paragraph with one number is that
  claim's text, and in a paragraph with several numbers each claim runs from its line
  to the next number.

Confidence, lower than for a printed invoice because typed text has no fixed layout:

- 0.85 (:data:`CONFIDENCE_LABELED`) for a value right after its label, with at most
  three words and no digits between them ("vervallen op 02/08/2026", "bedrag van
  612,40").
- 0.6 (:data:`CONFIDENCE_GUESS`) for a guess. These are the only amount of a claim
  without an amount label, two unlabeled dates read as issue and due date, a due
  date from a payment term and EUR when no currency is written.
- A labeled amount is lowered to 0.6, with a doubt, when the claim also mentions
  another amount or a payment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta

from incasso.intake.extract.body_labels import MAX_NUMBER_LENGTH, Label, Mention
from incasso.intake.extract.body_quotes import Passage
from incasso.intake.extract.model import Field, FieldName
from incasso.intake.extract.normalize import (
    find_amounts,
    find_currency,
    find_dates,
    find_ogm,
    format_amount,
    payment_term_days,
)

CONFIDENCE_LABELED = 0.85
CONFIDENCE_GUESS = 0.6

_MAX_GAP_CHARS = 30  # between a label and its value
_MAX_GAP_WORDS = 3
_AFTER_NUMBER_RE = re.compile(
    r"\s*,?\s*(?:van|d\.d\.|de|du|of|from|dated|gedateerd|dat[ée]e?\s+du|en\s+date\s+du)\s+",
    re.IGNORECASE,
)
_EURO_AFTER_RE = re.compile(r"\s*(?:euros?|eur|€)(?!\w)", re.IGNORECASE)
_EURO_WORD_RE = re.compile(r"(?<!\w)euros?(?!\w)|€", re.IGNORECASE)


@dataclass(frozen=True)
class _Value:
    field: FieldName
    value: str
    raw: str
    start: int
    end: int
    basis: str  # for the source: "label 'bedrag'", "the only amount of the claim"
    confidence: float = CONFIDENCE_LABELED
    rank: int = 0


def _is_filler(gap: str) -> bool:
    """Tell whether ``gap`` may stand between a label and its value."""
    if len(gap) > _MAX_GAP_CHARS or any(char.isdigit() for char in gap):
        return False
    if re.search(r"[.!?;]\s", gap):
        return False
    return len(re.findall(r"[^\W\d_]+", gap)) <= _MAX_GAP_WORDS


def _claim_amounts(text: str, start: int, end: int) -> list[tuple[int, int, str, str | None]]:
    """List (start, end, value, currency) of amounts with decimals or a currency."""
    found = []
    for amount in find_amounts(text[start:end]):
        euro = _EURO_AFTER_RE.match(text, start + amount.end)
        currency = amount.currency or ("EUR" if euro else None)
        if amount.has_decimals or currency:
            value = format_amount(amount.value)
            found.append((start + amount.start, start + amount.end, value, currency))
    return found


def _value_after(text: str, label: Label, field: FieldName, end: int, rank: int) -> _Value | None:
    """Read the value of ``field`` that follows ``label`` within the filler rules."""
    if field in (FieldName.ISSUE_DATE, FieldName.DUE_DATE):
        dates = find_dates(text[label.end : end])
        if dates and _is_filler(text[label.end : label.end + dates[0].start]):
            start = label.end + dates[0].start
            value = dates[0].value.isoformat()
            stop = start + len(dates[0].raw)
            return _Value(field, value, dates[0].raw, start, stop, f"label {label.text!r}")
        return None
    if field is FieldName.AMOUNT_DUE:
        amounts = _claim_amounts(text, label.end, end)
        if amounts and _is_filler(text[label.end : amounts[0][0]]):
            start, stop, value, _ = amounts[0]
            how = f"label {label.text!r}"
            return _Value(field, value, text[start:stop], start, stop, how, rank=rank)
        return None

    window = text[label.end : end]
    ogm = find_ogm(window)
    if ogm is not None:
        start = label.end + window.index(ogm[1])
        return _Value(field, ogm[0], ogm[1], start, start + len(ogm[1]), f"label {label.text!r}")
    printed = window.split("\n")[0].strip(" :;,.")
    if any(char.isdigit() for char in printed) and len(printed) <= MAX_NUMBER_LENGTH:
        stop = label.end + len(printed)
        return _Value(field, printed, printed, label.end, stop, f"label {label.text!r}")
    return None


@dataclass(frozen=True)
class Segment:
    """The text of one claim, as offsets into its passage."""

    passage: Passage
    mention: Mention
    start: int
    end: int

    def line(self, offset: int) -> int:
        return self.passage.line_at(offset).number


def segments(passage: Passage, mentions: list[Mention]) -> list[Segment]:
    """Cut ``passage`` into one segment per invoice number, following the module rules."""
    if len(mentions) == 1:
        return [Segment(passage, mentions[0], 0, len(passage.text))]

    by_paragraph: dict[int, list[Mention]] = {}
    for mention in mentions:
        by_paragraph.setdefault(passage.line_at(mention.start).paragraph, []).append(mention)

    segments: list[Segment] = []
    for paragraph, group in by_paragraph.items():
        start, end = passage.paragraph_span(paragraph)
        if len(group) == 1:
            segments.append(Segment(passage, group[0], start, end))
            continue
        starts = [passage.line_start(mention.start) for mention in group]
        for index in range(1, len(group)):
            if starts[index] == starts[index - 1]:  # two numbers on one line
                starts[index] = group[index].start
        for index, mention in enumerate(group):
            stop = starts[index + 1] if index + 1 < len(group) else end
            segments.append(Segment(passage, mention, starts[index], stop))
    return segments


def read_claim(
    segment: Segment, labels: list[Label], boundaries: list[int]
) -> tuple[dict[FieldName, Field], str | None] | None:
    """Read the fields of one claim and its language; None when it has no amount."""
    text, start, end = segment.passage.text, segment.start, segment.end
    values = _after_number_values(segment, boundaries)
    paid: list[tuple[int, int, str]] = []
    votes: dict[str, float] = {segment.mention.language: 1.0}

    for label in labels:
        if label.spec is None or not start <= label.start < end:
            continue
        stop = next((b for b in boundaries if b > label.start), end)
        stop = min(stop, end)
        if label.spec.field is None:
            paid.extend(_paid_amounts(text, label, start, stop))
            continue
        value = _value_after(text, label, label.spec.field, stop, label.spec.rank)
        if value is not None:
            values.append(value)
            for language in label.spec.languages:
                votes[language] = votes.get(language, 0.0) + 1 / len(label.spec.languages)

    chosen: dict[FieldName, _Value] = {}
    for value in values:
        current = chosen.get(value.field)
        if current is None or value.rank > current.rank:
            chosen[value.field] = value

    spans = [(value.start, value.end) for value in values] + [(s, e) for s, e, _ in paid]
    fields = _amount_fields(segment, chosen, spans, paid)
    if fields is None:
        return None
    fields.update(_date_fields(segment, chosen, spans))
    if FieldName.PAYMENT_REFERENCE in chosen:
        fields[FieldName.PAYMENT_REFERENCE] = _field(segment, chosen[FieldName.PAYMENT_REFERENCE])

    mention = segment.mention
    raw = text[mention.start : mention.end]
    source = f"mail body line {segment.line(mention.start)}, invoice number in {raw!r}"
    fields[FieldName.INVOICE_NUMBER] = Field(mention.number, raw, source, CONFIDENCE_LABELED)
    ranked = sorted(votes.items(), key=lambda item: item[1], reverse=True)
    tie = len(ranked) > 1 and ranked[0][1] == ranked[1][1]
    return fields, None if tie else ranked[0][0]


def _field(segment: Segment, value: _Value, *doubts: str) -> Field:
    source = f"mail body line {segment.line(value.start)}, {value.basis}"
    confidence = CONFIDENCE_GUESS if doubts else value.confidence
    return Field(value.value, value.raw, source, confidence, doubts=doubts)


def _after_number_values(segment: Segment, boundaries: list[int]) -> list[_Value]:
    """Read "van 03/07/2026" or "van 612,40 euro" right after the invoice number."""
    text = segment.passage.text
    match = _AFTER_NUMBER_RE.match(text, segment.mention.end)
    if match is None or match.end() >= segment.end:
        return []
    word = Label(None, match.group().strip(" ,"), match.start(), match.end())
    stop = min(next((b for b in boundaries if b > match.end()), segment.end), segment.end)
    for field in (FieldName.ISSUE_DATE, FieldName.AMOUNT_DUE):
        value = _value_after(text, word, field, stop, rank=1)
        if value is not None:
            return [replace(value, basis=f"{word.text!r} after the invoice number")]
    return []


def _paid_amounts(text: str, label: Label, start: int, stop: int) -> list[tuple[int, int, str]]:
    """Return the amount right after a payment label, or right before it ("100,00 betaald")."""
    after = _claim_amounts(text, label.end, stop)
    if after and _is_filler(text[label.end : after[0][0]]):
        return [after[0][:3]]
    before = [a for a in _claim_amounts(text, start, label.start) if a[1] <= label.start]
    if before and re.fullmatch(r"\s*(?:euros?|eur|€)?\s*", text[before[-1][1] : label.start], re.I):
        return [before[-1][:3]]
    return []


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < other_end and other_start < end for other_start, other_end in spans)


def _amount_fields(
    segment: Segment,
    chosen: dict[FieldName, _Value],
    spans: list[tuple[int, int]],
    paid: list[tuple[int, int, str]],
) -> dict[FieldName, Field] | None:
    """Choose the amount due and its currency; None when the claim has no amount."""
    text = segment.passage.text
    loose = [
        a
        for a in _claim_amounts(text, segment.start, segment.end)
        if not _overlaps(a[0], a[1], spans)
    ]
    amount = chosen.get(FieldName.AMOUNT_DUE)
    doubts: list[str] = []
    if amount is None:
        distinct = {value for _, _, value, _ in loose}
        if len(distinct) != 1:
            return None
        start, end, value, _ = loose[0]
        basis = "the only amount of the claim, without a label"
        amount = _Value(
            FieldName.AMOUNT_DUE, value, text[start:end], start, end, basis, CONFIDENCE_GUESS
        )
    else:
        others = sorted({value for _, _, value, _ in loose} - {amount.value})
        if others:
            doubts.append(f"the claim also mentions {', '.join(others)}")
    if paid:
        doubts.append(f"a payment of {paid[0][2]} is mentioned, so less may be due")

    fields = {FieldName.AMOUNT_DUE: _field(segment, amount, *doubts)}
    fields[FieldName.CURRENCY] = _currency_field(segment, amount, fields[FieldName.AMOUNT_DUE])
    return fields


def _currency_field(segment: Segment, amount: _Value, amount_field: Field) -> Field:
    text = segment.passage.text
    written = find_currency(amount.raw)
    if written is None and _EURO_AFTER_RE.match(text, amount.end):
        written = "EUR"
    if written is not None:
        return Field(written, amount.raw, amount_field.source, amount_field.confidence)

    claim_text = text[segment.start : segment.end]
    written = find_currency(claim_text) or ("EUR" if _EURO_WORD_RE.search(claim_text) else None)
    source = f"mail body line {segment.line(segment.start)}"
    if written is not None:
        return Field(written, written, f"{source}, currency in the claim", CONFIDENCE_GUESS)
    return Field("EUR", "", source, CONFIDENCE_GUESS, doubts=("no currency written; EUR assumed",))


def _date_fields(
    segment: Segment, chosen: dict[FieldName, _Value], spans: list[tuple[int, int]]
) -> dict[FieldName, Field]:
    """Take labeled dates, guess unlabeled ones and derive the due date from a payment term."""
    text = segment.passage.text
    claim_text = text[segment.start : segment.end]
    issue, due = chosen.get(FieldName.ISSUE_DATE), chosen.get(FieldName.DUE_DATE)
    loose = []
    for found in find_dates(claim_text):
        start = segment.start + found.start
        if not _overlaps(start, start + len(found.raw), spans):
            loose.append((start, found))

    def guess(field: FieldName, index: int) -> _Value:
        start, found = loose[index]
        basis = "unlabeled date in the claim"
        end = start + len(found.raw)
        value = found.value.isoformat()
        return _Value(field, value, found.raw, start, end, basis, CONFIDENCE_GUESS)

    if issue is None and due is None and len(loose) == 2 and loose[0][1].value < loose[1][1].value:
        issue, due = guess(FieldName.ISSUE_DATE, 0), guess(FieldName.DUE_DATE, 1)
    elif (
        issue is not None
        and due is None
        and len(loose) == 1
        and loose[0][1].value > date.fromisoformat(issue.value)
    ):
        due = guess(FieldName.DUE_DATE, 0)

    fields: dict[FieldName, Field] = {}
    if issue is not None:
        fields[FieldName.ISSUE_DATE] = _field(segment, issue)
    if due is not None:
        fields[FieldName.DUE_DATE] = _field(segment, due)
    elif issue is not None and (days := payment_term_days(claim_text)) is not None:
        value = (date.fromisoformat(issue.value) + timedelta(days=days)).isoformat()
        basis = f"issue date plus a payment term of {days} days"
        derived = replace(issue, field=FieldName.DUE_DATE, value=value, basis=basis)
        fields[FieldName.DUE_DATE] = _field(segment, replace(derived, confidence=CONFIDENCE_GUESS))
    return fields
