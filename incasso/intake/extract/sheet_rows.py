"""Read the rows below a header row into invoices, with a note for each row or value left out.

- Each row below the header gives one invoice. A row without invoice number or
  amount, with an amount that is not a number or with a date that is not a date is
  skipped, with a note that names the row, the value and the fix. Blank rows are
  ignored, a totals row is skipped with a note, and so is a repeated invoice number.
- An unreadable e-mail address, VAT number or phone number leaves only that value out
  of its row, with one note per column.
- The currency comes from the currency column, else from the amount cell, its number
  format or the amount column's name. Without any of these EUR is assumed with
  confidence 0.6 and a doubt.
- At most :data:`MAX_ROWS` rows below the header are read, and the rows after them
  get one note.
- ``ExtractionResult.vat_numbers`` lists the valid numbers of the VAT column, which
  are the debtors' numbers, because a sheet has no printed seller.

Confidence is 0.95 for a value under a recognized column, because the creditor typed
it into a cell whose meaning the header gives, and 0.85 for a date of a column read
month first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from incasso.intake.extract.model import (
    ExtractedInvoice,
    ExtractionResult,
    Field,
    FieldName,
    Problem,
)
from incasso.intake.extract.normalize import (
    Exclusions,
    find_currency,
    format_amount,
    normalize_email,
    normalize_vat,
)
from incasso.intake.extract.sheet_cells import (
    as_text,
    blank,
    format_currency,
    is_totals,
    month_first,
    present,
    read_amount,
    read_currency,
    read_date,
    read_phone,
    read_reference,
)
from incasso.intake.extract.sheet_columns import Cell, Column, Header

METHOD = "spreadsheet"
MAX_ROWS = 5000  # data rows read below the header row
CONFIDENCE_CELL = 0.95
CONFIDENCE_MONTH_FIRST = 0.85
CONFIDENCE_GUESS = 0.6

_MAX_BLANK_RUN = 1000  # consecutive blank rows that end the data
_ADDRESS_PARTS = ("address", "street", "postcode", "city", "country")


@dataclass
class Reader:
    """Reader of the rows below a header row, which collects invoices and notes."""

    where: str  # "sheet 'Blad1'" or "CSV"
    header: Header
    exclusions: Exclusions
    width: int | None = None  # for CSV: cells beyond it mean a separator inside a value
    invoices: list[ExtractedInvoice] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    left_out: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)
    vat_numbers: list[str] = field(default_factory=list)
    month_first: bool = False
    row_count: int = 0

    def read(self, rows: Iterable[tuple[int, list[Cell]]]) -> None:
        data_rows: list[tuple[int, list[Cell]]] = []
        blank_run = 0
        for row_number, cells in rows:
            if blank(cells):
                blank_run += 1
                if blank_run > _MAX_BLANK_RUN:
                    break
                continue
            blank_run = 0
            if len(data_rows) == MAX_ROWS:
                self.notes.append(
                    f"the sheet has more than {MAX_ROWS} rows; row {row_number} and the rows "
                    f"after it were not read, so send them in another file"
                )
                break
            data_rows.append((row_number, cells))

        self.row_count = len(data_rows)
        self.month_first = month_first(self.header, data_rows)
        for row_number, cells in data_rows:
            self._read_row(row_number, cells)
        self._add_left_out_notes()

    def _source(self, row: int, column: Column) -> str:
        return f"{self.where} row {row}, column {column.header!r}"

    def _field(
        self,
        row: int,
        column: Column,
        value: str,
        raw: object,
        confidence: float = CONFIDENCE_CELL,
        doubts: tuple[str, ...] = (),
    ) -> Field:
        return Field(value, as_text(raw), self._source(row, column), confidence, doubts=doubts)

    def _read_row(self, row: int, cells: list[Cell]) -> None:
        columns = self.header.columns
        number_cell = present(cells, columns["invoice_number"])
        # A customer may be called "Total", so a totals word counts in another column
        # only when the invoice number is empty.
        totals = is_totals(number_cell) or (
            number_cell is None and any(is_totals(cell) for cell in cells)
        )
        if number_cell is None or totals:
            reason = "a totals row, not an invoice" if totals else "the invoice number is missing"
            self.notes.append(f"row {row}: {reason}; the row was skipped")
            return
        number = as_text(number_cell.value)
        if number in self.seen:
            self.notes.append(
                f"row {row}: invoice number {number!r} repeats row {self.seen[number]}; "
                "the row was skipped"
            )
            return
        if self.width is not None and any(c.value not in (None, "") for c in cells[self.width :]):
            self.notes.append(
                f"row {row}: has {len(cells)} values for {self.width} columns, so a value "
                "contains the separator; quote that value or use another separator and send "
                "the sheet again"
            )
            return

        fields = {
            FieldName.INVOICE_NUMBER: self._field(
                row, columns["invoice_number"], number, number_cell.value
            )
        }
        problem = self._read_amount(row, cells, fields) or self._read_dates(row, cells, fields)
        if problem is not None:
            self.notes.append(f"row {row}: {problem}; correct the sheet and send it again")
            return
        self._read_debtor(row, cells, fields)
        self.seen[number] = row
        self.invoices.append(ExtractedInvoice(fields))

    def _read_amount(
        self, row: int, cells: list[Cell], fields: dict[FieldName, Field]
    ) -> str | None:
        column = self.header.columns["amount_due"]
        cell = present(cells, column)
        if cell is None:
            return (
                "the amount is empty (if the cell holds a formula, save the file in Excel so "
                "its value is stored)"
            )
        amount = read_amount(cell.value)
        if amount is None:
            return f"amount {as_text(cell.value)!r} is not a number"
        fields[FieldName.AMOUNT_DUE] = self._field(row, column, format_amount(amount), cell.value)
        fields[FieldName.CURRENCY] = self._currency(row, cells, column, cell)
        return None

    def _currency(
        self, row: int, cells: list[Cell], amount_column: Column, amount_cell: Cell
    ) -> Field:
        column = self.header.columns.get("currency")
        cell = present(cells, column)
        if column is not None and cell is not None:
            currency = read_currency(as_text(cell.value))
            if currency is not None:
                return self._field(row, column, currency, cell.value)
            self._leave_out(column, "not a currency", row, cell.value)

        written = find_currency(as_text(amount_cell.value)) or format_currency(
            amount_cell.number_format
        )
        if written is not None:
            return self._field(row, amount_column, written, amount_cell.value)
        if amount_column.currency is not None:
            return self._field(row, amount_column, amount_column.currency, amount_column.header)
        doubt = ("no currency in the sheet; EUR assumed",)
        return self._field(row, amount_column, "EUR", "", confidence=CONFIDENCE_GUESS, doubts=doubt)

    def _read_dates(
        self, row: int, cells: list[Cell], fields: dict[FieldName, Field]
    ) -> str | None:
        for key, name, caption in (
            ("issue_date", FieldName.ISSUE_DATE, "invoice date"),
            ("due_date", FieldName.DUE_DATE, "due date"),
        ):
            column = self.header.columns.get(key)
            cell = present(cells, column)
            if column is None or cell is None:
                continue
            found = read_date(cell.value, month_first=self.month_first)
            if found is None:
                return f"{caption} {as_text(cell.value)!r} is not a valid date"
            if self.month_first and isinstance(cell.value, str):
                doubt = ("the dates of this sheet are read month first",)
                fields[name] = self._field(
                    row,
                    column,
                    found.isoformat(),
                    cell.value,
                    confidence=CONFIDENCE_MONTH_FIRST,
                    doubts=doubt,
                )
            else:
                fields[name] = self._field(row, column, found.isoformat(), cell.value)
        return None

    def _read_debtor(self, row: int, cells: list[Cell], fields: dict[FieldName, Field]) -> None:
        columns = self.header.columns
        for key, name in (
            ("debtor_name", FieldName.DEBTOR_NAME),
            ("description", FieldName.DESCRIPTION),
        ):
            cell = present(cells, columns.get(key))
            if cell is not None:
                fields[name] = self._field(row, columns[key], as_text(cell.value), cell.value)

        readers = (
            ("debtor_email", FieldName.DEBTOR_EMAIL, "not a valid e-mail address", self._email),
            ("debtor_vat", FieldName.DEBTOR_VAT, "not a valid VAT number", self._vat),
            ("debtor_phone", FieldName.DEBTOR_PHONE, "not a valid phone number", read_phone),
            ("payment_reference", FieldName.PAYMENT_REFERENCE, "", read_reference),
        )
        for key, name, reason, reader in readers:
            column = columns.get(key)
            cell = present(cells, column)
            if column is None or cell is None:
                continue
            value = reader(cell.value)
            if value is None:
                self._leave_out(column, reason, row, cell.value)
            elif value == "":
                self._leave_out(column, "the creditor's own", row, cell.value)
            else:
                fields[name] = self._field(row, column, value, cell.value)
        self._read_address(row, cells, fields)

    def _email(self, value: object) -> str | None:
        email = normalize_email(as_text(value))
        if email is not None and self.exclusions.excludes_email(email):
            return ""
        return email

    def _vat(self, value: object) -> str | None:
        vat = normalize_vat(as_text(value))
        if vat is not None and self.exclusions.excludes_vat(vat):
            return ""
        if vat is not None and vat not in self.vat_numbers:
            self.vat_numbers.append(vat)
        return vat

    def _read_address(self, row: int, cells: list[Cell], fields: dict[FieldName, Field]) -> None:
        parts: dict[str, tuple[Column, str]] = {}
        for key in _ADDRESS_PARTS:
            column = self.header.columns.get(key)
            cell = present(cells, column)
            if column is not None and cell is not None:
                parts[key] = (column, as_text(cell.value))
        if not parts:
            return
        if "postcode" in parts and "city" in parts:  # "9000 Gent", as written on an envelope
            column, postcode = parts.pop("postcode")
            parts["city"] = (column, f"{postcode} {parts['city'][1]}")
        ordered = [parts[key] for key in _ADDRESS_PARTS if key in parts]
        joined = ", ".join(text for _, text in ordered)
        fields[FieldName.DEBTOR_ADDRESS] = self._field(row, ordered[0][0], joined, joined)

    def _leave_out(self, column: Column, reason: str, row: int, value: object) -> None:
        self.left_out.setdefault((column.header, reason), []).append(
            f"{as_text(value)!r} (row {row})"
        )

    def _add_left_out_notes(self) -> None:
        for (header, reason), values in self.left_out.items():
            listed = ", ".join(values[:5]) + (
                f" and {len(values) - 5} more" if len(values) > 5 else ""
            )
            self.notes.append(f"column {header!r}: {listed} left out ({reason})")

    def result(self) -> ExtractionResult:
        if self.invoices:
            return ExtractionResult(
                METHOD, self.invoices, vat_numbers=self.vat_numbers, notes=self.notes
            )
        if self.row_count == 0:
            detail = f"{self.where} has a header row (row {self.header.row}) but no rows below it"
        else:
            detail = (
                f"{self.where} has a header row (row {self.header.row}), but none of the "
                f"{self.row_count} rows below it is a valid invoice; the notes say why"
            )
        return ExtractionResult(
            METHOD, problem=Problem.NOT_AN_INVOICE, detail=detail, notes=self.notes
        )
