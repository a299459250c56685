"""Turn Tesseract's word rows into words in PDF points, cleaned up for the label pairing.

``pytesseract.image_to_data`` gives one row per word with its pixel box, its
confidence (0 to 100) and the numbers of the block, paragraph and line that
Tesseract put it in. This module:

- converts boxes to points with the page's points-per-pixel scale;
- joins words of one Tesseract line that are closer than
  :data:`TOUCHING_GAP_FACTOR` times their height, because Tesseract sometimes
  splits a word where no space is printed, such as an e-mail address at a dot;
- drops specks: words of punctuation only with a confidence below
  :data:`SPECK_MAX_CONFIDENCE`, which scanner noise produces between a label and
  its value;
- straightens a skewed page. The slope is the median of the slopes of
  Tesseract's lines, and every word is sheared by it (``top - slope * x``) so
  that the words of one printed line share a height again and ``build_lines``
  groups them.

A :class:`PageFrame` maps a box of straightened words back onto the page as
scanned: it undoes the shear and any quarter turns that made the page upright.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import median

from incasso.intake.extract.layout import Box, Word

TOUCHING_GAP_FACTOR = 0.25
SPECK_MAX_CONFIDENCE = 0.6
SPECK_CHARACTERS = frozenset(".,:;'`\"-_~^|!°")
# Slopes steeper than this (about 6 degrees) are not corrected: Tesseract reads such
# pages poorly anyway, and a wrong estimate would scramble the lines.
MAX_SLOPE = 0.1
_MIN_LINE_WORDS = 3  # a line needs this many words to give a slope
_WORD_LEVEL = 5  # level of word rows in Tesseract's TSV output


@dataclass(frozen=True)
class PageWords:
    """The words of one page in points, straightened, and the slope that was removed."""

    words: list[Word]
    slope: float  # points down per point to the right, removed by shearing


@dataclass(frozen=True)
class PageFrame:
    """Quarter turns and shear applied to a page before OCR, kept to map boxes back."""

    width: float  # of the page as scanned, in points
    height: float
    clockwise_turns: int = 0  # quarter turns that made the page upright
    slope: float = 0.0

    def page_box(self, box: Box) -> Box:
        """Map a box of the upright, straightened page onto the page as scanned."""
        x0, top, x1, bottom = unshear_box(box, self.slope)
        corners = [self._unturned(x, y) for x in (x0, x1) for y in (top, bottom)]
        xs = [x for x, _ in corners]
        ys = [y for _, y in corners]
        return (min(xs), min(ys), max(xs), max(ys))

    def _unturned(self, x: float, y: float) -> tuple[float, float]:
        turns = self.clockwise_turns % 4
        if turns == 1:
            return y, self.height - x
        if turns == 2:
            return self.width - x, self.height - y
        if turns == 3:
            return self.width - y, x
        return x, y


def page_words(
    data: Mapping[str, Sequence[object]], points_per_pixel_x: float, points_per_pixel_y: float
) -> PageWords:
    """Convert ``image_to_data`` output (``Output.DICT``) to straightened words in points."""
    lines = [
        _clean_line(row_words)
        for row_words in _tesseract_lines(data, points_per_pixel_x, points_per_pixel_y)
    ]
    slope = _page_slope(lines)
    words = [_sheared(word, slope) for line in lines for word in line]
    return PageWords(words, slope)


def unshear_box(box: Box, slope: float) -> Box:
    """Map a box of sheared words back to the page as scanned."""
    x0, top, x1, bottom = box
    shifts = (slope * x0, slope * x1)
    return (x0, top + min(shifts), x1, bottom + max(shifts))


def _tesseract_lines(
    data: Mapping[str, Sequence[object]], scale_x: float, scale_y: float
) -> list[list[Word]]:
    """Return the words of each Tesseract line, left to right, in points."""
    lines: dict[tuple[str, ...], list[Word]] = {}
    for index, text in enumerate(data["text"]):
        confidence = _number(data["conf"][index])
        if _number(data["level"][index]) != _WORD_LEVEL or not str(text).strip() or confidence < 0:
            continue
        left, top = _number(data["left"][index]), _number(data["top"][index])
        word = Word(
            text=str(text).strip(),
            x0=left * scale_x,
            x1=(left + _number(data["width"][index])) * scale_x,
            top=top * scale_y,
            bottom=(top + _number(data["height"][index])) * scale_y,
            confidence=min(1.0, confidence / 100),
        )
        key = tuple(str(data[name][index]) for name in ("block_num", "par_num", "line_num"))
        lines.setdefault(key, []).append(word)
    return [sorted(words, key=lambda word: word.x0) for words in lines.values()]


def _number(value: object) -> float:
    return float(str(value))


def _clean_line(words: Sequence[Word]) -> list[Word]:
    """Join touching words and drop specks."""
    cleaned: list[Word] = []
    for word in words:
        if _is_speck(word):
            continue
        if cleaned and _touching(cleaned[-1], word):
            cleaned[-1] = _joined(cleaned[-1], word)
        else:
            cleaned.append(word)
    return cleaned


def _is_speck(word: Word) -> bool:
    return word.confidence < SPECK_MAX_CONFIDENCE and set(word.text) <= SPECK_CHARACTERS


def _touching(left: Word, right: Word) -> bool:
    gap = right.x0 - left.x1
    return gap < TOUCHING_GAP_FACTOR * min(left.height, right.height)


def _joined(left: Word, right: Word) -> Word:
    return Word(
        text=left.text + right.text,
        x0=left.x0,
        x1=max(left.x1, right.x1),
        top=min(left.top, right.top),
        bottom=max(left.bottom, right.bottom),
        confidence=min(left.confidence, right.confidence),
    )


def _page_slope(lines: Sequence[Sequence[Word]]) -> float:
    """Return the median slope of the lines that have enough words, or 0.0."""
    slopes = [
        slope
        for line in lines
        if len(line) >= _MIN_LINE_WORDS and (slope := _line_slope(line)) is not None
    ]
    if not slopes:
        return 0.0
    slope = median(slopes)
    return slope if abs(slope) <= MAX_SLOPE else 0.0


def _line_slope(words: Sequence[Word]) -> float | None:
    """Return the least-squares slope of the word bottoms against their centres."""
    xs = [(word.x0 + word.x1) / 2 for word in words]
    ys = [word.bottom for word in words]
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def _sheared(word: Word, slope: float) -> Word:
    if slope == 0.0:
        return word
    shift = slope * (word.x0 + word.x1) / 2
    return Word(
        text=word.text,
        x0=word.x0,
        x1=word.x1,
        top=word.top - shift,
        bottom=word.bottom - shift,
        confidence=word.confidence,
    )
