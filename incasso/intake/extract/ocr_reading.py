"""Read values from OCR'd text: repair typical misreadings, check them, and rate them.

OCR'd fields are paired with their labels exactly like text-layer fields (see
``pairing``). Their confidence then follows these rules, in this order:

1. Start from the text-layer confidence of where the value was found (0.95 right
   of its label, 0.85 below it, 0.8 derived, 0.5 by pattern alone) and multiply
   by :data:`OCR_FACTOR` (0.85). A clean value right of its label gets 0.81, just
   above the default review threshold of 0.8. Anything else lands below it.
2. Unless the value is confirmed, multiply by ``w / CLEAN_WORD_CONFIDENCE``
   (at most 1, at least :data:`MIN_WORD_FACTOR`), where ``w`` is the lowest
   Tesseract word confidence among the words that print the value, and record
   the doubt. A structured communication or VAT number is confirmed by its check
   digits. The amount due is confirmed when it equals the sum or difference of
   two other amounts printed on the invoice, such as subtotal plus VAT or total
   minus an amount already paid.
3. Multiply by :data:`REPAIR_FACTOR` for each repair that was needed to read an
   amount, and record it as a doubt.

Repairs of typical misreadings:

- Structured communication: the trailing ``+++`` is often misread, a ``+``
  next to the digits may become a digit, and a slash may be read as a 1 or 7, or
  be lost. After a payment-reference label, 12 digits that pass the mod-97 check
  are accepted, also after dropping up to two such invented digits, provided
  only one way of dropping them passes. Without a label at least two ``+`` or
  ``*`` must lead the digits.
- Amounts: a decimal comma read as a dot ("1.222.10") or a dot read as a comma
  ("1,222,10") makes all separators alike. The last one is then taken as the
  decimal separator. A decimal separator that was lost ("18450" for "184,50")
  is restored only when the totals confirm it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from stdnum.be import ogm_vcs

from incasso.intake.extract.candidates import Candidate, Parsed, Profile
from incasso.intake.extract.labels import LabelKind
from incasso.intake.extract.layout import Line, Word
from incasso.intake.extract.model import Field, FieldName
from incasso.intake.extract.normalize import find_amounts, format_amount, parse_amount
from incasso.intake.extract.pairing import TEXT_READERS, read_amount, read_reference

OCR_FACTOR = 0.85
# Tesseract 5.3 gave most words of clean test scans 0.90 to 0.97.
CLEAN_WORD_CONFIDENCE = 0.90
MIN_WORD_FACTOR = 0.5
REPAIR_FACTOR = 0.9
# Fields whose check digits confirm what OCR read.
CHECKED_FIELDS = frozenset({FieldName.PAYMENT_REFERENCE, FieldName.DEBTOR_VAT})

# Twelve digits, grouped 3/4/5 by slashes that OCR may have read as "1", "7", "|",
# "l" or "I", or dropped. Spaces around the slashes are removed first.
_LOOSE_OGM_RE = re.compile(r"(?<!\d)(\d[\d/|lI\\]{10,16}\d)(?!\d)")
_SPACED_SLASH_RE = re.compile(r"\s*([/|\\])\s*")
_LEADING_PLUS_RE = re.compile(r"(?:[+*]\s*){2,}(?=\d)")
# Digits with separators that are all alike and end in two decimals: "1.222.10".
_ALIKE_SEPARATORS_RE = re.compile(r"(?<![\w.,])\d{1,3}(?:([.,])\d{3})+\1\d{2}(?![\w]|[.,]\d)")


# ---------------------------------------------------------------------------
# Readers


def read_ocr_reference(text: str) -> Parsed | None:
    """Read a structured communication after its label, tolerating OCR's misreadings."""
    return read_reference(text) or _loose_reference(text)


def find_ocr_reference(text: str) -> Parsed | None:
    """Find a structured communication without a label: printed normally or after "++"."""
    found = read_reference(text)
    if found is not None:
        return found
    compact = _SPACED_SLASH_RE.sub(r"\1", text)
    for lead in _LEADING_PLUS_RE.finditer(compact):
        match = _LOOSE_OGM_RE.match(compact, lead.end())
        digits = _ogm_digits(match.group(1)) if match else None
        if match and digits:
            return Parsed(digits, compact[lead.start() : match.end()])
    return None


def _loose_reference(text: str) -> Parsed | None:
    compact = _SPACED_SLASH_RE.sub(r"\1", text)
    for match in _LOOSE_OGM_RE.finditer(compact):
        digits = _ogm_digits(match.group(1))
        if digits is not None:
            return Parsed(digits, match.group(1))
    return None


def _ogm_digits(printed: str) -> str | None:
    """Return the 12 valid digits in ``printed``, dropping up to two misread characters."""
    plain = re.sub(r"[/|lI\\]", "", printed)
    if not plain.isdigit():
        return None
    valid = {digits for digits in _trimmed(plain) if ogm_vcs.is_valid(digits)}
    return valid.pop() if len(valid) == 1 else None


def _trimmed(plain: str) -> set[str]:
    """Return the 12-digit strings left after dropping digits that OCR may have invented.

    A "+" next to the digits may be read as a digit at either end, and a slash as
    a "1" or "7" after the 3rd or the 7th digit.
    """
    if len(plain) == 12:
        return {plain}
    if len(plain) > 14:
        return set()
    positions = {0, len(plain) - 1} | {index for index in (3, 7) if plain[index] in "17"}
    found: set[str] = set()
    for index in positions:
        found |= _trimmed(plain[:index] + plain[index + 1 :])
    return found


def read_ocr_amount(text: str) -> Parsed | None:
    """Read an amount, repairing separators that OCR read all alike."""
    parsed = read_amount(text)
    if parsed is not None:
        return parsed
    for match in _ALIKE_SEPARATORS_RE.finditer(text):
        value = _last_separator_as_decimal(match.group())
        if value is not None:
            doubt = (
                f"OCR read the amount as '{match.group()}', so its last separator was taken "
                f"as the decimal separator, giving {format_amount(value)}"
            )
            return Parsed(format_amount(value), match.group(), doubt)
    return None


def _last_separator_as_decimal(printed: str) -> Decimal | None:
    head, tail = printed[:-3], printed[-2:]
    digits = "".join(char for char in head if char.isdigit())
    return parse_amount(f"{digits}.{tail}") if digits else None


OCR_READERS = {
    **TEXT_READERS,
    LabelKind.AMOUNT_DUE: read_ocr_amount,
    LabelKind.PAYMENT_REFERENCE: read_ocr_reference,
}


# ---------------------------------------------------------------------------
# Checking and rating


@dataclass(frozen=True)
class _PrintedAmount:
    value: Decimal
    words: tuple[Word, ...]


def finish_ocr_fields(
    chosen: Mapping[FieldName, Candidate], lines: Sequence[Line]
) -> dict[FieldName, Field]:
    """Turn chosen OCR candidates into fields, applying the rules of the module docstring."""
    fields: dict[FieldName, Field] = {}
    amount = chosen.get(FieldName.AMOUNT_DUE)
    amount_confirmed = False
    if amount is not None:
        amount, amount_confirmed = _check_amount(amount, _printed_amounts(lines))

    for name, candidate in chosen.items():
        if name is FieldName.AMOUNT_DUE and amount is not None:
            fields[name] = _rate(amount, confirmed=amount_confirmed)
        else:
            fields[name] = _rate(candidate, confirmed=name in CHECKED_FIELDS)
    return fields


def _rate(candidate: Candidate, *, confirmed: bool) -> Field:
    confidence = candidate.confidence * OCR_FACTOR
    doubts = list(candidate.doubts)
    confidence *= REPAIR_FACTOR ** len(doubts)

    lowest = min((word.confidence for word in candidate.words), default=1.0)
    if not confirmed and lowest < CLEAN_WORD_CONFIDENCE:
        confidence *= max(MIN_WORD_FACTOR, lowest / CLEAN_WORD_CONFIDENCE)
        printed = " ".join(word.text for word in candidate.words)
        doubts.append(f"OCR word confidence {lowest:.0%} for '{printed}'")
    return candidate.to_field(confidence, tuple(doubts))


def _printed_amounts(lines: Sequence[Line]) -> list[_PrintedAmount]:
    """List every amount with decimals printed in ``lines``, with its words.

    Amounts whose separators OCR read all alike are listed with the value that
    :func:`read_ocr_amount` gives them.
    """
    found: list[_PrintedAmount] = []
    for line in lines:
        span = line.span()
        for match in find_amounts(span.text):
            if match.has_decimals:
                words = span.sub(match.start, match.end).words
                found.append(_PrintedAmount(match.value, words))
        for alike in _ALIKE_SEPARATORS_RE.finditer(span.text):
            value = _last_separator_as_decimal(alike.group())
            if value is not None:
                words = span.sub(alike.start(), alike.end()).words
                found.append(_PrintedAmount(value, words))
    return found


def _check_amount(amount: Candidate, printed: Sequence[_PrintedAmount]) -> tuple[Candidate, bool]:
    """Confirm the amount due by the totals, or find the reading of it that they confirm."""
    others = [item.value for item in printed if not set(item.words) & set(amount.words)]
    value = Decimal(amount.value)
    if _sum_or_difference(value, others):
        return amount, True

    for alternative, doubt in _alternative_readings(amount.raw):
        if alternative != value and _sum_or_difference(alternative, others):
            repaired = replace(
                amount, value=format_amount(alternative), doubts=(*amount.doubts, doubt)
            )
            return repaired, True
    return amount, False


def _sum_or_difference(value: Decimal, others: Sequence[Decimal]) -> bool:
    for index, first in enumerate(others):
        for second in others[index + 1 :]:
            if value in (first + second, abs(first - second)):
                return True
    return False


def _alternative_readings(raw: str) -> list[tuple[Decimal, str]]:
    """List other values that an OCR'd amount text may have been printed as."""
    digits = "".join(char for char in raw if char.isdigit())
    readings: list[tuple[Decimal, str]] = []
    if len(digits) >= 3 and not any(char in raw for char in ".,"):
        value = Decimal(digits) / 100
        doubt = (
            f"OCR read the amount as '{raw}' without a decimal separator, and the totals "
            f"printed on the invoice confirm {format_amount(value)}"
        )
        readings.append((value, doubt))
    return readings


OCR_PROFILE = Profile("ocr", OCR_READERS, find_ocr_reference, finish_ocr_fields)
