"""Find the header row of an invoice list and the field that each of its columns gives.

- The header row is the first of the first 20 rows that names an invoice-number and
  an amount column. Dutch, French and English names are known, such as "Factuurnummer",
  "N° facture", "Invoice number", "Bedrag", "Montant" and "Amount due". Names are compared without
  case, accents and punctuation, and a currency in a name ("Bedrag (EUR)") is noted.
  When several columns give the amount, an open balance ("Openstaand", "Solde") beats
  a total including VAT, which beats a plain amount.

:class:`Cell` is one cell as read from a CSV file or a workbook, and :class:`Header`
maps each recognized column to its field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from incasso.intake.extract.normalize import find_currency, strip_accents

HEADER_SEARCH_ROWS = 20

_NUM = r"(?:n|nr|no|num|nummer|number|numero)"
# (key, rank, pattern): the key is a FieldName value or an address part.
_COLUMN_PATTERNS: tuple[tuple[str, int, str], ...] = (
    ("invoice_number", 0, rf"factuur(?:nummer|nr)?|factuur {_NUM}|{_NUM} factuur|facture"),
    ("invoice_number", 0, rf"facture {_NUM}|(?:{_NUM}|numero) (?:de )?(?:la )?facture"),
    ("invoice_number", 0, rf"invoice(?: {_NUM}| id)?|invoice(?:nr|no)"),
    (
        "issue_date",
        0,
        r"factuurdatum|factuur datum|datum factuur|datum|date|date (?:de )?(?:la )?facture",
    ),
    ("issue_date", 0, r"date d emission|invoice date|issue date|date of issue"),
    (
        "due_date",
        0,
        r"vervaldatum|verval datum|vervaldag|uiterste betaaldatum|date limite de paiement",
    ),
    ("due_date", 0, r"(?:date d )?echeance|due date|due|payment due|due on"),
    ("amount_due", 3, r"openstaand(?: bedrag| saldo)?|saldo|(?:nog )?te betalen|open bedrag"),
    ("amount_due", 3, r"solde(?: du)?|montant du|reste a payer|montant ouvert"),
    ("amount_due", 3, r"amount due|balance(?: due)?|outstanding(?: amount)?|open amount"),
    ("amount_due", 2, r"(?:bedrag|totaal) incl btw|totaalbedrag|factuurbedrag"),
    (
        "amount_due",
        2,
        r"(?:montant|total) (?:ttc|tvac)|(?:amount|total) incl vat|invoice (?:amount|total)",
    ),
    ("amount_due", 1, r"bedrag|totaal|montant|total|amount"),
    ("currency", 0, r"munt|munteenheid|valuta|devise|monnaie|currency"),
    ("debtor_name", 0, r"klant|klantnaam|naam(?: klant)?|debiteur|schuldenaar|bedrijf|firma"),
    ("debtor_name", 0, r"client|nom(?: du client| client)?|societe|raison sociale"),
    ("debtor_name", 0, r"customer(?: name)?|name|debtor(?: name)?|company"),
    (
        "debtor_email",
        0,
        r"(?:e ?)?mail(?: ?adres| address| klant| client)?|adresse e ?mail|courriel",
    ),
    ("debtor_vat", 0, r"btw(?: ?nummer| nr)?|ondernemingsnummer|ondernemingsnr|kbo(?: nummer)?"),
    (
        "debtor_vat",
        0,
        r"tva|(?:n|no|numero) (?:de )?tva|numero d entreprise|vat(?: number| no| id)?",
    ),
    ("debtor_phone", 0, r"telefoon(?:nummer)?|tel|gsm|mobiel|telephone|portable|phone(?: number)?"),
    ("debtor_phone", 0, r"mobile"),
    ("address", 0, r"adres(?: klant)?|adresse(?: client)?|address|facturatieadres|billing address"),
    ("street", 0, r"straat(?: en nummer)?|rue(?: et numero)?|street|address line 1"),
    ("postcode", 0, r"postcode|code postal|cp|zip(?: code)?|postal code"),
    ("city", 0, r"gemeente|stad|woonplaats|plaats|localite|ville|commune|city|town"),
    ("country", 0, r"land|pays|country"),
    ("payment_reference", 0, r"(?:gestructureerde )?mededeling|ogm|communication(?: structuree)?"),
    ("payment_reference", 0, r"referentie|reference|payment reference|ref"),
    ("description", 0, r"omschrijving|beschrijving|description|libelle|designation"),
)
_COLUMN_RULES = tuple((key, rank, re.compile(pattern)) for key, rank, pattern in _COLUMN_PATTERNS)
_HEADER_CURRENCY_RE = re.compile(r"\s*\b(?:in )?(?:eur|euro|usd|gbp|chf)\b|\s*[€$£]")


@dataclass(frozen=True)
class Cell:
    value: object  # str, int, float, Decimal, datetime, date, bool or None
    number_format: str = "General"


@dataclass(frozen=True)
class Column:
    index: int
    key: str
    header: str  # as printed
    rank: int = 0
    currency: str | None = None  # named in the header: "Bedrag (EUR)"


@dataclass(frozen=True)
class Header:
    row: int
    columns: dict[str, Column]

    @property
    def valid(self) -> bool:
        return "invoice_number" in self.columns and "amount_due" in self.columns


def normalize_header(text: str) -> str:
    return re.sub(r"[^a-z0-9€$£]+", " ", strip_accents(text).lower()).strip()


def _match_column(index: int, text: str) -> Column | None:
    normalized = normalize_header(text)
    currency_match = _HEADER_CURRENCY_RE.search(normalized)
    currency = find_currency(currency_match.group()) if currency_match else None
    if currency_match and "euro" in currency_match.group():
        currency = "EUR"
    bare = _HEADER_CURRENCY_RE.sub("", normalized).strip()
    for key, rank, rule in _COLUMN_RULES:
        if rule.fullmatch(bare):
            return Column(index, key, text.strip(), rank, currency)
    return None


def _read_header(row_number: int, cells: Sequence[Cell]) -> Header:
    columns: dict[str, Column] = {}
    for index, cell in enumerate(cells):
        if not isinstance(cell.value, str) or not cell.value.strip():
            continue
        column = _match_column(index, cell.value)
        if column is None:
            continue
        current = columns.get(column.key)
        if current is None or column.rank > current.rank:
            columns[column.key] = column
    return Header(row_number, columns)


def find_header(rows: Iterable[tuple[int, list[Cell]]]) -> tuple[Header | None, Header | None]:
    """Return the header row, or None with the row that came closest."""
    best: Header | None = None
    for row_number, cells in rows:
        if row_number > HEADER_SEARCH_ROWS:
            break
        header = _read_header(row_number, cells)
        if header.valid:
            return header, header
        if best is None or len(header.columns) > len(best.columns):
            best = header
    return None, best
