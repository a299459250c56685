"""Candidate values for invoice fields, and the profile of the source they are read from.

The label pairing in ``pairing`` reads lines of positioned words, whether those
come from a PDF text layer or from OCR. A :class:`Profile` contains what differs
between the two: the name that starts every ``Field.source`` ("pdf" or "ocr"),
the readers that parse a value's text, and ``finish``, which turns the chosen
candidates into fields with their final confidence.

The confidences below are those of a text layer. The OCR profile lowers them (see
``ocr_reading``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from incasso.intake.extract.labels import LabelKind
from incasso.intake.extract.layout import Line, Word, box_of
from incasso.intake.extract.model import Field, FieldName

CONFIDENCE_SAME_LINE = 0.95  # value right of its label
CONFIDENCE_BELOW = 0.85  # value below its label, or in the customer block
CONFIDENCE_DERIVED = 0.8  # computed, such as issue date plus payment term
CONFIDENCE_PATTERN = 0.5  # recognized by its form alone, without a label


@dataclass(frozen=True)
class Parsed:
    """A value read from a text: the normalized value and the printed text it came from."""

    value: str
    raw: str  # the part of the text that printed the value; locates its words
    doubt: str | None = None  # set when the printed text had to be repaired to read it


Reader = Callable[[str], Parsed | None]


@dataclass(frozen=True)
class Candidate:
    """A possible value for one field, before the best one is chosen."""

    name: FieldName
    value: str
    raw: str
    source: str
    confidence: float  # the text-layer confidence of where the value was found
    order: int  # position of the line in the invoice, to prefer earlier or later values
    rank: int = 0  # amount-due label rank
    page: int | None = None
    words: tuple[Word, ...] = ()  # the words that print the value
    doubts: tuple[str, ...] = ()

    def to_field(
        self, confidence: float | None = None, doubts: tuple[str, ...] | None = None
    ) -> Field:
        """Return the field, with its box around :attr:`words`."""
        return Field(
            value=self.value,
            raw=self.raw,
            source=self.source,
            confidence=self.confidence if confidence is None else confidence,
            page=self.page,
            box=box_of(self.words) if self.words else None,
            doubts=self.doubts if doubts is None else doubts,
        )


# Turns the chosen candidate of each field into the field, given all lines of the invoice.
Finisher = Callable[[Mapping[FieldName, Candidate], Sequence[Line]], dict[FieldName, Field]]


@dataclass(frozen=True)
class Profile:
    """Readers and confidence rules for the lines of one kind of source."""

    name: str  # starts every Field.source: "pdf page 2, label 'Vervaldatum'"
    readers: Mapping[LabelKind, Reader]  # value readers by the kind of the label before them
    find_reference: Reader  # finds a structured communication printed without a label
    finish: Finisher

    def source(self, page: int, where: str) -> str:
        """Return a ``Field.source`` text such as "ocr page 1, below label 'Datum'"."""
        return f"{self.name} page {page}, {where}"


def plain_fields(
    chosen: Mapping[FieldName, Candidate], lines: Sequence[Line]
) -> dict[FieldName, Field]:
    """Return each chosen candidate as a field with its own confidence, as a text layer does."""
    return {name: candidate.to_field() for name, candidate in chosen.items()}
