"""Queuing a case's first reminder: build the notice from the case, render it, compose, enqueue."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from incasso.cases.addresses import Addresses
from incasso.cases.ladder import LadderStep
from incasso.cases.law import Channel, DebtorKind
from incasso.outbound.bilingual import render_notice
from incasso.outbound.compose import Content, Sender, compose, new_message_id
from incasso.outbound.notice import AgencyIdentity, FirstNotice, Identity, NoticeInvoice
from incasso.outbound.outbox import enqueue
from incasso.outbound.render import MissingMentionError
from incasso.store.models import Case, Creditor, Invoice, MailMessage
from incasso.store.rawstore import RawStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReminderConfig:
    """The agency-wide facts every reminder needs."""

    agency: AgencyIdentity
    addresses: Addresses
    # Language of legally required notices (Dutch for a Flemish seat).
    legal_language: str = "nl"


def queue_first_reminder(
    session: Session,
    rawstore: RawStore,
    case: Case,
    config: ReminderConfig,
    *,
    now: datetime,
    sent_on: date,
) -> MailMessage | None:
    """Render and queue the first reminder of ``case``; None when it was queued before.

    Raises MissingMentionError when the case or the creditor lacks something the
    law requires on the notice; nothing is queued then.
    """
    notice = build_first_notice(case, config.agency, sent_on)
    rendered = render_notice(notice, config.legal_language)
    debtor = case.debtor
    if debtor is None or debtor.email is None:  # build_first_notice has raised already
        raise MissingMentionError(f"case {case.reference} has no debtor e-mail address")

    step = LadderStep.FIRST_REMINDER
    message = compose(
        sender=Sender(config.agency.name, config.agency.email, config.addresses.mail_domain),
        recipient_name=debtor.name,
        recipient_address=debtor.email,
        reply_to=config.addresses.reply_address(case.reference),
        content=Content(rendered.subject, rendered.text, rendered.html, rendered.language),
        message_id=new_message_id(case.reference, step, config.addresses.mail_domain),
        date=now,
    )
    return enqueue(
        session,
        rawstore,
        case=case,
        step=step,
        message=message,
        envelope_from=config.agency.email,
        now=now,
    )


def build_first_notice(case: Case, agency: AgencyIdentity, sent_on: date) -> FirstNotice:
    """Collect the facts of the first notice of ``case``; raise MissingMentionError if one lacks."""
    creditor = case.creditor
    debtor = case.debtor
    if creditor is None:
        raise MissingMentionError(
            f"case {case.reference} has no creditor; attach one before sending a reminder"
        )
    if debtor is None or not debtor.email:
        raise MissingMentionError(
            f"case {case.reference} has no debtor e-mail address; add one before sending"
        )

    return FirstNotice(
        case_reference=case.reference,
        payment_reference=case.ogm,
        agency=agency,
        creditor=_creditor_identity(creditor),
        debtor_name=debtor.name,
        debtor_kind=DebtorKind(debtor.kind),
        invoices=[_notice_invoice(case, invoice) for invoice in case.invoices],
        currency=case.currency,
        sent_on=sent_on,
        channel=Channel.EMAIL,
        language=case.language,
    )


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
    return NoticeInvoice(
        number=invoice.number,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        amount=invoice.amount_due,
        description=invoice.description,
    )
