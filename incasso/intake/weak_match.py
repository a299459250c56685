"""Threading by weaker signals: a case or payment reference in the text, or the sender.

When neither a reply address nor a Message-ID ties a message to a case, it
may still name one:

3. the case reference (``2026-00017``, also as ``dossier 2026-00017``) or the
   structured communication (``+++202/6000/01797+++``, also without the plus
   signs, slashes or with stars) in the subject, then in the body;
4. the sender's address, or for a business the sender's domain, when it
   belongs to a debtor with exactly one open case.

A match by the text is checked against the sender. When the sender is
neither the case's debtor nor at the debtor's business domain, the message is
still attached to the case but flagged for staff. So two debtors are never
mixed up without a person seeing it. A domain of a mail provider (gmail.com,
telenet.be …) identifies nobody, so it never matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incasso.cases.law import is_valid_ogm
from incasso.intake.mime import ParsedMail
from incasso.store.models import Case, CaseStatus, Debtor

OPEN_STATUSES = (CaseStatus.DRAFT, CaseStatus.ACTIVE, CaseStatus.PAUSED)
CASE_REFERENCE = re.compile(r"(?<![\d-])(20\d{2})-(\d{5})(?![\d-])")
# Twelve digits as 3/4/5, with or without +++, ***, slashes, dots or spaces between.
STRUCTURED = re.compile(r"(?<!\d)[+*]{0,3}\s?(\d{3})[/. ]?(\d{4})[/. ]?(\d{5})\s?[+*]{0,3}(?!\d)")
# Mail providers whose domains many unrelated people share.
SHARED_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "hotmail.com", "hotmail.be", "outlook.com", "outlook.be",
        "live.com", "live.be", "msn.com", "yahoo.com", "yahoo.fr", "icloud.com", "me.com",
        "telenet.be", "skynet.be", "proximus.be", "scarlet.be", "voo.be", "orange.be",
        "gmx.com", "gmx.de", "web.de", "free.fr", "orange.fr", "protonmail.com", "proton.me",
    }
)  # fmt: skip


@dataclass(frozen=True)
class WeakMatch:
    case: Case
    # "subject reference", "body reference", "structured communication", "sender address"
    # or "sender domain".
    signal: str
    # True when the sender is neither the debtor nor at the debtor's business domain.
    foreign_sender: bool


def find_by_text_or_sender(session: Session, parsed: ParsedMail, body: str) -> WeakMatch | None:
    """Return the case the message names in its text, else the one its sender's debtor has."""
    sender = (parsed.from_address or "").lower()
    for text, signal in ((parsed.subject, "subject reference"), (body, "body reference")):
        case = _case_by_reference(session, text)
        if case is not None:
            return WeakMatch(case, signal, not _from_debtor(case, sender))
    case = _case_by_structured_communication(session, f"{parsed.subject}\n{body}")
    if case is not None:
        return WeakMatch(case, "structured communication", not _from_debtor(case, sender))
    return _case_by_sender(session, sender)


def candidate_references(session: Session, parsed: ParsedMail, limit: int = 5) -> list[str]:
    """Return the references of open cases the sender may write about, for an unmatched mail.

    These are the open cases of debtors with the sender's address, or, for a
    domain that is no mail provider's, of business debtors at that domain.
    """
    sender = (parsed.from_address or "").lower()
    if "@" not in sender:
        return []
    domain = sender.rpartition("@")[2]
    condition = func.lower(Debtor.email) == sender
    if domain not in SHARED_DOMAINS:
        condition = condition | (
            func.lower(Debtor.email).like(f"%@{domain}") & Debtor.enterprise_number.is_not(None)
        )
    return list(
        session.scalars(
            select(Case.reference)
            .join(Debtor, Case.debtor_id == Debtor.id)
            .where(Case.status.in_(OPEN_STATUSES), condition)
            .order_by(Case.id.desc())
            .limit(limit)
        )
    )


def _case_by_reference(session: Session, text: str) -> Case | None:
    for year, number in CASE_REFERENCE.findall(text or ""):
        case = session.scalar(select(Case).where(Case.reference == f"{year}-{number}"))
        if case is not None:
            return case
    return None


def _case_by_structured_communication(session: Session, text: str) -> Case | None:
    for groups in STRUCTURED.findall(text):
        digits = "".join(groups)
        if is_valid_ogm(digits):
            case = session.scalar(select(Case).where(Case.ogm == digits))
            if case is not None:
                return case
    return None


def _case_by_sender(session: Session, sender: str) -> WeakMatch | None:
    if "@" not in sender:
        return None
    by_address = _only_open_case(session, func.lower(Debtor.email) == sender)
    if by_address is not None:
        return WeakMatch(by_address, "sender address", False)

    domain = sender.rpartition("@")[2]
    if domain in SHARED_DOMAINS:
        return None
    by_domain = _only_open_case(
        session, func.lower(Debtor.email).like(f"%@{domain}"), Debtor.enterprise_number.is_not(None)
    )
    return WeakMatch(by_domain, "sender domain", False) if by_domain is not None else None


def _only_open_case(session: Session, *conditions: object) -> Case | None:
    """Return the one open case of the debtors that meet ``conditions``; None for none or more."""
    cases = session.scalars(
        select(Case)
        .join(Debtor, Case.debtor_id == Debtor.id)
        .where(Case.status.in_(OPEN_STATUSES), *conditions)  # type: ignore[arg-type]
        .limit(2)
    ).all()
    return cases[0] if len(cases) == 1 else None


def _from_debtor(case: Case, sender: str) -> bool:
    """Tell whether ``sender`` is the case's debtor, or at the domain of a business debtor."""
    debtor = case.debtor
    if debtor is None or not debtor.email or not sender:
        return False
    email = debtor.email.lower()
    if email == sender:
        return True
    domain = email.rpartition("@")[2]
    business = debtor.enterprise_number is not None
    return business and domain not in SHARED_DOMAINS and sender.endswith("@" + domain)
