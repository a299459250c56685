"""Turning a creditor's submission into cases: one case per debtor, draft or active.

A case opens **active** (its ladder starts) only when the creditor is known
and every field a reminder needs was found with at least the configured
confidence, and the invoice is overdue. Otherwise it opens as a **draft**
with a review item that lists each reason. Credit notes and invoices with
nothing left to pay never open a case. An invoice number the creditor
already submitted adds an event to the existing case instead of a second
case, so the same submission twice gives one result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from incasso.cases.debtors import choose_language
from incasso.cases.drafts import UNKNOWN_NAME, field_reasons
from incasso.cases.law import DebtorKind
from incasso.cases.lifecycle import EventKind, activate_case, open_case, record_event
from incasso.intake.extract import extract_document
from incasso.intake.extract.model import (
    DocumentKind,
    ExtractedInvoice,
    ExtractionResult,
    FieldName,
)
from incasso.intake.mime import Attachment
from incasso.intake.trust import SenderCheck, Verdict
from incasso.store.documents import store_document
from incasso.store.models import (
    Case,
    Creditor,
    Debtor,
    Document,
    Invoice,
    InvoiceField,
    MailMessage,
    ReviewItem,
    ReviewKind,
)
from incasso.store.rawstore import RawStore

logger = logging.getLogger(__name__)

# Extraction methods whose documents list claims without being the invoice itself, so
# the VAT numbers in them are the debtors' and need not include the creditor's own.
LISTS_WITHOUT_ISSUER = frozenset({"spreadsheet", "email-body"})

# Extraction notes per document kept on a review item; a sheet can skip thousands of rows.
MAX_NOTES_PER_DOCUMENT = 20


@dataclass(frozen=True)
class SubmissionPolicy:
    """Rules for opening cases; built from the settings."""

    confidence_threshold: float
    first_reminder_delay: timedelta
    default_language: str


@dataclass
class ExtractedAttachment:
    """An attachment with what extraction made of it."""

    attachment: Attachment
    result: ExtractionResult
    _document: Document | None = None

    def document(self, session: Session, rawstore: RawStore) -> Document:
        """Store the attachment once, however many invoices it holds (a sheet: thousands)."""
        if self._document is None:
            self._document = store_document(
                session,
                rawstore,
                self.attachment.data,
                content_type=self.attachment.content_type,
                filename=self.attachment.filename,
            )
        return self._document


@dataclass
class _Candidate:
    invoice: ExtractedInvoice
    source: ExtractedAttachment


def extract_attachments(
    attachments: Iterable[Attachment],
    exclude: Iterable[str],
    extractor: Callable[..., ExtractionResult] = extract_document,
) -> list[ExtractedAttachment]:
    """Run extraction on each attachment; done outside any database transaction.

    ``extractor`` has the signature of ``extract_document``; intake passes one
    that runs in a worker process under time and memory limits.
    """
    excluded = tuple(exclude)
    extracted = []
    for attachment in attachments:
        result = extractor(
            attachment.data,
            filename=attachment.filename,
            content_type=attachment.content_type,
            exclude=excluded,
        )
        extracted.append(ExtractedAttachment(attachment, result))
    return extracted


def sender_exclusions(creditor: Creditor | None, sender: str | None) -> list[str]:
    """List the addresses, domains and numbers that belong to the sender, not the debtor."""
    excluded = [sender] if sender else []
    if creditor is not None:
        excluded.extend(pattern.pattern for pattern in creditor.senders)
        excluded.append(creditor.enterprise_number)
        if creditor.email:
            excluded.append(creditor.email)
    return excluded


@dataclass(frozen=True)
class Submission:
    """What intake learned about one submission before filing it."""

    creditor: Creditor | None
    extracted: list[ExtractedAttachment]
    # The sender check; anything but pass or trusted relay keeps every case a draft.
    sender_check: SenderCheck | None = None
    # Recognized only by the calling number a fax gateway reports, which anyone can set.
    by_fax_number: bool = False
    # What the parser found odd, for the reviewer.
    notes: tuple[str, ...] = ()


def file_submission(
    session: Session,
    rawstore: RawStore,
    *,
    message: MailMessage,
    submission: Submission,
    policy: SubmissionPolicy,
    now: datetime,
) -> list[Case]:
    """Open the cases of one submission and the review items for what a person must see."""
    creditor = submission.creditor
    candidates, skipped = _split_candidates(submission.extracted)
    cases: list[Case] = []
    duplicates = 0

    for group in _group_by_debtor(candidates):
        fresh = _drop_duplicates(session, group, creditor, message, now)
        duplicates += len(group) - len(fresh)
        if fresh:
            cases.append(_open_case(session, rawstore, fresh, submission, message, policy, now))

    if not cases and not duplicates:
        _review_without_case(session, message, submission, skipped)
    elif skipped:
        _review_skipped(session, message, skipped)
    return cases


def _split_candidates(
    extracted: list[ExtractedAttachment],
) -> tuple[list[_Candidate], list[str]]:
    candidates: list[_Candidate] = []
    skipped: list[str] = []
    numbers: set[str] = set()
    for item in extracted:
        for invoice in item.result.invoices:
            number = invoice.value(FieldName.INVOICE_NUMBER)
            reason = _skip_reason(invoice)
            if reason is None and number is not None and number in numbers:
                # The same invoice twice in one submission (a PDF and its UBL, or a copy):
                # the first one counts, as the database allows one invoice per number.
                reason = "same_invoice_twice"
            if reason is None:
                candidates.append(_Candidate(invoice, item))
                if number is not None:
                    numbers.add(number)
            else:
                skipped.append(f"{reason}:{number or '?'}")
    return candidates, skipped


def _skip_reason(invoice: ExtractedInvoice) -> str | None:
    if invoice.kind == DocumentKind.CREDIT_NOTE:
        return "credit_note"
    amount = _decimal(invoice.value(FieldName.AMOUNT_DUE))
    if amount is not None and amount <= 0:
        return "nothing_due"
    return None


def _group_by_debtor(candidates: list[_Candidate]) -> list[list[_Candidate]]:
    groups: dict[str, list[_Candidate]] = {}
    for candidate in candidates:
        invoice = candidate.invoice
        key = (
            invoice.value(FieldName.DEBTOR_VAT)
            or invoice.value(FieldName.DEBTOR_EMAIL)
            or (invoice.value(FieldName.DEBTOR_NAME) or "").strip().lower()
        )
        groups.setdefault(key, []).append(candidate)
    return list(groups.values())


def _drop_duplicates(
    session: Session,
    group: list[_Candidate],
    creditor: Creditor | None,
    message: MailMessage,
    now: datetime,
) -> list[_Candidate]:
    if creditor is None:
        return group

    fresh = []
    for candidate in group:
        number = candidate.invoice.value(FieldName.INVOICE_NUMBER)
        existing = None
        if number:
            existing = session.scalar(
                select(Invoice).where(Invoice.creditor_id == creditor.id, Invoice.number == number)
            )
        if existing is None:
            fresh.append(candidate)
            continue
        record_event(
            session,
            existing.case,
            EventKind.DUPLICATE_SUBMISSION,
            at=now,
            message=message,
            detail={"invoice_number": number},
        )
        message.case = message.case or existing.case
        logger.info(
            "invoice %s of creditor %s already on case %s",
            number,
            creditor.code,
            existing.case.reference,
        )
    return fresh


def _open_case(
    session: Session,
    rawstore: RawStore,
    group: list[_Candidate],
    submission: Submission,
    message: MailMessage,
    policy: SubmissionPolicy,
    now: datetime,
) -> Case:
    creditor = submission.creditor
    first = group[0].invoice
    fallback = creditor.language if creditor else policy.default_language
    debtor = _find_or_create_debtor(
        session, group, invoice_language=first.language, fallback=fallback
    )
    language = choose_language(
        chosen=debtor.language if debtor.language_chosen else None,
        invoice=first.language,
        address=debtor.address,
        fallback=fallback,
    )
    currency = first.value(FieldName.CURRENCY) or "EUR"
    case = open_case(
        session, creditor=creditor, debtor=debtor, language=language, currency=currency, now=now
    )

    for candidate in group:
        _add_invoice(session, rawstore, case, creditor, candidate)
    message.case = message.case or case
    record_event(session, case, EventKind.SUBMISSION_RECEIVED, at=now, message=message)

    reasons = _sender_reasons(submission) + _draft_reasons(group, creditor, policy, now.date())
    record_event(session, case, EventKind.CASE_OPENED, at=now, detail={"reasons": reasons})
    if reasons:
        session.add(
            ReviewItem(
                kind=ReviewKind.DRAFT,
                reasons=reasons,
                detail=_review_detail(submission, []),
                case=case,
                mail_message=message,
            )
        )
        logger.info("case %s waits for review: %s", case.reference, ", ".join(reasons))
    else:
        activate_case(session, case, now=now, first_reminder_delay=policy.first_reminder_delay)
    return case


def _find_or_create_debtor(
    session: Session, group: list[_Candidate], *, invoice_language: str | None, fallback: str
) -> Debtor:
    """Return the known debtor of ``group``, or a new one in the language its details suggest."""
    name = _best_value(group, FieldName.DEBTOR_NAME) or UNKNOWN_NAME
    email = _best_value(group, FieldName.DEBTOR_EMAIL)
    vat = _best_value(group, FieldName.DEBTOR_VAT)
    address = _best_value(group, FieldName.DEBTOR_ADDRESS)
    phone = _best_value(group, FieldName.DEBTOR_PHONE)

    existing = None
    if vat:
        existing = session.scalar(select(Debtor).where(Debtor.enterprise_number == vat))
    if existing is None and email:
        existing = session.scalar(select(Debtor).where(Debtor.email == email, Debtor.name == name))
    if existing is not None:
        if existing.phone is None and phone:
            existing.phone = phone
        return existing

    debtor = Debtor(
        name=name,
        email=email,
        phone=phone,
        enterprise_number=vat,
        kind=DebtorKind.ENTERPRISE if vat else DebtorKind.CONSUMER,
        language=choose_language(
            chosen=None, invoice=invoice_language, address=address, fallback=fallback
        ),
        language_chosen=False,
        address=address,
    )
    session.add(debtor)
    return debtor


def _best_value(group: list[_Candidate], name: FieldName) -> str | None:
    found = [c.invoice.fields[name] for c in group if name in c.invoice.fields]
    if not found:
        return None
    return max(found, key=lambda field: field.confidence).value


def _add_invoice(
    session: Session,
    rawstore: RawStore,
    case: Case,
    creditor: Creditor | None,
    candidate: _Candidate,
) -> None:
    document = candidate.source.document(session, rawstore)
    invoice = candidate.invoice
    row = Invoice(
        case=case,
        creditor_id=creditor.id if creditor else None,
        document=document,
        kind=invoice.kind,
        number=invoice.value(FieldName.INVOICE_NUMBER),
        issue_date=_date(invoice.value(FieldName.ISSUE_DATE)),
        due_date=_date(invoice.value(FieldName.DUE_DATE)),
        amount_due=_decimal(invoice.value(FieldName.AMOUNT_DUE)),
        currency=invoice.value(FieldName.CURRENCY),
        description=invoice.value(FieldName.DESCRIPTION),
    )
    for name, field in invoice.fields.items():
        row.fields.append(
            InvoiceField(
                name=name,
                value=field.value,
                raw=field.raw,
                source=f"{candidate.source.attachment.display_name}: {field.source}",
                confidence=field.confidence,
            )
        )
    session.add(row)


def _sender_reasons(submission: Submission) -> list[str]:
    reasons = ["creditor_by_fax_number"] if submission.by_fax_number else []
    check = submission.sender_check
    if check is None or check.verdict in (Verdict.PASS, Verdict.TRUSTED_RELAY):
        return reasons
    if check.verdict == Verdict.FAIL:
        return [*reasons, "sender_forged"]
    return [*reasons, "sender_unverified"]


def _extraction_notes(extracted: list[ExtractedAttachment]) -> list[str]:
    """Return what extraction noted about parts that gave nothing, such as skipped rows."""
    return [
        f"{item.attachment.display_name}: {note}"
        for item in extracted
        for note in item.result.notes[:MAX_NOTES_PER_DOCUMENT]
    ]


def _review_detail(submission: Submission, findings: list[str]) -> str | None:
    """Join the evidence a reviewer needs: sender check, extraction findings, parser notes."""
    parts = []
    if submission.sender_check is not None:
        parts.append(f"sender check: {submission.sender_check.detail}")
    parts.extend(findings)
    parts.extend(submission.notes)
    return "; ".join(parts)[:4000] or None


def _draft_reasons(
    group: list[_Candidate], creditor: Creditor | None, policy: SubmissionPolicy, today: date
) -> list[str]:
    reasons: list[str] = []
    if creditor is None:
        reasons.append("unknown_sender")
    elif not _issued_by(creditor, group):
        reasons.append("issuer_not_creditor")

    # The same check tells staff what still stops the draft (incasso.cases.drafts).
    fields = [{str(name): field for name, field in c.invoice.fields.items()} for c in group]
    reasons.extend(field_reasons(fields, threshold=policy.confidence_threshold, today=today))
    return reasons


def _issued_by(creditor: Creditor, group: list[_Candidate]) -> bool:
    """Tell whether the documents name the creditor's enterprise number, when they name any.

    Belgian invoices must print the seller's VAT number. A document that prints
    numbers, none of them the creditor's, was issued by someone else: a
    creditor forwarding another company's invoice, or a mistyped creditor code.
    """
    own = "BE" + creditor.enterprise_number
    for candidate in group:
        result = candidate.source.result
        if result.method in LISTS_WITHOUT_ISSUER:
            continue
        if result.vat_numbers and own not in result.vat_numbers:
            return False
    return True


def _review_without_case(
    session: Session, message: MailMessage, submission: Submission, skipped: list[str]
) -> None:
    creditor = submission.creditor
    extracted = submission.extracted
    problems = [] if extracted else ["no_attachment"]
    problems.extend(
        f"attachment:{item.result.problem}" for item in extracted if item.result.problem is not None
    )
    problems.extend(skipped)
    if not problems:
        problems.append("no_invoice_found")
    sender = _sender_reasons(submission) if creditor is not None else ["unknown_sender"]
    reasons = sender + problems

    kind = ReviewKind.NO_INVOICE if creditor is not None else ReviewKind.UNMATCHED_MAIL
    findings = [
        f"{item.attachment.display_name}: {item.result.detail}"
        for item in extracted
        if item.result.detail
    ]
    findings.extend(_extraction_notes(extracted))
    detail = _review_detail(submission, findings)
    session.add(ReviewItem(kind=kind, reasons=reasons, detail=detail, mail_message=message))
    logger.info("message row=%d needs review: %s", message.id, ", ".join(reasons))


def _review_skipped(session: Session, message: MailMessage, skipped: list[str]) -> None:
    session.add(ReviewItem(kind=ReviewKind.NO_INVOICE, reasons=skipped, mail_message=message))


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _decimal(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None
