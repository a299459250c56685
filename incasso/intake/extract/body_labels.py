"""Find invoice numbers and field labels in the text of a typed claim.

- A claim starts at an invoice number ("Factuur 2026-5521", "Facture n° F-88",
  "Invoice INV-7", "factuurnummer: 12"). Without a number mark or colon the number
  needs three characters, so "the invoice 2 weeks ago" is no claim.
- Labels name a field in Dutch, French or English ("bedrag", "vervallen op",
  "échéance", "amount due") or a payment already made ("reeds betaald", "acompte").
  Where labels overlap the longest wins, and a phrase such as "niet betaald" or
  "unpaid" blocks the payment label inside it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from incasso.intake.extract.model import DocumentKind, FieldName
from incasso.intake.extract.normalize import find_dates

MAX_NUMBER_LENGTH = 40

_NUMBER_MARK = r"(?:n[°º]\.?|nr\.?|no\.?|nummer|number|num[ée]ro|#)"
_MENTION_RE = re.compile(
    r"(?<!\w)(?P<keyword>factuurnummer|factuurnr\.?|creditnotanummer|invoice\s+number"
    r"|num[ée]ro\s+de\s+(?:la\s+)?facture|n[°º]\s*de\s+facture|creditnota|credit\s+nota"
    r"|note\s+de\s+cr[ée]dit|credit\s+note|factuur|facture|invoice|avoir(?=\s*n[°º]))"
    r"(?![^\W\d_])(?P<mark>\s*(?:(?:met\s+|with\s+)?" + _NUMBER_MARK + r")?\s*:?)"
    r"\s*(?P<number>[A-Za-z0-9][A-Za-z0-9_./-]*)",
    re.IGNORECASE,
)
_CREDIT_KEYWORD_RE = re.compile(r"credit|cr[ée]dit|avoir", re.IGNORECASE)
_MENTION_LANGUAGES = (
    ("nl", re.compile(r"factuur|nota", re.I)),
    ("fr", re.compile(r"factur|avoir|note de", re.I)),
)


@dataclass(frozen=True)
class _LabelSpec:
    field: FieldName | None  # None for a payment already made
    rank: int  # amount-due preference: an outstanding balance beats a plain amount
    languages: frozenset[str]
    pattern: re.Pattern[str]


def _spec(field: FieldName | None, languages: str, pattern: str, rank: int = 0) -> _LabelSpec:
    body = pattern.replace(" ", r"\s+")
    compiled = re.compile(r"(?<!\w)(?:" + body + r")(?!\w)", re.IGNORECASE)
    return _LabelSpec(field, rank, frozenset(languages.split()), compiled)


_F = FieldName
_LABEL_SPECS: tuple[_LabelSpec, ...] = (
    _spec(_F.ISSUE_DATE, "nl", r"factuurdatum|datum factuur|gedateerd|opgemaakt op|datum"),
    _spec(_F.ISSUE_DATE, "fr", r"date de (?:la )?facture|dat[ée]e? du|[ée]mise? le|en date du"),
    _spec(_F.ISSUE_DATE, "en", r"invoice date|date of issue|issue date|dated|issued(?: on)?"),
    _spec(_F.ISSUE_DATE, "fr en", r"date"),
    _spec(_F.DUE_DATE, "nl", r"vervaldatum|vervaldag|vervallen|verviel|vervalt|betaaldatum"),
    _spec(_F.DUE_DATE, "nl", r"te betalen (?:voor|vóór|tegen|uiterlijk op)|uiterlijk op"),
    _spec(_F.DUE_DATE, "fr", r"date d'[ée]ch[ée]ance|[ée]ch[ée]ance|[ée]chue?s?"),
    _spec(_F.DUE_DATE, "fr", r"payable (?:avant|pour|le)|[àa] payer (?:avant|pour)(?: le)?"),
    _spec(_F.DUE_DATE, "en", r"due date|due|payable by|pay by|overdue since"),
    _spec(_F.AMOUNT_DUE, "nl", r"openstaande?(?: bedrag| saldo)?|saldo|(?:nog )?te betalen", 3),
    _spec(_F.AMOUNT_DUE, "fr", r"montant (?:restant )?d[ûu]|reste [àa] payer|solde(?: d[ûu])?", 3),
    _spec(_F.AMOUNT_DUE, "en", r"amount due|balance(?: due)?|outstanding(?: amount)?|total due", 3),
    _spec(_F.AMOUNT_DUE, "nl", r"bedrag|totaalbedrag|factuurbedrag|totaal|ten bedrage van", 1),
    _spec(_F.AMOUNT_DUE, "fr", r"montant|total|somme", 1),
    _spec(_F.AMOUNT_DUE, "en", r"amount|total|sum", 1),
    _spec(_F.PAYMENT_REFERENCE, "nl", r"gestructureerde mededeling|mededeling"),
    _spec(_F.PAYMENT_REFERENCE, "fr", r"communication structur[ée]e|communication"),
    _spec(_F.PAYMENT_REFERENCE, "en", r"structured communication|payment reference"),
    _spec(None, "nl", r"reeds betaald|betaald|voorschot|afbetaling"),
    _spec(None, "fr", r"d[ée]j[àa] pay[ée]e?|pay[ée]e?|acompte"),
    _spec(None, "en", r"already paid|paid|deposit|down payment"),
)
# Phrases that contain a payment label but mean the opposite. They block that label.
_NOT_PAID_RE = re.compile(
    r"(?<!\w)(?:niet betaald|onbetaald|non pay[ée]e?|impay[ée]e?|not paid|unpaid)(?!\w)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Label:
    spec: _LabelSpec | None  # None for a "not paid" phrase, which only blocks others
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Mention:
    number: str
    start: int
    end: int  # after the number
    kind: DocumentKind
    language: str


def find_mentions(text: str) -> list[Mention]:
    mentions: list[Mention] = []
    position = 0
    while (match := _MENTION_RE.search(text, position)) is not None:
        number = match.group("number").rstrip("./-")
        marked = bool(match.group("mark").strip()) or "num" in match.group("keyword").lower()
        if not _plausible_number(number, marked=marked):
            # The rejected token may start the real mention ("factuur:\nFactuur 2026-5521"),
            # so the search goes on from it, not from the end of the rejected match.
            position = match.start("number")
            continue
        position = match.end()
        keyword = match.group("keyword")
        kind = (
            DocumentKind.CREDIT_NOTE if _CREDIT_KEYWORD_RE.search(keyword) else DocumentKind.INVOICE
        )
        language = next((lang for lang, rule in _MENTION_LANGUAGES if rule.search(keyword)), "en")
        end = match.start("number") + len(number)
        mentions.append(Mention(number, match.start(), end, kind, language))
    return mentions


def _plausible_number(number: str, *, marked: bool) -> bool:
    """Tell whether a token may be an invoice number rather than a word, date or amount."""
    if not any(char.isdigit() for char in number) or len(number) > MAX_NUMBER_LENGTH:
        return False
    if re.fullmatch(r"\d+[.,]\d{1,2}", number):
        return False
    dates = find_dates(number)
    if dates and dates[0].raw == number:
        return False
    return marked or len(number) >= 3


def find_labels(text: str, blockers: Iterable[tuple[int, int]]) -> list[Label]:
    """Find labels, the longest first where they overlap; ``blockers`` are spans to skip."""
    candidates = [
        Label(spec, match.group(), match.start(), match.end())
        for spec in _LABEL_SPECS
        for match in spec.pattern.finditer(text)
    ]
    candidates += [Label(None, m.group(), m.start(), m.end()) for m in _NOT_PAID_RE.finditer(text)]
    occupied = list(blockers)
    chosen: list[Label] = []
    for label in sorted(candidates, key=lambda item: (item.start - item.end, item.start)):
        if all(label.end <= start or label.start >= end for start, end in occupied):
            chosen.append(label)
            occupied.append((label.start, label.end))
    return sorted(chosen, key=lambda item: item.start)
