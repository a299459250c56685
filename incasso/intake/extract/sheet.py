"""Extract overdue invoices from a spreadsheet that lists them, one invoice per row.

Creditors send CSV files (separated by ``;``, ``,`` or tabs; UTF-8 with or without a
byte order mark, UTF-16 with one, else Windows-1252) and XLSX workbooks. The steps:

- :mod:`incasso.intake.extract.sheet_columns` finds the header row, which names an
  invoice-number and an amount column. A workbook is read from the first sheet that
  has such a header row, and a CSV file with the separator whose header row names the
  most columns. Without a header row the result is ``Problem.NOT_AN_INVOICE`` with a
  detail that names the columns found.
- :mod:`incasso.intake.extract.sheet_rows` reads each row below the header as one
  invoice, and :mod:`incasso.intake.extract.sheet_cells` converts its cell values.
- A file of more than :data:`MAX_FILE_BYTES` bytes, or an XLSX file that unpacks to
  more than :data:`MAX_UNPACKED_BYTES`, gives ``Problem.UNSUPPORTED``.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import logging
import zipfile
from collections.abc import Iterator

import openpyxl

from incasso.intake.extract.model import ExtractionResult, Problem
from incasso.intake.extract.normalize import Exclusions
from incasso.intake.extract.sheet_columns import HEADER_SEARCH_ROWS, Cell, Header, find_header
from incasso.intake.extract.sheet_rows import (
    CONFIDENCE_CELL,
    CONFIDENCE_GUESS,
    CONFIDENCE_MONTH_FIRST,
    MAX_ROWS,
    METHOD,
    Reader,
)

__all__ = [
    "CONFIDENCE_CELL",
    "CONFIDENCE_GUESS",
    "CONFIDENCE_MONTH_FIRST",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "MAX_UNPACKED_BYTES",
    "METHOD",
    "extract_csv",
    "extract_xlsx",
    "is_xlsx",
    "looks_like_csv",
]

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_UNPACKED_BYTES = 50 * 1024 * 1024  # the XML inside an XLSX file

_CSV_TYPES = frozenset(
    {
        "text/csv",
        "application/csv",
        "text/comma-separated-values",
        "text/x-csv",
        "text/tab-separated-values",
    }
)
_SEPARATORS = (";", ",", "\t")
_SNIFF_BYTES = 64 * 1024


def _failure(problem: Problem, detail: str) -> ExtractionResult:
    return ExtractionResult(METHOD, problem=problem, detail=detail)


def _size_problem(size: int, file_kind: str) -> ExtractionResult | None:
    if size <= MAX_FILE_BYTES:
        return None
    detail = (
        f"the {file_kind} has {size} bytes, more than the limit of {MAX_FILE_BYTES} bytes; ask the "
        "creditor to split it into smaller files"
    )
    return ExtractionResult(METHOD, problem=Problem.UNSUPPORTED, detail=detail, notes=[detail])


def _no_header(where: str, closest: Header | None) -> ExtractionResult:
    seen = ""
    if closest is not None and closest.columns:
        names = ", ".join(repr(column.header) for column in closest.columns.values())
        seen = f"; the closest, row {closest.row}, names {names}"
    return _failure(
        Problem.NOT_AN_INVOICE,
        f"{where} has no header row with an invoice-number and an amount column in its first "
        f"{HEADER_SEARCH_ROWS} rows{seen}; columns named like 'Factuurnummer' and 'Bedrag', "
        "'Numéro de facture' and 'Montant', or 'Invoice number' and 'Amount' are recognized",
    )


def is_xlsx(data: bytes) -> bool:
    """Tell whether ``data`` is an XLSX workbook: a ZIP archive with ``xl/workbook.xml``."""
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError):
        return False


def extract_xlsx(data: bytes, *, exclusions: Exclusions) -> ExtractionResult:
    """Extract the invoices listed in the first sheet of an XLSX workbook that has a header row."""
    too_large = _size_problem(len(data), "workbook")
    if too_large is not None:
        return too_large
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_UNPACKED_BYTES:
            return _failure(
                Problem.UNSUPPORTED,
                f"the workbook unpacks to {unpacked} bytes, more than the limit of "
                f"{MAX_UNPACKED_BYTES}; ask the creditor to split it into smaller files",
            )
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many exception types on damaged files
        return _unreadable_workbook(error)

    try:
        return _read_workbook(workbook, exclusions)
    except Exception as error:  # openpyxl parses a read-only sheet only while its rows are read
        return _unreadable_workbook(error)
    finally:
        workbook.close()


def _unreadable_workbook(error: Exception) -> ExtractionResult:
    logger.info("XLSX workbook could not be read: %s: %s", type(error).__name__, error)
    return _failure(
        Problem.UNREADABLE,
        f"the workbook could not be read ({type(error).__name__}: {error}); it is damaged, so "
        "ask the creditor to save it again as .xlsx or .csv and resend it",
    )


def _read_workbook(workbook: openpyxl.Workbook, exclusions: Exclusions) -> ExtractionResult:
    closest: tuple[str, Header | None] = ("the workbook", None)
    for sheet in workbook.worksheets:
        where = f"sheet {sheet.title!r}"
        rows = (
            (number, [Cell(cell.value, getattr(cell, "number_format", "General")) for cell in row])
            for number, row in enumerate(sheet.iter_rows(), start=1)
        )
        first = list(itertools.islice(rows, HEADER_SEARCH_ROWS))
        header, best = find_header(first)
        if header is None:
            if best is not None and (
                closest[1] is None or len(best.columns) > len(closest[1].columns)
            ):
                closest = (where, best)
            continue
        reader = Reader(where, header, exclusions)
        reader.read(itertools.chain((row for row in first if row[0] > header.row), rows))
        return reader.result()
    return _no_header(closest[0], closest[1])


def looks_like_csv(data: bytes, filename: str | None, content_type: str | None) -> bool:
    """Tell whether ``data`` is a CSV file: declared as one, or text with a header row."""
    base_type = (content_type or "").split(";")[0].strip().lower()
    if base_type in _CSV_TYPES or (filename or "").lower().endswith((".csv", ".tsv")):
        return True
    window = data[:_SNIFF_BYTES]
    if len(data) > _SNIFF_BYTES and window.rfind(b"\n") > 0:
        window = window[: window.rfind(b"\n")]  # so no UTF-8 character is cut in two
    text = _decode(window, errors="replace")
    return text is not None and _csv_header(text)[1] is not None


def extract_csv(data: bytes, *, exclusions: Exclusions) -> ExtractionResult:
    """Extract the invoices listed in a CSV file."""
    too_large = _size_problem(len(data), "CSV file")
    if too_large is not None:
        return too_large
    text = _decode(data, errors="strict")
    if text is None:
        return _failure(
            Problem.UNREADABLE,
            "the CSV file contains NUL bytes, so it is a binary file and not text; ask the "
            "creditor to export the sheet again as CSV",
        )

    try:
        closest, header, separator = _csv_header(text)
        if header is None:
            return _no_header("the CSV file", closest)
        reader = Reader("CSV", header, exclusions, width=_header_width(text, separator, header.row))
        reader.read(row for row in _csv_rows(text, separator) if row[0] > header.row)
    except csv.Error as error:
        logger.info("CSV file could not be parsed: %s", error)
        return _failure(
            Problem.UNREADABLE,
            f"the CSV file could not be parsed ({error}); ask the creditor to export it again",
        )
    return reader.result()


def _decode(data: bytes, *, errors: str) -> str | None:
    """Decode CSV bytes: UTF-16 with a byte order mark, UTF-8, else Windows-1252."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16", errors=errors)
        except UnicodeDecodeError:
            return None
    if b"\x00" in data:
        return None
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _csv_rows(text: str, separator: str) -> Iterator[tuple[int, list[Cell]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    for number, row in enumerate(reader, start=1):
        yield number, [Cell(value) for value in row]


def _csv_header(text: str) -> tuple[Header | None, Header | None, str]:
    """Find the separator whose header row names the most columns.

    Returns the closest row for the problem detail, the header row or None, and the separator.
    """
    closest: Header | None = None
    chosen: tuple[Header | None, str] = (None, _SEPARATORS[0])
    for separator in _SEPARATORS:
        rows = list(itertools.islice(_csv_rows(text, separator), HEADER_SEARCH_ROWS))
        header, best = find_header(rows)
        if best is not None and (closest is None or len(best.columns) > len(closest.columns)):
            closest = best
        if header is not None and (
            chosen[0] is None or len(header.columns) > len(chosen[0].columns)
        ):
            chosen = (header, separator)
    return closest, chosen[0], chosen[1]


def _header_width(text: str, separator: str, header_row: int) -> int:
    for number, cells in _csv_rows(text, separator):
        if number == header_row:
            return len(cells)
    return 0
