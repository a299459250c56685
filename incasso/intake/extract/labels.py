"""Label tables for PDF invoices in Dutch, French and English, and label matching.

A label is the printed caption of a value ("Vervaldatum", "Date d'échéance", "Due
date"). Matching rules, applied by :func:`find_labels` to the text of one layout cell:

- A label must start the cell or be followed by a colon, so the word "factuurdatum"
  inside a sentence ("30 dagen na factuurdatum") is not a label.
- Short words that also occur in running text ("Aan", "Klant", "Client", "Customer",
  "Destinataire") count only when followed by a colon or standing alone in their cell.
- When labels overlap, the longest wins. "Totaal excl. btw" therefore hides "Totaal",
  and "Klantnummer" or "N° client" hide "Klant" and "Client". Such look-alikes are
  listed as :attr:`LabelKind.OTHER` labels for that purpose only.

Amount-due labels carry a rank: a balance or "to pay" label (3) beats a total
including VAT (2), which beats a plain total (1). Subtotals and VAT lines are OTHER
and never give the amount due.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache


class LabelKind(StrEnum):
    """Meaning of the value next to a label."""

    INVOICE_NUMBER = "invoice_number"
    ISSUE_DATE = "issue_date"
    DUE_DATE = "due_date"
    AMOUNT_DUE = "amount_due"
    DEBTOR_BLOCK = "debtor_block"  # caption of the customer's name and address block
    DELIVERY_BLOCK = "delivery_block"  # caption of a delivery address, which is not the debtor's
    DEBTOR_VAT = "debtor_vat"  # "your VAT number": the customer's, wherever it is printed
    VAT = "vat"
    EMAIL = "email"
    PHONE = "phone"
    PAYMENT_REFERENCE = "payment_reference"
    PAYMENT_TERMS = "payment_terms"
    DESCRIPTION = "description"  # column header of the line items
    CREDIT_NOTE = "credit_note"  # document title
    OTHER = "other"  # look-alikes that must not be read as one of the above


@dataclass(frozen=True)
class Label:
    """One label wording with its kind, languages and compiled pattern."""

    kind: LabelKind
    pattern: re.Pattern[str]
    languages: frozenset[str]
    rank: int = 0  # amount-due preference, see the module docstring
    standalone: bool = False  # needs a colon or a cell of its own


@dataclass(frozen=True)
class LabelMatch:
    """A label found in a cell's text."""

    label: Label
    text: str  # the label as printed, without the colon
    start: int
    end: int  # after the label and its colon, where the value starts
    has_colon: bool

    @property
    def kind(self) -> LabelKind:
        return self.label.kind


def _label(
    kind: LabelKind, languages: str, pattern: str, *, rank: int = 0, standalone: bool = False
) -> Label:
    """Compile ``pattern`` as a whole-word, case-insensitive label.

    ``languages`` is a space-separated list such as "fr en". A space in ``pattern``
    matches any run of white space. A label that ends in a sign ("Facture n°") may
    touch its value ("Facture n°562044387"); one that ends in a letter may not.
    """
    body = pattern.replace(" ", r"\s+")
    compiled = re.compile(r"(?<![\w])(?:" + body + r")(?:(?<=\W)|(?![\w]))", re.IGNORECASE)
    return Label(kind, compiled, frozenset(languages.split()), rank, standalone)


_K = LabelKind
_NUMBER_MARK = r"(?:n[°ºo]\.?|nr\.?|no\.?|num(?:ber|mer|éro)?\.?|#)"

LABELS: tuple[Label, ...] = (
    # Invoice and credit-note numbers.
    _label(_K.INVOICE_NUMBER, "nl", r"factuurnummer|factuurnr\.?|factuur " + _NUMBER_MARK),
    _label(_K.INVOICE_NUMBER, "nl", r"creditnotanummer|creditnota " + _NUMBER_MARK),
    _label(_K.INVOICE_NUMBER, "fr", r"facture " + _NUMBER_MARK + r"|n[°º] de facture"),
    _label(_K.INVOICE_NUMBER, "fr", r"num[ée]ro de (?:la )?facture"),
    _label(_K.INVOICE_NUMBER, "fr", r"(?:note de cr[ée]dit|avoir) " + _NUMBER_MARK),
    _label(_K.INVOICE_NUMBER, "fr", r"n[°º] d'avoir|num[ée]ro d'avoir"),
    _label(_K.INVOICE_NUMBER, "en", r"invoice (?:no\.?|number|nr\.?|#)|invoice#"),
    _label(_K.INVOICE_NUMBER, "en", r"credit note (?:no\.?|number|#)"),
    # Issue dates. "Datum" and "Date" alone are read as the issue date.
    _label(_K.ISSUE_DATE, "nl", r"factuurdatum|factuur\s*datum|datum factuur|datum"),
    _label(_K.ISSUE_DATE, "fr", r"date de (?:la )?facture|date d'émission|date d'emission"),
    _label(_K.ISSUE_DATE, "fr en", r"date"),
    _label(_K.ISSUE_DATE, "en", r"invoice date|date of issue|issue date"),
    # Due dates.
    _label(_K.DUE_DATE, "nl", r"vervaldatum|vervaldag|uiterste betaaldatum|te betalen voor"),
    _label(_K.DUE_DATE, "nl", r"te betalen vóór"),
    _label(_K.DUE_DATE, "fr", r"échéance|echeance|date d'échéance|date d'echeance"),
    _label(_K.DUE_DATE, "fr", r"date limite de paiement|date limite de règlement|payable avant"),
    _label(_K.DUE_DATE, "en", r"due date|payment due(?: date)?|pay by|date due"),
    # Amount due, ranked.
    _label(_K.AMOUNT_DUE, "nl", r"(?:totaal |nog )?te betalen|openstaand saldo|saldo", rank=3),
    _label(_K.AMOUNT_DUE, "nl", r"totaal openstaand|openstaand bedrag", rank=3),
    _label(_K.AMOUNT_DUE, "fr", r"montant (?:total )?à payer|montant a payer|net à payer", rank=3),
    _label(
        _K.AMOUNT_DUE, "fr", r"net a payer|reste à payer|reste a payer|solde(?: dû| du)?", rank=3
    ),
    _label(
        _K.AMOUNT_DUE,
        "fr",
        r"montant dû|montant du|somme à payer|somme a payer|total à payer",
        rank=3,
    ),
    _label(_K.AMOUNT_DUE, "en", r"amount due|balance due|total due|amount to pay|balance", rank=3),
    _label(_K.AMOUNT_DUE, "en", r"total amount due", rank=3),
    _label(_K.AMOUNT_DUE, "en", r"amount payable|total payable|due payable|payable amount", rank=3),
    _label(
        _K.AMOUNT_DUE,
        "nl",
        r"totaal incl\.? btw|totaal inclusief btw|totaal btw inbegrepen",
        rank=2,
    ),
    _label(
        _K.AMOUNT_DUE, "nl", r"totaalbedrag|totaal factuur|factuur\s*totaal|factuurbedrag", rank=2
    ),
    _label(_K.AMOUNT_DUE, "fr", r"total tvac|total ttc|total tva comprise|montant ttc", rank=2),
    _label(_K.AMOUNT_DUE, "fr", r"montant total|total facture", rank=2),
    _label(_K.AMOUNT_DUE, "en", r"total incl\.? vat|total including vat|invoice total", rank=2),
    _label(_K.AMOUNT_DUE, "en", r"grand total|total amount", rank=2),
    _label(_K.AMOUNT_DUE, "nl", r"totaal", rank=1),
    _label(_K.AMOUNT_DUE, "fr en", r"total", rank=1),
    # Subtotals, VAT amounts and payments already made: never the amount due.
    _label(_K.OTHER, "nl", r"subtotaal|sub-totaal|totaal excl\.?(?: btw)?|totaal exclusief btw"),
    _label(_K.OTHER, "nl", r"totaal btw|btw-bedrag|btw bedrag|maatstaf van heffing"),
    _label(_K.OTHER, "nl", r"reeds betaald|betaald|voorschot|totaal zonder btw"),
    _label(_K.OTHER, "fr", r"sous-total|sous total|total htva|total ht|total hors tva|total tva"),
    _label(_K.OTHER, "fr", r"montant htva|montant ht|montant tva|base imposable"),
    _label(_K.OTHER, "fr", r"déjà payé|deja paye|acompte|montant payé"),
    _label(_K.OTHER, "en", r"subtotal|sub-total|total excl\.? vat|total excluding vat"),
    _label(_K.OTHER, "en", r"total vat|vat amount|total tax|already paid|amount paid|paid"),
    _label(_K.OTHER, "en", r"vat total|tax total|net total|total net"),
    _label(_K.OTHER, "nl", r"btw totaal|netto totaal|totaal netto"),
    _label(_K.OTHER, "fr", r"tva totale|total net(?: ht)?"),
    # Customer numbers and other dates that look like our labels.
    _label(_K.OTHER, "nl", r"klantnummer|klantnr\.?|klant " + _NUMBER_MARK + r"|klantcode"),
    _label(_K.OTHER, "nl", r"leverdatum|leveringsdatum|besteldatum|datum levering"),
    _label(_K.OTHER, "fr", r"(?:n[°º]|num[ée]ro|code) (?:de )?client|client " + _NUMBER_MARK),
    _label(_K.OTHER, "fr", r"date de livraison|date de commande"),
    _label(_K.OTHER, "en", r"customer (?:no\.?|number|id|#)|client (?:id|number)"),
    _label(_K.OTHER, "en", r"delivery date|order date|date of delivery"),
    # Debtor block captions.
    _label(_K.DEBTOR_BLOCK, "nl", r"klantgegevens|factuur aan|gefactureerd aan|factuuradres"),
    _label(_K.DEBTOR_BLOCK, "nl", r"aan|klant", standalone=True),
    # OCR often loses one of the two accents of "Facturé à".
    _label(_K.DEBTOR_BLOCK, "fr", r"factur(?:é|ée|e) à|factur(?:é|ée) a|adresse de facturation"),
    _label(_K.DEBTOR_BLOCK, "fr", r"destinataire", standalone=True),
    _label(_K.DEBTOR_BLOCK, "fr en", r"client", standalone=True),
    _label(_K.DEBTOR_BLOCK, "en", r"bill to|billed to|invoice to|invoiced to"),
    _label(_K.DEBTOR_BLOCK, "en", r"customer", standalone=True),
    # Delivery addresses, which end a customer block and are never the debtor.
    _label(_K.DELIVERY_BLOCK, "nl", r"afleveradres|leveringsadres|leveradres|geleverd aan"),
    _label(_K.DELIVERY_BLOCK, "fr", r"adresse de livraison|livré à|livre a"),
    _label(_K.DELIVERY_BLOCK, "en", r"ship to|shipping address|delivery address|deliver to"),
    # The customer's own VAT number, wherever it is printed.
    _label(
        _K.DEBTOR_VAT, "nl", r"uw btw-nummer|uw btw nummer|uw btw-nr\.?|btw-nummer klant|btw klant"
    ),
    _label(
        _K.DEBTOR_VAT, "fr", r"votre (?:n[°º]|numéro) (?:de )?tva|(?:n[°º] )?tva (?:du )?client"
    ),
    _label(_K.DEBTOR_VAT, "en", r"your vat (?:no\.?|number|id)|customer vat(?: no\.?| number)?"),
    # VAT and enterprise numbers.
    _label(
        _K.VAT, "nl", r"btw-nr\.?|btw-nummer|btw nr\.?|btw|ondernemingsnummer|ondernemingsnr\.?"
    ),
    _label(_K.VAT, "fr", r"n[°º] (?:de )?tva|tva|num[ée]ro d'entreprise|n[°º] d'entreprise"),
    _label(_K.VAT, "en", r"vat (?:no\.?|number|id)|vat|company number"),
    # E-mail addresses and phone numbers.
    _label(_K.EMAIL, "nl fr en", r"e-mail|email"),
    _label(_K.EMAIL, "fr", r"courriel"),
    _label(_K.EMAIL, "nl fr en", r"mail", standalone=True),
    _label(_K.PHONE, "nl", r"tel\.?|telefoon|gsm"),
    _label(_K.PHONE, "fr", r"tél\.?|téléphone"),
    _label(_K.PHONE, "en", r"phone|mobile"),
    # Payment terms, which end a customer block.
    _label(_K.PAYMENT_TERMS, "nl", r"betalingstermijn|betaaltermijn|betalingsvoorwaarden"),
    _label(_K.PAYMENT_TERMS, "fr", r"conditions de paiement|délai de paiement|delai de paiement"),
    _label(_K.PAYMENT_TERMS, "en", r"payment terms?|terms"),
    # Payment references.
    _label(_K.PAYMENT_REFERENCE, "nl", r"(?:gestructureerde )?mededeling"),
    _label(_K.PAYMENT_REFERENCE, "fr", r"communication(?: structurée)?"),
    _label(_K.PAYMENT_REFERENCE, "en", r"payment reference|structured communication"),
    # Line-item column headers.
    _label(_K.DESCRIPTION, "nl", r"omschrijving|beschrijving"),
    _label(_K.DESCRIPTION, "fr", r"désignation|designation|libellé"),
    _label(_K.DESCRIPTION, "fr en", r"description"),
    # Credit-note titles.
    _label(_K.CREDIT_NOTE, "nl", r"creditnota|creditfactuur|credit nota"),
    _label(_K.CREDIT_NOTE, "fr", r"note de crédit|note de credit|avoir"),
    _label(_K.CREDIT_NOTE, "en", r"credit note|credit memo"),
)

FIELD_KINDS = frozenset(set(LabelKind) - {LabelKind.CREDIT_NOTE})
_COLON_RE = re.compile(r"\s*[:：]")
# Allowed text after a credit-note title in its cell: nothing, a number mark or one number.
_TITLE_TAIL_RE = re.compile(r"\s*(?:[:#]|n[°º]|nr\b|no\b|num|\S*\d\S*\s*$|$)", re.IGNORECASE)


def find_labels(text: str, kinds: Iterable[LabelKind] = FIELD_KINDS) -> list[LabelMatch]:
    """Find the labels of ``kinds`` in one cell's text, in the order printed.

    Applies the rules of the module docstring: position, standalone words and
    longest match.
    """
    return list(_find_labels(text, frozenset(kinds)))


def clear_label_cache() -> None:
    """Forget the labels found so far; for measurements that must start cold."""
    _find_labels.cache_clear()


# Pairing asks for the labels of the same cell texts many times over one page.
@lru_cache(maxsize=8192)
def _find_labels(text: str, selected_kinds: frozenset[LabelKind]) -> tuple[LabelMatch, ...]:
    candidates: list[LabelMatch] = []
    for label in LABELS:
        if label.kind in selected_kinds:
            candidates.extend(_matches_of(label, text))

    chosen: list[LabelMatch] = []
    for candidate in sorted(
        candidates, key=lambda match: (-(match.end - match.start), match.start)
    ):
        if all(candidate.end <= kept.start or candidate.start >= kept.end for kept in chosen):
            chosen.append(candidate)
    return tuple(sorted(chosen, key=lambda match: match.start))


def _matches_of(label: Label, text: str) -> list[LabelMatch]:
    found: list[LabelMatch] = []
    for match in label.pattern.finditer(text):
        colon = _COLON_RE.match(text, match.end())
        end = colon.end() if colon else match.end()
        at_start = not text[: match.start()].strip()
        alone = not text[end:].strip()

        if label.standalone and not (colon or (at_start and alone)):
            continue
        if not (at_start or colon):
            continue
        found.append(LabelMatch(label, match.group(), match.start(), end, colon is not None))
    return found


def find_credit_note_title(text: str) -> LabelMatch | None:
    """Return the credit-note title that starts ``text``, or None.

    The title must start the cell and be followed by nothing but a number, so the
    French verb "avoir" in a sentence is not a title.
    """
    for match in find_labels(text, {LabelKind.CREDIT_NOTE}):
        if match.start == 0 and _TITLE_TAIL_RE.match(text, match.end):
            return match
    return None


def detect_language(labels: Iterable[Label]) -> str | None:
    """Return the language most of ``labels`` belong to, or None on a tie or no labels.

    A label shared by several languages ("Total" in French and English) adds an
    equal share to each of them.
    """
    scores: dict[str, float] = {}
    for label in labels:
        for language in label.languages:
            scores[language] = scores.get(language, 0.0) + 1 / len(label.languages)

    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)[:2]
    if not ranked:
        return None
    if len(ranked) == 2 and abs(ranked[0][1] - ranked[1][1]) < 1e-9:
        return None
    return ranked[0][0]
