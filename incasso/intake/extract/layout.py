"""Group the positioned words of a PDF page into lines and cells, and look up values by layout.

A line is a run of words whose vertical extents overlap by at least half the height
of the smaller word. Within a line, a gap wider than :data:`CELL_GAP_FACTOR` times
the line height starts a new cell, so "Factuurnummer:   2026-0412" printed in two
columns gives two cells while "Factuurnummer: 2026-0412" gives one.

Coordinates are pdfplumber's: points from the top-left corner of the page, ``top``
growing downwards. OCR'd words are converted to the same points, so a :data:`Box`
means the same place on the page whichever way the text was read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

CELL_GAP_FACTOR = 1.0  # a gap wider than this many line heights separates cells
BELOW_MAX_GAP_FACTOR = 2.0  # a value below its label starts within this many line heights
COLUMN_TOLERANCE = 15.0  # points by which a block line may start left or right of its anchor
_OVERLAP_TOLERANCE = 2.0  # points

# A rectangle on a page in points: (x0, top, x1, bottom), from the top-left corner.
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Word:
    """One word of the text layer with its bounding box."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    # 1.0 for a word of a PDF text layer; the OCR engine's word confidence (0.0 to 1.0)
    # for an OCR'd word.
    confidence: float = 1.0

    @property
    def height(self) -> float:
        return self.bottom - self.top


def box_of(words: Sequence[Word]) -> Box:
    """Return the smallest box around ``words``, which must not be empty."""
    return (
        min(word.x0 for word in words),
        min(word.top for word in words),
        max(word.x1 for word in words),
        max(word.bottom for word in words),
    )


@dataclass(frozen=True)
class Span:
    """A piece of printed text with the words it was read from.

    ``offsets[i]`` is where ``words[i]`` starts in ``text``. It is negative when the
    span starts inside that word, as "562044387" cut from the word "n°562044387".
    """

    text: str
    words: tuple[Word, ...] = ()
    offsets: tuple[int, ...] = ()

    @classmethod
    def of_words(cls, words: Sequence[Word]) -> Span:
        """Return the span of ``words`` joined with single spaces."""
        offsets: list[int] = []
        position = 0
        for word in words:
            offsets.append(position)
            position += len(word.text) + 1
        return cls(" ".join(word.text for word in words), tuple(words), tuple(offsets))

    def sub(self, start: int, end: int) -> Span:
        """Return ``text[start:end]`` without surrounding white space, with its words."""
        part = self.text[start:end]
        start += len(part) - len(part.lstrip())
        end = start + len(part.strip())
        kept = [
            (word, offset - start)
            for word, offset in zip(self.words, self.offsets, strict=True)
            if offset < end and offset + len(word.text) > start
        ]
        return Span(
            self.text[start:end],
            tuple(word for word, _ in kept),
            tuple(offset for _, offset in kept),
        )

    def join(self, other: Span) -> Span:
        """Return this span and ``other`` joined with one space."""
        if not self.text:
            return other
        shift = len(self.text) + 1
        return Span(
            f"{self.text} {other.text}",
            self.words + other.words,
            self.offsets + tuple(offset + shift for offset in other.offsets),
        )

    def words_of(self, part: str) -> tuple[Word, ...]:
        """Return the words that print ``part`` of the text, ignoring case.

        When ``part`` does not occur in the text, as after normalization, all
        words of the span are returned.
        """
        start = self.text.lower().find(part.lower()) if part else -1
        if start < 0:
            return self.words
        found = self.sub(start, start + len(part)).words
        return found or self.words


@dataclass(frozen=True)
class Cell:
    """Words of one line that belong together; ``text`` joins them with single spaces."""

    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)

    @property
    def x0(self) -> float:
        return self.words[0].x0

    @property
    def x1(self) -> float:
        return max(word.x1 for word in self.words)

    def span(self, start: int = 0, end: int | None = None) -> Span:
        """Return ``text[start:end]`` as a span, stripped of surrounding white space."""
        return Span.of_words(self.words).sub(start, len(self.text) if end is None else end)

    def span_x(self, start: int, end: int) -> tuple[float, float]:
        """Return the horizontal extent of the words covering ``text[start:end]``."""
        covered = [
            word
            for word, offset in self._offsets()
            if offset < end and offset + len(word.text) > start
        ]
        if not covered:
            return self.x0, self.x1
        return covered[0].x0, max(word.x1 for word in covered)

    def x_at(self, offset: int) -> float:
        """Return the left edge of the first word that ends after ``offset`` in ``text``."""
        for word, start in self._offsets():
            if start + len(word.text) > offset:
                return word.x0
        return self.x1

    def _offsets(self) -> list[tuple[Word, int]]:
        offsets: list[tuple[Word, int]] = []
        position = 0
        for word in self.words:
            offsets.append((word, position))
            position += len(word.text) + 1
        return offsets


@dataclass(frozen=True)
class Line:
    """One printed line of a page, as cells from left to right."""

    page: int  # 1-based page number
    cells: tuple[Cell, ...]

    @property
    def text(self) -> str:
        return " ".join(cell.text for cell in self.cells)

    @property
    def top(self) -> float:
        return min(word.top for cell in self.cells for word in cell.words)

    @property
    def bottom(self) -> float:
        return max(word.bottom for cell in self.cells for word in cell.words)

    @property
    def height(self) -> float:
        return median(word.height for cell in self.cells for word in cell.words)

    def span(self) -> Span:
        """Return the whole line as one span; its text equals :attr:`text`."""
        return Span.of_words([word for cell in self.cells for word in cell.words])

    def cell_after(self, cell: Cell) -> Cell | None:
        """Return the cell right of ``cell`` on this line, or None."""
        position = self.cells.index(cell)
        return self.cells[position + 1] if position + 1 < len(self.cells) else None

    def cell_starting_near(self, x: float) -> Cell | None:
        """Return the cell whose left edge lies within :data:`COLUMN_TOLERANCE` of ``x``."""
        for cell in self.cells:
            if abs(cell.x0 - x) <= COLUMN_TOLERANCE:
                return cell
        return None


def build_lines(words: Sequence[Word], page: int) -> list[Line]:
    """Group the words of one page into lines from top to bottom, and each line into cells."""
    rows: list[list[Word]] = []
    for word in sorted(words, key=lambda item: (item.top, item.x0)):
        if rows and _same_row(rows[-1], word):
            rows[-1].append(word)
        else:
            rows.append([word])
    return [Line(page, _split_cells(row)) for row in rows]


def _same_row(row: list[Word], word: Word) -> bool:
    row_top = min(item.top for item in row)
    row_bottom = max(item.bottom for item in row)
    overlap = min(row_bottom, word.bottom) - max(row_top, word.top)
    smaller_height = min(row_bottom - row_top, word.height)
    return overlap >= 0.5 * smaller_height


def _split_cells(row: list[Word]) -> tuple[Cell, ...]:
    ordered = sorted(row, key=lambda item: item.x0)
    line_height = median(word.height for word in ordered)
    cells: list[list[Word]] = [[ordered[0]]]

    for word in ordered[1:]:
        gap = word.x0 - cells[-1][-1].x1
        if gap > CELL_GAP_FACTOR * line_height:
            cells.append([word])
        else:
            cells[-1].append(word)
    return tuple(Cell(tuple(cell)) for cell in cells)


def cell_below(lines: Sequence[Line], position: int, x0: float, x1: float) -> Cell | None:
    """Return the cell just below ``lines[position]`` that overlaps ``x0``..``x1``.

    Only the next lines on the same page that start within
    :data:`BELOW_MAX_GAP_FACTOR` line heights count, so a value is never taken
    from a distant part of the page.
    """
    label_line = lines[position]
    max_gap = BELOW_MAX_GAP_FACTOR * label_line.height

    for line in lines[position + 1 :]:
        if line.page != label_line.page or line.top - label_line.bottom > max_gap:
            return None
        for cell in line.cells:
            if cell.x0 <= x1 + _OVERLAP_TOLERANCE and cell.x1 >= x0 - _OVERLAP_TOLERANCE:
                return cell
    return None
