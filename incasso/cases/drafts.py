"""Staff review of draft cases: correct a field, approve, reject, or merge into another case.

Intake opens a case as a draft when a field a reminder needs is missing or
doubtful, or the sender or the due date is in question. Intake uses the same
check (:func:`field_reasons`) to decide whether a case must wait, and staff
see from it what still stops a draft from being approved.

Each function works inside the caller's transaction, names the staff member
who acted (``actor``) in one timeline event, and raises a :class:`DraftError`
whose message names the value and the fix. Nothing is deleted: a rejected or
merged draft is closed and keeps its documents and timeline.

- A correction updates the invoice column or the debtor detail and the
  invoice's field row (source ``staff``, confidence 1), and updates the
  reasons on the open draft review item.
- Approving activates the case, so its first reminder is scheduled.
- Merging moves the draft's invoices and mail into an open case of the same
  creditor and the same debtor; two different debtors are never merged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from stdnum.be import vat as be_vat

from incasso.cases.debtors import EMAIL
from incasso.cases.ladder import CloseReason
from incasso.cases.law import DebtorKind
from incasso.cases.lifecycle import EventKind, activate_case, record_event
from incasso.cases.phone import normalize_phone_number
from incasso.cases.summary import find_case
from incasso.cases.transitions import close_case, status_term
from incasso.i18n import LOCAL_ZONE, N_, LocalizedError, Term
from incasso.store.models import (
    Case,
    CaseStatus,
    Creditor,
    Debtor,
    Invoice,
    InvoiceField,
    MailMessage,
    ReviewItem,
    ReviewKind,
    ReviewStatus,
)

logger = logging.getLogger(__name__)

# Fields without which no reminder can go out.
REQUIRED_FIELDS = (
    "invoice_number",
    "due_date",
    "amount_due",
    "currency",
    "debtor_name",
    "debtor_email",
)
# The required fields that belong to an invoice rather than to its debtor.
INVOICE_REQUIRED = ("invoice_number", "due_date", "amount_due", "currency")

# The debtor name intake stores when the document names nobody.
UNKNOWN_NAME = "?"

# Source written on a field that staff corrected.
STAFF_SOURCE = "staff"

# Field name -> column of the invoice row it is copied to.
INVOICE_COLUMNS = {
    "invoice_number": "number",
    "issue_date": "issue_date",
    "due_date": "due_date",
    "amount_due": "amount_due",
    "currency": "currency",
    "description": "description",
}
# Field name -> attribute of the debtor row it is copied to.
DEBTOR_ATTRIBUTES = {
    "debtor_name": "name",
    "debtor_email": "email",
    "debtor_phone": "phone",
    "debtor_vat": "enterprise_number",
    "debtor_address": "address",
}

# The field names as words of the catalogs, for messages that name a field.
FIELD_WORDS = {
    "invoice_number": N_("invoice number"),
    "issue_date": N_("invoice date"),
    "due_date": N_("due date"),
    "amount_due": N_("amount due"),
    "currency": N_("currency"),
    "description": N_("description"),
    "debtor_name": N_("debtor name"),
    "debtor_email": N_("debtor e-mail"),
    "debtor_phone": N_("debtor phone number"),
    "debtor_vat": N_("debtor VAT number"),
    "debtor_address": N_("debtor address"),
}

# Case statuses a draft can be merged into.
MERGE_TARGETS = (CaseStatus.DRAFT, CaseStatus.ACTIVE, CaseStatus.PAUSED)

# The ways an amount in euros is written: 1245 / 1245,8 / 1245,80 / 1.245,80 / 1245.80.
AMOUNT_FORMS = (
    re.compile(r"^(?P<whole>\d{1,3}(?:\.\d{3})+),(?P<cents>\d{1,2})$"),
    re.compile(r"^(?P<whole>\d+)(?:,(?P<cents>\d{1,2}))?$"),
    re.compile(r"^(?P<whole>\d+)\.(?P<cents>\d{1,2})$"),
)
DAY_FIRST = re.compile(r"^(?P<day>\d{1,2})/(?P<month>\d{1,2})/(?P<year>\d{4})$")
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
# A VAT number of another country: two letters, then 2 to 18 letters or digits.
FOREIGN_VAT = re.compile(r"^[A-Z]{2}[0-9A-Z]{2,18}$")
BELGIAN_VAT = re.compile(r"^(?:BE)?([01]\d{9})$")


# The draft reason of a submission whose sender is no registered creditor.
UNKNOWN_SENDER = "unknown_sender"


class DraftError(LocalizedError):
    """A review action the draft does not allow; the message names the value and the fix."""


class UnclearValue(DraftError):
    """A typed value that cannot be read; the message names it and the expected form."""


class DraftIncomplete(DraftError):
    """A draft that cannot be approved yet; ``problems`` lists each thing still to fix."""

    def __init__(self, template: str, problems: Sequence[LocalizedError], **values: object) -> None:
        self.problems = tuple(problems)
        english = "; ".join(str(problem) for problem in self.problems)
        super().__init__(template, problems=english, **values)

    def translated(self, gettext: Callable[[str], str]) -> str:
        listed = "; ".join(problem.translated(gettext) for problem in self.problems)
        values = {
            name: gettext(value) if isinstance(value, Term) else value
            for name, value in self.values.items()
        }
        values["problems"] = listed
        return gettext(self.template).format(**values)


class Scored(Protocol):
    """A field value with how sure we are of it: an extracted field or a stored one."""

    @property
    def value(self) -> str: ...

    @property
    def confidence(self) -> float: ...


@dataclass(frozen=True)
class StoredValue:
    """A value as stored on an invoice or its debtor, for :func:`field_reasons`."""

    value: str
    confidence: float


def field_reasons(
    invoices: Sequence[Mapping[str, Scored]], *, threshold: float, today: date
) -> list[str]:
    """Return why the fields of one case's invoices keep it a draft.

    ``invoices`` contains the fields of each invoice by name. The reasons are
    ``missing:<field>`` and ``doubtful:<field>`` (confidence below
    ``threshold``) for each required field, ``not_yet_due`` when a due date is
    today or later, and ``mixed_currencies``.
    """
    reasons: list[str] = []
    for name in REQUIRED_FIELDS:
        fields = [invoice.get(name) for invoice in invoices]
        if any(field is None for field in fields):
            reasons.append(f"missing:{name}")
        elif any(field is not None and field.confidence < threshold for field in fields):
            reasons.append(f"doubtful:{name}")

    due_dates = [_iso_day(invoice.get("due_date")) for invoice in invoices]
    if any(due is not None and due >= today for due in due_dates):
        reasons.append("not_yet_due")
    currencies = {_value(invoice.get("currency")) for invoice in invoices}
    if len(currencies) > 1:
        reasons.append("mixed_currencies")
    return reasons


def parse_amount(text: str) -> Decimal:
    """Read an amount as Belgians write it; raise UnclearValue for anything unclear.

    ``1.245`` could be either 1245 or a mistyped 1,245, and ``1,000.50`` mixes
    the English separators with ours, so both are refused rather than guessed.
    """
    cleaned = re.sub(r"[\s\u00a0\u202f€]|EUR", "", text.strip(), flags=re.IGNORECASE)
    for form in AMOUNT_FORMS:
        match = form.match(cleaned)
        if match:
            whole = match["whole"].replace(".", "")
            cents = (match["cents"] or "0").ljust(2, "0")
            return Decimal(f"{whole}.{cents}")
    raise UnclearValue(
        N_(
            "Amount {amount} is unclear: write a positive amount with the cents after a comma, "
            "e.g. 1245,80 or 1.245,80."
        ),
        amount=text,
    )


def parse_day(text: str) -> date:
    """Read a date written as YYYY-MM-DD or DD/MM/YYYY; raise UnclearValue otherwise."""
    cleaned = text.strip()
    day_first = DAY_FIRST.match(cleaned)
    try:
        if day_first:
            return date(int(day_first["year"]), int(day_first["month"]), int(day_first["day"]))
        if ISO_DAY.match(cleaned):
            return date.fromisoformat(cleaned)
    except ValueError:
        pass  # a day or month out of range: refused below like any other unclear date
    raise UnclearValue(
        N_("Date {date} is not a date of the form YYYY-MM-DD or DD/MM/YYYY."), date=text
    )


def correct_field(
    session: Session,
    case: Case,
    invoice_id: int | None,
    name: str,
    value: str,
    *,
    actor: str,
    now: datetime,
) -> bool:
    """Set field ``name`` of a draft to the value staff typed; return False when unchanged.

    An invoice field is set on the invoice ``invoice_id`` (which may be left out
    when the case has one invoice); a debtor field on the case's debtor and on
    the field rows of every invoice of the case.
    """
    _require_draft(case)
    if name not in INVOICE_COLUMNS and name not in DEBTOR_ATTRIBUTES:
        raise DraftError(
            N_("Field {field} cannot be corrected; choose one of {choices}."),
            field=name,
            choices=", ".join([*INVOICE_COLUMNS, *DEBTOR_ATTRIBUTES]),
        )
    if not value.strip():
        raise DraftError(
            N_("The {field} is empty; type its value or leave the field as it was."),
            field=Term(FIELD_WORDS[name]),
        )

    if name in INVOICE_COLUMNS:
        change = _correct_invoice_field(session, case, invoice_id, name, value)
    else:
        change = _correct_debtor_field(session, case, name, value)
    if change is None:
        return False

    session.flush()
    _refresh_reasons(session, case, name, _local_day(now))
    old, text, invoice_number = change
    detail = {"field": name, "invoice": invoice_number, "old": old, "new": text}
    record_event(session, case, EventKind.FIELD_CORRECTED, at=now, actor=actor, detail=detail)
    logger.info("case %s: %s corrected by %s", case.reference, name, actor)
    return True


def assign_creditor(session: Session, case: Case, code: str, *, actor: str, now: datetime) -> bool:
    """Give a draft the registered creditor ``code``; return False when it had it already.

    A submission from an address no creditor registered waits as a draft
    without creditor; once staff know whose invoice it is (and registered that
    creditor), they choose it here instead of asking for the invoice again.
    """
    _require_draft(case)
    code = code.strip().upper()
    creditor = session.scalar(select(Creditor).where(Creditor.code == code))
    if creditor is None:
        raise DraftError(
            N_(
                "Creditor {code} is not registered; register it with incasso creditor add, "
                "then choose it here."
            ),
            code=code,
        )
    if case.creditor_id == creditor.id:
        return False

    for invoice in case.invoices:
        _check_number_free(session, invoice, invoice.number, creditor_id=creditor.id)
    for invoice in case.invoices:
        invoice.creditor_id = creditor.id
    old = case.creditor.code if case.creditor is not None else None
    case.creditor = creditor
    for item in _open_reviews(session, case, kinds=(ReviewKind.DRAFT,)):
        item.reasons = [reason for reason in item.reasons if reason != UNKNOWN_SENDER]
    detail = {"field": "creditor", "invoice": None, "old": old, "new": creditor.code}
    record_event(session, case, EventKind.FIELD_CORRECTED, at=now, actor=actor, detail=detail)
    logger.info("case %s: creditor %s chosen by %s", case.reference, creditor.code, actor)
    return True


def _correct_invoice_field(
    session: Session, case: Case, invoice_id: int | None, name: str, value: str
) -> tuple[str | None, str, str | None] | None:
    """Set an invoice field; return (old, new, invoice number), or None when unchanged."""
    invoice = _invoice_of(case, invoice_id)
    old = _text(getattr(invoice, INVOICE_COLUMNS[name]))
    stored, text = _parsed_invoice_value(session, case, invoice, name, value)
    if text == old:
        return None

    setattr(invoice, INVOICE_COLUMNS[name], stored)
    _set_field(invoice, name, text, value)
    if name == "currency":
        _follow_currency(case)
    return old, text, invoice.number


def _correct_debtor_field(
    session: Session, case: Case, name: str, value: str
) -> tuple[str | None, str, None] | None:
    """Set a debtor field on the debtor and every invoice's field row; None when unchanged."""
    old = _text(getattr(_debtor_of(case), DEBTOR_ATTRIBUTES[name]))
    text = _parsed_debtor_value(name, value)
    if text == old:
        return None

    debtor = _own_debtor(session, case)
    _set_debtor(debtor, name, text)
    for invoice in case.invoices:
        _set_field(invoice, name, text, value)
    return old, text, None


def draft_problems(case: Case, today: date) -> list[DraftError]:
    """List what still stops ``case`` from being approved, each with its fix; empty when ready.

    Doubtful fields do not stop it: approving is staff confirming them.
    """
    problems: list[DraftError] = []
    if case.creditor is None:
        problems.append(
            DraftError(
                N_(
                    "the sender is not a registered creditor: choose the creditor on this "
                    "draft (register it first with incasso creditor add), or reject the draft"
                )
            )
        )
    if not case.invoices:
        problems.append(DraftError(N_("the case has no invoice")))

    reasons = field_reasons(stored_fields(case), threshold=0.0, today=today)
    for reason in reasons:
        problems.append(_problem(case, reason))
    return problems


def approve_draft(
    session: Session,
    case: Case,
    *,
    actor: str,
    now: datetime,
    first_reminder_delay: timedelta,
) -> None:
    """Activate a complete draft: its first reminder is due ``first_reminder_delay`` from now."""
    _require_draft(case)
    problems = draft_problems(case, _local_day(now))
    if problems:
        raise DraftIncomplete(
            N_("Draft {reference} cannot be approved yet: {problems}."),
            problems,
            reference=case.reference,
        )

    record_event(session, case, EventKind.DRAFT_APPROVED, at=now, actor=actor)
    activate_case(session, case, now=now, first_reminder_delay=first_reminder_delay)
    resolved = _resolve_reviews(session, case, now, kinds=(ReviewKind.DRAFT,))
    logger.info(
        "draft %s approved by %s; %d review items resolved", case.reference, actor, resolved
    )


def reject_draft(
    session: Session, case: Case, reason_text: str, *, actor: str, now: datetime
) -> None:
    """Close a draft for good, keeping its documents and timeline, with staff's reason."""
    _require_draft(case)
    reason = reason_text.strip()
    if not reason:
        raise DraftError(
            N_("Give a reason for rejecting draft {reference}, e.g. not our client's invoice."),
            reference=case.reference,
        )

    record_event(
        session, case, EventKind.DRAFT_REJECTED, at=now, actor=actor, detail={"reason": reason}
    )
    close_case(session, case, CloseReason.REJECTED, now=now, actor=actor)
    _resolve_reviews(session, case, now, kinds=None)
    logger.info("draft %s rejected by %s", case.reference, actor)


def merge_draft(
    session: Session, draft: Case, target_reference: str, *, actor: str, now: datetime
) -> Case:
    """Move the invoices and mail of ``draft`` into the open case ``target_reference``.

    Both cases must have the same creditor and the same debtor. The draft is
    closed as merged; its other open review items go along to the target case.
    Returns the target case.
    """
    _require_draft(draft)
    target = _merge_target(session, draft, target_reference)
    _require_same_parties(draft, target)
    _require_mergeable_invoices(draft, target, _local_day(now))

    numbers = [invoice.number for invoice in draft.invoices]
    for invoice in list(draft.invoices):
        invoice.case = target
    session.execute(
        update(MailMessage).where(MailMessage.case_id == draft.id).values(case_id=target.id)
    )
    _move_other_reviews(session, draft, target)
    session.flush()

    record_event(
        session,
        draft,
        EventKind.DRAFT_MERGED,
        at=now,
        actor=actor,
        detail={"into": target.reference, "invoices": numbers},
    )
    record_event(
        session,
        target,
        EventKind.INVOICES_MERGED,
        at=now,
        actor=actor,
        detail={"from": draft.reference, "invoices": numbers},
    )
    close_case(session, draft, CloseReason.MERGED, now=now, actor=actor)
    _resolve_reviews(session, draft, now, kinds=(ReviewKind.DRAFT,))
    logger.info("draft %s merged into %s by %s", draft.reference, target.reference, actor)
    return target


def stored_fields(case: Case) -> list[dict[str, Scored]]:
    """Return the required fields of each invoice of ``case`` as stored, for field_reasons.

    The values are those a reminder would use: the invoice columns and the
    debtor's details. A confidence comes from the invoice's field row, or is
    1 for a value that came from elsewhere (a debtor already known).
    """
    debtor = case.debtor
    result: list[dict[str, Scored]] = []
    for invoice in case.invoices:
        confidences = {field.name: field.confidence for field in invoice.fields}
        values = {
            "invoice_number": invoice.number,
            "due_date": _text(invoice.due_date),
            "amount_due": _text(invoice.amount_due),
            "currency": invoice.currency,
            "debtor_name": _known_name(debtor),
            "debtor_email": debtor.email if debtor is not None else None,
        }
        result.append(
            {
                name: StoredValue(value, confidences.get(name, 1.0))
                for name, value in values.items()
                if value
            }
        )
    return result


def _local_day(now: datetime) -> date:
    return now.astimezone(LOCAL_ZONE).date()


def _value(field: Scored | None) -> str | None:
    return field.value if field is not None else None


def _iso_day(field: Scored | None) -> date | None:
    if field is None or not field.value:
        return None
    try:
        return date.fromisoformat(field.value)
    except ValueError:
        return None


def _text(value: object) -> str | None:
    """Return a stored value as the text a field row holds: ISO dates, amounts with a dot."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def _known_name(debtor: Debtor | None) -> str | None:
    if debtor is None or not debtor.name or debtor.name == UNKNOWN_NAME:
        return None
    return debtor.name


def _require_draft(case: Case) -> None:
    if case.status != CaseStatus.DRAFT:
        raise DraftError(
            N_("Case {reference} is {status}, not a draft; only a draft is reviewed here."),
            reference=case.reference,
            status=status_term(case.status),
        )


def _invoice_of(case: Case, invoice_id: int | None) -> Invoice:
    if invoice_id is None:
        if len(case.invoices) == 1:
            return case.invoices[0]
        raise DraftError(
            N_("Case {reference} has {count} invoices; say which invoice to correct."),
            reference=case.reference,
            count=len(case.invoices),
        )
    for invoice in case.invoices:
        if invoice.id == invoice_id:
            return invoice
    raise DraftError(
        N_("Invoice {invoice} is not on case {reference}; open the case it belongs to."),
        invoice=invoice_id,
        reference=case.reference,
    )


def _parsed_invoice_value(
    session: Session, case: Case, invoice: Invoice, name: str, value: str
) -> tuple[object, str]:
    """Return the value to store in the invoice column and its text for the field row."""
    if name in ("issue_date", "due_date"):
        day = parse_day(value)
        _check_date_order(invoice, name, day)
        return day, day.isoformat()
    if name == "amount_due":
        amount = parse_amount(value)
        if amount <= 0:
            raise UnclearValue(
                N_("Amount {amount} leaves nothing to collect; give the amount still due."),
                amount=value,
            )
        return amount, f"{amount:.2f}"
    if name == "currency":
        code = value.strip().upper()
        if not CURRENCY.match(code):
            raise UnclearValue(
                N_("Currency {currency} is not a three-letter code such as EUR."), currency=value
            )
        return code, code
    if name == "invoice_number":
        number = value.strip()
        _check_number_free(session, invoice, number, creditor_id=invoice.creditor_id)
        return number, number
    description = value.strip()
    return description, description


def _check_date_order(invoice: Invoice, name: str, day: date) -> None:
    issue = day if name == "issue_date" else invoice.issue_date
    due = day if name == "due_date" else invoice.due_date
    if issue is not None and due is not None and due < issue:
        raise UnclearValue(
            N_(
                "The due date {due} comes before the invoice date {issue}; "
                "check both dates on the document."
            ),
            due=due.isoformat(),
            issue=issue.isoformat(),
        )


def _check_number_free(
    session: Session, invoice: Invoice, number: str | None, *, creditor_id: int | None
) -> None:
    """Refuse ``number`` when another invoice of creditor ``creditor_id`` has it."""
    if number is None:
        return
    if len(number) > 64:
        raise UnclearValue(
            N_("Invoice number {number} is longer than 64 characters; check it."), number=number
        )
    if creditor_id is None:
        return
    holder = session.scalar(
        select(Invoice).where(
            Invoice.creditor_id == creditor_id,
            Invoice.number == number,
            Invoice.id != invoice.id,
        )
    )
    if holder is not None:
        raise DraftError(
            N_(
                "Invoice {number} of this creditor is already on case {other}; "
                "merge this draft into that case or reject it as a duplicate."
            ),
            number=number,
            other=holder.case.reference,
        )


def _parsed_debtor_value(name: str, value: str) -> str:
    text = value.strip()
    if name == "debtor_email":
        if not EMAIL.match(text):
            raise UnclearValue(
                N_("E-mail address {value} is invalid; give it as name@domain.be."), value=text
            )
        return text.lower()
    if name == "debtor_phone":
        phone = normalize_phone_number(text)
        if phone is None:
            raise UnclearValue(
                N_("Phone number {value} is invalid; give it as +32470123456 or 0470 12 34 56."),
                value=text,
            )
        return phone
    if name == "debtor_vat":
        return _vat_number(text)
    if name == "debtor_name" and len(text) > 200:
        raise UnclearValue(
            N_("The debtor name {value} is longer than 200 characters; shorten it."), value=text
        )
    return text


def _vat_number(text: str) -> str:
    """Return a Belgian VAT number as BE0123456749, or another country's as typed, compact."""
    compact = re.sub(r"[\s.\-]", "", text.upper())
    belgian = BELGIAN_VAT.match(compact)
    if belgian and be_vat.is_valid(belgian[1]):
        return "BE" + belgian[1]
    if not belgian and FOREIGN_VAT.match(compact) and not compact.startswith("BE"):
        return compact
    raise UnclearValue(
        N_(
            "VAT number {value} is invalid; give a Belgian one as BE0123.456.749 "
            "or another country's with its country code."
        ),
        value=text,
    )


def _debtor_of(case: Case) -> Debtor:
    if case.debtor is None:
        raise DraftError(
            N_("Case {reference} has no debtor; reject the draft and submit the invoice again."),
            reference=case.reference,
        )
    return case.debtor


def _own_debtor(session: Session, case: Case) -> Debtor:
    """Return the case's debtor, copied first when other cases share it.

    Intake may have matched the draft to a known debtor by mistake; a
    correction on the draft must not change the debtor of running cases.
    """
    debtor = _debtor_of(case)
    others = session.scalar(
        select(func.count(Case.id)).where(Case.debtor_id == debtor.id, Case.id != case.id)
    )
    if not others:
        return debtor

    copy = Debtor(
        name=debtor.name,
        email=debtor.email,
        phone=debtor.phone,
        enterprise_number=debtor.enterprise_number,
        kind=debtor.kind,
        language=debtor.language,
        language_chosen=debtor.language_chosen,
        address=debtor.address,
        email_failed_at=debtor.email_failed_at,
        email_failure=debtor.email_failure,
    )
    session.add(copy)
    case.debtor = copy
    logger.info("case %s: debtor %d shared with other cases, copied", case.reference, debtor.id)
    return copy


def _set_debtor(debtor: Debtor, name: str, text: str) -> None:
    setattr(debtor, DEBTOR_ATTRIBUTES[name], text)
    if name == "debtor_email":
        debtor.email_failed_at = None  # a new address has not bounced
        debtor.email_failure = None
    if name == "debtor_vat":
        debtor.kind = DebtorKind.ENTERPRISE


def _set_field(invoice: Invoice, name: str, text: str, typed: str) -> None:
    """Write the corrected value into the invoice's field row, creating the row if needed."""
    row = next((field for field in invoice.fields if field.name == name), None)
    if row is None:
        row = InvoiceField(name=name)
        invoice.fields.append(row)
    row.value = text
    row.raw = typed.strip()
    row.source = STAFF_SOURCE
    row.confidence = 1.0


def _follow_currency(case: Case) -> None:
    """Give the case the currency of its invoices once they all share one."""
    currencies = {invoice.currency for invoice in case.invoices}
    if len(currencies) == 1:
        (currency,) = currencies
        if currency:
            case.currency = currency


def _refresh_reasons(session: Session, case: Case, name: str, today: date) -> None:
    """Bring the reasons of the case's open draft review items up to date after a correction.

    ``missing:``, ``not_yet_due`` and ``mixed_currencies`` follow the stored values;
    ``doubtful:<field>`` goes once staff set that field on every invoice.
    The other reasons (the sender, the issuer) stay until the review ends.
    """
    live = field_reasons(stored_fields(case), threshold=0.0, today=today)
    staff_set = all(
        any(field.name == name and field.source == STAFF_SOURCE for field in invoice.fields)
        for invoice in case.invoices
    )
    for item in _open_reviews(session, case, kinds=(ReviewKind.DRAFT,)):
        kept = [
            reason
            for reason in item.reasons
            if (reason in live or not _follows_values(reason))
            and not (reason == f"doubtful:{name}" and staff_set)
        ]
        added = [reason for reason in live if reason not in kept]
        item.reasons = kept + added


def _follows_values(reason: str) -> bool:
    return reason.startswith("missing:") or reason in ("not_yet_due", "mixed_currencies")


def _problem(case: Case, reason: str) -> DraftError:
    """Turn a reason of field_reasons into a sentence saying what to fix."""
    prefix, _separator, name = reason.partition(":")
    if prefix == "missing":
        return DraftError(
            N_("the {field} is missing: type it in"), field=Term(FIELD_WORDS.get(name, name))
        )
    if reason == "not_yet_due":
        due = max(invoice.due_date for invoice in case.invoices if invoice.due_date is not None)
        return DraftError(
            N_("an invoice is due on {due} only: wait until after that day"),
            due=due.isoformat(),
        )
    currencies = sorted({invoice.currency or "?" for invoice in case.invoices})
    return DraftError(
        N_("the invoices are in different currencies ({currencies}): correct the currency"),
        currencies=", ".join(currencies),
    )


def _merge_target(session: Session, draft: Case, reference: str) -> Case:
    target = find_case(session, reference)
    if target is None:
        raise DraftError(
            N_("Case {reference} not found; check the reference of the case to merge into."),
            reference=reference.strip(),
        )
    if target.id == draft.id:
        raise DraftError(
            N_("Draft {reference} cannot be merged into itself; give another case's reference."),
            reference=draft.reference,
        )
    if target.status not in MERGE_TARGETS:
        raise DraftError(
            N_("Case {reference} is {status}; merge the draft into an open case."),
            reference=target.reference,
            status=status_term(target.status),
        )
    return target


def _require_same_parties(draft: Case, target: Case) -> None:
    if draft.creditor is None or draft.creditor_id != target.creditor_id:
        raise DraftError(
            N_(
                "Draft {draft} and case {target} are not for the same creditor; "
                "only invoices of one creditor are merged."
            ),
            draft=draft.reference,
            target=target.reference,
        )
    if not same_debtor(draft.debtor, target.debtor):
        raise DraftError(
            N_(
                "Draft {draft} is for {debtor}, case {target} for {other}: different debtors "
                "are never merged. Correct the debtor on the draft if it was read wrong."
            ),
            draft=draft.reference,
            target=target.reference,
            debtor=_debtor_name(draft.debtor),
            other=_debtor_name(target.debtor),
        )


def same_debtor(first: Debtor | None, second: Debtor | None) -> bool:
    """Tell whether two debtor rows are one debtor, recognized the way intake does.

    The same row, the same enterprise number, or the same e-mail address and name.
    """
    if first is None or second is None:
        return False
    if first.id == second.id:
        return True
    if first.enterprise_number and second.enterprise_number:
        return _compact(first.enterprise_number) == _compact(second.enterprise_number)
    return bool(
        first.email
        and second.email
        and first.email.strip().lower() == second.email.strip().lower()
        and _compact(first.name) == _compact(second.name)
    )


def _compact(text: str) -> str:
    return re.sub(r"[\s.\-]", "", text).upper()


def _debtor_name(debtor: Debtor | None) -> str:
    return _known_name(debtor) or "?"


def _require_mergeable_invoices(draft: Case, target: Case, today: date) -> None:
    if not draft.invoices:
        raise DraftError(
            N_("Draft {reference} has no invoice to merge; reject it instead."),
            reference=draft.reference,
        )
    # What the target's reminders need of an invoice: its own fields, and being overdue.
    # The debtor's details are the target's.
    blocking = [
        reason
        for reason in field_reasons(stored_fields(draft), threshold=0.0, today=today)
        if reason == "not_yet_due" or reason.partition(":")[2] in INVOICE_REQUIRED
    ]
    if blocking:
        raise DraftIncomplete(
            N_("Draft {reference} cannot be merged yet: {problems}."),
            [_problem(draft, reason) for reason in blocking],
            reference=draft.reference,
        )

    numbers = {invoice.number for invoice in target.invoices}
    for invoice in draft.invoices:
        if invoice.number in numbers:
            raise DraftError(
                N_(
                    "Invoice {number} is on case {target} already; reject draft {draft} "
                    "as a duplicate instead of merging it."
                ),
                number=invoice.number or "?",
                target=target.reference,
                draft=draft.reference,
            )
        if invoice.currency != target.currency:
            raise DraftError(
                N_(
                    "Invoice {number} is in {currency}, case {target} in {other}; "
                    "only invoices in the case's currency are merged."
                ),
                number=invoice.number or "?",
                currency=invoice.currency or "?",
                target=target.reference,
                other=target.currency,
            )


def _open_reviews(
    session: Session, case: Case, *, kinds: tuple[str, ...] | None
) -> list[ReviewItem]:
    query = select(ReviewItem).where(
        ReviewItem.case_id == case.id, ReviewItem.status == ReviewStatus.OPEN
    )
    if kinds is not None:
        query = query.where(ReviewItem.kind.in_(kinds))
    return list(session.scalars(query.order_by(ReviewItem.id)))


def _resolve_reviews(
    session: Session, case: Case, now: datetime, *, kinds: tuple[str, ...] | None
) -> int:
    items = _open_reviews(session, case, kinds=kinds)
    for item in items:
        item.status = ReviewStatus.RESOLVED
        item.resolved_at = now
    return len(items)


def _move_other_reviews(session: Session, draft: Case, target: Case) -> None:
    """Hand the draft's open review items other than the draft itself to the target case."""
    for item in _open_reviews(session, draft, kinds=None):
        if item.kind != ReviewKind.DRAFT:
            item.case = target
