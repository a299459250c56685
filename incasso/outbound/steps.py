"""Queuing one ladder step of a case: build the notice, render it for its medium, enqueue it.

The scheduler calls ``queue_step`` with the step, the medium and the charges
the law functions computed for it. Each medium needs its own contact detail
of the debtor:

* ``email``: the notice as an e-mail (text and HTML with the EPC QR code as an
  inline image), in the debtor's language with the legal version below. Its
  envelope sender is a per-message return path (``bounce+<reference>.<token>@``),
  so a bounce names the case and the message even when it drops the headers.
* ``letter``: the notice as a PDF letter for the print-and-post service, with
  the payment term of a posted letter (from the third working day).
* ``sms``: a short text with what to pay and where, as the JSON item the SMS
  provider takes.

The notice prints the invoices with their amounts as issued and the case's
``amount_paid`` as one line of the breakdown (see ``incasso.outbound.notice``).
A (case, step, medium) is queued once: a second call returns None.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from incasso.cases.addresses import Addresses
from incasso.cases.charges import ChargeLine
from incasso.cases.ladder import NOTICE_STEPS, LadderStep, Medium
from incasso.cases.law import Channel, DebtorKind
from incasso.cases.phone import normalize_phone_number
from incasso.cases.thread_index import case_thread_root, thread_index
from incasso.outbound.bilingual import render_notice
from incasso.outbound.compose import (
    Content,
    InlineImage,
    Sender,
    compose,
    new_message_id,
    new_message_token,
)
from incasso.outbound.letter_pdf import one_line_address, render_letter
from incasso.outbound.letters import PDF_CONTENT_TYPE
from incasso.outbound.notice import (
    AgencyIdentity,
    Identity,
    MissingMentionError,
    Notice,
    NoticeInvoice,
)
from incasso.outbound.outbox import enqueue, enqueue_item, outbox_key
from incasso.outbound.qr import epc_payment, make_epc_qr, qr_png
from incasso.outbound.sms import SMS_CONTENT_TYPE, SmsText
from incasso.outbound.sms_text import render_sms
from incasso.store.models import Case, Creditor, Debtor, Invoice, MailMessage
from incasso.store.rawstore import RawStore

logger = logging.getLogger(__name__)

# The medium's channel decides when the consumer's payment term starts. A text
# message arrives like an e-mail, so its term would start the next day.
CHANNELS = {Medium.EMAIL: Channel.EMAIL, Medium.LETTER: Channel.POST, Medium.SMS: Channel.EMAIL}
QR_FILENAME = "payment-qr.png"


@dataclass(frozen=True)
class ReminderConfig:
    """The agency-wide facts every notice needs."""

    agency: AgencyIdentity
    addresses: Addresses
    # Language of legally required notices (Dutch for a Flemish seat).
    legal_language: str = "nl"


def queue_step(
    session: Session,
    rawstore: RawStore,
    case: Case,
    step: LadderStep,
    medium: Medium,
    config: ReminderConfig,
    *,
    now: datetime,
    sent_on: date,
    charges: Sequence[ChargeLine] = (),
) -> MailMessage | None:
    """Render and queue ``step`` of ``case`` by ``medium``; None when it was queued before.

    ``sent_on`` is the day the message leaves, in Brussels, which the payment
    term counts from. ``charges`` are printed line by line. Raises
    MissingMentionError when the case, the creditor or the debtor lacks
    something the law or the medium requires; nothing is queued then. Raises
    ValueError for a step the medium cannot carry (a task, or a step without
    written notice by e-mail or letter).
    """
    step = LadderStep(step)
    medium = Medium(medium)
    _check_step_medium(step, medium)

    key = outbox_key(case, step, medium)
    if session.scalar(select(MailMessage.id).where(MailMessage.dedupe_key == key)) is not None:
        logger.info("case %s step %s by %s already queued", case.reference, step, medium)
        return None

    notice = build_notice(
        case, step, CHANNELS[medium], config.agency, sent_on=sent_on, charges=charges
    )
    if medium == Medium.EMAIL:
        return _queue_email(session, rawstore, case, notice, config, now)
    if medium == Medium.LETTER:
        return _queue_letter(session, rawstore, case, notice, config, now)
    return _queue_sms(session, rawstore, case, notice, config, now)


def _check_step_medium(step: LadderStep, medium: Medium) -> None:
    if medium == Medium.TASK:
        raise ValueError(f"step {step} by medium task is work for staff, not a message")
    if medium in (Medium.EMAIL, Medium.LETTER) and step not in NOTICE_STEPS:
        written = ", ".join(sorted(NOTICE_STEPS))
        raise ValueError(
            f"step {step} has no written notice to send by {medium}; use one of {written}"
        )


def _queue_email(
    session: Session,
    rawstore: RawStore,
    case: Case,
    notice: Notice,
    config: ReminderConfig,
    now: datetime,
) -> MailMessage | None:
    debtor = _debtor(case)
    if not debtor.email:
        raise MissingMentionError(
            f"case {case.reference} has no debtor e-mail address; add one to the debtor "
            "or send this step by letter"
        )
    if debtor.email_failed_at is not None:
        raise MissingMentionError(
            f"mail to the debtor of case {case.reference} bounced ({debtor.email_failure}); "
            "give another address with incasso debtor --email, or send this step by letter"
        )

    domain = config.addresses.mail_domain
    token = new_message_token()
    images, qr_src = _qr_image(notice, token, domain)
    rendered = render_notice(notice, config.legal_language, qr_src=qr_src)

    message = compose(
        sender=Sender(config.agency.name, config.agency.email, domain),
        recipient_name=debtor.name,
        recipient_address=debtor.email,
        reply_to=config.addresses.reply_address(case.reference),
        content=Content(rendered.subject, rendered.text, rendered.html, rendered.language, images),
        message_id=new_message_id(case.reference, notice.step, domain, token),
        date=now,
        thread_index=_thread_index(case, domain, now),
    )
    return enqueue(
        session,
        rawstore,
        case=case,
        step=notice.step,
        message=message,
        envelope_from=config.addresses.bounce_address(case.reference, token),
        now=now,
    )


def _thread_index(case: Case, mail_domain: str, now: datetime) -> str:
    started_at = case.created_at or now
    root = case_thread_root(mail_domain, case.reference, started_at)
    return thread_index(root, started_at, now)


def _qr_image(
    notice: Notice, token: str, domain: str
) -> tuple[tuple[InlineImage, ...], str | None]:
    payment = epc_payment(notice)
    if payment is None:
        return (), None

    content_id = f"qr.{token}@{domain}"
    image = InlineImage(content_id, qr_png(make_epc_qr(payment)), "png", QR_FILENAME)
    return (image,), f"cid:{content_id}"


def _queue_letter(
    session: Session,
    rawstore: RawStore,
    case: Case,
    notice: Notice,
    config: ReminderConfig,
    now: datetime,
) -> MailMessage | None:
    debtor = _debtor(case)
    if not debtor.address or not debtor.address.strip():
        raise MissingMentionError(
            f"case {case.reference} has no debtor postal address; add the debtor's address "
            "before sending a letter"
        )

    letter = render_letter(notice, config.legal_language)
    token = new_message_token()
    return enqueue_item(
        session,
        rawstore,
        case=case,
        step=notice.step,
        medium=Medium.LETTER,
        raw=letter.pdf,
        content_type=PDF_CONTENT_TYPE,
        recipient=one_line_address(debtor.name, debtor.address),
        subject=letter.subject,
        message_id=new_message_id(case.reference, notice.step, config.addresses.mail_domain, token),
        envelope_from=None,
        now=now,
    )


def _queue_sms(
    session: Session,
    rawstore: RawStore,
    case: Case,
    notice: Notice,
    config: ReminderConfig,
    now: datetime,
) -> MailMessage | None:
    debtor = _debtor(case)
    if not debtor.phone:
        raise MissingMentionError(
            f"case {case.reference} has no debtor phone number; add a mobile number in "
            "E.164 form (+32470123456) or skip the SMS step"
        )
    phone = normalize_phone_number(debtor.phone)
    if phone is None or phone != debtor.phone:
        raise MissingMentionError(
            f"debtor phone {debtor.phone!r} of case {case.reference} is not in E.164 form; "
            "store it as +<country code><number>, such as +32470123456"
        )

    text = render_sms(notice)
    token = new_message_token()
    return enqueue_item(
        session,
        rawstore,
        case=case,
        step=notice.step,
        medium=Medium.SMS,
        raw=SmsText(to=phone, text=text).to_bytes(),
        content_type=SMS_CONTENT_TYPE,
        recipient=phone,
        subject=None,
        message_id=new_message_id(case.reference, notice.step, config.addresses.mail_domain, token),
        envelope_from=None,
        now=now,
    )


def build_notice(
    case: Case,
    step: LadderStep,
    channel: Channel,
    agency: AgencyIdentity,
    *,
    sent_on: date,
    charges: Sequence[ChargeLine] = (),
) -> Notice:
    """Collect the facts of ``step`` of ``case``; raise MissingMentionError if one is missing."""
    creditor = case.creditor
    if creditor is None:
        raise MissingMentionError(
            f"case {case.reference} has no creditor; attach one before sending a notice"
        )
    debtor = _debtor(case)

    return Notice(
        step=step,
        case_reference=case.reference,
        payment_reference=case.ogm,
        agency=agency,
        creditor=_creditor_identity(creditor),
        debtor_name=debtor.name,
        debtor_kind=DebtorKind(debtor.kind),
        invoices=[_notice_invoice(case, invoice) for invoice in case.invoices],
        currency=case.currency,
        sent_on=sent_on,
        channel=channel,
        language=case.language,
        charges=tuple(charges),
        amount_paid=case.amount_paid or Decimal("0.00"),
        debtor_address=debtor.address,
    )


def _debtor(case: Case) -> Debtor:
    if case.debtor is None:
        raise MissingMentionError(
            f"case {case.reference} has no debtor; attach one before sending a notice"
        )
    return case.debtor


def _creditor_identity(creditor: Creditor) -> Identity:
    return Identity(
        name=creditor.name,
        enterprise_number=creditor.enterprise_number,
        address=creditor.address,
        phone=creditor.phone,
        email=creditor.email or "",
    )


def _notice_invoice(case: Case, invoice: Invoice) -> NoticeInvoice:
    if invoice.due_date is None or invoice.amount_due is None or not invoice.number:
        raise MissingMentionError(
            f"invoice {invoice.number or invoice.id} of case {case.reference} lacks its number, "
            "due date or amount; correct the invoice before sending"
        )
    if invoice.currency and invoice.currency != case.currency:
        raise MissingMentionError(
            f"invoice {invoice.number} of case {case.reference} is in {invoice.currency}, "
            f"the case in {case.currency}; correct the invoice or the case currency"
        )
    return NoticeInvoice(
        number=invoice.number,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        amount=invoice.amount_due,
        description=invoice.description,
    )
