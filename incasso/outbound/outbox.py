"""The outbox: composed messages wait in the database until a transport delivers them.

States of an outbound ``mail_message``: ``pending`` → ``sending`` → ``sent``,
with ``pending`` again after a temporary failure, ``send_failed`` after a
permanent one (or too many temporary ones), and ``uncertain`` for a send that
was interrupted.

- ``enqueue`` writes the message under the key ``out:<case id>:<step>:<medium>``,
  so one step of one case is queued once however often the dispatcher runs.
- ``drain`` commits ``sending`` before it calls the transport and ``sent``
  after. A crash between the two leaves ``sending``: we cannot know whether
  the message left, so ``flag_interrupted_sends`` marks it ``uncertain`` for a
  person to decide instead of sending it a second time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import getaddresses

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from incasso.cases.lifecycle import EventKind, record_event
from incasso.outbound.transport import Transport, TransportError
from incasso.store.db import transaction
from incasso.store.documents import store_document
from incasso.store.models import (
    Case,
    Channel,
    Direction,
    MailMessage,
    MessageKind,
    MessageStatus,
    ReviewItem,
    ReviewKind,
)
from incasso.store.rawstore import RawStore

logger = logging.getLogger(__name__)

# Messages claimed per run of the outbox job.
BATCH_SIZE = 50
# Temporary failures tolerated before a message is given up and shown to staff.
MAX_ATTEMPTS = 8
# Wait after the first temporary failure; it doubles with each further one, up to the cap.
FIRST_RETRY_DELAY = timedelta(minutes=1)
MAX_RETRY_DELAY = timedelta(hours=1)


@dataclass(frozen=True)
class OutboxContext:
    factory: sessionmaker[Session]
    rawstore: RawStore
    transport: Transport
    clock: Callable[[], datetime]


def outbox_key(case: Case, step: str, medium: str = "email") -> str:
    return f"out:{case.id}:{step}:{medium}"


def enqueue(
    session: Session,
    rawstore: RawStore,
    *,
    case: Case,
    step: str,
    message: EmailMessage,
    envelope_from: str,
    now: datetime,
) -> MailMessage | None:
    """Queue ``message`` as ``step`` of ``case``; return None when that step was queued before."""
    key = outbox_key(case, step, "email")
    if session.scalar(select(MailMessage.id).where(MailMessage.dedupe_key == key)) is not None:
        logger.info("case %s step %s already queued", case.reference, step)
        return None

    # CRLF line ends, as SMTP carries them: smtplib sends bytes unchanged.
    raw = message.as_bytes(policy=SMTP)
    document = store_document(session, rawstore, raw, content_type="message/rfc822")
    row = MailMessage(
        dedupe_key=key,
        direction=Direction.OUTBOUND,
        channel=Channel.OUTBOX,
        status=MessageStatus.PENDING,
        kind=MessageKind.REMINDER,
        raw_document=document,
        case=case,
        step=step,
        medium="email",
        message_id=message["Message-ID"],
        subject=message["Subject"],
        from_address=envelope_from,
        to_addresses=message["To"],
        envelope_from=envelope_from,
        created_at=now,
    )
    session.add(row)
    record_event(
        session, case, EventKind.REMINDER_QUEUED, at=now, message=row, detail={"step": step}
    )
    return row


def drain(context: OutboxContext, limit: int = BATCH_SIZE) -> int:
    """Send up to ``limit`` pending messages; return how many were handed over."""
    sent = 0
    for row_id in _claim_pending(context, limit):
        if _send_one(context, row_id):
            sent += 1
    return sent


def _claim_pending(context: OutboxContext, limit: int) -> list[int]:
    now = context.clock()
    with transaction(context.factory) as session:
        ids = list(
            session.scalars(
                select(MailMessage.id)
                .where(
                    MailMessage.direction == Direction.OUTBOUND,
                    MailMessage.status == MessageStatus.PENDING,
                    or_(MailMessage.retry_after.is_(None), MailMessage.retry_after <= now),
                )
                .order_by(MailMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if ids:
            session.execute(
                update(MailMessage)
                .where(MailMessage.id.in_(ids))
                .values(status=MessageStatus.SENDING, claimed_at=now)
            )
    return ids


def _send_one(context: OutboxContext, row_id: int) -> bool:
    with transaction(context.factory) as session:
        row = session.get_one(MailMessage, row_id)
        raw = context.rawstore.get(row.raw_document.sha256, session=session)
        recipients = _recipients(row)
        mail_from = row.envelope_from or ""
        message_id = row.message_id or ""

    try:
        context.transport.send(
            raw, mail_from=mail_from, recipients=recipients, message_id=message_id
        )
    except TransportError as err:
        _record_failure(context, row_id, err)
        return False

    with transaction(context.factory) as session:
        row = session.get_one(MailMessage, row_id)
        now = context.clock()
        row.status = MessageStatus.SENT
        row.sent_at = now
        row.attempts += 1
        row.error = None
        if row.case is not None:
            record_event(
                session,
                row.case,
                EventKind.REMINDER_SENT,
                at=now,
                message=row,
                detail={"step": row.step},
            )
    logger.info("message %s sent row=%d", message_id, row_id)
    return True


def _recipients(row: MailMessage) -> list[str]:
    return [address for _name, address in getaddresses([row.to_addresses or ""]) if address]


def _record_failure(context: OutboxContext, row_id: int, err: TransportError) -> None:
    with transaction(context.factory) as session:
        row = session.get_one(MailMessage, row_id)
        row.attempts += 1
        row.error = str(err)[:4000]
        give_up = not err.temporary or row.attempts >= MAX_ATTEMPTS
        if not give_up:
            row.status = MessageStatus.PENDING
            row.retry_after = context.clock() + retry_delay(row.attempts)
            logger.warning(
                "message row=%d not sent, will retry (attempt %d): %s", row_id, row.attempts, err
            )
            return

        row.status = MessageStatus.SEND_FAILED
        session.add(
            ReviewItem(
                kind=ReviewKind.SEND_FAILED,
                reasons=["send_failed"],
                detail=row.error,
                mail_message=row,
                case=row.case,
            )
        )
        if row.case is not None:
            record_event(
                session,
                row.case,
                EventKind.REMINDER_FAILED,
                at=context.clock(),
                message=row,
                detail={"step": row.step, "error": row.error},
            )
    logger.error(
        "message row=%d not sent, given up after %d attempts: %s", row_id, row.attempts, err
    )


def retry_delay(attempts: int) -> timedelta:
    """Return the wait before attempt ``attempts + 1``: 1 minute, doubling, at most 1 hour."""
    return min(FIRST_RETRY_DELAY * 2 ** max(attempts - 1, 0), MAX_RETRY_DELAY)


def flag_interrupted_sends(context: OutboxContext, older_than: timedelta) -> int:
    """Mark sends interrupted for longer than ``older_than`` as uncertain, for staff to decide."""
    cutoff = context.clock() - older_than
    with transaction(context.factory) as session:
        rows = list(
            session.scalars(
                select(MailMessage).where(
                    MailMessage.direction == Direction.OUTBOUND,
                    MailMessage.status == MessageStatus.SENDING,
                    MailMessage.claimed_at < cutoff,
                )
            )
        )
        for row in rows:
            row.status = MessageStatus.UNCERTAIN
            session.add(
                ReviewItem(
                    kind=ReviewKind.SEND_UNCERTAIN,
                    reasons=["send_uncertain"],
                    mail_message=row,
                    case=row.case,
                )
            )
    if rows:
        logger.warning("%d interrupted sends marked uncertain for review", len(rows))
    return len(rows)
