"""Case references (``2026-00017``) and the structured communication derived from them.

The reference is the year and a per-year sequence number. The structured
communication (OGM) takes the year and the sequence as its 10-digit base,
``2026000017``, so each case has its own payment reference and a payment can
be matched to its case exactly. The sequence fits six digits: a year with a
millionth case fails loudly rather than reusing a reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from incasso.cases.law import make_ogm
from incasso.store.models import CaseCounter

MAX_SEQUENCE = 999_999
REFERENCE_PATTERN = re.compile(r"\b(20\d{2})-(\d{5,6})\b")


@dataclass(frozen=True)
class CaseNumber:
    """A freshly allocated reference with its payment reference."""

    reference: str
    ogm: str


def format_reference(year: int, sequence: int) -> str:
    return f"{year}-{sequence:05d}"


def allocate_case_number(session: Session, year: int) -> CaseNumber:
    """Take the next sequence number of ``year`` inside the caller's transaction.

    The counter row is incremented with a single UPDATE, which both SQLite and
    PostgreSQL serialize, so two workers never receive the same number.
    """
    sequence = _increment_counter(session, year)
    if sequence > MAX_SEQUENCE:
        raise OverflowError(
            f"case sequence for {year} passed {MAX_SEQUENCE}; "
            "widen the reference format before opening more cases"
        )
    return CaseNumber(
        reference=format_reference(year, sequence),
        ogm=make_ogm(year * 1_000_000 + sequence),
    )


def _increment_counter(session: Session, year: int) -> int:
    statement = (
        update(CaseCounter)
        .where(CaseCounter.year == year)
        .values(last_value=CaseCounter.last_value + 1)
        .returning(CaseCounter.last_value)
    )
    value = session.scalar(statement)
    if value is not None:
        return value

    try:
        with session.begin_nested():
            session.execute(insert(CaseCounter).values(year=year, last_value=1))
        return 1
    except IntegrityError:
        # Another worker created the row first; take the next number from it.
        value = session.scalar(statement)
        if value is None:
            raise
        return value


def find_references(text: str) -> list[str]:
    """Return case references such as ``2026-00017`` found in ``text``, in order, once each."""
    seen: dict[str, None] = {}
    for year, sequence in REFERENCE_PATTERN.findall(text):
        seen.setdefault(format_reference(int(year), int(sequence)), None)
    return list(seen)
