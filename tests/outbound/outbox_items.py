"""Queuing e-mails, SMS and letters for outbox tests, and reading the rows back."""

from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from incasso.app.context import Application
from incasso.outbound.outbox import enqueue, enqueue_item
from incasso.outbound.sms import SMS_CONTENT_TYPE, SmsText
from incasso.store.db import transaction
from incasso.store.models import Case, Event, MailMessage, ReviewItem

AGENCY_ADDRESS = "dossiers@incasso.test"
DEBTOR_PHONE = "+32470123456"
DEBTOR_POSTAL_ADDRESS = "An Janssens, Kerkstraat 12, 9050 Gentbrugge"
# A PDF as small as a reader accepts; nothing in the outbox parses it.
LETTER_PDF = (
    b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n"
    b"trailer <</Root 1 0 R>>\n%%EOF\n"
)


def case_by_reference(session: Session, reference: str) -> Case:
    return session.scalars(select(Case).where(Case.reference == reference)).one()


def queue_email(app: Application, reference: str, step: str = "first_reminder") -> int | None:
    """Queue a small e-mail as ``step`` of the case; return the row id, None when queued before."""
    message = EmailMessage()
    message["From"] = AGENCY_ADDRESS
    message["To"] = "An Janssens <an.janssens@home.example>"
    message["Subject"] = f"Herinnering {reference}"
    message["Message-ID"] = f"<{reference}.{step}.test@incasso.test>"
    message.set_content("Gelieve het openstaande bedrag te betalen.\n")
    with transaction(app.factory) as session:
        row = enqueue(
            session,
            app.rawstore,
            case=case_by_reference(session, reference),
            step=step,
            message=message,
            envelope_from=AGENCY_ADDRESS,
            now=app.clock(),
        )
        session.flush()
        return row.id if row is not None else None


def queue_sms(
    app: Application, reference: str, step: str = "sms", text: str = "Betaal 250,00 EUR."
) -> int | None:
    """Queue an SMS as ``step`` of the case; return the row id, None when queued before."""
    raw = SmsText(to=DEBTOR_PHONE, text=text).to_bytes()
    return _queue_item(
        app, reference, step, "sms", raw, SMS_CONTENT_TYPE, DEBTOR_PHONE, subject=None
    )


def queue_letter(
    app: Application, reference: str, step: str = "registered_letter", pdf: bytes = LETTER_PDF
) -> int | None:
    """Queue a letter as ``step`` of the case; return the row id, None when queued before."""
    return _queue_item(
        app,
        reference,
        step,
        "letter",
        pdf,
        "application/pdf",
        DEBTOR_POSTAL_ADDRESS,
        subject=f"Aangetekende ingebrekestelling {reference}",
    )


def _queue_item(
    app: Application,
    reference: str,
    step: str,
    medium: str,
    raw: bytes,
    content_type: str,
    recipient: str,
    *,
    subject: str | None,
) -> int | None:
    with transaction(app.factory) as session:
        row = enqueue_item(
            session,
            app.rawstore,
            case=case_by_reference(session, reference),
            step=step,
            medium=medium,
            raw=raw,
            content_type=content_type,
            recipient=recipient,
            subject=subject,
            message_id=f"<{reference}.{step}.{medium}@incasso.test>",
            envelope_from=None,
            now=app.clock(),
        )
        session.flush()
        return row.id if row is not None else None


def message_row(app: Application, row_id: int) -> MailMessage:
    """Return the row with its raw document loaded, for reading after the session ends."""
    with transaction(app.factory) as session:
        return session.get_one(MailMessage, row_id, options=[joinedload(MailMessage.raw_document)])


def events_of(app: Application, row_id: int) -> list[tuple[str, dict[str, object]]]:
    """Return the kind and detail of each timeline event about message ``row_id``."""
    with transaction(app.factory) as session:
        events = session.scalars(
            select(Event).where(Event.mail_message_id == row_id).order_by(Event.id)
        )
        return [(event.kind, dict(event.detail)) for event in events]


def review_items_of(app: Application, row_id: int) -> list[ReviewItem]:
    with transaction(app.factory) as session:
        return list(
            session.scalars(
                select(ReviewItem)
                .where(ReviewItem.mail_message_id == row_id)
                .order_by(ReviewItem.id)
            )
        )
