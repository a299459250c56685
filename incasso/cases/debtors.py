"""The debtor's details as staff correct them, and the language a debtor is written to in.

Notices go out in the agency's legal language, with a courtesy translation in
the debtor's language beside it when that differs. The debtor's language is,
in this order: the language staff chose for the debtor, the language of the
creditor's invoice, the language of the language area of the debtor's Belgian
postcode, and the creditor's language. Brussels (postcodes 1000 to 1299) is
bilingual, so its postcodes decide nothing.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from incasso.cases.ladder import Medium, StepRule
from incasso.cases.law import DebtorKind
from incasso.cases.lifecycle import EventKind, record_event
from incasso.cases.phone import normalize_phone_number
from incasso.i18n import LANGUAGES, N_, LocalizedError
from incasso.store.models import Case, CaseStatus, Debtor

logger = logging.getLogger(__name__)

OPEN_STATUSES = (CaseStatus.DRAFT, CaseStatus.ACTIVE, CaseStatus.PAUSED)

# First and last postcode of each language area with a single official language. The
# German-speaking area lies inside the Liège range, so it comes first and matches first.
POSTCODE_LANGUAGES = (
    (1300, 1499, "fr"),  # Walloon Brabant
    (1500, 3999, "nl"),  # Flemish Brabant, Antwerp, Limburg
    (4700, 4791, "de"),  # the German-speaking Community: Eupen to Burg-Reuland
    (4000, 7999, "fr"),  # Liège, Namur, Luxembourg, Hainaut
    (8000, 9999, "nl"),  # West and East Flanders
)
# A Belgian postcode: four digits before the name of the town, optionally after "B-".
POSTCODE = re.compile(r"(?:\bB-?|\b)([1-9]\d{3})\s+[^\W\d_]", re.IGNORECASE)
# Countries whose postcodes could be read as Belgian ones.
OTHER_COUNTRIES = re.compile(
    r"\b(nederland|netherlands|pays-bas|france|frankrijk|deutschland|germany|duitsland|"
    r"allemagne|luxembourg|luxemburg|danmark|denmark|schweiz|suisse|switzerland|österreich|"
    r"austria)\b",
    re.IGNORECASE,
)
# A plain check of an e-mail address: one @, no spaces, a dot in the domain.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class DebtorError(LocalizedError):
    """A debtor detail that cannot be stored; the message names the value and the fix."""


@dataclass(frozen=True)
class DebtorChange:
    """The details staff give for a debtor; None leaves a detail as it is."""

    email: str | None = None
    phone: str | None = None
    address: str | None = None
    kind: DebtorKind | None = None
    language: str | None = None


def language_of_address(address: str | None) -> str | None:
    """Return the language of the language area of a Belgian postcode in ``address``, if any."""
    if not address or OTHER_COUNTRIES.search(address):
        return None

    matches = POSTCODE.findall(address)
    if not matches:
        return None
    postcode = int(matches[-1])  # the postcode comes after the street and its number
    for first, last, language in POSTCODE_LANGUAGES:
        if first <= postcode <= last:
            return language
    return None


def has_postal_address(debtor: Debtor) -> bool:
    """Whether a letter can be sent to ``debtor``."""
    return bool(debtor.address and debtor.address.strip())


def step_by_available_medium(debtor: Debtor | None, rule: StepRule) -> StepRule:
    """``rule`` as it is carried out for ``debtor``.

    An e-mail step goes by letter while the debtor's e-mail address is marked
    as bounced and a postal address is known.
    """
    if rule.medium != Medium.EMAIL or debtor is None or debtor.email_failed_at is None:
        return rule
    return replace(rule, medium=Medium.LETTER) if has_postal_address(debtor) else rule


def choose_language(
    *,
    chosen: str | None,
    invoice: str | None,
    address: str | None,
    fallback: str,
) -> str:
    """Return the debtor's language: staff's choice, the invoice's, the postcode's, the fallback."""
    return chosen or invoice or language_of_address(address) or fallback


def change_debtor(
    session: Session, case: Case, change: DebtorChange, *, now: datetime, actor: str
) -> list[str]:
    """Apply ``change`` to the debtor of ``case``; return the names of the details changed.

    A chosen language also becomes the language of the debtor's open cases.
    Raises DebtorError naming an invalid value; nothing is changed then.
    """
    debtor = _debtor_of(case)
    values = _validated(change)
    changed = {name: value for name, value in values.items() if getattr(debtor, name) != value}
    if change.language is not None and not debtor.language_chosen:
        changed.setdefault("language", change.language)

    for name, value in changed.items():
        setattr(debtor, name, value)
    if "email" in changed:
        debtor.email_failed_at = None  # a new address has not bounced
        debtor.email_failure = None
    if "language" in changed:
        debtor.language_chosen = True
        _relabel_open_cases(session, debtor, changed["language"])

    if changed:
        record_event(
            session, case, EventKind.DEBTOR_CHANGED, at=now, actor=actor, detail=dict(changed)
        )
        logger.info("case %s debtor changed: %s", case.reference, ", ".join(sorted(changed)))
    return sorted(changed)


def _debtor_of(case: Case) -> Debtor:
    if case.debtor is None:
        raise DebtorError(
            N_("Case {reference} has no debtor yet; complete the case in the review first."),
            reference=case.reference,
        )
    return case.debtor


def _validated(change: DebtorChange) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if change.email is not None:
        email = change.email.strip()
        if not EMAIL.match(email):
            raise DebtorError(
                N_("E-mail address {value} is invalid; give it as name@domain.be."), value=email
            )
        values["email"] = email
    if change.phone is not None:
        phone = normalize_phone_number(change.phone)
        if phone is None:
            raise DebtorError(
                N_("Phone number {value} is invalid; give it as +32470123456 or 0470 12 34 56."),
                value=change.phone,
            )
        values["phone"] = phone
    if change.address is not None:
        address = change.address.strip()
        if not address:
            raise DebtorError(N_("The address is empty; give street, number, postcode and town."))
        values["address"] = address
    if change.kind is not None:
        values["kind"] = DebtorKind(change.kind).value
    if change.language is not None:
        if change.language not in LANGUAGES:
            raise DebtorError(
                N_("Language {language} is invalid: use one of {choices}."),
                language=change.language,
                choices=", ".join(LANGUAGES),
            )
        values["language"] = change.language
    return values


def _relabel_open_cases(session: Session, debtor: Debtor, language: str) -> None:
    cases = session.scalars(
        select(Case).where(Case.debtor_id == debtor.id, Case.status.in_(OPEN_STATUSES))
    )
    for case in cases:
        case.language = language
