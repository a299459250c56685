"""Parse the values printed on invoices: amounts, dates, payment terms, currencies,
VAT numbers, e-mail addresses and Belgian structured communications (OGM).

Every function here is pure and returns None for text it cannot read with certainty,
because a wrong amount or due date does more harm in a collection case than a
missing one. In particular:

- Amounts take their decimal separator from the last ``,`` or ``.`` and the number
  of digits after it. One or two digits make it the decimal separator. Three digits
  make it a thousands separator only when the same separator occurs earlier too
  (``1.234.567``), so a lone ``1.234`` or ``1,234`` is rejected as ambiguous.
- Numeric dates are always read day first (``03/04/2026`` is 3 April). A US date
  such as ``10/14/2026`` is rejected because month 14 does not exist, but
  ``10/02/2026`` is read as 10 February.
- Month names are known in Dutch, French, English and German, full and abbreviated,
  with or without accents.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from stdnum.be import ogm_vcs
from stdnum.be import vat as be_vat
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError

# Space characters used as thousands separators: space, no-break space, thin space
# and narrow no-break space (French typography puts U+202F in "2 637,80 €").
SPACES = " \u00a0\u2009\u202f"
_MINUS_SIGNS = "-\u2212\u2013"  # hyphen-minus, minus sign, en dash
_CENT = Decimal("0.01")
_MAX_INTEGER_DIGITS = 12
_MIN_YEAR = 1900
_MAX_YEAR = 2199

_CURRENCY_RE = re.compile(r"€|£|US\$|\$|\b(?:EUR|USD|GBP|CHF)\b", re.IGNORECASE)
_CURRENCY_SYMBOLS = {"€": "EUR", "£": "GBP", "$": "USD", "US$": "USD"}


# ---------------------------------------------------------------------------
# Amounts


@dataclass(frozen=True)
class AmountMatch:
    """An amount found in a longer text."""

    value: Decimal
    raw: str  # the printed text, with sign and currency when they were attached
    start: int
    end: int
    has_decimals: bool
    currency: str | None


def format_amount(amount: Decimal) -> str:
    """Format ``amount`` as the model stores it: a dot and two decimals, "-612.40"."""
    rounded = amount.quantize(_CENT)
    if rounded == 0:
        rounded = abs(rounded)  # "-0.00" in a UBL file means zero
    return f"{rounded:.2f}"


def parse_amount(text: str) -> Decimal | None:
    """Parse one printed amount such as ``€ 1.234,56``, ``612,40-`` or ``3,448.50``.

    The whole text must be the amount, optionally with a currency symbol or code
    and a leading or trailing minus. The result has two decimals. Returns None
    for anything else, including ambiguous numbers like ``1.234``.
    """
    body = _CURRENCY_RE.sub(" ", text).strip(SPACES)
    if not body:
        return None

    negative = False
    if body[0] in _MINUS_SIGNS:
        negative = True
        body = body[1:].strip(SPACES)
    elif body[-1] in _MINUS_SIGNS:
        negative = True
        body = body[:-1].strip(SPACES)
    elif body[0] == "+":
        body = body[1:].strip(SPACES)

    value = _parse_unsigned_amount(body)
    if value is None:
        return None
    return -value if negative else value


def _parse_unsigned_amount(body: str) -> Decimal | None:
    """Parse digits with thousands and decimal separators, without sign or currency."""
    if not body or not body[0].isdigit() or not body[-1].isdigit():
        return None
    if any(not (char.isdigit() or char in ".,'" or char in SPACES) for char in body):
        return None

    separator_positions = [index for index, char in enumerate(body) if not char.isdigit()]
    if not separator_positions:
        return _to_decimal(body, "")

    last = separator_positions[-1]
    last_separator = body[last]
    tail = body[last + 1 :]
    head = body[:last]

    if last_separator in ".," and len(tail) in (1, 2):
        integer_part = _strip_thousands(head, decimal_separator=last_separator)
        return None if integer_part is None else _to_decimal(integer_part, tail)

    # Three digits after the last separator: a thousands separator, but only when the
    # same separator occurs before it too, or it is a space or an apostrophe.
    if len(tail) == 3 and (last_separator in head or last_separator in SPACES + "'"):
        integer_part = _strip_thousands(body, decimal_separator=None)
        return None if integer_part is None else _to_decimal(integer_part, "")

    return None


def _strip_thousands(text: str, *, decimal_separator: str | None) -> str | None:
    """Return the digits of ``text`` after checking its thousands grouping, else None.

    Groups after the first must have exactly three digits, all separators must be of
    one kind (all spaces count as one kind), and that kind must differ from the
    decimal separator.
    """
    groups = re.split(r"[.,'" + SPACES + "]", text)
    separators = {("space" if char in SPACES else char) for char in text if not char.isdigit()}

    if len(groups) == 1:
        digits = groups[0]
    else:
        one_kind = len(separators) == 1 and decimal_separator not in separators
        grouped = 1 <= len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:])
        if not (one_kind and grouped):
            return None
        digits = "".join(groups)

    if not digits.isdigit() or len(digits) > _MAX_INTEGER_DIGITS:
        return None
    return digits


def _to_decimal(integer_part: str, fraction: str) -> Decimal | None:
    try:
        value = Decimal(f"{integer_part}.{fraction or '0'}")
    except InvalidOperation:
        return None
    return value.quantize(_CENT)


# A number in running text. The look-behind and look-ahead keep it from being a piece
# of a word, a date (14/10/2026, 14.10.2026, 14-10-2026), a percentage or a longer number.
_AMOUNT_CANDIDATE_RE = re.compile(
    r"(?<![\w.,/'])(?<!\d-)"
    r"(?:\d{1,3}(?:[" + SPACES + r".,']\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,3})?)"
    r"(?![\w/%'])(?![.,]\d)(?!-\d)"
)
# A minus counts only when it touches the number or its currency: "-12,00", "€ -12,00",
# "-€ 12,00". In "Totaal - 12,00" the dash is punctuation.
_SIGN_BEFORE_RE = re.compile(
    r"(?:(?:€|EUR|USD|GBP|CHF|£|\$)[" + SPACES + r"]?)?"
    r"(?:[-\u2212](?:(?:€|EUR|USD|GBP|CHF|£|\$)[" + SPACES + r"]?)?)?$",
    re.IGNORECASE,
)
_SIGN_AFTER_RE = re.compile(
    r"^(?:-?[" + SPACES + r"]?(?:€|EUR\b|USD\b|GBP\b|CHF\b|£|\$))?-?(?![\w])", re.IGNORECASE
)


def find_amounts(text: str) -> list[AmountMatch]:
    """Find every readable amount in ``text``, with any attached sign and currency."""
    found: list[AmountMatch] = []
    for match in _AMOUNT_CANDIDATE_RE.finditer(text):
        start, end = _widen_amount_span(text, match.start(), match.end())
        raw = text[start:end].strip(SPACES)
        value = parse_amount(raw)
        if value is None:
            continue

        has_decimals = bool(re.search(r"[.,]\d{1,2}$", match.group()))
        found.append(AmountMatch(value, raw, start, end, has_decimals, find_currency(raw)))
    return found


def _widen_amount_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Extend a number's span over a currency and a minus sign printed next to it."""
    before = _SIGN_BEFORE_RE.search(text[max(0, start - 8) : start])
    if before is not None:
        start -= len(before.group())

    after = _SIGN_AFTER_RE.match(text[end : end + 6])
    if after is not None:
        end += len(after.group())
    return start, end


def find_amount(text: str) -> AmountMatch | None:
    """Return the amount that a label's value text most likely holds.

    The last amount with decimals wins, because totals are printed at the end of a
    line ("Totaal incl. 21% btw   1.234,56"). A whole number counts only when it is
    the only thing in the text besides a currency, so "Te betalen binnen 30 dagen"
    gives None.
    """
    amounts = find_amounts(text)
    with_decimals = [amount for amount in amounts if amount.has_decimals]
    if with_decimals:
        return with_decimals[-1]

    if len(amounts) == 1:
        rest = text[: amounts[0].start] + text[amounts[0].end :]
        if not rest.strip(SPACES + ":"):
            return amounts[0]
    return None


# ---------------------------------------------------------------------------
# Dates

_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("januari", "jan", "janvier", "janv", "january", "januar"),
    2: ("februari", "feb", "février", "févr", "fév", "february", "februar"),
    3: ("maart", "mrt", "mar", "mars", "march", "märz", "mär"),
    4: ("april", "apr", "avril", "avr"),
    5: ("mei", "mai", "may"),
    6: ("juni", "jun", "juin", "june"),
    7: ("juli", "jul", "juillet", "juil", "july"),
    8: ("augustus", "aug", "août", "aoû", "august"),
    9: ("september", "sep", "sept", "septembre"),
    10: ("oktober", "okt", "octobre", "oct", "october"),
    11: ("november", "nov", "novembre"),
    12: ("december", "dec", "décembre", "déc", "dezember", "dez"),
}


def strip_accents(text: str) -> str:
    """Return ``text`` without diacritics: "février" becomes "fevrier"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _build_month_table() -> dict[str, int]:
    table: dict[str, int] = {}
    for month, names in _MONTH_NAMES.items():
        for name in names:
            table[name] = month
            table[strip_accents(name)] = month
    return table


_MONTHS = _build_month_table()
_MONTH_ALTERNATION = "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True))

_ISO_DATE_RE = re.compile(r"(?<![\d/.-])(\d{4})-(\d{2})-(\d{2})(?![\d/.-]?\d)")
_NUMERIC_DATE_RE = re.compile(
    r"(?<![\d/.,-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?!\d)(?![/.-]\d)"
)
_DAY_FIRST_WORDS_RE = re.compile(
    r"(?<![\w])(\d{1,2})(?:er|e|ste|de|st|nd|rd|th)?\.?\s+"
    r"(" + _MONTH_ALTERNATION + r")(?![^\W\d_])\.?,?\s+(\d{4})(?!\d)",
    re.IGNORECASE,
)
_MONTH_FIRST_WORDS_RE = re.compile(
    r"(?<![\w])(" + _MONTH_ALTERNATION + r")(?![^\W\d_])\.?\s+"
    r"(\d{1,2})(?:st|nd|rd|th)?\s*,?\s+(\d{4})(?!\d)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DateMatch:
    """A date found in a longer text."""

    value: date
    raw: str
    start: int


def find_dates(text: str) -> list[DateMatch]:
    """Find every valid date in ``text``, in the order printed."""
    found: list[DateMatch] = []

    for match in _ISO_DATE_RE.finditer(text):
        year, month, day = (int(part) for part in match.groups())
        _append_date(found, match, year, month, day)

    for match in _NUMERIC_DATE_RE.finditer(text):
        printed_year = match.group(4)
        year = 2000 + int(printed_year) if len(printed_year) == 2 else int(printed_year)
        _append_date(found, match, year, int(match.group(3)), int(match.group(1)))

    for match in _DAY_FIRST_WORDS_RE.finditer(text):
        month = _MONTHS[match.group(2).lower()]
        _append_date(found, match, int(match.group(3)), month, int(match.group(1)))

    for match in _MONTH_FIRST_WORDS_RE.finditer(text):
        month = _MONTHS[match.group(1).lower()]
        _append_date(found, match, int(match.group(3)), month, int(match.group(2)))

    return sorted(found, key=lambda found_date: found_date.start)


def _append_date(
    found: list[DateMatch], match: re.Match[str], year: int, month: int, day: int
) -> None:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return
    try:
        value = date(year, month, day)
    except ValueError:
        return
    found.append(DateMatch(value, match.group().strip(), match.start()))


def find_date(text: str) -> DateMatch | None:
    """Return the first valid date in ``text``, or None."""
    dates = find_dates(text)
    return dates[0] if dates else None


def parse_date(text: str) -> date | None:
    """Parse the first date in ``text``: "14/10/2026", "le 3 février 2026", "October 2, 2026"."""
    found = find_date(text)
    return found.value if found else None


# ---------------------------------------------------------------------------
# Payment terms

_TERM_DAYS_RE = re.compile(
    r"(?<!\d)(\d{1,3})\s*(?:kalender|calendar\s+)?(?:dagen|dag|jours|jour|days|day)\b",
    re.IGNORECASE,
)
_NET_TERM_RE = re.compile(r"\bnet(?:to)?\s+(\d{1,3})\b(?!\s*[%.,]\d)", re.IGNORECASE)
_TERM_CONTEXT_RE = re.compile(
    r"betal|binnen|termijn|paiement|payable|payer|delai|echeance|payment|pay\b|terms?\b"
    r"|within|due|\bnet|factuurdatum|date de (?:la )?facture|invoice date",
    re.IGNORECASE,
)
_END_OF_MONTH_RE = re.compile(
    r"einde\s+(?:van\s+de\s+)?maand|fin\s+de\s+mois|end\s+of\s+(?:the\s+)?month|\beom\b",
    re.IGNORECASE,
)
_MAX_TERM_DAYS = 365


def payment_term_days(text: str) -> int | None:
    """Return the payment term in days: "Betaling binnen 30 dagen" or "Net 30 days" → 30.

    The text must also speak of payment (betaling, paiement, payable, net, within, ...),
    so "Garantie 30 jours" gives None. Terms counted from the end of the month
    ("30 jours fin de mois") give None because the due date is not issue date plus
    days. Two different day counts give None as well.
    """
    plain = strip_accents(text)
    if _END_OF_MONTH_RE.search(plain):
        return None

    days = {int(match.group(1)) for match in _NET_TERM_RE.finditer(plain)}
    if _TERM_CONTEXT_RE.search(plain):
        days |= {int(match.group(1)) for match in _TERM_DAYS_RE.finditer(plain)}

    if len(days) != 1:
        return None
    term = days.pop()
    return term if 0 < term <= _MAX_TERM_DAYS else None


# ---------------------------------------------------------------------------
# Currencies


def find_currency(text: str) -> str | None:
    """Return the ISO 4217 code of the first currency sign or code in ``text``.

    ``$`` alone is taken as USD.
    """
    match = _CURRENCY_RE.search(text)
    if match is None:
        return None
    token = match.group()
    return _CURRENCY_SYMBOLS.get(token.upper(), token.upper())


# ---------------------------------------------------------------------------
# VAT and enterprise numbers

_BELGIAN_VAT_RE = re.compile(
    r"(?<![\w.])"
    r"(?:BE[\s.:-]*(?:[01][\s.]?)?\d{3}[\s.-]?\d{3}[\s.-]?\d{3}|[01]\d{3}[.\s]\d{3}[.\s]\d{3})"
    r"(?![\w])(?![.,]\d)",
    re.IGNORECASE,
)
_FOREIGN_VAT_RE = re.compile(r"(?<![\w])(?!BE)[A-Z]{2}\s?\d[0-9A-Z.]{6,14}[0-9A-Z](?![\w])")


def normalize_vat(text: str) -> str | None:
    """Return a VAT or enterprise number in its compact form, or None when invalid.

    Belgian numbers, with or without the BE prefix, dots or spaces and in the old
    nine-digit form, must pass the mod-97 check and come out as "BE0123456749".
    Other EU numbers need their country prefix and a valid check digit and come
    out compact, as "NL004495445B01".
    """
    candidate = text.strip().upper()
    if not candidate:
        return None

    digits = be_vat.compact(candidate)
    if digits.isdigit() and be_vat.is_valid(digits):
        return f"BE{digits}"

    if re.match(r"[A-Z]{2}", candidate) and not candidate.startswith("BE"):
        try:
            compact = eu_vat.validate(candidate)
        except ValidationError:
            return None
        return str(compact)
    return None


def find_vats(text: str) -> list[str]:
    """Find valid VAT numbers in ``text``, normalized as by :func:`normalize_vat`.

    Without a BE prefix a Belgian number must be printed in the dotted or spaced
    form 0123.456.749, because a bare run of ten digits may be a phone number.
    """
    found: list[str] = []
    for pattern in (_BELGIAN_VAT_RE, _FOREIGN_VAT_RE):
        for match in pattern.finditer(text):
            normalized = normalize_vat(match.group())
            if normalized is not None and normalized not in found:
                found.append(normalized)
    return found


# ---------------------------------------------------------------------------
# E-mail addresses

_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])"
)


def find_emails(text: str) -> list[str]:
    """Find e-mail addresses in ``text``, lower-cased, in the order printed, each once."""
    found: list[str] = []
    for match in _EMAIL_RE.finditer(text):
        address = match.group().lower()
        if address not in found:
            found.append(address)
    return found


def normalize_email(text: str) -> str | None:
    """Return the address in ``text`` lower-cased ("mailto:" removed), or None when invalid."""
    candidate = text.strip()
    if candidate.lower().startswith("mailto:"):
        candidate = candidate[len("mailto:") :]
    match = _EMAIL_RE.fullmatch(candidate)
    return match.group().lower() if match else None


# ---------------------------------------------------------------------------
# Structured communication (OGM / VCS)

_OGM_RE = re.compile(
    r"(?:[+*]{3}\s*)?(?<!\d)(\d{3})\s*/\s*(\d{4})\s*/\s*(\d{5})(?!\d)(?:\s*[+*]{3})?"
    r"|[+*]{3}\s*(\d{12})\s*[+*]{3}"
)


def parse_ogm(text: str, *, allow_bare_digits: bool = False) -> str | None:
    """Return the 12 digits of a valid structured communication, or None.

    Accepts ``+++123/4567/89012+++``, the same with ``***`` or spaces, and
    ``123/4567/89012``. With ``allow_bare_digits`` (for UBL, where the field is
    known to be a payment reference) twelve plain digits are accepted as well.
    The check digits must pass ``stdnum.be.ogm_vcs``.
    """
    candidate = text.strip()
    if allow_bare_digits and re.fullmatch(r"\d{12}", candidate):
        return candidate if ogm_vcs.is_valid(candidate) else None

    match = _OGM_RE.fullmatch(candidate)
    return _valid_ogm_digits(match) if match else None


def find_ogm(text: str) -> tuple[str, str] | None:
    """Return the digits and raw text of the first valid structured communication in ``text``."""
    for match in _OGM_RE.finditer(text):
        digits = _valid_ogm_digits(match)
        if digits is not None:
            return digits, match.group().strip()
    return None


def _valid_ogm_digits(match: re.Match[str]) -> str | None:
    digits = match.group(4) or "".join(match.group(1, 2, 3))
    return digits if ogm_vcs.is_valid(digits) else None


# ---------------------------------------------------------------------------
# The sender's own details


@dataclass(frozen=True)
class Exclusions:
    """The creditor's own e-mail addresses, domains and VAT numbers.

    Values in these sets are never taken as the debtor's, because the creditor's
    details are printed in the header of its own invoices.
    """

    emails: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()
    vats: frozenset[str] = frozenset()
    unrecognized: tuple[str, ...] = ()  # entries that were none of the above

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> Exclusions:
        """Sort ``entries`` into addresses ("a@acme.be"), domains ("@acme.be" or
        "acme.be") and VAT or enterprise numbers ("BE0123456749", "0123.456.749")."""
        emails: set[str] = set()
        domains: set[str] = set()
        vats: set[str] = set()
        unrecognized: list[str] = []

        for entry in entries:
            cleaned = entry.strip().lower()
            vat = normalize_vat(cleaned)
            if vat is not None:
                vats.add(vat)
            elif cleaned.startswith("@") and _DOMAIN_RE.fullmatch(cleaned[1:]):
                domains.add(cleaned[1:])
            elif normalize_email(cleaned) is not None:
                emails.add(cleaned)
            elif _DOMAIN_RE.fullmatch(cleaned):
                domains.add(cleaned)
            else:
                unrecognized.append(entry)
        return cls(frozenset(emails), frozenset(domains), frozenset(vats), tuple(unrecognized))

    def excludes_email(self, address: str) -> bool:
        """Return whether ``address`` or its domain (or a parent domain) is excluded."""
        address = address.lower()
        if address in self.emails:
            return True
        domain = address.rpartition("@")[2]
        return any(
            domain == excluded or domain.endswith("." + excluded) for excluded in self.domains
        )

    def excludes_vat(self, vat: str) -> bool:
        """Return whether the normalized VAT number ``vat`` is excluded."""
        return (normalize_vat(vat) or vat.upper()) in self.vats


_DOMAIN_RE = re.compile(r"(?=.*[a-z])[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}")
