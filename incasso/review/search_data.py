"""Finding cases from what staff type in the search box.

One search looks in several places at once:

- the case reference, exactly; ``2026-17`` is read as ``2026-00017``;
- the structured communication, exactly, typed with or without the ``+``,
  ``/``, dots and spaces of ``+++202/6000/01711+++``;
- the debtor's name and e-mail address, case-insensitively, anywhere in them
  (not for text that reads as a reference or structured communication);
- the invoice numbers, case-insensitively, anywhere in them.

A case found by its reference or structured communication comes first, the
rest newest first, at most ``RESULT_LIMIT`` of them. The open amount of each
case is computed for all results at once: the invoices' principal plus the
charges of the last step that computed any, less what was paid, as on the
case page.

NOTE: SQLite's lower() folds ASCII letters only, so on SQLite a search for
"élodie" misses "Élodie"; PostgreSQL folds every letter.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session

from incasso.cases.law import OGM_LENGTH, format_ogm, is_valid_ogm
from incasso.cases.references import format_reference
from incasso.cases.summary import open_amounts
from incasso.store.models import Case, Creditor, Debtor, Invoice

logger = logging.getLogger(__name__)

RESULT_LIMIT = 100
# Shorter text is only looked up as a reference or structured communication.
MINIMUM_TEXT_LENGTH = 2
ZERO = Decimal("0.00")

TYPED_REFERENCE = re.compile(r"(20\d{2})\s*[-/]\s*(\d{1,6})")
OGM_PUNCTUATION = re.compile(r"[+/.\s]")


@dataclass(frozen=True)
class SearchHit:
    """One case found, with what the results table shows."""

    reference: str
    status: str
    debtor: str | None
    creditor: str | None
    open_amount: Decimal
    currency: str
    structured_communication: str
    # True when the search text is this case's reference or structured communication.
    exact: bool


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: list[SearchHit]
    # True when more cases matched than are shown.
    more: bool
    # True when the text was too short to look for in names, e-mails and invoices.
    too_short: bool = False

    @property
    def only_exact_hit(self) -> SearchHit | None:
        """The case to open directly: the text named it exactly and nothing else matched."""
        if len(self.hits) == 1 and self.hits[0].exact:
            return self.hits[0]
        return None


def typed_reference(text: str) -> str | None:
    """Read ``2026-00017``, ``2026-17`` or ``2026/17`` as a case reference."""
    found = TYPED_REFERENCE.fullmatch(text.strip())
    if found is None:
        return None
    return format_reference(int(found.group(1)), int(found.group(2)))


def typed_ogm(text: str) -> str | None:
    """Read a structured communication typed with or without punctuation: 12 valid digits."""
    digits = OGM_PUNCTUATION.sub("", text)
    if len(digits) != OGM_LENGTH or not is_valid_ogm(digits):
        return None
    return digits


def search_cases(session: Session, text: str, *, limit: int = RESULT_LIMIT) -> SearchResult:
    """Find the cases ``text`` names: by reference, structured communication, debtor, invoice."""
    query = " ".join(text.split())
    reference = typed_reference(query)
    ogm = typed_ogm(query)
    too_short = len(query) < MINIMUM_TEXT_LENGTH

    conditions = _exact_conditions(reference, ogm)
    if not too_short:
        named = reference is not None or ogm is not None
        conditions.extend(_text_conditions(query.lower(), names=not named))
    if not conditions:
        return SearchResult(query, [], more=False, too_short=too_short)

    exact = or_(*_exact_conditions(reference, ogm)) if reference or ogm else false()
    statement = (
        select(Case, Debtor.name, Creditor.name, exact.label("exact"))
        .outerjoin(Debtor, Case.debtor_id == Debtor.id)
        .outerjoin(Creditor, Case.creditor_id == Creditor.id)
        .where(or_(*conditions))
        .limit(limit + 1)
    )
    if reference or ogm:
        # PostgreSQL refuses a constant in ORDER BY, so the exact hit is sorted on only when
        # the text can name one.
        statement = statement.order_by(exact.desc())
    rows = session.execute(statement.order_by(Case.id.desc())).all()
    page_rows = rows[:limit]
    amounts = open_amounts(session, [row[0] for row in page_rows])
    hits = [
        SearchHit(
            reference=case.reference,
            status=case.status,
            debtor=debtor,
            creditor=creditor,
            open_amount=amounts.get(case.id, ZERO),
            currency=case.currency,
            structured_communication=format_ogm(case.ogm),
            exact=bool(is_exact),
        )
        for case, debtor, creditor, is_exact in page_rows
    ]
    logger.debug("search %r found %d cases", query, len(rows))
    return SearchResult(query, hits, more=len(rows) > limit, too_short=too_short)


def _exact_conditions(reference: str | None, ogm: str | None) -> list[ColumnElement[bool]]:
    conditions = []
    if reference is not None:
        conditions.append(Case.reference == reference)
    if ogm is not None:
        conditions.append(Case.ogm == ogm)
    return conditions


def _text_conditions(lowered: str, *, names: bool) -> list[ColumnElement[bool]]:
    """Build the conditions: an invoice number, and with ``names`` a debtor name or e-mail,
    containing ``lowered``.

    A reference or structured communication is not looked for in names and
    e-mail addresses, because it does not occur there and each lookup reads every debtor.
    """
    invoices = select(Invoice.case_id).where(
        func.lower(Invoice.number).contains(lowered, autoescape=True)
    )
    conditions: list[ColumnElement[bool]] = [Case.id.in_(invoices)]
    if names:
        debtors = select(Debtor.id).where(
            or_(
                func.lower(Debtor.name).contains(lowered, autoescape=True),
                func.lower(Debtor.email).contains(lowered, autoescape=True),
            )
        )
        conditions.append(Case.debtor_id.in_(debtors))
    return conditions
