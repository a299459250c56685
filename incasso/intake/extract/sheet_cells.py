"""Read spreadsheet cell values as text, amounts, dates, phone numbers, currencies or references.

- Amounts are number cells or text that :func:`parse_amount` reads, in the Belgian
  ("1.234,56") and the English ("1,234.56") form. Dates are date cells, Excel serial
  numbers or text read day first. A text column with a date that is only valid month
  first ("7/31/2026") and none that is only valid day first is read month first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from openpyxl.utils.datetime import from_excel

from incasso.cases.phone import normalize_phone_number
from incasso.intake.extract.normalize import find_currency, find_date, parse_amount, parse_ogm
from incasso.intake.extract.sheet_columns import Cell, Column, Header, normalize_header

_SERIAL_DATES = (36526, 73051)  # Excel serial numbers of 2000-01-01 and 2100-01-01
_TOTALS_RE = re.compile(r"(?:sub|sous )?(?:totaal|total|totaux|som|sum|grand total)", re.I)


def present(cells: Sequence[Cell], column: Column | None) -> Cell | None:
    """Return the cell of ``column`` in a row, or None when it is missing or blank."""
    if column is None or column.index >= len(cells):
        return None
    cell = cells[column.index]
    if cell.value is None or (isinstance(cell.value, str) and not cell.value.strip()):
        return None
    return cell


def is_totals(cell: Cell | None) -> bool:
    return cell is not None and bool(_TOTALS_RE.fullmatch(normalize_header(as_text(cell.value))))


def blank(cells: Sequence[Cell]) -> bool:
    return all(cell.value is None or str(cell.value).strip() == "" for cell in cells)


def as_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()


def read_amount(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            return None
        return amount if amount.is_finite() else None
    return parse_amount(value) if isinstance(value, str) else None


_NUMERIC_DATE_RE = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})")


def read_date(value: object, *, month_first: bool) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if _SERIAL_DATES[0] <= value < _SERIAL_DATES[1]:
            return from_excel(value).date()
        return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    numeric = _NUMERIC_DATE_RE.fullmatch(text)
    if month_first and numeric:
        first, separator, second, year = numeric.groups()
        text = f"{second}{separator}{first}{separator}{year}"
    found = find_date(text)
    return found.value if found else None


def month_first(header: Header, rows: Sequence[tuple[int, list[Cell]]]) -> bool:
    """Tell whether the text dates are month first: some only fit that way, none the other."""
    only_day_first = only_month_first = False
    for key in ("issue_date", "due_date"):
        column = header.columns.get(key)
        for _, cells in rows:
            cell = present(cells, column)
            numeric = (
                _NUMERIC_DATE_RE.fullmatch(cell.value.strip())
                if cell and isinstance(cell.value, str)
                else None
            )
            if numeric is None:
                continue
            first, second = int(numeric.group(1)), int(numeric.group(3))
            only_day_first |= first > 12 >= second
            only_month_first |= second > 12 >= first
    return only_month_first and not only_day_first


def read_phone(value: object) -> str | None:
    """Normalize a phone number; a number cell has lost its leading zero or plus."""
    text = as_text(value)
    phone = normalize_phone_number(text)
    if phone is None and isinstance(value, int | float) and text.isdigit():
        phone = normalize_phone_number(("0" if len(text) in (8, 9) else "+") + text)
    return phone


def read_currency(text: str) -> str | None:
    found = find_currency(text)
    if found is None and re.fullmatch(r"euros?", text.strip(), re.IGNORECASE):
        return "EUR"
    if found is None and re.fullmatch(r"[A-Za-z]{3}", text.strip()):
        return text.strip().upper()
    return found


def format_currency(number_format: str) -> str | None:
    """Return the currency of an Excel number format such as ``#,##0.00 [$€-813]``."""
    # "[$€-813]" is a currency symbol with a locale; "[$-409]" is a locale alone.
    plain = re.sub(r"\[\$([^\]-]*)-[0-9A-Fa-f]+\]", r" \1 ", number_format).replace('"', " ")
    if "€" in plain or "EUR" in plain.upper():
        return "EUR"
    return find_currency(plain)


def read_reference(value: object) -> str | None:
    """Return a valid OGM as 12 digits, else the reference as written."""
    text = as_text(value)
    digits = text.zfill(12) if text.isdigit() else text  # a number cell drops leading zeros
    return parse_ogm(digits, allow_bare_digits=True) or text
